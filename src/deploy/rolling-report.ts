import { code, escapeHtml } from "../report/html.ts";
import type { RollingResult } from "./rolling.ts";

const shortTaskDefinition = (arn: string) => arn.split("/").pop() ?? arn;

/** The stopped tasks' reasons in one clause: "CannotPullContainerError: … (×3)". */
export function stoppedTasksClause(result: RollingResult): string {
  const reasons = result.outcome.stoppedTasks.map(
    (item) => `${item.reason}${item.count > 1 ? ` (×${item.count})` : ""}`,
  );
  return reasons.length ? `; tasks stopped: ${reasons.join(" | ")}` : "";
}

/** The step's verdict in one sentence: why a rolling deployment that did not succeed failed, and where the service is. */
export function rollingFailureMessage(result: RollingResult): string | undefined {
  const { outcome, deploymentId } = result;
  if (outcome.succeeded) return undefined;
  const previous = shortTaskDefinition(result.previousTaskDefinition);
  const why = outcome.rolloutStateReason ? ` (${outcome.rolloutStateReason})` : "";
  const back =
    outcome.rollbackDeploymentId === undefined
      ? ""
      : outcome.rolledBack
        ? ` — the service runs ${previous} again (${outcome.rollbackDeploymentId} COMPLETED)`
        : ` — putting ${previous} back: ${outcome.rollbackDeploymentId} is ${outcome.rollbackStatus ?? "unknown"}, check the service`;
  const tasks = stoppedTasksClause(result);
  switch (outcome.stopReason) {
    case "rolled-back":
      return `deployment ${deploymentId} of ${shortTaskDefinition(result.taskDefinition.arn)} failed and ECS rolled it back${why}${tasks}${back}`;
    case "failed":
      return `deployment ${deploymentId} of ${shortTaskDefinition(result.taskDefinition.arn)} failed${why}${tasks}; it was not rolled back (enable the circuit breaker's rollback, or deploy the previous commit)`;
    case "superseded":
      return `deployment ${deploymentId} was replaced by ${outcome.supersededBy?.deploymentId} of ${outcome.supersededBy?.taskDefinition} before it completed; another deployment of the service started — check who deployed`;
    case "timeout":
      return `deployment ${deploymentId} did not complete within the timeout (rollout ${outcome.status})${tasks}${back || " — left running (rollback-on-cancel: false)"}`;
    case "cancelled":
      return `deployment ${deploymentId} stopped: the workflow was cancelled${tasks}${back || " — left running (rollback-on-cancel: false)"}`;
    default:
      return `deployment ${deploymentId} ended ${outcome.status}${why}${tasks}`;
  }
}

/** The JSON report (a file whose path is an output), with the blue/green report's field names where they mean the same. */
export function rollingReport(result: RollingResult, sha: string) {
  const { outcome } = result;
  return {
    sha,
    mode: "rolling",
    cluster: result.cluster,
    service: result.service,
    deploymentId: result.deploymentId,
    taskDefinition: result.taskDefinition,
    previousTaskDefinition: result.previousTaskDefinition,
    status: outcome.status,
    succeeded: outcome.succeeded,
    waited: outcome.waited,
    rolledBack: outcome.rolledBack,
    rolledBackBy: outcome.rolledBackBy ?? null,
    rollbackDeploymentId: outcome.rollbackDeploymentId ?? null,
    rollbackStatus: outcome.rollbackStatus ?? null,
    stopReason: outcome.stopReason ?? null,
    rolloutStateReason: outcome.rolloutStateReason ?? null,
    supersededBy: outcome.supersededBy ?? null,
    failedTasks: outcome.failedTasks,
    stoppedTasks: outcome.stoppedTasks,
    msFromFirstFailure: outcome.msFromFirstFailure ?? null,
    apiCalls: outcome.apiCalls,
    durationMs: result.durationMs,
    timeline: outcome.timeline.toJSON().timeline,
  };
}

/** Rows of the job summary table. */
export function rollingSummaryRows(
  result: RollingResult,
  links: { commit: string },
): Array<[string, string]> {
  const { outcome } = result;
  const verdict = outcome.succeeded
    ? outcome.waited
      ? "✅ COMPLETED"
      : "🚀 started (not waited for)"
    : outcome.rolledBack
      ? "↩️ rolled back"
      : `❌ ${outcome.status}`;
  const rows: Array<[string, string]> = [
    ["Outcome", verdict],
    [
      "Deployment",
      `${code(result.deploymentId)} (rolling) on ${escapeHtml(`${result.cluster}/${result.service}`)}`,
    ],
    [
      "Task definition",
      `${code(result.taskDefinition.arn)}${result.taskDefinition.reused ? " (reused for this commit)" : ""}`,
    ],
    ["Previous", code(result.previousTaskDefinition)],
    ["Commit", `<a href="${escapeHtml(links.commit)}">commit</a>`],
    ["Duration", `${(result.durationMs / 1000).toFixed(1)} s, ${outcome.apiCalls} API calls`],
  ];
  if (outcome.failedTasks || outcome.stoppedTasks.length) {
    rows.push([
      "Stopped tasks",
      outcome.stoppedTasks.map((item) => `${escapeHtml(item.reason)} ×${item.count}`).join("<br>") ||
        `${outcome.failedTasks} failed`,
    ]);
  }
  const failure = rollingFailureMessage(result);
  if (failure) rows.push(["Why", escapeHtml(failure)]);
  return rows;
}
