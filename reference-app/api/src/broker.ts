import { createServer } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Aedes } from "aedes";
import { createLogger } from "./log.ts";

/**
 * A local MQTT 3.1.1 broker (aedes), standing in for AWS IoT Core when running locally:
 * `npm run broker` (MQTT_PORT, default 1883; MQTT_HOST, default 127.0.0.1).
 */
export async function startBroker(port: number, host = "127.0.0.1") {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((done, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => done());
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    port: actualPort,
    url: `mqtt://${host}:${actualPort}`,
    broker,
    async close(): Promise<void> {
      await new Promise<void>((done) => broker.close(() => done()));
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const log = createLogger(process.env.LOG_LEVEL || "info", process.env.APP_VERSION || "dev", "broker");
  const running = await startBroker(
    Number(process.env.MQTT_PORT || 1883),
    process.env.MQTT_HOST || "127.0.0.1",
  );
  running.broker.on("client", (client) => log.info({ clientId: client.id }, "client connected"));
  running.broker.on("clientDisconnect", (client) => log.info({ clientId: client.id }, "client disconnected"));
  log.info({ url: running.url }, "mqtt broker listening");
  const stop = () => running.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
