import { bool, list, num } from "../protocol/errors.ts";
import { evaluateQueries, findSeries, pointsIn, statistic } from "./metrics.ts";
import type { Sim } from "./state.ts";

/**
 * CloudWatch alarm evaluation on the sim clock: metric alarms by period, statistic, threshold, comparison,
 * EvaluationPeriods/DatapointsToAlarm and TreatMissingData; composite alarms by their AlarmRule.
 */

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

// biome-ignore lint/suspicious/noExplicitAny: alarms keep the fields AWS names
export type Alarm = Record<string, any> & {
  AlarmName: string;
  kind: "metric" | "composite";
  StateValue: AlarmState;
  StateUpdatedTimestamp: number;
  /** Set through the admin API: the state stays until released (SetAlarmState alone lasts one evaluation). */
  held?: boolean;
};

export const alarms = (sim: Sim): Record<string, Alarm> => (sim.state.cloudwatch.alarms ??= {});
export const history = (sim: Sim): Array<Record<string, unknown>> => (sim.state.cloudwatch.history ??= []);

export function alarmNameOf(reference: string): string {
  return reference.startsWith("arn:") ? reference.slice(reference.indexOf(":alarm:") + 7) : reference;
}

/** The state CodeDeploy reads when it polls a group alarm; undefined when the alarm cannot be read. */
export function alarmStateForCodeDeploy(sim: Sim, name: string): AlarmState | undefined {
  return alarms(sim)[alarmNameOf(name)]?.StateValue;
}

export function setState(
  sim: Sim,
  alarm: Alarm,
  state: AlarmState,
  reason: string,
  reasonData?: string,
): void {
  const now = sim.clock.now();
  const previous = alarm.StateValue;
  alarm.StateReason = reason;
  alarm.StateReasonData = reasonData;
  if (previous === state) return;
  alarm.StateValue = state;
  alarm.StateUpdatedTimestamp = now;
  alarm.StateTransitionedTimestamp = now;
  history(sim).push({
    AlarmName: alarm.AlarmName,
    AlarmType: alarm.kind === "metric" ? "MetricAlarm" : "CompositeAlarm",
    Timestamp: now,
    HistoryItemType: "StateUpdate",
    HistorySummary: `Alarm updated from ${previous} to ${state}`,
    HistoryData: JSON.stringify({
      oldState: { stateValue: previous },
      newState: { stateValue: state, stateReason: reason },
    }),
  });
  sim.log(`cloudwatch: alarm ${alarm.AlarmName} ${previous} -> ${state}: ${reason}`);
}

const comparisons: Record<string, [(value: number, threshold: number) => boolean, string]> = {
  GreaterThanOrEqualToThreshold: [(value, threshold) => value >= threshold, "greater than or equal to"],
  GreaterThanThreshold: [(value, threshold) => value > threshold, "greater than"],
  LessThanThreshold: [(value, threshold) => value < threshold, "less than"],
  LessThanOrEqualToThreshold: [(value, threshold) => value <= threshold, "less than or equal to"],
};

