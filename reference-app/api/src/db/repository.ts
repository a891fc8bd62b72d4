import type { Pool } from "pg";
import type { Alert } from "../alerts.ts";
import type { EquipmentInput, EquipmentType, TelemetryRecord } from "../telemetry.ts";

export interface Equipment {
  id: string;
  farmId: string | null;
  type: EquipmentType;
  name: string;
  model: string | null;
  registeredAt: string;
  lastSeenAt: string | null;
}

/** A machine as the dashboard lists it: with its latest reading and how many alerts it raised in the last day. */
export interface EquipmentSummary extends Equipment {
  latest: Reading | null;
  alertsLast24h: number;
}

export interface Reading {
  equipmentId: string;
  type: EquipmentType;
  ts: string;
  receivedAt: string;
  runState: string;
  rpm: number | null;
  motorCurrentA: number | null;
  motorTempC: number | null;
  hoursMeter: number | null;
  loadKg: number | null;
  faultCodes: string[];
  rssi: number | null;
  fw: string | null;
}

export interface StoredAlert {
  id: number;
  equipmentId: string;
  ts: string;
  rule: string;
  severity: string;
  message: string;
  value: number | null;
  threshold: number | null;
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

const equipmentColumns = "id, farm_id, type, name, model, registered_at, last_seen_at";
// biome-ignore lint/suspicious/noExplicitAny: rows from pg are untyped records
function toEquipment(row: any): Equipment {
  return {
    id: row.id,
    farmId: row.farm_id,
    type: row.type,
    name: row.name,
    model: row.model,
    registeredAt: row.registered_at.toISOString(),
    lastSeenAt: iso(row.last_seen_at),
  };
}

const readingColumns =
  "t.equipment_id, e.type, t.ts, t.received_at, t.run_state, t.rpm, t.motor_current_a, t.motor_temp_c, t.hours_meter, t.load_kg, t.fault_codes, t.rssi, t.fw";
// biome-ignore lint/suspicious/noExplicitAny: rows from pg are untyped records
function toReading(row: any): Reading {
  return {
    equipmentId: row.equipment_id,
    type: row.type,
    ts: row.ts.toISOString(),
    receivedAt: row.received_at.toISOString(),
    runState: row.run_state,
    rpm: row.rpm,
    motorCurrentA: row.motor_current_a,
    motorTempC: row.motor_temp_c,
    hoursMeter: row.hours_meter,
    loadKg: row.load_kg,
    faultCodes: row.fault_codes,
    rssi: row.rssi,
    fw: row.fw,
  };
}

const alertColumns = "id, equipment_id, ts, rule, severity, message, value, threshold";
// biome-ignore lint/suspicious/noExplicitAny: rows from pg are untyped records
function toAlert(row: any): StoredAlert {
  return {
    id: row.id,
    equipmentId: row.equipment_id,
    ts: row.ts.toISOString(),
    rule: row.rule,
    severity: row.severity,
    message: row.message,
    value: row.value,
    threshold: row.threshold,
  };
}

/** All SQL of the service. Every statement is parameterised. */
export class Repository {
  readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async ping(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  async listEquipment(filter: {
    farmId?: string | undefined;
    type?: string | undefined;
  }): Promise<EquipmentSummary[]> {
    const { rows } = await this.pool.query(
      `SELECT ${equipmentColumns.replace(/(\w+)/g, "e.$1")}, to_jsonb(l) AS latest,
         (SELECT count(*) FROM alerts a WHERE a.equipment_id = e.id AND a.ts > now() - interval '24 hours')::int
           AS alerts_24h
       FROM equipment e
       LEFT JOIN LATERAL (
         SELECT t.ts, t.received_at, t.run_state, t.rpm, t.motor_current_a, t.motor_temp_c, t.hours_meter, t.load_kg,
           t.fault_codes, t.rssi, t.fw
         FROM telemetry t WHERE t.equipment_id = e.id ORDER BY t.ts DESC, t.id DESC LIMIT 1
       ) l ON true
       WHERE ($1::text IS NULL OR e.farm_id = $1) AND ($2::text IS NULL OR e.type = $2)
       ORDER BY e.id`,
      [filter.farmId ?? null, filter.type ?? null],
    );
    return rows.map((row) => ({
      ...toEquipment(row),
      latest: row.latest
        ? toReading({
            ...row.latest,
            equipment_id: row.id,
            type: row.type,
            ts: new Date(row.latest.ts),
            received_at: new Date(row.latest.received_at),
          })
        : null,
      alertsLast24h: row.alerts_24h,
    }));
  }

  async getEquipment(id: string): Promise<Equipment | undefined> {
    const { rows } = await this.pool.query(`SELECT ${equipmentColumns} FROM equipment WHERE id = $1`, [id]);
    return rows[0] ? toEquipment(rows[0]) : undefined;
  }

  /** Registers a machine, or updates its farm, type, name and model if it is already known (e.g. from telemetry). */
  async registerEquipment(input: EquipmentInput): Promise<{ equipment: Equipment; created: boolean }> {
    const { rows } = await this.pool.query(
      `INSERT INTO equipment (id, farm_id, type, name, model) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET farm_id = EXCLUDED.farm_id, type = EXCLUDED.type, name = EXCLUDED.name,
         model = EXCLUDED.model
       RETURNING ${equipmentColumns}, (xmax = 0) AS created`,
      [input.id, input.farmId, input.type, input.name, input.model ?? null],
    );
    return { equipment: toEquipment(rows[0]), created: rows[0].created === true };
  }

  /**
   * Stores one reading and the alerts it raised, in one transaction. A machine first heard of through telemetry
   * is registered on the fly (no farm yet), as a device provisioned in IoT Core but not yet assigned.
   */
  async storeReading(record: TelemetryRecord, alerts: Alert[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO equipment (id, type, name, last_seen_at) VALUES ($1, $2, $1, $3)
         ON CONFLICT (id) DO UPDATE SET last_seen_at = GREATEST(equipment.last_seen_at, EXCLUDED.last_seen_at)`,
        [record.equipmentId, record.type, record.ts],
      );
      await client.query(
        `INSERT INTO telemetry (equipment_id, ts, received_at, run_state, rpm, motor_current_a, motor_temp_c,
           hours_meter, load_kg, fault_codes, rssi, fw)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          record.equipmentId,
          record.ts,
          record.receivedAt,
          record.runState,
          record.rpm,
          record.motorCurrentA,
          record.motorTempC,
          record.hoursMeter,
          record.loadKg,
          record.faultCodes,
          record.rssi,
          record.fw,
        ],
      );
      for (const alert of alerts) {
        await client.query(
          `INSERT INTO alerts (equipment_id, ts, rule, severity, message, value, threshold)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            alert.equipmentId,
            alert.ts,
            alert.rule,
            alert.severity,
            alert.message,
            alert.value,
            alert.threshold,
          ],
        );
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async history(
    equipmentId: string,
    range: { from?: Date | undefined; to?: Date | undefined; limit: number },
  ) {
    const { rows } = await this.pool.query(
      `SELECT ${readingColumns} FROM telemetry t JOIN equipment e ON e.id = t.equipment_id
       WHERE t.equipment_id = $1 AND ($2::timestamptz IS NULL OR t.ts >= $2) AND ($3::timestamptz IS NULL OR t.ts <= $3)
       ORDER BY t.ts DESC, t.id DESC LIMIT $4`,
      [equipmentId, range.from ?? null, range.to ?? null, range.limit],
    );
    return rows.map(toReading);
  }

  async latest(equipmentId: string): Promise<Reading | undefined> {
    const [reading] = await this.history(equipmentId, { limit: 1 });
    return reading;
  }

  async alerts(filter: {
    equipmentId?: string | undefined;
    farmId?: string | undefined;
    since?: Date | undefined;
    limit: number;
  }): Promise<StoredAlert[]> {
    const { rows } = await this.pool.query(
      `SELECT ${alertColumns.replace(/(\w+)/g, "a.$1")} FROM alerts a JOIN equipment e ON e.id = a.equipment_id
       WHERE ($1::text IS NULL OR a.equipment_id = $1) AND ($2::text IS NULL OR e.farm_id = $2)
         AND ($3::timestamptz IS NULL OR a.ts >= $3)
       ORDER BY a.ts DESC, a.id DESC LIMIT $4`,
      [filter.equipmentId ?? null, filter.farmId ?? null, filter.since ?? null, filter.limit],
    );
    return rows.map(toAlert);
  }
}
