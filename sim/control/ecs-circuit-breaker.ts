import { addEvent, startRollingDeployment } from "./ecs-services.ts";
import type { Service, Sim, Task, TaskSet } from "./state.ts";

/**
 * The ECS deployment circuit breaker (`deploymentConfiguration.deploymentCircuitBreaker {enable, rollback}`), ECS
 * controller only. A task of the rolling-out deployment that fails to start (TaskFailedToStart) or stops on its own
 * (EssentialContainerExited) counts in the deployment's `failedTasks`; when the count reaches the threshold the
 * deployment's rolloutState becomes FAILED, and with `rollback` the task definition of the last COMPLETED deployment
 * becomes a new PRIMARY deployment while the failed one is scaled in.
 *
 * Threshold (API reference, ServiceDeploymentCircuitBreaker): 0.5 × desired count, at least 3, at most 200.
 * Simplification: AWS's two stages (tasks reaching RUNNING, then health checks) are one count here, and the count
 * is not reset when a task of the deployment runs; it stops counting once the deployment is COMPLETED or FAILED.
 */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

const failureCodes = new Set(["TaskFailedToStart", "EssentialContainerExited"]);

/** Called when a task has stopped: counts it against its deployment and trips the breaker at the threshold. */
export function recordTaskStopped(sim: Sim, task: Task): void {
  if (!task.serviceArn || !failureCodes.has(task.stopCode ?? "")) return;
  const service = sim.state.services[task.serviceArn];
  if (service?.deploymentController !== "ECS") return;
  const deployment = service.taskSets.find((set) => set.id === task.taskSetId);
  if (deployment?.status !== "PRIMARY" || (deployment.rolloutState ?? "IN_PROGRESS") !== "IN_PROGRESS")
    return;
  deployment.failedTasks = (deployment.failedTasks ?? 0) + 1;
  deployment.updatedAt = sim.clock.now();
  const breaker = service.deploymentConfiguration?.deploymentCircuitBreaker;
  if (!breaker?.enable) return;
  if (deployment.failedTasks < circuitBreakerThreshold(service.desiredCount)) return;
  trip(sim, service, deployment, Boolean(breaker.rollback));
}

function trip(sim: Sim, service: Service, failed: TaskSet, rollback: boolean): void {
  failed.rolloutState = "FAILED";
  failed.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
  addEvent(
    sim,
    service,
    `(service ${service.serviceName}) (deployment ${failed.id}) deployment failed: tasks failed to start.`,
  );
  if (!rollback) return;
  const target = service.taskSets
    .filter((set) => set !== failed && !set.deleted && set.rolloutState === "COMPLETED")
    .sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!target) return;
  // The failed deployment stops launching and drains; it disappears once the rollback is steady.
  failed.scale = 0;
  const rollbackDeployment = startRollingDeployment(sim, service, target.taskDefinition);
  rollbackDeployment.rolloutStateReason = `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`;
  addEvent(
    sim,
    service,
    `(service ${service.serviceName}) (deployment ${failed.id}) rolling back to deployment ${target.id}.`,
  );
}
