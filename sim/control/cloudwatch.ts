import { bool, clientError, list, num, paginate, time } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import {
  type Alarm,
  type AlarmState,
  actionsEnabled,
  alarmNameOf,
  alarms,
  evaluateCompositeAlarm,
  evaluateRule,
  history,
  setState,
} from "./alarms.ts";
import { allSeries, evaluateQueries, findSeries, pointsIn, putMetricData, statistic } from "./metrics.ts";
import type { MetricDatum } from "./runtime.ts";
import { arn, date, type Sim } from "./state.ts";

/** CloudWatch (awsJson1_0 with query compatibility, and awsQuery): metrics and alarms. */

// biome-ignore lint/suspicious/noExplicitAny: input as sent
type Row = Record<string, any>;

const metricFields = [
  "MetricName",
  "Namespace",
  "Statistic",
  "ExtendedStatistic",
  "Dimensions",
  "Period",
  "Unit",
  "EvaluationPeriods",
  "DatapointsToAlarm",
  "Threshold",
  "ComparisonOperator",
  "TreatMissingData",
  "EvaluateLowSampleCountPercentile",
  "Metrics",
  "ThresholdMetricId",
];

export function putMetricAlarm(sim: Sim, input: Row): Alarm {
  const name = input.AlarmName;
  if (!name) throw clientError("ValidationError", "AlarmName is required");
  if (!input.ComparisonOperator) throw clientError("ValidationError", "ComparisonOperator is required");
  if (num(input.EvaluationPeriods) === undefined)
    throw clientError("ValidationError", "EvaluationPeriods is required");
  const metrics = list<Row>(input.Metrics);
  if (!metrics.length && (!input.MetricName || !input.Namespace)) {
    throw clientError("ValidationError", "MetricName and Namespace (or Metrics) are required");
  }
  if (!metrics.length && !input.Statistic && !input.ExtendedStatistic) {
    throw clientError("ValidationError", "Statistic or ExtendedStatistic is required");
  }
  const existing = alarms(sim)[name];
  if (existing && existing.kind !== "metric")
    throw clientError("ValidationError", `${name} is a composite alarm`);
  const now = sim.clock.now();
  const alarm: Alarm = existing ?? {
    AlarmName: name,
    AlarmArn: arn(sim, "cloudwatch", `alarm:${name}`),
    kind: "metric",
    StateValue: "INSUFFICIENT_DATA",
    StateReason: "Unchecked: Initial alarm creation",
    StateUpdatedTimestamp: now,
    StateTransitionedTimestamp: now,
  };
  for (const field of metricFields) delete alarm[field];
  Object.assign(alarm, pick(input, metricFields), {
    AlarmDescription: input.AlarmDescription,
    ActionsEnabled: actionsEnabled(input.ActionsEnabled),
    OKActions: list(input.OKActions),
    AlarmActions: list(input.AlarmActions),
    InsufficientDataActions: list(input.InsufficientDataActions),
    AlarmConfigurationUpdatedTimestamp: now,
    Period: num(input.Period),
    EvaluationPeriods: num(input.EvaluationPeriods),
    DatapointsToAlarm: num(input.DatapointsToAlarm),
    Threshold: num(input.Threshold),
    Metrics: metrics.length ? metrics.map(normalizeQuery) : undefined,
  });
  alarms(sim)[name] = alarm;
  if (input.Tags)
    sim.state.tags[alarm.AlarmArn] = list<Row>(input.Tags).map((tag) => ({ key: tag.Key, value: tag.Value }));
  return alarm;
}

function normalizeQuery(query: Row): Row {
  return {
    ...query,
    ReturnData: query.ReturnData === undefined ? undefined : bool(query.ReturnData),
    Period: num(query.Period),
    MetricStat: query.MetricStat && { ...query.MetricStat, Period: num(query.MetricStat.Period) },
  };
}

export function putCompositeAlarm(sim: Sim, input: Row): Alarm {
  const name = input.AlarmName;
  if (!name || !input.AlarmRule) throw clientError("ValidationError", "AlarmName and AlarmRule are required");
  try {
    evaluateRule(input.AlarmRule, () => undefined);
  } catch (error) {
    throw clientError("ValidationError", error instanceof Error ? error.message : String(error));
  }
  const existing = alarms(sim)[name];
  if (existing && existing.kind !== "composite")
    throw clientError("ValidationError", `${name} is a metric alarm`);
  const now = sim.clock.now();
  const alarm: Alarm = existing ?? {
    AlarmName: name,
    AlarmArn: arn(sim, "cloudwatch", `alarm:${name}`),
    kind: "composite",
    StateValue: "INSUFFICIENT_DATA",
    StateReason: "Unchecked: Initial alarm creation",
    StateUpdatedTimestamp: now,
    StateTransitionedTimestamp: now,
  };
  Object.assign(alarm, {
    AlarmRule: input.AlarmRule,
    AlarmDescription: input.AlarmDescription,
    ActionsEnabled: actionsEnabled(input.ActionsEnabled),
    OKActions: list(input.OKActions),
    AlarmActions: list(input.AlarmActions),
    InsufficientDataActions: list(input.InsufficientDataActions),
    AlarmConfigurationUpdatedTimestamp: now,
  });
  alarms(sim)[name] = alarm;
  evaluateCompositeAlarm(sim, alarm);
  return alarm;
}