function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(2, 4)} ${iso.slice(11, 19)}`;
}

/** Values of the last N periods, newest first (undefined = missing). */
function periodValues(sim: Sim, alarm: Alarm, now: number): Array<{ t: number; value: number | undefined }> {
  const period =
    (num(alarm.Period) ??
      num(list<Alarm>(alarm.Metrics).find((item) => item.MetricStat)?.MetricStat?.Period) ??
      60) * 1000;
  const evaluationPeriods = num(alarm.EvaluationPeriods) ?? 1;
  const end = Math.floor(now / period) * period;
  const start = end - evaluationPeriods * period;
  const output: Array<{ t: number; value: number | undefined }> = [];
  if (list(alarm.Metrics).length > 0) {
    const results = evaluateQueries(sim, list(alarm.Metrics), start, end);
    const returned = list<Alarm>(alarm.Metrics).find(
      (item) => item.ReturnData !== false && item.ReturnData !== "false",
    );
    const values = results.get(returned?.Id);
    for (let index = 0; index < evaluationPeriods; index++) {
      const t = end - (index + 1) * period;
      output.push({ t, value: values?.get(t) });
    }
    return output;
  }
  const series = findSeries(sim, alarm.Namespace, alarm.MetricName, list(alarm.Dimensions));
  const stat = alarm.ExtendedStatistic ?? alarm.Statistic ?? "Average";
  for (let index = 0; index < evaluationPeriods; index++) {
    const t = end - (index + 1) * period;
    output.push({ t, value: statistic(pointsIn(series, t, t + period, alarm.Unit), stat) });
  }
  return output;
}

export function evaluateMetricAlarm(sim: Sim, alarm: Alarm) {
  const now = sim.clock.now();
  const values = periodValues(sim, alarm, now);
  const threshold = num(alarm.Threshold) ?? 0;
  const [compare, words] = comparisons[alarm.ComparisonOperator] ??
    comparisons.GreaterThanThreshold ?? [() => false, ""];
  const evaluationPeriods = values.length;
  const datapointsToAlarm = num(alarm.DatapointsToAlarm) ?? evaluationPeriods;
  const treat = alarm.TreatMissingData ?? "missing";
  const present = values.filter((item) => item.value !== undefined);
  let breaching = present.filter((item) => compare(item.value as number, threshold)).length;
  const missing = evaluationPeriods - present.length;
  if (treat === "breaching") breaching += missing;
  const shown = present
    .slice(0, datapointsToAlarm)
    .map((item) => `${(item.value as number).toFixed(1)} (${formatTime(item.t)})`)
    .join(", ");
  const reasonData = JSON.stringify({
    version: "1.0",
    queryDate: new Date(now).toISOString(),
    statistic: alarm.ExtendedStatistic ?? alarm.Statistic,
    period: num(alarm.Period),
    recentDatapoints: present.map((item) => item.value),
    threshold,
    evaluatedDatapoints: values.map((item) => ({
      timestamp: new Date(item.t).toISOString(),
      value: item.value,
    })),
  });
  let next: AlarmState;
  if (present.length === 0 && treat === "missing") {
    return setState(
      sim,
      alarm,
      "INSUFFICIENT_DATA",
      `Insufficient Data: ${evaluationPeriods} datapoint${evaluationPeriods > 1 ? "s were" : " was"} unknown.`,
      reasonData,
    );
  }
  if (present.length === 0 && treat === "ignore") {
    if (alarm.held) return;
    return setState(sim, alarm, alarm.StateValue, alarm.StateReason ?? "Missing data ignored.", reasonData);
  }
  if (breaching >= datapointsToAlarm) next = "ALARM";
  else next = "OK";
  const counted = next === "ALARM" ? breaching : evaluationPeriods - breaching;
  const reason = `Threshold Crossed: ${counted} out of the last ${evaluationPeriods} datapoints [${shown}] ${next === "ALARM" ? "was" : "was not"} ${words} the threshold (${threshold.toFixed(1)}) (minimum ${datapointsToAlarm} datapoint${datapointsToAlarm > 1 ? "s" : ""} for OK -> ALARM transition).`;
  setState(sim, alarm, next, reason, reasonData);
}

/** AlarmRule: ALARM(x) | OK(x) | INSUFFICIENT_DATA(x) | TRUE | FALSE, NOT, AND, OR, parentheses. */
export function evaluateRule(rule: string, stateOf: (name: string) => AlarmState | undefined): boolean {
  const tokens = rule.match(/\(|\)|"[^"]*"|[^\s()"]+/g) ?? [];
  let position = 0;
  const peek = () => tokens[position];
  const take = () => tokens[position++];
  const expect = (token: string) => {
    if (take() !== token) throw new Error(`AlarmRule '${rule}': expected ${token}`);
  };
  const primary = (): boolean => {
    const token = take();
    if (token === undefined) throw new Error(`AlarmRule '${rule}' ends too early`);
    if (token === "(") {
      const value = or();
      expect(")");
      return value;
    }
    if (token === "NOT") return !primary();
    if (token === "TRUE") return true;
    if (token === "FALSE") return false;
    if (token === "ALARM" || token === "OK" || token === "INSUFFICIENT_DATA") {
      expect("(");
      let name = take() ?? "";
      if (name.startsWith('"')) name = name.slice(1, -1);
      expect(")");
      return stateOf(alarmNameOf(name)) === token;
    }
    throw new Error(`AlarmRule '${rule}': unexpected '${token}'`);
  };
  const and = (): boolean => {
    let value = primary();
    while (peek() === "AND") {
      take();
      const right = primary();
      value = value && right;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (peek() === "OR") {
      take();
      const right = and();
      value = value || right;
    }
    return value;
  };
  const value = or();
  if (position !== tokens.length) throw new Error(`AlarmRule '${rule}': unexpected '${peek()}'`);
  return value;
}

export function evaluateCompositeAlarm(sim: Sim, alarm: Alarm): void {
  const all = alarms(sim);
  const fired = evaluateRule(String(alarm.AlarmRule), (name) => all[name]?.StateValue);
  setState(
    sim,
    alarm,
    fired ? "ALARM" : "OK",
    fired
      ? `arn:aws:cloudwatch alarm rule ${alarm.AlarmRule} evaluated to TRUE`
      : `Alarm rule ${alarm.AlarmRule} evaluated to FALSE`,
  );
}

/** Evaluates every alarm (metric alarms first, then composites), as CloudWatch does each minute. */
export function evaluateAlarms(sim: Sim): void {
  const all = Object.values(alarms(sim));
  for (const alarm of all) {
    if (alarm.kind !== "metric" || alarm.held) continue;
    try {
      evaluateMetricAlarm(sim, alarm);
    } catch (error) {
      sim.log(
        `cloudwatch: alarm ${alarm.AlarmName} cannot be evaluated: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  for (let round = 0; round < 3; round++) {
    for (const alarm of all) {
      if (alarm.kind !== "composite" || alarm.held) continue;
      try {
        evaluateCompositeAlarm(sim, alarm);
      } catch (error) {
        sim.log(
          `cloudwatch: composite ${alarm.AlarmName} cannot be evaluated: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
  }
}

export const actionsEnabled = (value: unknown): boolean => bool(value) ?? true;
