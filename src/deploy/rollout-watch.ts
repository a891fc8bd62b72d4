import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import type { Clock } from "../clock.ts";
import { ToolkitError } from "../errors.ts";
import type { Timeline } from "./timeline.ts";

/** One reason tasks of the new revision stopped, with how many did. */
export interface StoppedTaskReason {
  reason: string;
  count: number;
  /** One of the tasks, to look up in the console. */
  taskArn: string;
}

/** How a rollout ended, as seen from DescribeServices. */
export type RolloutEnd = "completed" | "failed" | "rolled-back" | "superseded" | "timeout" | "cancelled";

export interface RolloutResult {
  end: RolloutEnd;
  /** The followed deployment's last rolloutState (IN_PROGRESS when it vanished before ending). */
  rolloutState: string;
  rolloutStateReason?: string;
  /** The deployment PRIMARY when the rollout ended elsewhere (ECS's rollback, or another deployment). */
  primary?: Deployment;
  failedTasks: number;
  /** When the watch first saw a failed task (epoch ms). */
  firstFailureAt?: number;
}

export interface RolloutWatchOptions {
  cluster: string;
  service: string;
  deploymentId: string;
  taskDefinition: string;
  previousTaskDefinition: string;
  deadline: number;
  pollMs: number;
  /** Read the stopped tasks of `taskDefinition` when tasks fail (not while following a rollback). Default true. */
  explainStoppedTasks?: boolean;
  signal?: AbortSignal;
}

const maxReasons = 5;
const maxStoppedRead = 100;

/** DescribeServices, ListTasks and DescribeTasks for a rollout, counting the calls and collecting stopped-task reasons. */
export class RolloutReader {
  readonly #ecs: ECSClient;
  readonly #cluster: string;
  readonly #service: string;
  calls = 0;
  readonly reasons: StoppedTaskReason[] = [];
  readonly #seen = new Set<string>();

  constructor(ecs: ECSClient, cluster: string, service: string) {
    this.#ecs = ecs;
    this.#cluster = cluster;
    this.#service = service;
  }

  async service(): Promise<Service> {
    this.calls++;
    const response = await this.#ecs.send(
      new DescribeServicesCommand({ cluster: this.#cluster, services: [this.#service] }),
    );
    const service = response.services?.[0];
    if (!service) {
      throw new ToolkitError(
        `service ${this.#service} disappeared from cluster ${this.#cluster} during the deployment (${response.failures?.[0]?.reason ?? "MISSING"})`,
      );
    }
    return service;
  }

  /** Reads the stopped tasks of a revision not read yet; returns the reasons that are new. */
  async readStopped(taskDefinition: string): Promise<StoppedTaskReason[]> {
    this.calls++;
    const listed = await this.#ecs.send(
      new ListTasksCommand({
        cluster: this.#cluster,
        serviceName: this.#service,
        desiredStatus: "STOPPED",
        maxResults: maxStoppedRead,
      }),
    );
    const unseen = (listed.taskArns ?? []).filter((arn) => !this.#seen.has(arn));
    if (!unseen.length) return [];
    this.calls++;
    const described = await this.#ecs.send(
      new DescribeTasksCommand({ cluster: this.#cluster, tasks: unseen }),
    );
    const fresh: StoppedTaskReason[] = [];
    for (const task of described.tasks ?? []) {
      this.#seen.add(task.taskArn as string);
      if (task.taskDefinitionArn !== taskDefinition) continue;
      const reason = taskReason(task);
      if (!reason) continue;
      const known = this.reasons.find((item) => item.reason === reason);
      if (known) known.count++;
      else if (this.reasons.length < maxReasons) {
        const entry = { reason, count: 1, taskArn: task.taskArn as string };
        this.reasons.push(entry);
        fresh.push(entry);
      }
    }
    return fresh;
  }
}

/** The task's stoppedReason with what its containers say when it adds something; scheduler scale-ins are not failures. */
export function taskReason(task: Task): string | undefined {
  const stopped = task.stoppedReason ?? "";
  if (task.stopCode === "ServiceSchedulerInitiated" && stopped.startsWith("Scaling activity"))
    return undefined;
  const containers = (task.containers ?? [])
    .map((container) => {
      if (container.reason && container.reason !== stopped) return `${container.name}: ${container.reason}`;
      if (container.exitCode !== undefined && container.exitCode !== 0)
        return `${container.name}: exit code ${container.exitCode}`;
      return undefined;
    })
    .filter(Boolean);
  const text = [stopped, containers.length ? `(${containers.join("; ")})` : ""].filter(Boolean).join(" ");
  return text || undefined;
}

/** The service event ECS wrote when the deployment failed ("… deployment failed: tasks failed to start."). */
function failureEvent(service: Service, deploymentId: string): string | undefined {
  const message = service.events?.find(
    (event) => event.message?.includes(`(deployment ${deploymentId})`) && event.message.includes("failed"),
  )?.message;
  return message?.replace(/^\(service [^)]*\) \(deployment [^)]*\) /, "");
}