function pick(input: Row, fields: string[]): Row {
  return Object.fromEntries(
    fields.filter((field) => input[field] !== undefined).map((field) => [field, input[field]]),
  );
}

function alarmView(alarm: Alarm) {
  const {
    kind,
    held,
    StateUpdatedTimestamp,
    StateTransitionedTimestamp,
    AlarmConfigurationUpdatedTimestamp,
    ...rest
  } = alarm;
  return {
    ...rest,
    StateUpdatedTimestamp: date(StateUpdatedTimestamp),
    StateTransitionedTimestamp: date(StateTransitionedTimestamp),
    AlarmConfigurationUpdatedTimestamp: date(AlarmConfigurationUpdatedTimestamp),
  };
}

function toDatum(item: Row): MetricDatum {
  return {
    MetricName: item.MetricName,
    Dimensions: list(item.Dimensions),
    Timestamp: time(item.Timestamp),
    Value: num(item.Value),
    Values: list(item.Values).map(Number),
    Counts: list(item.Counts).map(Number),
    StatisticValues: item.StatisticValues && {
      SampleCount: Number(item.StatisticValues.SampleCount),
      Sum: Number(item.StatisticValues.Sum),
      Minimum: Number(item.StatisticValues.Minimum),
      Maximum: Number(item.StatisticValues.Maximum),
    },
    Unit: item.Unit,
  };
}

