import type { Pool } from "pg";
import type { Logger } from "../log.ts";

/** Schema changes, applied in order, each once, recorded in schema_migrations. Never edit a released one. */
export const migrations: Array<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: "equipment-telemetry-alerts",
    sql: `
      CREATE TABLE equipment (
        id text PRIMARY KEY,
        farm_id text,
        type text NOT NULL,
        name text NOT NULL,
        model text,
        registered_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz
      );
      CREATE INDEX equipment_farm_idx ON equipment (farm_id);
      CREATE INDEX equipment_type_idx ON equipment (type);

      CREATE TABLE telemetry (
        id bigserial PRIMARY KEY,
        equipment_id text NOT NULL REFERENCES equipment (id) ON DELETE CASCADE,
        ts timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        run_state text NOT NULL,
        rpm double precision,
        motor_current_a double precision,
        motor_temp_c double precision,
        hours_meter double precision,
        load_kg double precision,
        fault_codes text[] NOT NULL DEFAULT '{}',
        rssi double precision,
        fw text
      );
      CREATE INDEX telemetry_equipment_ts_idx ON telemetry (equipment_id, ts DESC, id DESC);

      CREATE TABLE alerts (
        id bigserial PRIMARY KEY,
        equipment_id text NOT NULL REFERENCES equipment (id) ON DELETE CASCADE,
        ts timestamptz NOT NULL,
        rule text NOT NULL,
        severity text NOT NULL,
        message text NOT NULL,
        value double precision,
        threshold double precision,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX alerts_equipment_ts_idx ON alerts (equipment_id, ts DESC);
      CREATE INDEX alerts_ts_idx ON alerts (ts DESC);
    `,
  },
];

/** Applies pending migrations in one transaction, under an advisory lock so parallel tasks do not race. */
export async function migrate(pool: Pool, log: Logger): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(727274)");
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const { rows } = await client.query<{ id: number }>("SELECT id FROM schema_migrations");
    const applied = new Set(rows.map((row) => row.id));
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (id, name) VALUES ($1, $2)", [
        migration.id,
        migration.name,
      ]);
      done.push(migration.id);
      log.info({ migration: migration.id, name: migration.name }, "migration applied");
    }
    await client.query("COMMIT");
    return done;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
