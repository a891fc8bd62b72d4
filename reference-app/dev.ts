/**
 * Runs the whole reference app locally with one command, from the repository root:
 *
 *   npm run reference-app -- [--machines 8] [--rate 1] [--duration 3600]
 *
 * Starts a throwaway PostgreSQL (the Debian `postgresql` package), the local MQTT broker (aedes), the api, the web
 * dashboard and the device simulator; Ctrl-C stops them all and deletes the database. Ports: WEB_PORT (8080),
 * API_PORT (8081), MQTT_PORT (1883). Runs on Node 24 (TypeScript as it is, no build step); `npm run reference-app`
 * installs the packages it needs first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startPostgres } from "../test/support/postgres.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    machines: { type: "string", default: "8" },
    rate: { type: "string", default: "1" },
    duration: { type: "string", default: "3600" },
  },
});

const webPort = process.env.WEB_PORT || "8080";
const apiPort = process.env.API_PORT || "8081";
const mqttPort = process.env.MQTT_PORT || "1883";
const logLevel = process.env.LOG_LEVEL || "warn";
const version = process.env.APP_VERSION || "local";

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, script: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: here,
    env: { ...process.env, APP_VERSION: version, LOG_LEVEL: logLevel, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", (code, signal) => {
    if (!stopping && name !== "simulator") {
      console.error(`${name} exited (${signal ?? code}); stopping everything`);
      void stop(1);
    } else if (!stopping) {
      console.log(`simulator finished (${signal ?? code})`);
    }
  });
  children.push(child);
  return child;
}

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000}s`);
}

console.log("starting PostgreSQL…");
const postgres = await startPostgres({ database: "equipment" });

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => new Promise((resolve) => child.once("exit", resolve).kill("SIGTERM"))),
  );
  await postgres.stop();
  console.log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  start("broker", "api/src/broker.ts", [], {
    MQTT_PORT: mqttPort,
    MQTT_HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  });
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  start("api", "api/src/server.ts", [], {
    PORT: apiPort,
    HOST: "127.0.0.1",
    DATABASE_HOST: postgres.host,
    DATABASE_PORT: String(postgres.port),
    DATABASE_NAME: postgres.database,
    DATABASE_USER: postgres.user,
    DATABASE_PASSWORD: postgres.password,
    MQTT_URL: mqttUrl,
  });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitForHttp(`${apiUrl}/ready`);
  start("web", "web/src/server.ts", [], { PORT: webPort, HOST: "127.0.0.1", API_URL: apiUrl });
  await waitForHttp(`http://127.0.0.1:${webPort}/health`);
  start(
    "simulator",
    "api/src/simulator.ts",
    [
      "--machines",
      values.machines,
      "--rate",
      values.rate,
      "--duration",
      values.duration,
      "--url",
      mqttUrl,
      "--api-url",
      apiUrl,
    ],
    { LOG_LEVEL: "info" },
  );
  console.log(`\ndashboard: http://127.0.0.1:${webPort}/   api: ${apiUrl}/api/equipment   mqtt: ${mqttUrl}`);
  console.log("Ctrl-C stops everything.\n");
} catch (error) {
  console.error((error as Error).message);
  await stop(1);
}