export function cloudWatchOperations(sim: Sim): Operations {
  return {
    PutMetricData: (input) => {
      if (!input.Namespace) throw clientError("InvalidParameterValue", "Namespace is required");
      if (String(input.Namespace).startsWith("AWS/"))
        throw clientError("InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid.");
      putMetricData(sim, input.Namespace, list<Row>(input.MetricData).map(toDatum));
      return {};
    },
    GetMetricStatistics: (input) => {
      const start = time(input.StartTime) ?? 0;
      const end = time(input.EndTime) ?? sim.clock.now();
      const period = (num(input.Period) ?? 60) * 1000;
      const stats = list<string>(input.Statistics);
      const extended = list<string>(input.ExtendedStatistics);
      if (!stats.length && !extended.length)
        throw clientError("MissingParameter", "Statistics or ExtendedStatistics is required");
      const series = findSeries(sim, input.Namespace, input.MetricName, list(input.Dimensions));
      const datapoints = [];
      for (let t = start; t < end; t += period) {
        const points = pointsIn(series, t, Math.min(t + period, end), input.Unit);
        if (!points.length) continue;
        const datapoint: Row = { Timestamp: new Date(t), Unit: input.Unit ?? points[0]?.unit ?? "None" };
        for (const stat of stats) datapoint[stat] = statistic(points, stat);
        if (extended.length)
          datapoint.ExtendedStatistics = Object.fromEntries(
            extended.map((stat) => [stat, statistic(points, stat)]),
          );
        datapoints.push(datapoint);
      }
      return { Label: input.MetricName, Datapoints: datapoints };
    },
    GetMetricData: (input) => {
      const start = time(input.StartTime) ?? 0;
      const end = time(input.EndTime) ?? sim.clock.now();
      const queries = list<Row>(input.MetricDataQueries).map(normalizeQuery);
      if (!queries.length) throw clientError("ValidationError", "MetricDataQueries is required");
      let results: ReturnType<typeof evaluateQueries>;
      try {
        results = evaluateQueries(sim, queries, start, end);
      } catch (error) {
        throw clientError("ValidationError", error instanceof Error ? error.message : String(error));
      }
      const ascending = input.ScanBy === "TimestampAscending";
      return {
        MetricDataResults: queries
          .filter((query) => query.ReturnData !== false)
          .map((query) => {
            const entries = [...(results.get(query.Id) ?? new Map()).entries()].sort((a, b) =>
              ascending ? a[0] - b[0] : b[0] - a[0],
            );
            return {
              Id: query.Id,
              Label: query.Label ?? query.MetricStat?.Metric?.MetricName ?? query.Id,
              Timestamps: entries.map(([t]) => new Date(t)),
              Values: entries.map(([, value]) => value),
              StatusCode: "Complete",
            };
          }),
        Messages: [],
      };
    },
    ListMetrics: (input) => {
      const wanted = list<Row>(input.Dimensions);
      const metrics = Object.values(allSeries(sim))
        .filter(
          (series) =>
            (!input.Namespace || series.Namespace === input.Namespace) &&
            (!input.MetricName || series.MetricName === input.MetricName),
        )
        .filter((series) =>
          wanted.every((dimension) =>
            series.Dimensions.some(
              (item) =>
                item.Name === dimension.Name &&
                (dimension.Value === undefined || item.Value === dimension.Value),
            ),
          ),
        )
        .map((series) => ({
          Namespace: series.Namespace,
          MetricName: series.MetricName,
          Dimensions: series.Dimensions,
        }));
      const { page, nextToken } = paginate(metrics, input.NextToken, 500, 500, 500);
      return { Metrics: page, NextToken: nextToken };
    },
    PutMetricAlarm: (input) => {
      putMetricAlarm(sim, input);
      return {};
    },
    PutCompositeAlarm: (input) => {
      putCompositeAlarm(sim, input);
      return {};
    },
    DescribeAlarms: (input) => {
      const names = list<string>(input.AlarmNames);
      const types = list<string>(input.AlarmTypes);
      const wantMetric = types.length === 0 || types.includes("MetricAlarm");
      const wantComposite = types.includes("CompositeAlarm");
      let selected = Object.values(alarms(sim)).sort((a, b) => a.AlarmName.localeCompare(b.AlarmName));
      if (names.length) selected = selected.filter((alarm) => names.includes(alarm.AlarmName));
      if (input.AlarmNamePrefix)
        selected = selected.filter((alarm) => alarm.AlarmName.startsWith(input.AlarmNamePrefix));
      if (input.StateValue) selected = selected.filter((alarm) => alarm.StateValue === input.StateValue);
      if (input.ActionPrefix)
        selected = selected.filter((alarm) =>
          list<string>(alarm.AlarmActions).some((action) => action.startsWith(input.ActionPrefix)),
        );
      if (input.ParentsOfAlarmName) {
        selected = selected.filter(
          (alarm) => alarm.kind === "composite" && String(alarm.AlarmRule).includes(input.ParentsOfAlarmName),
        );
      }
      selected = selected.filter((alarm) => (alarm.kind === "metric" ? wantMetric : wantComposite));
      const { page, nextToken } = paginate(selected, input.NextToken, input.MaxRecords, 50, 100);
      return {
        MetricAlarms: page.filter((alarm) => alarm.kind === "metric").map(alarmView),
        CompositeAlarms: wantComposite
          ? page.filter((alarm) => alarm.kind === "composite").map(alarmView)
          : undefined,
        NextToken: nextToken,
      };
    },
    DescribeAlarmsForMetric: (input) => ({
      MetricAlarms: Object.values(alarms(sim))
        .filter(
          (alarm) =>
            alarm.kind === "metric" &&
            alarm.Namespace === input.Namespace &&
            alarm.MetricName === input.MetricName,
        )
        .map(alarmView),
    }),
    DescribeAlarmHistory: (input) => {
      const items = history(sim)
        .filter((item) => !input.AlarmName || item.AlarmName === input.AlarmName)
        .filter((item) => !input.HistoryItemType || item.HistoryItemType === input.HistoryItemType)
        .map((item) => ({ ...item, Timestamp: date(item.Timestamp as number) }))
        .reverse();
      const { page, nextToken } = paginate(items, input.NextToken, input.MaxRecords, 100, 100);
      return { AlarmHistoryItems: page, NextToken: nextToken };
    },
    DeleteAlarms: (input) => {
      const names = list<string>(input.AlarmNames);
      const missing = names.find((name) => !alarms(sim)[name]);
      if (missing) throw clientError("ResourceNotFound", `Alarm ${missing} does not exist`);
      for (const name of names) delete alarms(sim)[name];
      return {};
    },
    SetAlarmState: (input) => {
      const alarm = alarms(sim)[alarmNameOf(String(input.AlarmName ?? ""))];
      if (!alarm) throw clientError("ResourceNotFound", `Alarm ${input.AlarmName} does not exist`);
      const state = input.StateValue as AlarmState;
      if (!["OK", "ALARM", "INSUFFICIENT_DATA"].includes(state))
        throw clientError("InvalidFormat", `StateValue ${state} is not valid`);
      if (input.StateReasonData) {
        try {
          JSON.parse(input.StateReasonData);
        } catch {
          throw clientError("InvalidFormat", "StateReasonData is not valid JSON");
        }
      }
      setState(sim, alarm, state, input.StateReason ?? "", input.StateReasonData);
      for (const other of Object.values(alarms(sim)))
        if (other.kind === "composite" && !other.held) evaluateCompositeAlarm(sim, other);
      return {};
    },
    EnableAlarmActions: (input) => {
      for (const name of list<string>(input.AlarmNames))
        if (alarms(sim)[name]) (alarms(sim)[name] as Alarm).ActionsEnabled = true;
      return {};
    },
    DisableAlarmActions: (input) => {
      for (const name of list<string>(input.AlarmNames))
        if (alarms(sim)[name]) (alarms(sim)[name] as Alarm).ActionsEnabled = false;
      return {};
    },
    ListTagsForResource: (input) => ({
      Tags: (sim.state.tags[input.ResourceARN] ?? []).map((tag) => ({ Key: tag.key, Value: tag.value })),
    }),
    TagResource: (input) => {
      const current = sim.state.tags[input.ResourceARN] ?? [];
      for (const tag of list<Row>(input.Tags)) {
        const found = current.find((item) => item.key === tag.Key);
        if (found) found.value = tag.Value;
        else current.push({ key: tag.Key, value: tag.Value });
      }
      sim.state.tags[input.ResourceARN] = current;
      return {};
    },
  };
}
