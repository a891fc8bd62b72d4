import { z } from "zod";

/** The machines the platform manages; also the `type` field of every telemetry message. */
export const equipmentTypes = ["feed-mixer", "silo-unloader", "conveyor", "manure-pump"] as const;
export type EquipmentType = (typeof equipmentTypes)[number];

export const runStates = ["running", "idle", "stopped", "fault"] as const;
export type RunState = (typeof runStates)[number];

/** Equipment ids travel in MQTT topics and URLs: keep them to safe characters. */
export const equipmentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "letters, digits, '-' or '_', at most 64 characters");

const timestamp = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().positive().max(8_640_000_000_000_000),
]);

const measurement = (min: number, max: number) => z.number().finite().min(min).max(max).nullable().optional();

/** One telemetry message as a device publishes it on `valmetal/equipment/<id>/telemetry`. */
export const telemetryPayloadSchema = z.object({
  type: z.enum(equipmentTypes),
  /** ISO 8601 with offset, or epoch milliseconds. */
  ts: timestamp,
  runState: z.enum(runStates),
  rpm: measurement(0, 100_000),
  motorCurrentA: measurement(0, 10_000),
  motorTempC: measurement(-60, 400),
  hoursMeter: measurement(0, 10_000_000),
  loadKg: measurement(0, 1_000_000),
  faultCodes: z.array(z.string().min(1).max(32)).max(50).default([]),
  rssi: measurement(-150, 0),
  fw: z.string().max(64).nullable().optional(),
});
export type TelemetryPayload = z.infer<typeof telemetryPayloadSchema>;

/** A stored reading: the payload plus what the IoT rule adds (equipment id from the topic, receive time). */
export interface TelemetryRecord {
  equipmentId: string;
  type: EquipmentType;
  ts: Date;
  receivedAt: Date;
  runState: RunState;
  rpm: number | null;
  motorCurrentA: number | null;
  motorTempC: number | null;
  hoursMeter: number | null;
  loadKg: number | null;
  faultCodes: string[];
  rssi: number | null;
  fw: string | null;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

export function parseTelemetryPayload(input: unknown): ParseResult<TelemetryPayload> {
  const result = telemetryPayloadSchema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: describe(result.error) };
}

/**
 * The IoT rule's `topic(3)`: the third level of `valmetal/equipment/<id>/telemetry`, or undefined when the
 * topic does not have that shape or the id is not valid.
 */
export function equipmentIdFromTopic(topic: string): string | undefined {
  const levels = topic.split("/");
  if (
    levels.length !== 4 ||
    levels[0] !== "valmetal" ||
    levels[1] !== "equipment" ||
    levels[3] !== "telemetry"
  ) {
    return undefined;
  }
  const id = levels[2] ?? "";
  return equipmentIdSchema.safeParse(id).success ? id : undefined;
}

export function toTelemetryRecord(
  equipmentId: string,
  payload: TelemetryPayload,
  receivedAt: Date,
): TelemetryRecord {
  return {
    equipmentId,
    type: payload.type,
    ts: new Date(payload.ts),
    receivedAt,
    runState: payload.runState,
    rpm: payload.rpm ?? null,
    motorCurrentA: payload.motorCurrentA ?? null,
    motorTempC: payload.motorTempC ?? null,
    hoursMeter: payload.hoursMeter ?? null,
    loadKg: payload.loadKg ?? null,
    faultCodes: payload.faultCodes,
    rssi: payload.rssi ?? null,
    fw: payload.fw ?? null,
  };
}

/** The MQTT path: raw message bytes and topic to a record, or the reason the message is malformed. */
export function mapMqttMessage(
  topic: string,
  message: Buffer | string,
  receivedAt: Date,
): ParseResult<TelemetryRecord> {
  const equipmentId = equipmentIdFromTopic(topic);
  if (!equipmentId) return { ok: false, error: `topic ${JSON.stringify(topic)} has no valid equipment id` };
  let json: unknown;
  try {
    json = JSON.parse(typeof message === "string" ? message : message.toString("utf8"));
  } catch {
    return { ok: false, error: "payload is not JSON" };
  }
  const payload = parseTelemetryPayload(json);
  if (!payload.ok) return payload;
  return { ok: true, value: toTelemetryRecord(equipmentId, payload.value, receivedAt) };
}

/** Equipment registration (POST /api/equipment). */
export const equipmentInputSchema = z.object({
  id: equipmentIdSchema,
  farmId: z.string().min(1).max(64),
  type: z.enum(equipmentTypes),
  name: z.string().min(1).max(120),
  model: z.string().max(120).nullable().optional(),
});
export type EquipmentInput = z.infer<typeof equipmentInputSchema>;

export const equipmentQuerySchema = z.object({
  farmId: z.string().min(1).max(64).optional(),
  type: z.enum(equipmentTypes).optional(),
});

const dateParam = z.iso
  .datetime({ offset: true })
  .or(z.string().regex(/^\d+$/))
  .transform((value) => new Date(/^\d+$/.test(value) ? Number(value) : value));

export const historyQuerySchema = z
  .object({
    from: dateParam.optional(),
    to: dateParam.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .refine((query) => !query.from || !query.to || query.from <= query.to, {
    message: "from must not be after to",
    path: ["from"],
  });

export const alertsQuerySchema = z.object({
  farmId: z.string().min(1).max(64).optional(),
  equipmentId: equipmentIdSchema.optional(),
  since: dateParam.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function parseWith<T>(schema: z.ZodType<T>, input: unknown): ParseResult<T> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: describe(result.error) };
}
