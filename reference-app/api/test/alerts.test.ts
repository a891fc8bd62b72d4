import { describe, expect, it } from "vitest";
import { defaultThresholds, evaluateAlerts } from "../src/alerts.ts";
import type { TelemetryRecord } from "../src/telemetry.ts";

const base: TelemetryRecord = {
  equipmentId: "mixer-1",
  type: "feed-mixer",
  ts: new Date("2025-03-01T06:30:00Z"),
  receivedAt: new Date("2025-03-01T06:30:01Z"),
  runState: "running",
  rpm: 38,
  motorCurrentA: 40,
  motorTempC: 70,
  hoursMeter: 100,
  loadKg: 5000,
  faultCodes: [],
  rssi: -60,
  fw: "2.0.0",
};

const rules = (reading: Partial<TelemetryRecord>) =>
  evaluateAlerts({ ...base, ...reading }).map((alert) => `${alert.rule}:${alert.severity}`);

describe("alert rules", () => {
  it("raises nothing for a healthy reading", () => {
    expect(evaluateAlerts(base)).toEqual([]);
  });

  it("warns on a hot motor and escalates past the critical temperature", () => {
    expect(rules({ motorTempC: defaultThresholds.motorTempWarnC - 0.1 })).toEqual([]);
    expect(rules({ motorTempC: defaultThresholds.motorTempWarnC })).toEqual(["motor-temp:warning"]);
    expect(rules({ motorTempC: defaultThresholds.motorTempCriticalC + 5 })).toEqual(["motor-temp:critical"]);
  });

  it("records the value and the threshold it crossed", () => {
    const [alert] = evaluateAlerts({ ...base, motorTempC: 104 });
    expect(alert).toMatchObject({
      equipmentId: "mixer-1",
      ts: base.ts,
      rule: "motor-temp",
      severity: "critical",
      value: 104,
      threshold: defaultThresholds.motorTempCriticalC,
    });
  });

  it("judges motor current against the rated current of the machine type", () => {
    expect(rules({ type: "feed-mixer", motorCurrentA: 50 })).toEqual([]);
    expect(rules({ type: "conveyor", motorCurrentA: 50 })).toEqual(["motor-overload:critical"]);
  });

  it("raises a fault alert for a fault state or fault codes", () => {
    expect(rules({ runState: "fault" })).toEqual(["fault:critical"]);
    expect(rules({ faultCodes: ["E101", "E117"] })).toEqual(["fault:critical"]);
    expect(evaluateAlerts({ ...base, faultCodes: ["E101", "E117"] })[0]?.message).toContain("E101, E117");
  });

  it("warns on a weak signal", () => {
    expect(rules({ rssi: -95 })).toEqual(["weak-signal:warning"]);
  });

  it("ignores measurements the device did not send", () => {
    expect(rules({ motorTempC: null, motorCurrentA: null, rssi: null })).toEqual([]);
  });

  it("reports every breach of one reading", () => {
    expect(rules({ motorTempC: 120, motorCurrentA: 90, runState: "fault", rssi: -99 })).toEqual([
      "motor-temp:critical",
      "motor-overload:critical",
      "fault:critical",
      "weak-signal:warning",
    ]);
  });

  it("accepts other thresholds", () => {
    expect(
      evaluateAlerts(base, { ...defaultThresholds, motorTempWarnC: 60 }).map((alert) => alert.rule),
    ).toEqual(["motor-temp"]);
  });
});
