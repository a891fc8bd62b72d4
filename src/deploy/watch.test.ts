import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
} from "@aws-sdk/client-codedeploy";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { AlarmWatch } from "./alarm-watch.ts";
import { type WatchOptions, watchDeployment } from "./watch.ts";

const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = mockClient(CloudWatchClient);
const minute = 60_000;

/**
 * A scripted CodeDeploy deployment on the fake clock: `at(ms)` says what CodeDeploy reports at that time since the
 * start; StopDeployment and ContinueDeployment change the script as CodeDeploy would.
 */
interface Moment {
  status: string;
  green: number;
  events?: Record<string, string>;
  terminationWait?: boolean;
  error?: { code: string; message: string };
  rollbackDeploymentId?: string;
}

function scripted(clock: FakeClock, at: (ms: number, state: ScriptState) => Moment) {
  const start = clock.now().getTime();
  const state: ScriptState = {
    stopped: undefined,
    readyContinued: undefined,
    terminationContinued: undefined,
  };
  const now = () => clock.now().getTime() - start;
  codedeploy.on(GetDeploymentCommand).callsFake(({ deploymentId }) => {
    if (deploymentId === "d-ROLLBACK") {
      return {
        deploymentInfo: {
          deploymentId,
          status: now() - (state.stopped ?? 0) > minute ? "Succeeded" : "InProgress",
        },
      };
    }
    const moment = at(now(), state);
    const info: DeploymentInfo = {
      deploymentId,
      status: moment.status as DeploymentInfo["status"],
      instanceTerminationWaitTimeStarted: moment.terminationWait ?? false,
      ...(moment.error
        ? { errorInformation: { code: moment.error.code as never, message: moment.error.message } }
        : {}),
      ...(moment.rollbackDeploymentId
        ? { rollbackInfo: { rollbackDeploymentId: moment.rollbackDeploymentId } }
        : {}),
    };
    return { deploymentInfo: info };
  });
  codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ["valmetal-dev:valmetal-dev-api"] });
  codedeploy.on(GetDeploymentTargetCommand).callsFake(() => {
    const moment = at(now(), state);
    return {
      deploymentTarget: {
        deploymentTargetType: "ECSTarget",
        ecsTarget: {
          lifecycleEvents: Object.entries(moment.events ?? {}).map(([name, status]) => ({
            lifecycleEventName: name,
            status: status as never,
          })),
          taskSetsInfo: [
            { taskSetLabel: "Blue", trafficWeight: 100 - moment.green },
            { taskSetLabel: "Green", trafficWeight: moment.green },
          ],
        },
      },
    };
  });
  codedeploy.on(StopDeploymentCommand).callsFake(() => {
    state.stopped = now();
    return { status: "Pending" };
  });
  codedeploy.on(ContinueDeploymentCommand).callsFake(({ deploymentWaitType }) => {
    if (deploymentWaitType === "READY_WAIT") state.readyContinued = now();
    else state.terminationContinued = now();
    return {};
  });
  return state;
}

interface ScriptState {
  stopped: number | undefined;
  readyContinued: number | undefined;
  terminationContinued: number | undefined;
}

/** After a stop with rollback CodeDeploy reports Stopped with a rollback deployment. */
const stoppedWithRollback = (state: ScriptState, ms: number): Moment | undefined =>
  state.stopped !== undefined && ms >= state.stopped
    ? {
        status: "Stopped",
        green: 0,
        rollbackDeploymentId: "d-ROLLBACK",
        error: { code: "MANUAL_STOP", message: "stopped" },
      }
    : undefined;

/** A canary: 10% at 1 min, 100% at 6 min, termination wait from then, Succeeded at 10 min. */
function canary(ms: number, state: ScriptState): Moment {
  const stopped = stoppedWithRollback(state, ms);
  if (stopped) return stopped;
  if (ms < minute)
    return { status: "InProgress", green: 0, events: { BeforeInstall: "Succeeded", Install: "InProgress" } };
  if (ms < 6 * minute)
    return { status: "InProgress", green: 10, events: { Install: "Succeeded", AllowTraffic: "InProgress" } };
  if (ms < 10 * minute && state.terminationContinued === undefined) {
    return { status: "InProgress", green: 100, terminationWait: true, events: { AllowTraffic: "Succeeded" } };
  }
  return { status: "Succeeded", green: 100, events: { AfterAllowTraffic: "Succeeded" } };
}

function options(overrides: Partial<WatchOptions> = {}): WatchOptions {
  return {
    deploymentId: "d-ABC",
    bakeMs: 0,
    timeoutMs: 60 * minute,
    rollbackOnStop: true,
    pollMs: { active: 5_000, waiting: 15_000, floor: 5_000 },
    rollbackTimeoutMs: 30 * minute,
    alarms: new AlarmWatch(
      new CloudWatchClient({ region: "ca-central-1" }),
      ["valmetal-dev-api-green-5xx", "valmetal-dev-api-health"],
      "ignore",
    ),
    verifyBlue: async () => true,
    ...overrides,
  };
}

