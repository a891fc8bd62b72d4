import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { createLogger } from "./log.ts";
import { createFleet, nextReading, telemetryTopic } from "./simulation.ts";

/**
 * Device simulator: publishes realistic telemetry for N machines at a given rate, for demos and load.
 *
 *   npm run simulate -- --machines 20 --rate 1 --duration 120 --url mqtt://127.0.0.1:1883 [--api-url URL]
 *
 * --rate is readings per second per machine; --duration in seconds is always bounded (default 300, at most one
 * day). With --api-url the machines are first registered with their farm through the HTTP API.
 */
const usage =
  "usage: simulator [--machines N] [--rate PER_SECOND] [--duration SECONDS] [--url MQTT_URL] [--qos 0|1] " +
  "[--farms N] [--prefix ID_PREFIX] [--seed N] [--api-url API_URL]";

const { values } = parseArgs({
  options: {
    machines: { type: "string", default: "8" },
    rate: { type: "string", default: "1" },
    duration: { type: "string", default: "300" },
    url: { type: "string", default: process.env.MQTT_URL || "mqtt://127.0.0.1:1883" },
    qos: { type: "string", default: "1" },
    farms: { type: "string" },
    prefix: { type: "string", default: "sim" },
    seed: { type: "string", default: "42" },
    "api-url": { type: "string" },
    help: { type: "boolean", default: false },
  },
});

const log = createLogger(process.env.LOG_LEVEL || "info", process.env.APP_VERSION || "dev", "simulator");
const machines = Number(values.machines);
const rate = Number(values.rate);
const duration = Number(values.duration);
const qos = Number(values.qos);
if (
  values.help ||
  !Number.isInteger(machines) ||
  machines < 1 ||
  machines > 10_000 ||
  !(rate > 0 && rate <= 50) ||
  !(duration > 0 && duration <= 86_400) ||
  (qos !== 0 && qos !== 1) ||
  machines * rate > 5_000
) {
  console.error(usage);
  console.error("limits: 1-10000 machines, rate 0-50/s each, at most 5000 messages/s, duration 1-86400 s");
  process.exit(values.help ? 0 : 2);
}

const fleet = createFleet(machines, {
  prefix: values.prefix,
  farms: values.farms ? Number(values.farms) : undefined,
  seed: Number(values.seed),
});

if (values["api-url"]) {
  const base = values["api-url"].replace(/\/$/, "");
  for (const machine of fleet.machines) {
    const response = await fetch(`${base}/api/equipment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: machine.id,
        farmId: machine.farmId,
        type: machine.type,
        name: machine.name,
        model: machine.model,
      }),
      signal: AbortSignal.timeout(5_000),
    }).catch((error: Error) => ({ ok: false, status: 0, statusText: error.message }));
    if (!response.ok) {
      log.error({ equipmentId: machine.id, status: response.status }, "registration failed");
      process.exit(1);
    }
  }
  log.info({ machines: fleet.machines.length, api: base }, "machines registered");
}

const client = mqtt.connect(values.url, {
  protocolVersion: 4,
  clientId: `simulator-${process.pid}`,
  reconnectPeriod: 1_000,
  connectTimeout: 5_000,
});
client.on("error", (error) => log.warn({ err: error.message }, "mqtt error"));
await new Promise<void>((resolve) => client.once("connect", () => resolve()));
log.info({ url: values.url, machines, rate, duration, qos }, "simulator publishing");

let published = 0;
let last = Date.now();
const intervalMs = 1000 / rate;
const timer = setInterval(() => {
  const now = new Date();
  const elapsed = (now.getTime() - last) / 1000;
  last = now.getTime();
  if (!client.connected) return;
  for (const machine of fleet.machines) {
    const reading = nextReading(machine, fleet.random, now, elapsed);
    client.publish(telemetryTopic(machine.id), JSON.stringify(reading), { qos: qos as 0 | 1 });
    published += 1;
  }
}, intervalMs);

const report = setInterval(() => log.info({ published }, "progress"), 10_000);

const stop = async (reason: string) => {
  clearInterval(timer);
  clearInterval(report);
  await client.endAsync();
  log.info({ published, reason }, "simulator stopped");
  process.exit(0);
};
setTimeout(() => void stop("duration reached"), duration * 1000);
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
