import {
  type CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  type ECSTarget,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
} from "@aws-sdk/client-codedeploy";
import type { Clock } from "../clock.ts";
import type { AlarmState, AlarmWatch } from "./alarm-watch.ts";
import { Timeline } from "./timeline.ts";

export type StopReason = "alarm" | "smoke-test" | "timeout" | "cancelled";

export interface SmokeResult {
  ok: boolean;
  detail: string;
}

export interface WatchOptions {
  deploymentId: string;
  alarms?: AlarmWatch;
  /** Runs while the deployment waits in Ready (test traffic only); decides ContinueDeployment or a rollback. */
  smokeTest?: () => Promise<SmokeResult>;
  /** Keep watching alarms this long after production traffic reached green, then end the termination wait. */
  bakeMs: number;
  timeoutMs: number;
  /** Roll back (true) or only stop (false) when the workflow is cancelled or the timeout passes. */
  rollbackOnStop: boolean;
  /** Poll intervals: fast while traffic moves, slower while waiting. Never below the floor. */
  pollMs: { active: number; waiting: number; floor: number };
  /** How long to follow a stop and its rollback. */
  rollbackTimeoutMs: number;
  /** After a rollback: does the original (blue) revision serve all production traffic again? */
  verifyBlue?: () => Promise<boolean>;
  signal?: AbortSignal;
}

export interface WatchDependencies {
  codedeploy: CodeDeployClient;
  clock: Clock;
  timeline?: Timeline;
}

export interface DeploymentOutcome {
  deploymentId: string;
  status: string;
  succeeded: boolean;
  rolledBack: boolean;
  rollbackDeploymentId?: string;
  rollbackStatus?: string;
  stopReason?: StopReason;
  /** CodeDeploy's own reason when it failed or stopped the deployment (ALARM_ACTIVE, HOOK_EXECUTION_FAILURE …). */
  error?: { code: string; message: string };
  alarm?: AlarmState;
  smoke?: SmokeResult;
  /** The stop came too late: CodeDeploy had already finished the deployment. */
  stopTooLate?: boolean;
  blueServesAll?: boolean;
  /** From the moment the watch saw the alarm: to StopDeployment sent, and to the rollback finished. */
  msToStop?: number;
  msToRollback?: number;
  timeline: Timeline;
  apiCalls: number;
}

const terminal = new Set(["Succeeded", "Failed", "Stopped"]);

