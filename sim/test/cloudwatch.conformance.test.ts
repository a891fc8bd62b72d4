import {
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  PutCompositeAlarmCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  ResourceNotFound,
  SetAlarmStateCommand,
} from "@aws-sdk/client-cloudwatch";
import * as Query from "cloudwatch-query-client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestSimulator, type TestSimulator } from "./support.ts";

/** CloudWatch through the current (awsJson1_0) client and an awsQuery-era one (3.948). */

let t: TestSimulator;
const start = new Date("2026-03-01T12:00:00Z");
beforeAll(async () => {
  t = await startTestSimulator();
});
afterAll(async () => {
  await t.stop();
});

const minute = (count: number) => new Date(start.getTime() + count * 60_000);

describe("CloudWatch conformance", () => {
  test("PutMetricData then GetMetricStatistics and GetMetricData (with an expression), both protocols", async () => {
    const dimensions = [{ Name: "Service", Value: "api" }];
    await t.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "Sim/Test",
        MetricData: [1, 2, 3, 4, 100].map((value) => ({
          MetricName: "Latency",
          Dimensions: dimensions,
          Value: value,
          Timestamp: minute(0.5),
        })),
      }),
    );
    await t.cloudwatchQuery.send(
      new Query.PutMetricDataCommand({
        Namespace: "Sim/Test",
        MetricData: [
          {
            MetricName: "Requests",
            Dimensions: dimensions,
            Values: [10, 20],
            Counts: [1, 1],
            Timestamp: minute(0.5),
          },
        ],
      }),
    );
    const stats = await t.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: "Sim/Test",
        MetricName: "Latency",
        Dimensions: dimensions,
        StartTime: minute(0),
        EndTime: minute(1),
        Period: 60,
        Statistics: ["Sum", "Average", "Minimum", "Maximum", "SampleCount"],
        ExtendedStatistics: ["p95"],
      }),
    );
    expect(stats.Datapoints?.[0]).toMatchObject({
      Sum: 110,
      Average: 22,
      Minimum: 1,
      Maximum: 100,
      SampleCount: 5,
      ExtendedStatistics: { p95: 100 },
    });
    const queryStats = await t.cloudwatchQuery.send(
      new Query.GetMetricStatisticsCommand({
        Namespace: "Sim/Test",
        MetricName: "Requests",
        Dimensions: dimensions,
        StartTime: minute(0),
        EndTime: minute(1),
        Period: 60,
        Statistics: ["Sum"],
      }),
    );
    expect(queryStats.Datapoints?.[0]?.Sum).toBe(30);
    expect(queryStats.Datapoints?.[0]?.Timestamp).toEqual(minute(0));
    const metric = (name: string) => ({ Namespace: "Sim/Test", MetricName: name, Dimensions: dimensions });
    const data = await t.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: minute(0),
        EndTime: minute(1),
        MetricDataQueries: [
          { Id: "l", MetricStat: { Metric: metric("Latency"), Period: 60, Stat: "Sum" }, ReturnData: false },
          { Id: "r", MetricStat: { Metric: metric("Requests"), Period: 60, Stat: "Sum" } },
          { Id: "ratio", Expression: "l / r * 100" },
        ],
      }),
    );
    expect(data.MetricDataResults?.map((result) => [result.Id, result.Values, result.StatusCode])).toEqual([
      ["r", [30], "Complete"],
      ["ratio", [(110 / 30) * 100], "Complete"],
    ]);
    const queryData = await t.cloudwatchQuery.send(
      new Query.GetMetricDataCommand({
        StartTime: minute(0),
        EndTime: minute(1),
        MetricDataQueries: [{ Id: "r", MetricStat: { Metric: metric("Requests"), Period: 60, Stat: "Sum" } }],
      }),
    );
    expect(queryData.MetricDataResults?.[0]?.Values).toEqual([30]);
    expect((await t.cloudwatch.send(new ListMetricsCommand({ Namespace: "Sim/Test" }))).Metrics).toHaveLength(
      2,
    );
  });

  test("metric alarms evaluate by period, statistic, threshold and TreatMissingData", async () => {
    const base = {
      Namespace: "Sim/Alarm",
      MetricName: "Errors",
      Statistic: "Sum" as const,
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 5,
      ComparisonOperator: "GreaterThanOrEqualToThreshold" as const,
    };
    await t.cloudwatch.send(
      new PutMetricAlarmCommand({ ...base, AlarmName: "missing", TreatMissingData: "missing" }),
    );
    await t.cloudwatchQuery.send(
      new Query.PutMetricAlarmCommand({ ...base, AlarmName: "breaching", TreatMissingData: "breaching" }),
    );
    await t.cloudwatch.send(
      new PutMetricAlarmCommand({ ...base, AlarmName: "not-breaching", TreatMissingData: "notBreaching" }),
    );
    await t.cloudwatch.send(
      new PutMetricAlarmCommand({ ...base, AlarmName: "ignore", TreatMissingData: "ignore" }),
    );
    await t.advance(120);
    const states = async () =>
      Object.fromEntries(
        ((await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: "" }))).MetricAlarms ?? [])
          .filter((alarm) => alarm.Namespace === "Sim/Alarm")
          .map((alarm) => [alarm.AlarmName, alarm.StateValue]),
      );
    expect(await states()).toEqual({
      missing: "INSUFFICIENT_DATA",
      breaching: "ALARM",
      "not-breaching": "OK",
      ignore: "INSUFFICIENT_DATA",
    });
    for (let index = 0; index < 2; index++) {
      const now = new Date(t.simulator.clock.now());
      await t.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: "Sim/Alarm",
          MetricData: [{ MetricName: "Errors", Value: 6, Timestamp: now }],
        }),
      );
      await t.advance(60);
    }
    expect(await states()).toEqual({
      missing: "ALARM",
      breaching: "ALARM",
      "not-breaching": "ALARM",
      ignore: "ALARM",
    });
    const [alarm] =
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["missing"] }))).MetricAlarms ?? [];
    expect(alarm?.StateReason).toMatch(/^Threshold Crossed: 2 out of the last 2 datapoints/);
    expect(alarm?.StateUpdatedTimestamp).toBeInstanceOf(Date);
    const history = await t.cloudwatch.send(new DescribeAlarmHistoryCommand({ AlarmName: "missing" }));
    expect(history.AlarmHistoryItems?.[0]?.HistorySummary).toMatch(
      /^Alarm updated from (INSUFFICIENT_DATA|OK) to ALARM$/,
    );
  });

  test("composite alarms follow their rule; SetAlarmState lasts until the next evaluation", async () => {
    await t.cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: "quiet",
        Namespace: "Sim/Quiet",
        MetricName: "X",
        Statistic: "Sum",
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
      }),
    );
    await t.cloudwatch.send(
      new PutCompositeAlarmCommand({
        AlarmName: "any",
        AlarmRule: 'ALARM("quiet") OR (ALARM(breaching) AND NOT ALARM("quiet"))',
      }),
    );
    await t.advance(60);
    const composite = async () =>
      (
        await t.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: ["any"], AlarmTypes: ["CompositeAlarm"] }),
        )
      ).CompositeAlarms?.[0]?.StateValue;
    expect(await composite()).toBe("ALARM");
    await t.cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: "breaching", StateValue: "OK", StateReason: "manual" }),
    );
    expect(await composite()).toBe("OK");
    expect(
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["any"] }))).CompositeAlarms ?? [],
    ).toEqual([]);
    await t.cloudwatchQuery.send(
      new Query.SetAlarmStateCommand({ AlarmName: "quiet", StateValue: "ALARM", StateReason: "manual" }),
    );
    expect(await composite()).toBe("ALARM");
    await t.advance(60);
    expect(
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["quiet"] }))).MetricAlarms?.[0]
        ?.StateValue,
    ).toBe("OK");
  });

  test("errors and pagination: ResourceNotFound in both protocols, NextToken", async () => {
    await expect(
      t.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: "ghost", StateValue: "OK", StateReason: "x" })),
    ).rejects.toBeInstanceOf(ResourceNotFound);
    const error = await t.cloudwatchQuery
      .send(new Query.SetAlarmStateCommand({ AlarmName: "ghost", StateValue: "OK", StateReason: "x" }))
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(Query.ResourceNotFound);
    const page = await t.cloudwatch.send(new DescribeAlarmsCommand({ MaxRecords: 2 }));
    expect(page.MetricAlarms).toHaveLength(2);
    const next = await t.cloudwatchQuery.send(
      new Query.DescribeAlarmsCommand({ MaxRecords: 2, NextToken: page.NextToken }),
    );
    expect(next.MetricAlarms?.[0]?.AlarmName).not.toBe(page.MetricAlarms?.[0]?.AlarmName);
    await t.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ["ignore"] }));
    expect(
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["ignore"] }))).MetricAlarms,
    ).toEqual([]);
  });
});
