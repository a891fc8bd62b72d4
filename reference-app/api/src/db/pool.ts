import pg from "pg";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";

/** Timestamps and numbers come back as JS types; bigint ids as numbers (they stay far below 2^53). */
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(config: Config["database"], log: Logger): pg.Pool {
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.ssl ? { rejectUnauthorized: false } : false,
    max: 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 10_000,
    application_name: "reference-api",
  });
  // An idle connection that breaks (database restarted, failover) must not crash the process.
  pool.on("error", (error) => log.warn({ err: error.message }, "idle database connection lost"));
  return pool;
}
