import { type ECSClient, type PropagateTags, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import type { Clock } from "../clock.ts";
import { registerOrReuse, type TaskDefinitionRevision } from "../ecs/register.ts";
import { ToolkitError } from "../errors.ts";
import type { Reporter } from "../report/reporter.ts";
import type { PreparedRevision, RevisionOptions } from "./revision.ts";
import { followRollout, RolloutReader, type RolloutResult, type StoppedTaskReason } from "./rollout-watch.ts";
import { Timeline } from "./timeline.ts";

/** A rolling deployment by the ECS deployment controller of a revision prepared by prepareRevision. */
export interface RollingOptions extends RevisionOptions {
  desiredCount?: number;
  forceNewDeployment: boolean;
  /** Absent: unchanged. */
  propagateTags?: PropagateTags;
  enableECSManagedTags?: boolean;
  /** false: return once UpdateService has started the deployment. */
  wait: boolean;
  timeoutMs: number;
  pollMs: number;
  /** On timeout or cancellation: put the previous revision back (true) or leave the deployment running (false). */
  rollbackOnStop: boolean;
  /** How long to follow a rollback (ECS's or the action's) to COMPLETED. */
  rollbackTimeoutMs: number;
  signal?: AbortSignal;
}

export interface RollingDependencies {
  ecs: ECSClient;
  clock: Clock;
  reporter: Reporter;
  /** Called as soon as the ECS deployment exists, so a post step can restore the previous revision on cancel. */
  onDeploymentCreated?: (deploymentId: string) => void;
}

export type RollingStopReason = "failed" | "rolled-back" | "superseded" | "timeout" | "cancelled";

export interface RollingOutcome {
  deploymentId: string;
  /** The deployment's rolloutState: COMPLETED, FAILED, or IN_PROGRESS (not waited for, timed out, cancelled). */
  status: string;
  succeeded: boolean;
  rolledBack: boolean;
  waited: boolean;
  stopReason?: RollingStopReason;
  rolloutStateReason?: string;
  /** The deployment that put the previous revision back: ECS's rollback, or the action's restore. */
  rollbackDeploymentId?: string;
  rollbackStatus?: string;
  rolledBackBy?: "ecs" | "action";
  /** The deployment that replaced this one when it was neither ours nor a rollback. */
  supersededBy?: { deploymentId: string; taskDefinition: string };
  failedTasks: number;
  stoppedTasks: StoppedTaskReason[];
  /** From the first failed task the watch saw to the end of the watch. */
  msFromFirstFailure?: number;
  timeline: Timeline;
  apiCalls: number;
}

export interface RollingResult {
  cluster: string;
  service: string;
  taskDefinition: TaskDefinitionRevision;
  previousTaskDefinition: string;
  deploymentId: string;
  outcome: RollingOutcome;
  durationMs: number;
}

/** UpdateService to a revision; returns the id of the PRIMARY deployment it leaves (the one it created). */
async function updateService(
  ecs: ECSClient,
  options: RollingOptions,
  taskDefinition: string,
  extra: Partial<ConstructorParameters<typeof UpdateServiceCommand>[0]> = {},
): Promise<string> {
  const response = await ecs
    .send(
      new UpdateServiceCommand({
        cluster: options.cluster,
        service: options.service,
        taskDefinition,
        ...extra,
      }),
    )
    .catch((error: Error) => {
      throw new ToolkitError(
        `UpdateService of ${options.cluster}/${options.service} to ${taskDefinition} refused: ${error.name}: ${error.message}`,
      );
    });
  const primary = response.service?.deployments?.find((deployment) => deployment.status === "PRIMARY");
  if (!primary?.id)
    throw new ToolkitError(`UpdateService of ${options.service} returned no PRIMARY deployment`);
  return primary.id;
}

/**
 * A rolling deployment of one ECS-controller service: registers the revision (or reuses this commit's), updates the
 * service, and follows the ECS deployment it created until its rolloutState is COMPLETED. It fails when the circuit
 * breaker or deployment alarms fail it or ECS rolls it back, explains failed tasks from their stoppedReason, and on
 * timeout or cancellation puts the previous revision back (rollbackOnStop).
 */
export async function deployRolling(
  options: RollingOptions,
  prepared: PreparedRevision,
  deps: RollingDependencies,
): Promise<RollingResult> {
  const { clock, reporter } = deps;
  const started = clock.now().getTime();
  const { service, previousTaskDefinition, rendered } = prepared;
  const controller = service.deploymentController?.type ?? "ECS";
  if (controller !== "ECS") {
    throw new ToolkitError(
      `service ${options.service} uses the ${controller} deployment controller; rolling mode needs ECS (deploy it with mode: blue-green)`,
    );
  }
  const taskDefinition = await registerOrReuse(deps.ecs, rendered, options.sha);
  reporter.info(
    `${taskDefinition.reused ? "Reusing" : "Registered"} ${taskDefinition.arn} for commit ${options.sha}`,
  );
  const timeline = new Timeline((entry) => reporter.info(`${entry.at.toISOString()}  ${entry.text}`));
  const reader = new RolloutReader(deps.ecs, options.cluster, options.service);
  const deploymentId = await updateService(deps.ecs, options, taskDefinition.arn, {
    forceNewDeployment: options.forceNewDeployment,
    ...(options.desiredCount !== undefined ? { desiredCount: options.desiredCount } : {}),
    ...(options.propagateTags ? { propagateTags: options.propagateTags } : {}),
    ...(options.enableECSManagedTags !== undefined
      ? { enableECSManagedTags: options.enableECSManagedTags }
      : {}),
  });
  reader.calls++;
  deps.onDeploymentCreated?.(deploymentId);
  timeline.add(clock.now(), `UpdateService: deployment ${deploymentId} of ${taskDefinition.arn}`);
  const base = { deploymentId, failedTasks: 0, stoppedTasks: reader.reasons, timeline };
  const finish = (
    outcome: Omit<RollingOutcome, "timeline" | "apiCalls" | "stoppedTasks" | "deploymentId">,
  ) => ({
    cluster: options.cluster,
    service: options.service,
    taskDefinition,
    previousTaskDefinition,
    deploymentId,
    outcome: { ...base, ...outcome, apiCalls: reader.calls },
    durationMs: clock.now().getTime() - started,
  });
  if (!options.wait) {
    return finish({
      status: "IN_PROGRESS",
      succeeded: true,
      rolledBack: false,
      waited: false,
      failedTasks: 0,
    });
  }

  const rollout = await reporter.group(`Following ${deploymentId}`, () =>
    followRollout(
      {
        cluster: options.cluster,
        service: options.service,
        deploymentId,
        taskDefinition: taskDefinition.arn,
        previousTaskDefinition,
        deadline: started + options.timeoutMs,
        pollMs: options.pollMs,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      { clock, timeline, reader },
    ),
  );
  const common = {
    status: rollout.rolloutState,
    waited: true,
    failedTasks: rollout.failedTasks,
    ...(rollout.rolloutStateReason ? { rolloutStateReason: rollout.rolloutStateReason } : {}),
    ...(rollout.firstFailureAt !== undefined
      ? { msFromFirstFailure: clock.now().getTime() - rollout.firstFailureAt }
      : {}),
  };
  switch (rollout.end) {
    case "completed":
      return finish({ ...common, succeeded: true, rolledBack: false });
    case "failed":
      return finish({ ...common, succeeded: false, rolledBack: false, stopReason: "failed" });
    case "superseded":
      return finish({
        ...common,
        succeeded: false,
        rolledBack: false,
        stopReason: "superseded",
        supersededBy: {
          deploymentId: rollout.primary?.id as string,
          taskDefinition: rollout.primary?.taskDefinition as string,
        },
      });
    case "rolled-back": {
      const rollback = rollout.primary?.id as string;
      const restored = await followBack(rollback, options, previousTaskDefinition, {
        clock,
        timeline,
        reader,
      });
      return finish({
        ...common,
        ...(rollout.firstFailureAt !== undefined
          ? { msFromFirstFailure: clock.now().getTime() - rollout.firstFailureAt }
          : {}),
        succeeded: false,
        rolledBack: restored.end === "completed",
        rolledBackBy: "ecs",
        stopReason: "rolled-back",
        rollbackDeploymentId: rollback,
        rollbackStatus: restored.rolloutState,
      });
    }
    default: {
      const stopReason = rollout.end;
      if (!options.rollbackOnStop) {
        timeline.add(clock.now(), `left ${deploymentId} running (rollback-on-cancel: false)`);
        return finish({ ...common, succeeded: false, rolledBack: false, stopReason });
      }
      const restore = await updateService(deps.ecs, options, previousTaskDefinition);
      reader.calls++;
      timeline.add(clock.now(), `UpdateService back to ${previousTaskDefinition}: deployment ${restore}`);
      const restored = await followBack(restore, options, previousTaskDefinition, {
        clock,
        timeline,
        reader,
      });
      return finish({
        ...common,
        succeeded: false,
        rolledBack: restored.end === "completed",
        rolledBackBy: "action",
        stopReason,
        rollbackDeploymentId: restore,
        rollbackStatus: restored.rolloutState,
      });
    }
  }
}

/** Follows the deployment that puts the previous revision back, to COMPLETED within the rollback bound (no signal). */
async function followBack(
  deploymentId: string,
  options: RollingOptions,
  previousTaskDefinition: string,
  deps: { clock: Clock; timeline: Timeline; reader: RolloutReader },
): Promise<RolloutResult> {
  const result = await followRollout(
    {
      cluster: options.cluster,
      service: options.service,
      deploymentId,
      taskDefinition: previousTaskDefinition,
      previousTaskDefinition,
      deadline: deps.clock.now().getTime() + options.rollbackTimeoutMs,
      pollMs: options.pollMs,
      explainStoppedTasks: false,
    },
    deps,
  );
  deps.timeline.add(deps.clock.now(), `rollback ${deploymentId}: ${result.rolloutState}`);
  return result;
}
