import { list, num } from "../protocol/errors.ts";
import type { MetricDatum } from "./runtime.ts";
import { type Sim, slot } from "./state.ts";

/** CloudWatch metric storage and statistics (Sum, Average, Minimum, Maximum, SampleCount, pNN). */

export interface Dimension {
  Name: string;
  Value: string;
}

export interface Point {
  t: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  /** Raw values when known (for percentiles). */
  values?: number[];
  unit?: string;
}

export interface Series {
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
  points: Point[];
}

const retentionMs = 15 * 24 * 3600 * 1000;

export function seriesKey(namespace: string, metricName: string, dimensions: Dimension[] = []): string {
  const sorted = [...dimensions]
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((item) => `${item.Name}=${item.Value}`);
  return `${namespace}|${metricName}|${sorted.join(",")}`;
}

export const allSeries = (sim: Sim): Record<string, Series> => (sim.state.cloudwatch.metrics ??= {});

export function putMetricData(sim: Sim, namespace: string, data: MetricDatum[]): void {
  const now = sim.clock.now();
  for (const datum of data) {
    const dimensions = list<Dimension>(datum.Dimensions).map((item) => ({
      Name: item.Name,
      Value: item.Value,
    }));
    const key = seriesKey(namespace, datum.MetricName, dimensions);
    const series = slot<Series>(allSeries(sim), key, () => ({
      Namespace: namespace,
      MetricName: datum.MetricName,
      Dimensions: dimensions,
      points: [],
    }));
    const t = datum.Timestamp ?? now;
    const unit = datum.Unit;
    if (datum.StatisticValues) {
      const stats = datum.StatisticValues;
      series.points.push({
        t,
        n: Number(stats.SampleCount),
        sum: Number(stats.Sum),
        min: Number(stats.Minimum),
        max: Number(stats.Maximum),
        unit,
      });
    } else {
      const values = datum.Values?.length ? datum.Values.map(Number) : [Number(datum.Value ?? 0)];
      const counts = datum.Counts?.length ? datum.Counts.map(Number) : values.map(() => 1);
      const expanded: number[] = [];
      values.forEach((value, index) => {
        for (let count = 0; count < Math.min(counts[index] ?? 1, 1000); count++) expanded.push(value);
      });
      series.points.push({
        t,
        n: counts.reduce((total, count) => total + count, 0),
        sum: values.reduce((total, value, index) => total + value * (counts[index] ?? 1), 0),
        min: Math.min(...values),
        max: Math.max(...values),
        values: expanded,
        unit,
      });
    }
    if (series.points.length > 10_000)
      series.points = series.points.filter((point) => point.t > now - retentionMs);
  }
}

export function findSeries(
  sim: Sim,
  namespace: string,
  metricName: string,
  dimensions: Dimension[] = [],
): Series | undefined {
  return allSeries(sim)[seriesKey(namespace, metricName, dimensions)];
}

/** One statistic of the points in [start, end); undefined when there are none. */
export function statistic(points: Point[], stat: string): number | undefined {
  if (points.length === 0) return undefined;
  const n = points.reduce((total, point) => total + point.n, 0);
  const sum = points.reduce((total, point) => total + point.sum, 0);
  switch (stat) {
    case "Sum":
      return sum;
    case "SampleCount":
      return n;
    case "Average":
      return n === 0 ? undefined : sum / n;
    case "Minimum":
      return Math.min(...points.map((point) => point.min));
    case "Maximum":
      return Math.max(...points.map((point) => point.max));
    default: {
      const match = /^p(\d+(?:\.\d+)?)$/.exec(stat);
      if (!match) return undefined;
      const values = points
        .flatMap((point) => point.values ?? [point.sum / Math.max(point.n, 1)])
        .sort((a, b) => a - b);
      const rank = Math.ceil((Number(match[1]) / 100) * values.length);
      return values[Math.min(values.length - 1, Math.max(0, rank - 1))];
    }
  }
}

export function pointsIn(series: Series | undefined, start: number, end: number, unit?: string): Point[] {
  if (!series) return [];
  return series.points.filter(
    (point) => point.t >= start && point.t < end && (!unit || !point.unit || point.unit === unit),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: MetricDataQuery as sent
export type MetricQuery = Record<string, any>;

/** Values of a set of MetricDataQueries per period start, expressions over the other ids included. */
export function evaluateQueries(
  sim: Sim,
  queries: MetricQuery[],
  start: number,
  end: number,
): Map<string, Map<number, number>> {
  const results = new Map<string, Map<number, number>>();
  for (const query of queries) {
    if (!query.MetricStat) continue;
    const period = (num(query.MetricStat.Period) ?? 60) * 1000;
    const metric = query.MetricStat.Metric ?? {};
    const series = findSeries(sim, metric.Namespace, metric.MetricName, list(metric.Dimensions));
    const values = new Map<number, number>();
    for (let t = Math.floor(start / period) * period; t < end; t += period) {
      const value = statistic(
        pointsIn(series, Math.max(t, start), Math.min(t + period, end), query.MetricStat.Unit),
        query.MetricStat.Stat,
      );
      if (value !== undefined) values.set(t, value);
    }
    results.set(query.Id, values);
  }
  for (const query of queries) {
    if (!query.Expression) continue;
    results.set(query.Id, evaluateExpression(String(query.Expression), results));
  }
  return results;
}

function evaluateExpression(
  expression: string,
  results: Map<string, Map<number, number>>,
): Map<number, number> {
  const ids = expression.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  const unknown = ids.find((id) => !results.has(id));
  if (unknown || !/^[A-Za-z0-9_\s.+\-*/()]+$/.test(expression)) {
    throw new Error(
      `metric math expression '${expression}' is not supported (only + - * / ( ) over query ids)`,
    );
  }
  const timestamps = new Set<number>();
  for (const id of ids) for (const t of results.get(id)?.keys() ?? []) timestamps.add(t);
  const compute = new Function(...new Set(ids), `return (${expression});`) as (...args: number[]) => number;
  const output = new Map<number, number>();
  for (const t of [...timestamps].sort()) {
    const args = [...new Set(ids)].map((id) => results.get(id)?.get(t));
    if (args.some((value) => value === undefined)) continue;
    const value = compute(...(args as number[]));
    if (Number.isFinite(value)) output.set(t, value);
  }
  return output;
}
