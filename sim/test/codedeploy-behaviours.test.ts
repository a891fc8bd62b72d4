import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  DeploymentAlreadyCompletedException,
  DeploymentIsNotInReadyStateException,
  DeploymentLimitExceededException,
  LifecycleEventAlreadyCompletedException,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
} from "@aws-sdk/client-codedeploy";
import {
  ClusterNotFoundException,
  DescribeServicesCommand,
  InvalidParameterException,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, test } from "vitest";
import {
  appSpec,
  createDeployment,
  deployment,
  pendingHooks,
  prodWeights,
  registerRevision,
  service,
  startBlueGreen,
  target,
  updateGroup,
} from "./deploy-helpers.ts";
import type { TestSimulator } from "./support.ts";

/** The ten behaviours of codedeploy-ecs.md §12, on the manual clock. */

let t: TestSimulator;
afterEach(async () => {
  await t?.stop();
});

const order = [
  "BeforeInstall",
  "Install",
  "AfterInstall",
  "AllowTestTraffic",
  "AfterAllowTestTraffic",
  "BeforeAllowTraffic",
  "AllowTraffic",
  "AfterAllowTraffic",
];

describe("CodeDeploy ECS blue/green (§12)", () => {
  test("1. speaks the SDK wire protocol: epoch timestamps, real exception classes, unknown operations named", async () => {
    t = await startBlueGreen();
    const svc = await service(t);
    expect(svc.createdAt).toBeInstanceOf(Date);
    expect(svc.createdAt?.toISOString()).toBe("2026-03-01T12:00:00.000Z");
    const error = await t.ecs
      .send(new DescribeServicesCommand({ cluster: "nope", services: ["api"] }))
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(ClusterNotFoundException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    const raw = await fetch(t.simulator.endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeCapacityProviders",
        "content-type": "application/x-amz-json-1.1",
        authorization:
          "AWS4-HMAC-SHA256 Credential=x/20260301/ca-central-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
      },
      body: "{}",
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      __type: "UnknownOperationException",
      message: expect.stringContaining("DescribeCapacityProviders"),
    });
  });

  test("2. runs the eight lifecycle events in order, and skips AfterAllowTestTraffic without a test listener", async () => {
    t = await startBlueGreen();
    const { deploymentId } = await createDeployment(t);
    await t.advance(30);
    await t.advance(5 * 60);
    const done = await deployment(t, deploymentId);
    expect(done.status).toBe("Succeeded");
    const events = (await target(t, deploymentId)).lifecycleEvents ?? [];
    expect(events.map((event) => event.lifecycleEventName)).toEqual(order);
    expect(events.every((event) => event.status === "Succeeded")).toBe(true);
    const starts = events.map((event) => event.startTime?.getTime() ?? 0);
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);

    await updateGroup(t, {
      loadBalancerInfo: {
        targetGroupPairInfoList: [
          {
            targetGroups: [{ name: "api-blue" }, { name: "api-green" }],
            prodTrafficRoute: { listenerArns: [listenerArn(t, 80)] },
          },
        ],
      },
    });
    const second = await createDeployment(t, { taskDefinition: await registerRevision(t, "2".repeat(40)) });
    await t.advance(30);
    await t.advance(6 * 60);
    const skipped = (await target(t, second.deploymentId)).lifecycleEvents ?? [];
    expect(skipped.find((event) => event.lifecycleEventName === "AfterAllowTestTraffic")?.status).toBe(
      "Skipped",
    );
    expect((await deployment(t, second.deploymentId)).status).toBe("Succeeded");
  });

  test("3. gates hooks on PutLifecycleEventHookExecutionStatus and fails a hook that times out", async () => {
    t = await startBlueGreen();
    await t.admin("/settings", { hookTimeoutMinutes: 5 });
    const { deploymentId } = await createDeployment(t, {
      hooks: { BeforeInstall: "pre", AfterAllowTestTraffic: "smoke" },
    });
    await t.advance(60);
    expect((await target(t, deploymentId)).lifecycleEvents?.[0]).toMatchObject({
      lifecycleEventName: "BeforeInstall",
      status: "InProgress",
    });
    const [first] = await pendingHooks(t);
    expect(first?.lifecycleEventName).toBe("BeforeInstall");
    const answer = {
      deploymentId,
      lifecycleEventHookExecutionId: first?.lifecycleEventHookExecutionId,
      status: "Succeeded" as const,
    };
    const put = await t.codedeploy.send(new PutLifecycleEventHookExecutionStatusCommand(answer));
    expect(put.lifecycleEventHookExecutionId).toBe(first?.lifecycleEventHookExecutionId);
    await expect(
      t.codedeploy.send(new PutLifecycleEventHookExecutionStatusCommand(answer)),
    ).rejects.toBeInstanceOf(LifecycleEventAlreadyCompletedException);
    await t.advance(30);
    const [smoke] = await pendingHooks(t);
    expect(smoke?.lifecycleEventName).toBe("AfterAllowTestTraffic");
    expect(await prodWeights(t, 9000)).toEqual({ "api-green": 100 });
    await t.advance(5 * 60);
    const failed = await deployment(t, deploymentId);
    expect(failed.status).toBe("Failed");
    expect(failed.errorInformation?.code).toBe("HOOK_EXECUTION_FAILURE");
    expect(failed.rollbackInfo?.rollbackDeploymentId).toMatch(/^d-/);
  });

  test("4. holds in Ready until ContinueDeployment(READY_WAIT), and stops with a rollback when the wait expires", async () => {
    t = await startBlueGreen();
    await updateGroup(t, {
      blueGreenDeploymentConfiguration: {
        deploymentReadyOption: { actionOnTimeout: "STOP_DEPLOYMENT", waitTimeInMinutes: 10 },
        terminateBlueInstancesOnDeploymentSuccess: { action: "TERMINATE", terminationWaitTimeInMinutes: 0 },
      },
    });
    const { deploymentId } = await createDeployment(t);
    await t.advance(30);
    expect((await deployment(t, deploymentId)).status).toBe("Ready");
    expect(await prodWeights(t)).toEqual({ "api-blue": 100 });
    await t.codedeploy.send(
      new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: "READY_WAIT" }),
    );
    await t.advance(10);
    expect((await deployment(t, deploymentId)).status).toBe("Succeeded");

    const late = await createDeployment(t, { taskDefinition: await registerRevision(t, "3".repeat(40)) });
    await t.advance(30);
    expect((await deployment(t, late.deploymentId)).status).toBe("Ready");
    await t.advance(10 * 60);
    const stopped = await deployment(t, late.deploymentId);
    expect(stopped.status).toBe("Stopped");
    expect(stopped.rollbackInfo?.rollbackDeploymentId).toMatch(/^d-/);
  });

  test("5. moves traffic on the exact canary and linear schedules, weights as doubles", async () => {
    t = await startBlueGreen();
    const canary = await createDeployment(t, { config: "CodeDeployDefault.ECSCanary10Percent5Minutes" });
    await t.advance(20);
    expect(await prodWeights(t)).toEqual({ "api-blue": 90, "api-green": 10 });
    const sets = (await target(t, canary.deploymentId)).taskSetsInfo ?? [];
    expect(sets.find((set) => set.taskSetLabel === "Green")).toMatchObject({
      trafficWeight: 10,
      targetGroup: { name: "api-green" },
    });
    expect(sets.find((set) => set.taskSetLabel === "Blue")).toMatchObject({
      trafficWeight: 90,
      targetGroup: { name: "api-blue" },
    });
    await t.advance(4 * 60);
    expect(await prodWeights(t)).toEqual({ "api-blue": 90, "api-green": 10 });
    await t.advance(60);
    expect(await prodWeights(t)).toEqual({ "api-blue": 0, "api-green": 100 });
    await t.codedeploy.send(
      new ContinueDeploymentCommand({
        deploymentId: canary.deploymentId,
        deploymentWaitType: "TERMINATION_WAIT",
      }),
    );
    await t.advance(5);
    expect((await deployment(t, canary.deploymentId)).status).toBe("Succeeded");

    const linear = await createDeployment(t, {
      config: "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
      taskDefinition: await registerRevision(t, "4".repeat(40)),
    });
    await t.advance(20);
    const seen: number[] = [];
    for (let minute = 0; minute < 10; minute++) {
      seen.push((await prodWeights(t))["api-blue"] ?? -1);
      await t.advance(60);
    }
    expect(seen).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(await target(t, linear.deploymentId)).toMatchObject({ status: "InProgress" });
  });

  test("6. stops with ALARM_ACTIVE and rolls back when a group alarm fires, polled at the configured interval", async () => {
    t = await startBlueGreen();
    await t.admin("/settings", { codeDeployAlarmPollSeconds: 300 });
    const { deploymentId } = await createDeployment(t, {
      config: "CodeDeployDefault.ECSCanary10Percent15Minutes",
    });
    await t.advance(30);
    await t.admin("/alarms/state", { alarmName: "api-green-5xx", stateValue: "ALARM", hold: true });
    await t.advance(60);
    expect((await deployment(t, deploymentId)).status).toBe("InProgress");
    await t.advance(4 * 60);
    const stopped = await deployment(t, deploymentId);
    expect(stopped.status).toBe("Stopped");
    expect(stopped.errorInformation?.code).toBe("ALARM_ACTIVE");
    expect(stopped.rollbackInfo?.rollbackDeploymentId).toMatch(/^d-/);
  });

  test("6b. an unreadable alarm stops the deployment unless ignorePollAlarmFailure", async () => {
    t = await startBlueGreen();
    await updateGroup(t, {
      alarmConfiguration: {
        enabled: true,
        ignorePollAlarmFailure: true,
        alarms: [{ name: "missing-alarm" }],
      },
    });
    const ignored = await createDeployment(t);
    await t.advance(6 * 60);
    expect((await deployment(t, ignored.deploymentId)).status).toBe("Succeeded");
    await updateGroup(t, {
      alarmConfiguration: {
        enabled: true,
        ignorePollAlarmFailure: false,
        alarms: [{ name: "missing-alarm" }],
      },
    });
    const stopped = await createDeployment(t, { taskDefinition: await registerRevision(t, "5".repeat(40)) });
    await t.advance(90);
    expect((await deployment(t, stopped.deploymentId)).errorInformation?.code).toBe("ALARM_ACTIVE");
  });

  test("7. a rollback returns 100% to blue through a new deployment, deletes green and reverts the task definition", async () => {
    t = await startBlueGreen();
    const before = (await service(t)).taskDefinition;
    const { deploymentId } = await createDeployment(t, {
      config: "CodeDeployDefault.ECSCanary10Percent5Minutes",
    });
    await t.advance(30);
    const [alarm] =
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["api-green-5xx"] }))).MetricAlarms ??
      [];
    await t.admin("/metrics", {
      namespace: "AWS/ApplicationELB",
      metricData: [{ MetricName: "HTTPCode_Target_5XX_Count", Dimensions: alarm?.Dimensions, Value: 12 }],
    });
    await t.advance(90);
    expect(
      (await t.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["api-green-5xx"] })))
        .MetricAlarms?.[0]?.StateValue,
    ).toBe("ALARM");
    const stopped = await deployment(t, deploymentId);
    const rollbackId = stopped.rollbackInfo?.rollbackDeploymentId as string;
    await t.advance(10);
    const rollback = await deployment(t, rollbackId);
    expect(rollback).toMatchObject({
      status: "Succeeded",
      creator: "codeDeployRollback",
      rollbackInfo: { rollbackTriggeringDeploymentId: deploymentId },
    });
    expect(await prodWeights(t)).toEqual({ "api-blue": 100, "api-green": 0 });
    const svc = await service(t);
    expect(svc.taskDefinition).toBe(before);
    expect(svc.taskSets?.map((set) => set.status)).toEqual(["PRIMARY"]);
  });

  test("8. StopDeployment with and without rollback; DeploymentAlreadyCompletedException after completion", async () => {
    t = await startBlueGreen();
    const first = await createDeployment(t, { config: "CodeDeployDefault.ECSCanary10Percent15Minutes" });
    await t.advance(30);
    const stop = await t.codedeploy.send(
      new StopDeploymentCommand({ deploymentId: first.deploymentId, autoRollbackEnabled: false }),
    );
    expect(stop.status).toBe("Succeeded");
    const stopped = await deployment(t, first.deploymentId);
    expect(stopped).toMatchObject({ status: "Stopped", errorInformation: { code: "MANUAL_STOP" } });
    expect(stopped.rollbackInfo).toBeUndefined();
    expect((await service(t)).taskSets?.length).toBe(2);
    await expect(
      t.codedeploy.send(new StopDeploymentCommand({ deploymentId: first.deploymentId })),
    ).rejects.toBeInstanceOf(DeploymentAlreadyCompletedException);

    const second = await createDeployment(t, {
      config: "CodeDeployDefault.ECSCanary10Percent15Minutes",
      taskDefinition: await registerRevision(t, "6".repeat(40)),
    });
    await t.advance(30);
    await t.codedeploy.send(
      new StopDeploymentCommand({ deploymentId: second.deploymentId, autoRollbackEnabled: true }),
    );
    await t.advance(10);
    const rolledBack = await deployment(t, second.deploymentId);
    expect(rolledBack.rollbackInfo?.rollbackDeploymentId).toMatch(/^d-/);
    expect(await prodWeights(t)).toEqual({ "api-blue": 100, "api-green": 0 });
  });

  test("9. the termination wait keeps rollback possible, TERMINATION_WAIT ends it, and the target groups swap", async () => {
    t = await startBlueGreen();
    const first = await createDeployment(t);
    await t.advance(30);
    const waiting = await deployment(t, first.deploymentId);
    expect(waiting).toMatchObject({ status: "InProgress", instanceTerminationWaitTimeStarted: true });
    expect((await service(t)).taskDefinition).toBe(first.taskDefinition);
    await expect(
      t.codedeploy.send(
        new ContinueDeploymentCommand({ deploymentId: first.deploymentId, deploymentWaitType: "READY_WAIT" }),
      ),
    ).rejects.toBeInstanceOf(DeploymentIsNotInReadyStateException);
    await t.codedeploy.send(
      new ContinueDeploymentCommand({
        deploymentId: first.deploymentId,
        deploymentWaitType: "TERMINATION_WAIT",
      }),
    );
    await t.advance(5);
    expect((await deployment(t, first.deploymentId)).status).toBe("Succeeded");
    expect((await service(t)).taskSets?.map((set) => set.taskDefinition)).toEqual([first.taskDefinition]);

    const second = await createDeployment(t, { taskDefinition: await registerRevision(t, "7".repeat(40)) });
    await t.advance(30);
    const sets = (await target(t, second.deploymentId)).taskSetsInfo ?? [];
    expect(sets.find((set) => set.taskSetLabel === "Green")?.targetGroup?.name).toBe("api-blue");
    expect(await prodWeights(t)).toEqual({ "api-green": 0, "api-blue": 100 });
    await t.admin("/alarms/state", { alarmName: "api-green-5xx", stateValue: "ALARM", hold: true });
    await t.advance(60);
    const late = await deployment(t, second.deploymentId);
    expect(late).toMatchObject({ status: "Stopped", errorInformation: { code: "ALARM_ACTIVE" } });
    await t.advance(10);
    expect(await prodWeights(t)).toEqual({ "api-green": 100, "api-blue": 0 });
    expect((await service(t)).taskDefinition).toBe(first.taskDefinition);
  });

  test("10. one active deployment per group, UpdateService refused, and an unhealthy green stalls in Install", async () => {
    t = await startBlueGreen();
    await t.admin("/targets/health", { targetGroupName: "api-green", state: "unhealthy" });
    const { deploymentId, taskDefinition } = await createDeployment(t);
    await expect(
      t.codedeploy.send(
        new CreateDeploymentCommand({
          applicationName: "valmetal-api",
          deploymentGroupName: "api",
          revision: { revisionType: "AppSpecContent", appSpecContent: appSpec(taskDefinition) },
        }),
      ),
    ).rejects.toBeInstanceOf(DeploymentLimitExceededException);
    await expect(
      t.ecs.send(new UpdateServiceCommand({ cluster: "valmetal-dev", service: "api", taskDefinition })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    await t.advance(30 * 60);
    const green = (await service(t)).taskSets?.find((set) => set.externalId === deploymentId);
    expect(green).toMatchObject({
      status: "ACTIVE",
      startedBy: "CODE_DEPLOY",
      stabilityStatus: "STABILIZING",
      runningCount: 2,
    });
    expect((await target(t, deploymentId)).lifecycleEvents?.[1]).toMatchObject({
      lifecycleEventName: "Install",
      status: "InProgress",
    });
    await t.advance(30 * 60);
    const failed = await deployment(t, deploymentId);
    expect(failed.status).toBe("Failed");
    expect(failed.errorInformation?.code).toBe("TIMEOUT");
  });
});

function listenerArn(t: TestSimulator, port: number): string {
  return (
    Object.values(t.simulator.sim.state.listeners).find((listener) => listener.port === port)?.listenerArn ??
    ""
  );
}
