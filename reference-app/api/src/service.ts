import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Pool } from "pg";
import { buildApp } from "./app.ts";
import type { Config } from "./config.ts";
import { migrate } from "./db/migrations.ts";
import { createPool } from "./db/pool.ts";
import { Repository } from "./db/repository.ts";
import { Ingestor } from "./ingest.ts";
import type { Logger } from "./log.ts";
import { TelemetrySubscriber } from "./mqtt/subscriber.ts";

export interface Service {
  app: FastifyInstance;
  pool: Pool;
  subscriber: TelemetrySubscriber;
  ingestor: Ingestor;
  /** Settles when migrations are applied and the broker subscription started; rejects if the database stays
   * unreachable past STARTUP_TIMEOUT_MS (the process then exits non-zero). */
  ready: Promise<void>;
  /** Stops accepting, lets in-flight requests finish, then closes the broker connection and the pool. */
  close(): Promise<void>;
}

/**
 * Wires the service together and listens at once, so /health answers whatever the dependencies do; then applies
 * the migrations (retrying while the database is unreachable) and subscribes to the broker. Until then the /api
 * routes answer 503 and /ready reports the migrations pending.
 */
export async function startService(config: Config, log: Logger): Promise<Service> {
  const startedAt = Date.now();
  const pool = createPool(config.database, log);
  const repository = new Repository(pool);
  const ingestor = new Ingestor(repository, log);
  const subscriber = new TelemetrySubscriber(
    config.mqtt,
    ingestor,
    log,
    `reference-api-${hostname()}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
  );
  let shuttingDown = false;
  let migrated = false;
  const app = buildApp({
    version: config.version,
    logger: log,
    repository,
    ingestor,
    brokerConnected: () => subscriber.connected,
    shuttingDown: () => shuttingDown,
    migrated: () => migrated,
    startedAt,
  });
  await app.listen({ port: config.port, host: config.host });

  const ready = migrateWhenReachable(pool, log, config.startupTimeoutMs, () => shuttingDown).then(() => {
    if (shuttingDown) return;
    migrated = true;
    subscriber.start();
    log.info("schema ready; telemetry subscription starting");
  });
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      shuttingDown = true;
      await app.close();
      await ready.catch(() => undefined);
      await subscriber.close();
      await pool.end();
    })();
    return closing;
  };
  return { app, pool, subscriber, ingestor, ready, close };
}

/**
 * The database may come up after the service (local runs, a restarting instance): retry until the bound
 * (0: no bound), or until shutdown begins.
 */
async function migrateWhenReachable(
  pool: Pool,
  log: Logger,
  timeoutMs: number,
  stopping: () => boolean,
): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
  for (let attempt = 1; !stopping(); attempt += 1) {
    try {
      await migrate(pool, log);
      return;
    } catch (error) {
      const message = (error as Error).message;
      if (Date.now() + 1_000 > deadline) {
        throw new Error(`database not usable after ${attempt} attempts: ${message}`);
      }
      log.warn({ err: message, attempt }, "database not reachable yet; retrying");
      const wait = Math.min(500 * attempt, 5_000);
      for (let waited = 0; waited < wait && !stopping(); waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