class DeploymentReader {
  readonly #codedeploy: CodeDeployClient;
  calls = 0;
  constructor(codedeploy: CodeDeployClient) {
    this.#codedeploy = codedeploy;
  }
  async info(deploymentId: string): Promise<DeploymentInfo> {
    this.calls++;
    const response = await this.#codedeploy.send(new GetDeploymentCommand({ deploymentId }));
    return response.deploymentInfo ?? {};
  }
  async target(deploymentId: string, known?: string): Promise<{ targetId?: string; ecs?: ECSTarget }> {
    let targetId = known;
    if (!targetId) {
      this.calls++;
      targetId = (await this.#codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId })))
        .targetIds?.[0];
      if (!targetId) return {};
    }
    this.calls++;
    const response = await this.#codedeploy.send(new GetDeploymentTargetCommand({ deploymentId, targetId }));
    const ecs = response.deploymentTarget?.ecsTarget;
    return { targetId, ...(ecs ? { ecs } : {}) };
  }
  async send(command: StopDeploymentCommand | ContinueDeploymentCommand): Promise<void> {
    this.calls++;
    await this.#codedeploy.send(command as StopDeploymentCommand);
  }
}

/**
 * Follows a CodeDeploy ECS blue/green deployment to its end, and acts on it: stops it with rollback when a watched
 * alarm fires (before CodeDeploy's own alarm poll would), runs smoke tests in the Ready wait, bakes after the shift,
 * and stops it on timeout or cancellation. Every outcome is a value; nothing is printed but through the timeline.
 */
export async function watchDeployment(
  options: WatchOptions,
  deps: WatchDependencies,
): Promise<DeploymentOutcome> {
  const { clock } = deps;
  const timeline = deps.timeline ?? new Timeline();
  const reader = new DeploymentReader(deps.codedeploy);
  const started = clock.now().getTime();
  const elapsed = () => clock.now().getTime() - started;
  const events = new Map<string, string>();
  let lastStatus = "";
  let targetId: string | undefined;
  let readyHandled = false;
  let bakeStartedAt: number | undefined;
  let terminationContinued = false;
  let smoke: SmokeResult | undefined;

  const outcome = (fields: Partial<DeploymentOutcome> & { status: string }): DeploymentOutcome => ({
    deploymentId: options.deploymentId,
    succeeded: false,
    rolledBack: false,
    timeline,
    apiCalls: reader.calls + (options.alarms?.calls ?? 0),
    ...(smoke ? { smoke } : {}),
    ...fields,
  });

  const stop = async (reason: StopReason, alarm?: AlarmState): Promise<DeploymentOutcome> => {
    const seenAt = clock.now().getTime();
    const rollback = reason === "alarm" || reason === "smoke-test" || options.rollbackOnStop;
    let tooLate = false;
    try {
      await reader.send(
        new StopDeploymentCommand({ deploymentId: options.deploymentId, autoRollbackEnabled: rollback }),
      );
    } catch (error) {
      if ((error as Error).name !== "DeploymentAlreadyCompletedException") throw error;
      tooLate = true;
    }
    const msToStop = clock.now().getTime() - seenAt;
    timeline.add(clock.now(), `StopDeployment sent (${reason}${rollback ? ", with rollback" : ""})`);
    const followed = await followStop(options, reader, clock, timeline);
    const msToRollback = clock.now().getTime() - seenAt;
    const blueServesAll = followed.rolledBack && options.verifyBlue ? await options.verifyBlue() : undefined;
    return outcome({
      status: followed.status,
      succeeded: false,
      rolledBack: followed.rolledBack,
      stopReason: reason,
      stopTooLate: tooLate || followed.status === "Succeeded",
      msToStop,
      ...(followed.rolledBack ? { msToRollback } : {}),
      ...(followed.rollbackDeploymentId ? { rollbackDeploymentId: followed.rollbackDeploymentId } : {}),
      ...(followed.rollbackStatus ? { rollbackStatus: followed.rollbackStatus } : {}),
      ...(alarm ? { alarm } : {}),
      ...(blueServesAll === undefined ? {} : { blueServesAll }),
    });
  };

  for (;;) {
    if (options.signal?.aborted) return stop("cancelled");
    if (elapsed() > options.timeoutMs) return stop("timeout");

    const info = await reader.info(options.deploymentId);
    const status = info.status ?? "Unknown";
    if (status !== lastStatus) {
      timeline.add(clock.now(), `deployment ${status}`);
      lastStatus = status;
    }
    if (terminal.has(status)) {
      const rollbackDeploymentId = info.rollbackInfo?.rollbackDeploymentId;
      const followed = rollbackDeploymentId ? await followStop(options, reader, clock, timeline) : undefined;
      return outcome({
        status,
        succeeded: status === "Succeeded",
        rolledBack: followed?.rolledBack ?? false,
        ...(rollbackDeploymentId ? { rollbackDeploymentId } : {}),
        ...(followed?.rollbackStatus ? { rollbackStatus: followed.rollbackStatus } : {}),
        ...(info.errorInformation?.code
          ? { error: { code: info.errorInformation.code, message: info.errorInformation.message ?? "" } }
          : {}),
      });
    }

    const target = await reader.target(options.deploymentId, targetId);
    targetId = target.targetId;
    for (const event of target.ecs?.lifecycleEvents ?? []) {
      const name = event.lifecycleEventName ?? "";
      if (events.get(name) !== event.status) {
        events.set(name, event.status ?? "");
        if (event.status !== "Pending") timeline.add(clock.now(), `${name}: ${event.status}`);
      }
    }
    const green = target.ecs?.taskSetsInfo?.find((set) => set.taskSetLabel === "Green")?.trafficWeight ?? 0;
    const blue = target.ecs?.taskSetsInfo?.find((set) => set.taskSetLabel === "Blue")?.trafficWeight ?? 100;
    timeline.weigh(clock.now(), green, blue);

    if (options.alarms) {
      const breach = options.alarms.breached(await options.alarms.states());
      if (breach) {
        timeline.add(clock.now(), `alarm ${breach.name} is ${breach.state}: ${breach.reason}`);
        return stop("alarm", breach);
      }
    }

    if (status === "Ready" && !readyHandled) {
      readyHandled = true;
      if (options.smokeTest) {
        smoke = await options.smokeTest();
        timeline.add(
          clock.now(),
          `smoke test on the test listener ${smoke.ok ? "passed" : "failed"}: ${smoke.detail}`,
        );
        if (!smoke.ok) return stop("smoke-test");
      }
      try {
        await reader.send(
          new ContinueDeploymentCommand({
            deploymentId: options.deploymentId,
            deploymentWaitType: "READY_WAIT",
          }),
        );
        timeline.add(clock.now(), "ContinueDeployment(READY_WAIT): production traffic may move");
      } catch (error) {
        // The Ready wait ended meanwhile (expired, or stopped by someone): the next read reports how.
        if ((error as Error).name !== "DeploymentIsNotInReadyStateException") throw error;
        timeline.add(
          clock.now(),
          "ContinueDeployment(READY_WAIT) refused: the deployment left the Ready wait",
        );
      }
    }

    const shifted = green >= 100 || events.get("AllowTraffic") === "Succeeded";
    if (shifted && bakeStartedAt === undefined) {
      bakeStartedAt = clock.now().getTime();
      if (options.bakeMs > 0)
        timeline.add(clock.now(), `baking ${Math.round(options.bakeMs / 1000)} s with alarms watched`);
    }
    if (
      bakeStartedAt !== undefined &&
      options.bakeMs > 0 &&
      !terminationContinued &&
      info.instanceTerminationWaitTimeStarted &&
      clock.now().getTime() - bakeStartedAt >= options.bakeMs
    ) {
      terminationContinued = true;
      await reader.send(
        new ContinueDeploymentCommand({
          deploymentId: options.deploymentId,
          deploymentWaitType: "TERMINATION_WAIT",
        }),
      );
      timeline.add(
        clock.now(),
        "bake passed: ContinueDeployment(TERMINATION_WAIT) ends the termination wait",
      );
    }

    const moving = status === "InProgress" && !shifted;
    const interval = Math.max(options.pollMs.floor, moving ? options.pollMs.active : options.pollMs.waiting);
    try {
      await clock.sleep(interval, options.signal);
    } catch {
      // Cancelled while sleeping: the loop's first check stops the deployment.
    }
  }
}

interface FollowedStop {
  status: string;
  rolledBack: boolean;
  rollbackDeploymentId?: string;
  rollbackStatus?: string;
}

/** After a stop: waits for the deployment to end, then for its rollback deployment, within the rollback timeout. */
async function followStop(
  options: WatchOptions,
  reader: DeploymentReader,
  clock: Clock,
  timeline: Timeline,
): Promise<FollowedStop> {
  const deadline = clock.now().getTime() + options.rollbackTimeoutMs;
  const interval = Math.max(options.pollMs.floor, options.pollMs.active);
  let info = await reader.info(options.deploymentId);
  while (
    !terminal.has(info.status ?? "") ||
    (info.status === "Stopped" && !info.rollbackInfo?.rollbackDeploymentId)
  ) {
    if (clock.now().getTime() > deadline) break;
    if (info.status === "Stopped" && !info.rollbackInfo) break;
    await clock.sleep(interval);
    info = await reader.info(options.deploymentId);
  }
  const rollbackDeploymentId = info.rollbackInfo?.rollbackDeploymentId;
  if (!rollbackDeploymentId) return { status: info.status ?? "Unknown", rolledBack: false };
  timeline.add(clock.now(), `rollback deployment ${rollbackDeploymentId} started`);
  let rollback = await reader.info(rollbackDeploymentId);
  while (!terminal.has(rollback.status ?? "") && clock.now().getTime() <= deadline) {
    await clock.sleep(interval);
    rollback = await reader.info(rollbackDeploymentId);
  }
  const rollbackStatus = rollback.status ?? "Unknown";
  timeline.add(clock.now(), `rollback deployment ${rollbackStatus}`);
  return {
    status: info.status ?? "Unknown",
    rolledBack: rollbackStatus === "Succeeded",
    rollbackDeploymentId,
    rollbackStatus,
  };
}
