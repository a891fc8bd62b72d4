import { afterEach, describe, expect, it } from "vitest";
import { createRealTimeClock } from "./clock.ts";
import { createLoadBalancer, type LoadBalancer, type TargetGroup, targetHealth } from "./load-balancer.ts";
import { load, startTarget, type TestTarget, waitFor } from "./test-targets.ts";

// Time scale 60: one simulated minute per real second. A 5 s health check interval is ~83 real ms.
const clock = createRealTimeClock({ scale: 60 });
const fastChecks = {
  path: "/health",
  intervalSeconds: 5,
  timeoutSeconds: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

describe("load balancer", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function target(address: string, body: string): Promise<TestTarget> {
    const started = await startTarget(address, body);
    cleanups.push(() => started.close());
    return started;
  }

  function balancer(extra: Partial<Parameters<typeof createLoadBalancer>[0]> = {}): LoadBalancer {
    const lb = createLoadBalancer({
      name: "valmetal-dev-api",
      arnSuffix: "app/valmetal-dev-api/0123456789abcdef",
      clock,
      ...extra,
    });
    cleanups.push(() => lb.close());
    return lb;
  }

  const healthy = (group: TargetGroup, count: number) => () =>
    targetHealth(group).filter((entry) => entry.state === "healthy").length === count;

  it("forwards by target group weights, changed at run time, and answers 503 when no group can take traffic", async () => {
    const lb = balancer();
    const blue = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/0000000000000001",
      healthCheck: fastChecks,
    });
    const green = lb.createTargetGroup({
      name: "green",
      arnSuffix: "targetgroup/green/0000000000000002",
      healthCheck: fastChecks,
    });
    const v1 = await target("127.30.0.1", "v1");
    const v2 = await target("127.30.0.2", "v2");
    blue.registerTargets([{ id: v1.address, port: v1.port }]);
    green.registerTargets([{ id: v2.address, port: v2.port }]);
    expect(targetHealth(blue)[0]?.state).toBe("unused");
    const production = await lb.openListener({
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
    const url = `http://127.0.0.1:${production.port}/`;
    expect(targetHealth(blue)[0]).toMatchObject({ state: "initial", reason: "Elb.InitialHealthChecking" });
    await waitFor(() => healthy(blue, 1)() && healthy(green, 1)(), 5000, "targets healthy");

    expect(new Set(await load(url, 50))).toEqual(new Set(["v1"]));

    lb.setWeights(production, [
      { targetGroup: blue, weight: 90 },
      { targetGroup: green, weight: 10 },
    ]);
    const mixed = await load(url, 400, 20);
    const share = mixed.filter((body) => body === "v2").length / mixed.length;
    expect(mixed.filter((body) => body !== "v1" && body !== "v2")).toEqual([]);
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.16);

    lb.setWeights(production, [
      { targetGroup: blue, weight: 0 },
      { targetGroup: green, weight: 100 },
    ]);
    expect(new Set(await load(url, 50))).toEqual(new Set(["v2"]));

    lb.setWeights(production, [
      { targetGroup: blue, weight: 0 },
      { targetGroup: green, weight: 0 },
    ]);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("server")).toBe("awselb/2.0");
    await refused.text();
  });

  it("serves a test listener on its own port for the replacement target group", async () => {
    const lb = balancer();
    const blue = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/1",
      healthCheck: fastChecks,
    });
    const green = lb.createTargetGroup({
      name: "green",
      arnSuffix: "targetgroup/green/2",
      healthCheck: fastChecks,
    });
    const v1 = await target("127.30.1.1", "v1");
    const v2 = await target("127.30.1.2", "v2");
    blue.registerTargets([{ id: v1.address, port: v1.port }]);
    green.registerTargets([{ id: v2.address, port: v2.port }]);
    const production = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: blue, weight: 100 }] }],
    });
    const test = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: green, weight: 100 }] }],
    });
    await waitFor(() => healthy(blue, 1)() && healthy(green, 1)(), 5000, "targets healthy");
    expect(await (await fetch(`http://127.0.0.1:${production.port}/`)).text()).toBe("v1");
    expect(await (await fetch(`http://127.0.0.1:${test.port}/`)).text()).toBe("v2");
  });

  it("takes a target out of rotation after unhealthyThreshold failed checks and back after recovery", async () => {
    const lb = balancer();
    const group = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/3",
      healthCheck: fastChecks,
    });
    const a = await target("127.30.2.1", "a");
    const b = await target("127.30.2.2", "b");
    group.registerTargets([
      { id: a.address, port: a.port },
      { id: b.address, port: b.port },
    ]);
    const listener = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: group, weight: 1 }] }],
    });
    const url = `http://127.0.0.1:${listener.port}/`;
    await waitFor(healthy(group, 2), 5000, "two healthy targets");
    expect(new Set(await load(url, 40))).toEqual(new Set(["a", "b"]));

    a.setHealthy(false);
    await waitFor(
      () => targetHealth(group).some((entry) => entry.state === "unhealthy"),
      5000,
      "a unhealthy",
    );
    expect(targetHealth(group).find((entry) => entry.target.id === a.address)).toMatchObject({
      state: "unhealthy",
      reason: "Target.ResponseCodeMismatch",
      description: "Health checks failed with these codes: [503]",
    });
    expect(new Set(await load(url, 40))).toEqual(new Set(["b"]));

    a.setHealthy(true);
    await waitFor(healthy(group, 2), 5000, "a healthy again");
    expect(new Set(await load(url, 40))).toEqual(new Set(["a", "b"]));
  });

  it("drains a deregistered target: in-flight requests finish, new ones go elsewhere", async () => {
    const lb = balancer();
    const group = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/4",
      healthCheck: fastChecks,
      deregistrationDelaySeconds: 300, // 5 real seconds at scale 60
    });
    const a = await target("127.30.3.1", "a");
    const b = await target("127.30.3.2", "b");
    group.registerTargets([{ id: a.address, port: a.port }]);
    const listener = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: group, weight: 1 }] }],
    });
    const url = `http://127.0.0.1:${listener.port}`;
    await waitFor(healthy(group, 1), 5000, "a healthy");
    group.registerTargets([{ id: b.address, port: b.port }]);
    await waitFor(healthy(group, 2), 5000, "b healthy");

    // Only a is registered when the slow request starts... make sure it lands on a: deregister b first.
    await group.deregisterTargets([{ id: b.address, port: b.port }]);
    const slow = fetch(`${url}/slow?ms=700`).then(async (response) => [
      response.status,
      await response.text(),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    group.registerTargets([{ id: b.address, port: b.port }]);
    await waitFor(healthy(group, 2), 5000, "b healthy again");

    const started = performance.now();
    const drained = group.deregisterTargets([{ id: a.address, port: a.port }]);
    expect(targetHealth(group).find((entry) => entry.target.id === a.address)?.state).toBe("draining");
    expect(new Set(await load(`${url}/`, 20))).toEqual(new Set(["b"]));
    expect(await slow).toEqual([200, "a"]);
    await drained;
    const drainMs = performance.now() - started;
    expect(drainMs).toBeLessThan(2000); // done when the last in-flight request finished, not after 300 s (5 real s)
    expect(targetHealth(group).map((entry) => entry.target.id)).toEqual([b.address]);
  });

  it("answers 502 when the target connection fails and 504 when the target does not answer in time", async () => {
    const lb = balancer({ idleTimeoutSeconds: 30, realTimeoutFloorMs: 200 }); // 30 s = 0.5 real s
    // Health checks every 10 simulated minutes: the dead target stays "healthy" long enough to be tried.
    const group = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/5",
      healthCheck: { ...fastChecks, intervalSeconds: 600, healthyThreshold: 2 },
    });
    const slow = await target("127.30.4.1", "slow");
    group.registerTargets([{ id: slow.address, port: slow.port }]);
    const listener = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: group, weight: 1 }] }],
    });
    const url = `http://127.0.0.1:${listener.port}`;
    group.modifyHealthCheck({ healthyThreshold: 1 });
    await waitFor(healthy(group, 1), 5000, "healthy");

    const timedOut = await fetch(`${url}/slow?ms=1500`);
    expect(timedOut.status).toBe(504);
    await timedOut.text();

    await slow.close();
    const failed = await fetch(`${url}/`);
    expect(failed.status).toBe(502);
    expect(await failed.text()).toContain("502 Bad Gateway");
  });

  it("preserves method, headers and body, and adds X-Forwarded-For/Proto/Port", async () => {
    const lb = balancer();
    const group = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/6",
      healthCheck: fastChecks,
    });
    const echo = await target("127.30.5.1", "echo");
    group.registerTargets([{ id: echo.address, port: echo.port }]);
    const listener = await lb.openListener({
      port: 0,
      protocol: "HTTPS",
      rules: [{ targetGroups: [{ targetGroup: group, weight: 1 }] }],
    });
    await waitFor(healthy(group, 1), 5000, "healthy");
    const response = await fetch(`http://127.0.0.1:${listener.port}/echo?x=1`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-custom": "yes", "x-forwarded-for": "203.0.113.7" },
      body: JSON.stringify({ hello: "world" }),
    });
    const echoed = (await response.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed).toMatchObject({ method: "PUT", url: "/echo?x=1", body: '{"hello":"world"}' });
    expect(echoed.headers).toMatchObject({
      "content-type": "application/json",
      "x-custom": "yes",
      "x-forwarded-for": "203.0.113.7, 127.0.0.1",
      "x-forwarded-proto": "https",
      "x-forwarded-port": String(listener.port),
      host: `127.0.0.1:${listener.port}`,
    });
    expect(echoed.headers["x-amzn-trace-id"]).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it("reports target groups that no listener uses as unused, and checks them once attached", async () => {
    const lb = balancer();
    const group = lb.createTargetGroup({
      name: "green",
      arnSuffix: "targetgroup/green/7",
      healthCheck: fastChecks,
    });
    const v2 = await target("127.30.6.1", "v2");
    group.registerTargets([{ id: v2.address, port: v2.port }]);
    expect(targetHealth(group)).toEqual([
      expect.objectContaining({ state: "unused", reason: "Target.NotInUse" }),
    ]);
    const listener = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: group, weight: 0 }] }],
    });
    await waitFor(healthy(group, 1), 5000, "healthy once attached");
    await listener.close();
    expect(targetHealth(group)[0]?.state).toBe("unused");
  });

  it("measures throughput over a bounded run", async () => {
    const lb = balancer();
    const group = lb.createTargetGroup({
      name: "blue",
      arnSuffix: "targetgroup/blue/8",
      healthCheck: fastChecks,
    });
    const targets = [await target("127.30.7.1", "x"), await target("127.30.7.2", "y")];
    group.registerTargets(targets.map((entry) => ({ id: entry.address, port: entry.port })));
    const listener = await lb.openListener({
      port: 0,
      rules: [{ targetGroups: [{ targetGroup: group, weight: 1 }] }],
    });
    await waitFor(healthy(group, 2), 5000, "healthy");
    const count = 3000;
    const started = performance.now();
    const bodies = await load(`http://127.0.0.1:${listener.port}/`, count, 32);
    const seconds = (performance.now() - started) / 1000;
    expect(bodies.filter((body) => body !== "x" && body !== "y")).toEqual([]);
    console.log(
      `load balancer: ${count} requests, 32 concurrent, ${seconds.toFixed(2)} s, ${(count / seconds).toFixed(0)} req/s`,
    );
  });
});