describe("deployment watch", () => {
  let clock: FakeClock;
  beforeEach(() => {
    codedeploy.reset();
    cloudwatch.reset();
    clock = new FakeClock();
  });
  const client = () => new CodeDeployClient({ region: "ca-central-1" });
  const alarmAfter = (ms: number) => {
    const start = clock.now().getTime();
    cloudwatch.on(DescribeAlarmsCommand).callsFake(() => ({
      MetricAlarms: [{ AlarmName: "valmetal-dev-api-green-5xx", StateValue: "OK" }],
      CompositeAlarms: [
        {
          AlarmName: "valmetal-dev-api-health",
          StateValue: clock.now().getTime() - start >= ms ? "ALARM" : "OK",
          StateReason: "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
        },
      ],
    }));
  };

  it("follows a canary to success, recording lifecycle events and every weight change", async () => {
    scripted(clock, canary);
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(options(), { codedeploy: client(), clock });
    expect(outcome).toMatchObject({ status: "Succeeded", succeeded: true, rolledBack: false });
    expect(outcome.timeline.weights.map(({ green, blue }) => [green, blue])).toEqual([
      [0, 100],
      [10, 90],
      [100, 0],
    ]);
    expect(outcome.timeline.entries.map((entry) => entry.text)).toContain("AllowTraffic: Succeeded");
    expect(codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    expect(codedeploy.commandCalls(ListDeploymentTargetsCommand)).toHaveLength(1);
  });

  it("rolls back when an alarm fires during the canary, naming the alarm, and checks blue serves again", async () => {
    scripted(clock, canary);
    alarmAfter(2 * minute);
    const outcome = await watchDeployment(options(), { codedeploy: client(), clock });
    expect(codedeploy.commandCalls(StopDeploymentCommand)[0]?.args[0].input).toEqual({
      deploymentId: "d-ABC",
      autoRollbackEnabled: true,
    });
    expect(outcome).toMatchObject({
      succeeded: false,
      rolledBack: true,
      stopReason: "alarm",
      rollbackDeploymentId: "d-ROLLBACK",
      rollbackStatus: "Succeeded",
      blueServesAll: true,
      alarm: { name: "valmetal-dev-api-health", kind: "composite", state: "ALARM" },
    });
    expect(outcome.msToStop).toBe(0);
    expect(outcome.msToRollback).toBeGreaterThanOrEqual(minute);
    expect(outcome.timeline.entries.map((entry) => entry.text)).toContain(
      "alarm valmetal-dev-api-health is ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
    );
  });

  it("keeps watching alarms while baking after 100% and rolls back when one fires then", async () => {
    scripted(clock, canary);
    alarmAfter(7 * minute);
    const outcome = await watchDeployment(options({ bakeMs: 10 * minute }), {
      codedeploy: client(),
      clock,
    });
    expect(outcome).toMatchObject({ stopReason: "alarm", rolledBack: true });
    expect(outcome.timeline.entries.map((entry) => entry.text)).toContain("baking 600 s with alarms watched");
  });

  it("ends the termination wait once the bake passes without alarm", async () => {
    const state = scripted(clock, canary);
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(options({ bakeMs: 2 * minute }), {
      codedeploy: client(),
      clock,
    });
    expect(outcome.succeeded).toBe(true);
    expect(codedeploy.commandCalls(ContinueDeploymentCommand)[0]?.args[0].input).toEqual({
      deploymentId: "d-ABC",
      deploymentWaitType: "TERMINATION_WAIT",
    });
    expect(state.terminationContinued).toBeGreaterThanOrEqual(8 * minute);
  });

  it("reports CodeDeploy's own failure (a failed hook) and the rollback it made", async () => {
    scripted(clock, (ms) =>
      ms < minute
        ? { status: "InProgress", green: 0 }
        : {
            status: "Failed",
            green: 0,
            error: { code: "HOOK_EXECUTION_FAILURE", message: "AfterAllowTestTraffic hook failed" },
            rollbackDeploymentId: "d-ROLLBACK",
          },
    );
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(options(), { codedeploy: client(), clock });
    expect(outcome).toMatchObject({
      status: "Failed",
      succeeded: false,
      error: { code: "HOOK_EXECUTION_FAILURE" },
      rollbackDeploymentId: "d-ROLLBACK",
    });
  });

  it("runs the smoke test in the Ready wait and continues when it passes", async () => {
    const state = scripted(clock, (_ms, current) =>
      current.readyContinued === undefined
        ? { status: "Ready", green: 0 }
        : { status: "Succeeded", green: 100 },
    );
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(
      options({ smokeTest: async () => ({ ok: true, detail: "GET /health 200" }) }),
      { codedeploy: client(), clock },
    );
    expect(outcome).toMatchObject({ succeeded: true, smoke: { ok: true } });
    expect(state.readyContinued).toBeDefined();
  });

  it("stops with rollback before production traffic when the smoke test fails", async () => {
    scripted(clock, (ms, state) => stoppedWithRollback(state, ms) ?? { status: "Ready", green: 0 });
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(
      options({ smokeTest: async () => ({ ok: false, detail: "GET /health 500" }) }),
      { codedeploy: client(), clock },
    );
    expect(outcome).toMatchObject({ stopReason: "smoke-test", rolledBack: true, smoke: { ok: false } });
    expect(codedeploy.commandCalls(ContinueDeploymentCommand)).toHaveLength(0);
  });

  it("reports a Ready wait that expired before the continue reached CodeDeploy", async () => {
    scripted(clock, (ms) =>
      ms < 5 * minute
        ? { status: "Ready", green: 0 }
        : { status: "Stopped", green: 0, error: { code: "TIMEOUT", message: "ready wait expired" } },
    );
    alarmAfter(Number.POSITIVE_INFINITY);
    codedeploy.on(ContinueDeploymentCommand).callsFake(async () => {
      await clock.sleep(5 * minute);
      throw Object.assign(new Error("not ready"), { name: "DeploymentIsNotInReadyStateException" });
    });
    const outcome = await watchDeployment(options(), { codedeploy: client(), clock });
    expect(outcome).toMatchObject({ status: "Stopped", succeeded: false, error: { code: "TIMEOUT" } });
    expect(outcome.timeline.entries.map((entry) => entry.text)).toContain(
      "ContinueDeployment(READY_WAIT) refused: the deployment left the Ready wait",
    );
  });

  it("stops the deployment when the workflow is cancelled mid-shift", async () => {
    scripted(clock, canary);
    alarmAfter(Number.POSITIVE_INFINITY);
    const controller = new AbortController();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      await sleep(ms, signal);
      if (clock.now().getTime() - new Date("2026-01-01T00:00:00Z").getTime() >= 3 * minute)
        controller.abort();
    };
    const outcome = await watchDeployment(options({ signal: controller.signal }), {
      codedeploy: client(),
      clock,
    });
    expect(outcome).toMatchObject({ stopReason: "cancelled", rolledBack: true });
  });

  it("stops without rollback on timeout when asked to", async () => {
    scripted(clock, (_ms, state) =>
      state.stopped !== undefined ? { status: "Stopped", green: 10 } : { status: "InProgress", green: 10 },
    );
    alarmAfter(Number.POSITIVE_INFINITY);
    const outcome = await watchDeployment(options({ timeoutMs: 10 * minute, rollbackOnStop: false }), {
      codedeploy: client(),
      clock,
    });
    expect(codedeploy.commandCalls(StopDeploymentCommand)[0]?.args[0].input.autoRollbackEnabled).toBe(false);
    expect(outcome).toMatchObject({ stopReason: "timeout", rolledBack: false, status: "Stopped" });
  });

  it("reports a stop that came too late: CodeDeploy finished the deployment first", async () => {
    let stopAttempted = false;
    scripted(clock, (ms, state) => (stopAttempted ? { status: "Succeeded", green: 100 } : canary(ms, state)));
    alarmAfter(3 * minute);
    codedeploy.on(StopDeploymentCommand).callsFake(() => {
      stopAttempted = true;
      throw Object.assign(new Error("already completed"), { name: "DeploymentAlreadyCompletedException" });
    });
    const outcome = await watchDeployment(options(), { codedeploy: client(), clock });
    expect(outcome).toMatchObject({
      status: "Succeeded",
      stopTooLate: true,
      succeeded: false,
      rolledBack: false,
      stopReason: "alarm",
    });
  });

  it("polls fast while traffic moves, slower while waiting, never below the floor", async () => {
    scripted(clock, canary);
    alarmAfter(Number.POSITIVE_INFINITY);
    await watchDeployment(options({ pollMs: { active: 1_000, waiting: 20_000, floor: 3_000 } }), {
      codedeploy: client(),
      clock,
    });
    expect(Math.min(...clock.sleeps)).toBe(3_000);
    expect(clock.sleeps).toContain(20_000);
  });

  it("watches more than CodeDeploy's 10 alarms, 100 names per DescribeAlarms call", async () => {
    const names = Array.from({ length: 150 }, (_, index) => `alarm-${index}`);
    cloudwatch.on(DescribeAlarmsCommand).callsFake(({ AlarmNames }) => ({
      MetricAlarms: (AlarmNames as string[]).map((name) => ({
        AlarmName: name,
        StateValue: "INSUFFICIENT_DATA",
      })),
    }));
    const watch = new AlarmWatch(new CloudWatchClient({ region: "ca-central-1" }), names, "fail");
    const states = await watch.verifyExist();
    expect(states).toHaveLength(150);
    expect(
      cloudwatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames?.length),
    ).toEqual([100, 50]);
    expect(watch.breached(states)?.name).toBe("alarm-0");
    expect(
      new AlarmWatch(new CloudWatchClient({ region: "ca-central-1" }), names, "ignore").breached(states),
    ).toBeUndefined();
  });

  it("names alarms that do not exist", async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: "a", StateValue: "OK" }] });
    const watch = new AlarmWatch(new CloudWatchClient({ region: "ca-central-1" }), ["a", "typo"], "ignore");
    await expect(watch.verifyExist()).rejects.toThrow("CloudWatch alarm(s) not found: typo");
  });
});
