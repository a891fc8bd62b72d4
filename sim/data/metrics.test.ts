import { afterEach, describe, expect, it } from "vitest";
import { createManualClock, createRealTimeClock } from "./clock.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { createElbMetrics, type MetricDatum } from "./metrics.ts";
import { load, startTarget, type TestTarget, waitFor } from "./test-targets.ts";

const LB = "app/valmetal-dev-api/0123456789abcdef";
const BLUE = "targetgroup/valmetal-dev-api-blue/00000000000000b1";
const GREEN = "targetgroup/valmetal-dev-api-green/00000000000000a2";
const checks = {
  path: "/health",
  intervalSeconds: 5,
  timeoutSeconds: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

const dims = (targetGroup?: string) =>
  targetGroup
    ? [
        { Name: "TargetGroup", Value: targetGroup },
        { Name: "LoadBalancer", Value: LB },
      ]
    : [{ Name: "LoadBalancer", Value: LB }];

const find = (data: MetricDatum[], name: string, targetGroup?: string) =>
  data.filter(
    (datum) =>
      datum.MetricName === name && JSON.stringify(datum.Dimensions) === JSON.stringify(dims(targetGroup)),
  );
const sum = (data: MetricDatum[]) => data.reduce((total, datum) => total + (datum.Value ?? 0), 0);

describe("load balancer metrics", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("publishes counts only for periods with traffic, host counts every period, aligned to the period", async () => {
    const clock = createManualClock(Date.UTC(2025, 0, 1, 12, 0, 30));
    const published: MetricDatum[][] = [];
    const metrics = createElbMetrics({ clock, sink: { publish: (batch) => void published.push(batch) } });
    metrics.addHostCountSource(() => [{ loadBalancer: LB, targetGroup: BLUE, healthy: 2, unhealthy: 0 }]);
    metrics.recordRequest({
      loadBalancer: LB,
      targetGroup: BLUE,
      statusCode: 200,
      origin: "target",
      responseTimeSeconds: 0.01,
    });
    metrics.recordRequest({
      loadBalancer: LB,
      targetGroup: BLUE,
      statusCode: 503,
      origin: "target",
      responseTimeSeconds: 0.03,
    });
    metrics.recordRequest({ loadBalancer: LB, statusCode: 503, origin: "elb" });
    clock.advance(30_000); // end of the 12:00 period
    await metrics.flush();
    clock.advance(60_000); // a quiet 12:01 period
    await metrics.flush();
    await metrics.stop();
    const [first, quiet] = published as [MetricDatum[], MetricDatum[]];
    const minute = Date.UTC(2025, 0, 1, 12, 0, 0);
    expect(new Set(first.map((datum) => datum.Timestamp.getTime()))).toEqual(new Set([minute]));
    expect(find(first, "RequestCount", BLUE)[0]?.Value).toBe(2);
    expect(find(first, "RequestCount")[0]?.Value).toBe(3);
    expect(find(first, "HTTPCode_Target_2XX_Count", BLUE)[0]?.Value).toBe(1);
    expect(find(first, "HTTPCode_Target_5XX_Count", BLUE)[0]?.Value).toBe(1);
    expect(find(first, "HTTPCode_ELB_5XX_Count")[0]?.Value).toBe(1);
    expect(find(first, "HTTPCode_ELB_503_Count")[0]?.Value).toBe(1);
    expect(find(first, "HTTPCode_ELB_5XX_Count", BLUE)).toEqual([]);
    expect(find(first, "TargetResponseTime", BLUE)[0]).toMatchObject({
      Unit: "Seconds",
      StatisticValues: { SampleCount: 2, Minimum: 0.01, Maximum: 0.03 },
      Values: [0.01, 0.03],
      Counts: [1, 1],
    });
    expect(find(first, "HealthyHostCount", BLUE)[0]?.Value).toBe(2);
    // No traffic: no RequestCount at all (missing data), but host counts still come.
    expect(quiet.map((datum) => datum.MetricName).sort()).toEqual(["HealthyHostCount", "UnHealthyHostCount"]);
    expect(quiet[0]?.Timestamp.getTime()).toBe(minute + 60_000);
  });

  it("turns real traffic into CloudWatch datapoints with AWS dimensions for the right periods", async () => {
    const clock = createRealTimeClock({ scale: 60 }); // a 60 s period is one real second
    const published: MetricDatum[] = [];
    const metrics = createElbMetrics({ clock, sink: { publish: (batch) => void published.push(...batch) } });
    cleanups.push(() => metrics.stop());
    const lb = createLoadBalancer({ name: "valmetal-dev-api", arnSuffix: LB, clock, metrics });
    cleanups.push(() => lb.close());
    const blue = lb.createTargetGroup({ name: "blue", arnSuffix: BLUE, healthCheck: checks });
    const green = lb.createTargetGroup({ name: "green", arnSuffix: GREEN, healthCheck: checks });
    const targets: TestTarget[] = [];
    for (const [address, body] of [
      ["127.30.9.1", "v1"],
      ["127.30.9.2", "v2"],
    ] as const) {
      const started = await startTarget(address, body);
      targets.push(started);
      cleanups.push(() => started.close());
    }
    const [v1, v2] = targets as [TestTarget, TestTarget];
    v2.setHealthy(false);
    blue.registerTargets([{ id: v1.address, port: v1.port }]);
    green.registerTargets([{ id: v2.address, port: v2.port }]);
    const listener = await lb.openListener({
      port: 0,
      rules: [
        {
          targetGroups: [
            { targetGroup: blue, weight: 100 },
            { targetGroup: green, weight: 0 },
          ],
        },
      ],
    });
    await waitFor(
      () => blue.targetHealth()[0]?.state === "healthy" && green.targetHealth()[0]?.state === "unhealthy",
      5000,
      "blue healthy, green unhealthy",
    );
    const url = `http://127.0.0.1:${listener.port}`;
    const from = clock.now();
    const ok = await load(`${url}/`, 60, 6);
    const failed = await load(`${url}/fail/orders`, 20, 4);
    const to = clock.now();
    expect(ok.every((body) => body === "v1")).toBe(true);
    expect(failed.every((body) => body === "<500>")).toBe(true);
    // Let the periods holding the traffic close and publish.
    const lastPeriod = Math.floor(to / 60_000) * 60_000;
    await waitFor(() => published.some((datum) => datum.Timestamp.getTime() > lastPeriod), 5000, "publish");

    const periodStarts = new Set(published.map((datum) => datum.Timestamp.getTime()));
    for (const start of periodStarts) expect(start % 60_000).toBe(0);
    const trafficPeriods = (data: MetricDatum[]) => data.map((datum) => datum.Timestamp.getTime());
    const requests = find(published, "RequestCount", BLUE);
    for (const start of trafficPeriods(requests)) {
      expect(start).toBeGreaterThanOrEqual(Math.floor(from / 60_000) * 60_000);
      expect(start).toBeLessThanOrEqual(lastPeriod);
    }
    expect(sum(requests)).toBe(80);
    expect(sum(find(published, "RequestCount"))).toBe(80);
    expect(sum(find(published, "HTTPCode_Target_2XX_Count", BLUE))).toBe(60);
    expect(sum(find(published, "HTTPCode_Target_5XX_Count", BLUE))).toBe(20);
    expect(sum(find(published, "HTTPCode_Target_5XX_Count"))).toBe(20);
    expect(find(published, "RequestCount", GREEN)).toEqual([]);
    const times = find(published, "TargetResponseTime", BLUE);
    const samples = times.reduce((total, datum) => total + (datum.StatisticValues?.SampleCount ?? 0), 0);
    expect(samples).toBe(80);
    for (const datum of times) {
      expect(datum.Unit).toBe("Seconds");
      expect(datum.StatisticValues?.Minimum).toBeGreaterThan(0);
      expect(datum.StatisticValues?.Maximum).toBeLessThan(1);
      expect(datum.Counts?.reduce((total, count) => total + count, 0)).toBe(
        datum.StatisticValues?.SampleCount,
      );
    }
    // Host counts: every period, per target group; blue has 1 healthy host, green 1 unhealthy one.
    const healthyBlue = find(published, "HealthyHostCount", BLUE);
    expect(healthyBlue.length).toBeGreaterThanOrEqual(1);
    expect(healthyBlue.at(-1)?.Value).toBe(1);
    expect(find(published, "UnHealthyHostCount", GREEN).at(-1)?.Value).toBe(1);
    expect(find(published, "HealthyHostCount", GREEN).at(-1)?.Value).toBe(0);
    console.log(
      `metrics: ${published.length} datapoints over ${periodStarts.size} periods, e.g.`,
      JSON.stringify(find(published, "HTTPCode_Target_5XX_Count", BLUE)[0]),
    );
  });
});
