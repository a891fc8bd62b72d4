import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type LocalRegistry, startLocalRegistry } from "../../test/support/local-registry.ts";
import { SimClock } from "../clock.ts";
import type { MetricDatum, Runtime } from "../control/runtime.ts";
import { createAddressPool } from "./address-pool.ts";
import { arnSuffix, createProcessRuntime } from "./runtime.ts";
import { processesUnder } from "./task-process.ts";
import { ensureBases, nodeServerImage, scratchRoot } from "./test-images.ts";
import { load, waitFor } from "./test-targets.ts";

const ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012";
const LB_ARN = `${ARN}:loadbalancer/app/valmetal-dev-api/0123456789abcdef`;
const BLUE_ARN = `${ARN}:targetgroup/valmetal-dev-api-blue/00000000000000b1`;
const GREEN_ARN = `${ARN}:targetgroup/valmetal-dev-api-green/00000000000000a2`;
const PROD_ARN = `${ARN}:listener/app/valmetal-dev-api/0123456789abcdef/prod`;
const TEST_ARN = `${ARN}:listener/app/valmetal-dev-api/0123456789abcdef/test`;

describe("process runtime (the control plane's Runtime on real processes)", () => {
  let registry: LocalRegistry;
  let image: string;
  let runtime: Runtime;
  const clock = new SimClock({ scale: 60 });
  const metrics: MetricDatum[] = [];
  const stopped: Array<{ taskArn: string; reason: string; exitCode?: number }> = [];
  const workDir = join(scratchRoot, `runtime-tasks-${process.pid}`);
  const cacheDir = join(scratchRoot, `runtime-images-${process.pid}`);

  beforeAll(async () => {
    await ensureBases();
    registry = await startLocalRegistry("sim-data-runtime");
    image = await nodeServerImage(registry.address, "valmetal/api:v1");
    runtime = createProcessRuntime(
      {
        clock,
        putMetricData: (namespace, data) => {
          expect(namespace).toBe("AWS/ApplicationELB");
          metrics.push(...data);
        },
        taskStopped: (taskArn, detail) => stopped.push({ taskArn, ...detail }),
        log: () => undefined,
      },
      {
        imageCacheDir: cacheDir,
        taskWorkDir: workDir,
        addresses: createAddressPool({ first: "127.23.0.1" }),
        resolveSecret: (valueFrom) => (valueFrom === "arn:secret:token" ? "from-resolver" : undefined),
        standIns: {
          byContainer: { api: { STAND_IN: "yes" } },
          resolve: (container) => (container.family === "stand-in" ? { BODY: "stand-in" } : undefined),
        },
      },
    );
  });

  afterAll(async () => {
    await runtime?.stop();
    clock.stop();
    expect(await processesUnder(workDir)).toEqual([]);
    await registry?.stop();
    await rm(cacheDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  const taskDefinition = (body: string, extra: Record<string, unknown> = {}) => ({
    family: "valmetal-dev-api",
    containerDefinitions: [
      {
        name: "api",
        image,
        essential: true,
        portMappings: [{ containerPort: 8080 }],
        environment: [{ name: "BODY", value: body }],
        stopTimeout: 30,
        ...extra,
      },
    ],
  });

  it("runs a blue/green pair behind the ALB, shifts traffic and publishes metrics from real requests", async () => {
    const healthCheck = {
      path: "/health",
      port: "traffic-port",
      protocol: "HTTP",
      intervalSeconds: 5,
      timeoutSeconds: 2,
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
      matcher: "200",
    };
    for (const [arn, name] of [
      [BLUE_ARN, "valmetal-dev-api-blue"],
      [GREEN_ARN, "valmetal-dev-api-green"],
    ] as const)
      await runtime.configureTargetGroup({
        targetGroupArn: arn,
        targetGroupName: name,
        protocol: "HTTP",
        port: 8080,
        healthCheck,
        deregistrationDelaySeconds: 30,
      });
    await runtime.configureLoadBalancer({
      loadBalancerArn: LB_ARN,
      loadBalancerName: "valmetal-dev-api",
      listeners: [
        { listenerArn: PROD_ARN, port: await freePort(), protocol: "HTTP" },
        { listenerArn: TEST_ARN, port: await freePort(), protocol: "HTTP" },
      ],
    });
    await runtime.setListenerWeights(PROD_ARN, [{ targetGroupArn: BLUE_ARN, weight: 100 }]);
    await runtime.setListenerWeights(TEST_ARN, [{ targetGroupArn: GREEN_ARN, weight: 100 }]);

    const started = performance.now();
    const blue = await runtime.startTask({
      taskArn: "arn:task/blue-1",
      taskId: "blue-1",
      clusterName: "dev",
      taskDefinition: taskDefinition("v1"),
    });
    await runtime.registerTargets(BLUE_ARN, [{ id: blue.address, port: 8080 }]);
    await waitFor(() => runtime.targetHealth(BLUE_ARN)[0]?.state === "healthy", 10_000, "blue healthy");
    console.log(
      `runtime: startTask to healthy target (image cold): ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(blue.imageDigests?.api).toMatch(/^sha256:/);

    const greenStarted = performance.now();
    const green = await runtime.startTask({
      taskArn: "arn:task/green-1",
      taskId: "green-1",
      clusterName: "dev",
      taskDefinition: taskDefinition("v2"),
    });
    await runtime.registerTargets(GREEN_ARN, [{ id: green.address, port: 8080 }]);
    await waitFor(() => runtime.targetHealth(GREEN_ARN)[0]?.state === "healthy", 10_000, "green healthy");
    console.log(
      `runtime: startTask to healthy target (image cached): ${(performance.now() - greenStarted).toFixed(0)} ms`,
    );

    const production = runtime.listenerUrl(PROD_ARN) as string;
    const test = runtime.listenerUrl(TEST_ARN) as string;
    expect(new Set(await load(`${production}/`, 20))).toEqual(new Set(["v1"]));
    expect(new Set(await load(`${test}/`, 20))).toEqual(new Set(["v2"]));

    await runtime.setListenerWeights(PROD_ARN, [
      { targetGroupArn: BLUE_ARN, weight: 0 },
      { targetGroupArn: GREEN_ARN, weight: 100 },
    ]);
    const from = clock.now();
    expect(new Set(await load(`${production}/fail`, 30))).toEqual(new Set(["<500>"]));
    await waitFor(
      () =>
        metrics.some(
          (datum) =>
            datum.MetricName === "HTTPCode_Target_5XX_Count" &&
            datum.Dimensions?.some((dimension) => dimension.Value === arnSuffix(GREEN_ARN)),
        ),
      5000,
      "5XX datapoint",
    );
    const errors = metrics.filter(
      (datum) =>
        datum.MetricName === "HTTPCode_Target_5XX_Count" &&
        datum.Dimensions?.[0]?.Value === arnSuffix(GREEN_ARN),
    );
    expect(errors[0]?.Dimensions).toEqual([
      { Name: "TargetGroup", Value: "targetgroup/valmetal-dev-api-green/00000000000000a2" },
      { Name: "LoadBalancer", Value: "app/valmetal-dev-api/0123456789abcdef" },
    ]);
    expect(errors.reduce((total, datum) => total + (datum.Value ?? 0), 0)).toBeGreaterThan(0);
    expect(errors[0]?.Timestamp).toBeGreaterThanOrEqual(Math.floor(from / 60_000) * 60_000);

    await runtime.deregisterTargets(BLUE_ARN, [{ id: blue.address, port: 8080 }]);
    await runtime.stopTask("arn:task/blue-1", "Scaling activity initiated by deployment");
    await waitFor(() => runtime.targetHealth(BLUE_ARN).length === 0, 5000, "blue drained");
    expect(stopped).toEqual([]); // stopped on request: not reported as a crash
  });

  it("reports a task whose essential container exits on its own", async () => {
    await runtime.startTask({
      taskArn: "arn:task/crash-1",
      taskId: "crash-1",
      clusterName: "dev",
      taskDefinition: taskDefinition("v1", { command: ["-e", "process.exit(7)"] }),
    });
    await waitFor(() => stopped.length === 1, 10_000, "taskStopped");
    expect(stopped[0]).toEqual({
      taskArn: "arn:task/crash-1",
      reason: "Essential container in task exited",
      exitCode: 7,
    });
  });

  it("applies weights set while a listener is still opening, and stand-ins over the registered environment", async () => {
    const LB2 = `${ARN}:loadbalancer/app/stand-in/0000000000000001`;
    const LISTENER2 = `${ARN}:listener/app/stand-in/0000000000000001/prod`;
    const GROUP2 = `${ARN}:targetgroup/stand-in/0000000000000003`;
    await runtime.configureTargetGroup({
      targetGroupArn: GROUP2,
      targetGroupName: "stand-in",
      protocol: "HTTP",
      port: 8080,
      healthCheck: {
        path: "/health",
        port: "traffic-port",
        protocol: "HTTP",
        intervalSeconds: 5,
        timeoutSeconds: 2,
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
        matcher: "200",
      },
      deregistrationDelaySeconds: 0,
    });
    // As provisioning does it: the listener is created (its socket opens later), its weights set at once.
    const opening = runtime.configureLoadBalancer({
      loadBalancerArn: LB2,
      loadBalancerName: "stand-in",
      listeners: [{ listenerArn: LISTENER2, port: await freePort(), protocol: "HTTP" }],
    });
    await runtime.setListenerWeights(LISTENER2, [{ targetGroupArn: GROUP2, weight: 100 }]);
    await opening;
    const task = await runtime.startTask({
      taskArn: "arn:task/stand-in-1",
      taskId: "stand-in-1",
      clusterName: "dev",
      taskDefinition: {
        ...taskDefinition("registered", {
          secrets: [
            { name: "TOKEN", valueFrom: "arn:secret:token" },
            { name: "STAND_IN", valueFrom: "arn:secret:unmodelled" },
          ],
        }),
        family: "stand-in",
      },
    });
    await runtime.registerTargets(GROUP2, [{ id: task.address, port: 8080 }]);
    await waitFor(() => runtime.targetHealth(GROUP2)[0]?.state === "healthy", 10_000, "stand-in healthy");
    expect(await load(`${runtime.listenerUrl(LISTENER2)}/`, 3)).toEqual(["stand-in", "stand-in", "stand-in"]);
    await runtime.stopTask("arn:task/stand-in-1", "done");
  });
});
