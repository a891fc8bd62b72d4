import type { EquipmentType, TelemetryRecord } from "./telemetry.ts";

export type Severity = "warning" | "critical";

/** A threshold breach found in one reading. */
export interface Alert {
  equipmentId: string;
  ts: Date;
  rule: string;
  severity: Severity;
  message: string;
  value: number | null;
  threshold: number | null;
}

export interface Thresholds {
  motorTempWarnC: number;
  motorTempCriticalC: number;
  /** Rated motor current per machine type: above it is an overload. */
  maxMotorCurrentA: Record<EquipmentType, number>;
  /** Below this signal strength (dBm) the device is about to drop off the network. */
  minRssi: number;
}

export const defaultThresholds: Thresholds = {
  motorTempWarnC: 85,
  motorTempCriticalC: 100,
  maxMotorCurrentA: { "feed-mixer": 60, "silo-unloader": 25, conveyor: 15, "manure-pump": 45 },
  minRssi: -90,
};

/** Applies every alert rule to one reading. */
export function evaluateAlerts(
  reading: TelemetryRecord,
  thresholds: Thresholds = defaultThresholds,
): Alert[] {
  const alerts: Alert[] = [];
  const add = (
    rule: string,
    severity: Severity,
    message: string,
    value: number | null,
    threshold: number | null,
  ) =>
    alerts.push({
      equipmentId: reading.equipmentId,
      ts: reading.ts,
      rule,
      severity,
      message,
      value,
      threshold,
    });

  const temp = reading.motorTempC;
  if (temp !== null) {
    if (temp >= thresholds.motorTempCriticalC) {
      add("motor-temp", "critical", `Motor temperature ${temp} °C`, temp, thresholds.motorTempCriticalC);
    } else if (temp >= thresholds.motorTempWarnC) {
      add("motor-temp", "warning", `Motor temperature ${temp} °C`, temp, thresholds.motorTempWarnC);
    }
  }

  const current = reading.motorCurrentA;
  const maxCurrent = thresholds.maxMotorCurrentA[reading.type];
  if (current !== null && current > maxCurrent) {
    add(
      "motor-overload",
      "critical",
      `Motor current ${current} A above rated ${maxCurrent} A`,
      current,
      maxCurrent,
    );
  }

  if (reading.runState === "fault" || reading.faultCodes.length > 0) {
    const codes = reading.faultCodes.length > 0 ? reading.faultCodes.join(", ") : "none reported";
    add("fault", "critical", `Machine in fault (codes: ${codes})`, null, null);
  }

  if (reading.rssi !== null && reading.rssi < thresholds.minRssi) {
    add("weak-signal", "warning", `Weak signal ${reading.rssi} dBm`, reading.rssi, thresholds.minRssi);
  }
  return alerts;
}