/**
 * Follows an ECS-controller deployment through DescribeServices until it is COMPLETED (and still PRIMARY), FAILED
 * (circuit breaker, deployment alarms), replaced by a deployment of the previous revision (ECS rolled back) or by
 * another one, or until the deadline or the signal. Failed tasks are explained from the stopped tasks of the revision.
 */
export async function followRollout(
  options: RolloutWatchOptions,
  deps: { clock: Clock; timeline: Timeline; reader: RolloutReader },
): Promise<RolloutResult> {
  const { clock, timeline, reader } = deps;
  const now = () => clock.now();
  let lastState = "";
  let lastCounts = "";
  let failedTasks = 0;
  let firstFailureAt: number | undefined;
  const explain = async () => {
    if (options.explainStoppedTasks === false) return;
    for (const item of await reader.readStopped(options.taskDefinition))
      timeline.add(now(), `stopped task: ${item.reason}`);
  };
  for (;;) {
    const service = await reader.service();
    const deployments = service.deployments ?? [];
    const mine = deployments.find((deployment) => deployment.id === options.deploymentId);
    const primary = deployments.find((deployment) => deployment.status === "PRIMARY");
    if (mine) {
      const state = `${mine.rolloutState ?? "?"}`;
      if (state !== lastState) {
        timeline.add(
          now(),
          `rollout ${state}${mine.rolloutStateReason ? `: ${mine.rolloutStateReason}` : ""}`,
        );
        lastState = state;
      }
      const counts = `${mine.runningCount ?? 0}/${mine.desiredCount ?? 0} running, ${mine.pendingCount ?? 0} pending`;
      if (counts !== lastCounts) {
        timeline.add(now(), `tasks of ${options.deploymentId}: ${counts}`);
        lastCounts = counts;
      }
      if ((mine.failedTasks ?? 0) > failedTasks) {
        firstFailureAt ??= now().getTime();
        failedTasks = mine.failedTasks ?? 0;
        timeline.add(now(), `${failedTasks} failed task(s) in ${options.deploymentId}`);
        await explain();
      }
    }
    const result = (end: RolloutEnd, extra: Partial<RolloutResult> = {}): RolloutResult => ({
      end,
      rolloutState: mine?.rolloutState ?? (end === "completed" ? "COMPLETED" : lastState || "IN_PROGRESS"),
      ...(mine?.rolloutStateReason ? { rolloutStateReason: mine.rolloutStateReason } : {}),
      failedTasks,
      ...(firstFailureAt !== undefined ? { firstFailureAt } : {}),
      ...extra,
    });
    if (mine?.rolloutState === "COMPLETED" && mine.status === "PRIMARY") return result("completed");
    const movedOn = primary && primary.id !== options.deploymentId ? primary : undefined;
    if (mine?.rolloutState === "FAILED" || movedOn) {
      await explain();
      // A deployment ECS has already retired is explained by the service event it wrote and its rollback's reason.
      const rollbackReason = movedOn?.rolloutStateReason?.includes("rolling back")
        ? movedOn.rolloutStateReason
        : undefined;
      const event = failureEvent(service, options.deploymentId);
      const reason =
        mine?.rolloutStateReason ??
        ([event && `service event: ${event}`, rollbackReason].filter(Boolean).join("; ") || undefined);
      const failed = mine?.rolloutState === "FAILED" || reason !== undefined;
      const extra = {
        ...(reason ? { rolloutStateReason: reason } : {}),
        ...(movedOn ? { primary: movedOn } : {}),
        ...(failed ? { rolloutState: "FAILED" } : {}),
      };
      if (movedOn?.taskDefinition === options.previousTaskDefinition) {
        timeline.add(now(), `ECS rolled back: ${movedOn.id} of ${movedOn.taskDefinition} is PRIMARY`);
        return result("rolled-back", extra);
      }
      if (movedOn) {
        timeline.add(now(), `superseded: ${movedOn.id} of ${movedOn.taskDefinition} is PRIMARY`);
        return result(failed ? "failed" : "superseded", extra);
      }
      return result("failed", extra);
    }
    if (!mine) {
      throw new ToolkitError(
        `deployment ${options.deploymentId} of service ${options.service} vanished and no deployment is PRIMARY`,
      );
    }
    if (now().getTime() >= options.deadline) {
      timeline.add(now(), "timeout: the rollout did not complete in time");
      return result("timeout");
    }
    try {
      await clock.sleep(options.pollMs, options.signal);
    } catch (error) {
      if (!options.signal?.aborted) throw error;
      timeline.add(now(), "cancelled");
      return result("cancelled");
    }
  }
}
