import { describe, expect, it } from "vitest";
import {
  equipmentIdFromTopic,
  equipmentInputSchema,
  historyQuerySchema,
  mapMqttMessage,
  parseTelemetryPayload,
  parseWith,
  toTelemetryRecord,
} from "../src/telemetry.ts";

const valid = {
  type: "feed-mixer",
  ts: "2025-03-01T06:30:00.000Z",
  runState: "running",
  rpm: 38.5,
  motorCurrentA: 41.2,
  motorTempC: 71.4,
  hoursMeter: 1234.5,
  loadKg: 5400,
  faultCodes: [],
  rssi: -67,
  fw: "2.1.4",
};

describe("telemetry payload validation", () => {
  it("accepts a complete reading", () => {
    const result = parseTelemetryPayload(valid);
    expect(result.ok).toBe(true);
  });

  it("accepts epoch milliseconds and missing optional measurements", () => {
    const result = parseTelemetryPayload({ type: "conveyor", ts: 1_740_810_600_000, runState: "idle" });
    expect(result).toMatchObject({ ok: true, value: { faultCodes: [] } });
  });

  it.each([
    ["an unknown machine type", { ...valid, type: "tractor" }, "type"],
    ["an unknown run state", { ...valid, runState: "dancing" }, "runState"],
    ["a timestamp without offset", { ...valid, ts: "2025-03-01 06:30" }, "ts"],
    ["a negative rpm", { ...valid, rpm: -1 }, "rpm"],
    ["a string measurement", { ...valid, motorTempC: "hot" }, "motorTempC"],
    ["a positive rssi", { ...valid, rssi: 5 }, "rssi"],
    ["fault codes that are not strings", { ...valid, faultCodes: [42] }, "faultCodes.0"],
    ["a missing type", { ts: valid.ts, runState: "idle" }, "type"],
  ])("rejects %s and names the field", (_label, input, field) => {
    const result = parseTelemetryPayload(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(`${field}:`);
  });

  it("rejects values that are not objects", () => {
    expect(parseTelemetryPayload(null).ok).toBe(false);
    expect(parseTelemetryPayload([valid]).ok).toBe(false);
    expect(parseTelemetryPayload("reading").ok).toBe(false);
  });
});

describe("equipment id from the topic (the IoT rule's topic(3))", () => {
  it("takes the third level", () => {
    expect(equipmentIdFromTopic("valmetal/equipment/mixer-07/telemetry")).toBe("mixer-07");
  });

  it.each([
    "valmetal/equipment/mixer-07",
    "valmetal/equipment/mixer-07/telemetry/extra",
    "other/equipment/mixer-07/telemetry",
    "valmetal/equipment//telemetry",
    "valmetal/equipment/has space/telemetry",
    `valmetal/equipment/${"x".repeat(65)}/telemetry`,
  ])("refuses %s", (topic) => {
    expect(equipmentIdFromTopic(topic)).toBeUndefined();
  });
});

describe("telemetry mapping", () => {
  const receivedAt = new Date("2025-03-01T06:30:01.000Z");

  it("maps a payload to a stored record, filling absent measurements with null", () => {
    const parsed = parseTelemetryPayload({ type: "manure-pump", ts: 1_740_810_600_000, runState: "stopped" });
    if (!parsed.ok) throw new Error(parsed.error);
    expect(toTelemetryRecord("pump-1", parsed.value, receivedAt)).toEqual({
      equipmentId: "pump-1",
      type: "manure-pump",
      ts: new Date(1_740_810_600_000),
      receivedAt,
      runState: "stopped",
      rpm: null,
      motorCurrentA: null,
      motorTempC: null,
      hoursMeter: null,
      loadKg: null,
      faultCodes: [],
      rssi: null,
      fw: null,
    });
  });

  it("maps an MQTT message: id from the topic, fields from the JSON body", () => {
    const result = mapMqttMessage(
      "valmetal/equipment/mixer-07/telemetry",
      Buffer.from(JSON.stringify(valid)),
      receivedAt,
    );
    expect(result).toMatchObject({
      ok: true,
      value: {
        equipmentId: "mixer-07",
        type: "feed-mixer",
        motorTempC: 71.4,
        ts: new Date(valid.ts),
        receivedAt,
      },
    });
  });

  it("reports malformed MQTT messages instead of throwing", () => {
    const topic = "valmetal/equipment/mixer-07/telemetry";
    expect(mapMqttMessage(topic, Buffer.from("{not json"), receivedAt)).toEqual({
      ok: false,
      error: "payload is not JSON",
    });
    expect(mapMqttMessage(topic, Buffer.from([0xff, 0xfe, 0x00]), receivedAt).ok).toBe(false);
    expect(mapMqttMessage(topic, "42", receivedAt).ok).toBe(false);
    expect(mapMqttMessage("valmetal/equipment/telemetry", JSON.stringify(valid), receivedAt)).toMatchObject({
      ok: false,
      error: expect.stringContaining("no valid equipment id"),
    });
  });
});

describe("HTTP input validation", () => {
  it("validates equipment registration", () => {
    const ok = parseWith(equipmentInputSchema, {
      id: "silo-1",
      farmId: "farm-1",
      type: "silo-unloader",
      name: "Silo",
    });
    expect(ok.ok).toBe(true);
    const bad = parseWith(equipmentInputSchema, { id: "silo 1", farmId: "", type: "silo", name: "" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      for (const field of ["id", "farmId", "type", "name"]) expect(bad.error).toContain(`${field}:`);
    }
  });

  it("parses a history range and bounds the limit", () => {
    const result = parseWith(historyQuerySchema, {
      from: "2025-03-01T00:00:00Z",
      to: "1740873600000",
      limit: "5",
    });
    expect(result).toEqual({
      ok: true,
      value: { from: new Date("2025-03-01T00:00:00Z"), to: new Date(1_740_873_600_000), limit: 5 },
    });
    expect(parseWith(historyQuerySchema, {})).toEqual({ ok: true, value: { limit: 100 } });
    expect(parseWith(historyQuerySchema, { limit: "5000" }).ok).toBe(false);
    expect(parseWith(historyQuerySchema, { limit: "0" }).ok).toBe(false);
    expect(
      parseWith(historyQuerySchema, { from: "2025-03-02T00:00:00Z", to: "2025-03-01T00:00:00Z" }).ok,
    ).toBe(false);
  });
});
