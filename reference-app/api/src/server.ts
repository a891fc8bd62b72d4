import { loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { startService } from "./service.ts";

/** The api process: start, serve, and on SIGTERM/SIGINT shut down gracefully within a bound. */
const config = loadConfig();
const log = createLogger(config.logLevel, config.version);

process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));

try {
  const service = await startService(config, log);
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down");
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    service.close().then(
      () => {
        log.info("shutdown complete");
        process.exit(0);
      },
      (error: Error) => {
        log.error({ err: error.message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  service.ready.catch((error: Error) => {
    log.fatal({ err: error.message }, "api could not reach its database; exiting");
    void service.close().finally(() => process.exit(1));
  });
  log.info(
    {
      port: config.port,
      host: config.host,
      database: `${config.database.host}:${config.database.port}/${config.database.database}`,
      mqtt: config.mqtt.url,
      topic: config.mqtt.topic,
    },
    "api started",
  );
} catch (error) {
  log.fatal({ err: (error as Error).message }, "api failed to start");
  process.exit(1);
}
