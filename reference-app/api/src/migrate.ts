import { loadConfig } from "./config.ts";
import { migrate } from "./db/migrations.ts";
import { createPool } from "./db/pool.ts";
import { createLogger } from "./log.ts";

/** `npm run migrate`: applies pending migrations and exits (the service also applies them on start). */
const config = loadConfig();
const log = createLogger(config.logLevel, config.version, "api-migrate");
const pool = createPool(config.database, log);
try {
  const applied = await migrate(pool, log);
  log.info({ applied }, applied.length > 0 ? "migrations applied" : "schema up to date");
  await pool.end();
} catch (error) {
  log.fatal({ err: (error as Error).message }, "migration failed");
  await pool.end().catch(() => undefined);
  process.exit(1);
}
