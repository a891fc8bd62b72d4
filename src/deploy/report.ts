import { code, escapeHtml } from "../report/html.ts";
import type { BlueGreenResult } from "./blue-green.ts";

/** The step's verdict in one sentence: why a deployment that did not succeed failed, and what became of it. */
export function failureMessage(result: BlueGreenResult): string | undefined {
  const { outcome, deploymentId } = result;
  if (outcome.succeeded) return undefined;
  const seconds = (ms?: number) => (ms === undefined ? "?" : (ms / 1000).toFixed(1));
  const after = outcome.rolledBack
    ? ` — rolled back by ${outcome.rollbackDeploymentId}${outcome.blueServesAll === false ? ", but blue does not serve all traffic: check the service" : ", blue serves 100% again"} (${seconds(outcome.msToRollback)} s after the trigger)`
    : outcome.rollbackDeploymentId
      ? ` — rollback ${outcome.rollbackDeploymentId} ended ${outcome.rollbackStatus ?? "unknown"}`
      : " — not rolled back";
  if (outcome.stopTooLate) {
    return `deployment ${deploymentId} finished before StopDeployment reached it, while ${outcome.alarm ? `alarm ${outcome.alarm.name} is ${outcome.alarm.state}` : outcome.stopReason}; green is live — deploy the previous commit to roll back`;
  }
  switch (outcome.stopReason) {
    case "alarm":
      return `deployment ${deploymentId} stopped: alarm ${outcome.alarm?.name} entered ${outcome.alarm?.state} (${outcome.alarm?.reason})${after}`;
    case "smoke-test":
      return `deployment ${deploymentId} stopped before production traffic: smoke test failed: ${outcome.smoke?.detail}${after}`;
    case "timeout":
      return `deployment ${deploymentId} stopped: it did not finish within the timeout${after}`;
    case "cancelled":
      return `deployment ${deploymentId} stopped: the workflow was cancelled${after}`;
    default:
      return (
        `deployment ${deploymentId} ${outcome.status}: ${outcome.error?.code ?? "no error code"} ${outcome.error?.message ?? ""}`.trim() +
        after
      );
  }
}

/** The JSON report (a file whose path is an output): everything the summary shows, machine-readable. */
export function deploymentReport(result: BlueGreenResult, sha: string) {
  const { outcome } = result;
  return {
    sha,
    application: result.application,
    deploymentGroup: result.deploymentGroup,
    deploymentId: result.deploymentId,
    taskDefinition: result.taskDefinition,
    previousTaskDefinition: result.previousTaskDefinition,
    status: outcome.status,
    succeeded: outcome.succeeded,
    rolledBack: outcome.rolledBack,
    rollbackDeploymentId: outcome.rollbackDeploymentId ?? null,
    stopReason: outcome.stopReason ?? null,
    alarm: outcome.alarm ?? null,
    smoke: outcome.smoke ?? null,
    error: outcome.error ?? null,
    msToStop: outcome.msToStop ?? null,
    msToRollback: outcome.msToRollback ?? null,
    alarmsWatched: result.alarms,
    apiCalls: outcome.apiCalls,
    durationMs: result.durationMs,
    ...outcome.timeline.toJSON(),
  };
}

/** Rows of the job summary table. */
export function deploymentSummaryRows(
  result: BlueGreenResult,
  links: { commit: string },
): Array<[string, string]> {
  const { outcome } = result;
  const verdict = outcome.succeeded
    ? "✅ succeeded"
    : outcome.rolledBack
      ? "↩️ rolled back"
      : `❌ ${outcome.status}`;
  const rows: Array<[string, string]> = [
    ["Outcome", verdict],
    [
      "Deployment",
      `${code(result.deploymentId)} on ${escapeHtml(result.application)}/${escapeHtml(result.deploymentGroup)}`,
    ],
    [
      "Task definition",
      `${code(result.taskDefinition.arn)}${result.taskDefinition.reused ? " (reused for this commit)" : ""}`,
    ],
    ["Commit", `<a href="${escapeHtml(links.commit)}">commit</a>`],
    ["Alarms watched", result.alarms.length ? result.alarms.map(code).join(" ") : "none"],
    ["Duration", `${(result.durationMs / 1000).toFixed(1)} s, ${outcome.apiCalls} API calls`],
  ];
  const failure = failureMessage(result);
  if (failure) rows.push(["Why", escapeHtml(failure)]);
  return rows;
}
