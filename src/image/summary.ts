import { code, escapeHtml } from "../report/html.ts";
import type { BuildPushResult } from "./build-push.ts";

const outcomeText: Record<BuildPushResult["outcome"], string> = {
  built: "built",
  reused: "reused (already pushed for this commit, build skipped)",
  promoted: "promoted (manifest copied, no rebuild)",
};

/** Rows of the job summary table (HTML cells, as the runner renders tables): what was pushed, where, from which commit. */
export function buildPushSummaryRows(result: BuildPushResult, commitUrl: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["Image", code(result.image)],
    ["Outcome", result.pushed ? outcomeText[result.outcome] : "built, not pushed (push: false)"],
    ["Commit", `<a href="${escapeHtml(commitUrl)}">${code(result.sha.slice(0, 12))}</a>`],
    ["Environment", escapeHtml(result.environment)],
  ];
  if (result.digest) rows.push(["Digest", code(result.digest)]);
  if (result.promotedFrom) rows.push(["Promoted from", escapeHtml(result.promotedFrom)]);
  if (result.builder) rows.push(["Builder", result.builder]);
  rows.push(["Tags", result.tags.map(code).join("<br>")]);
  rows.push(["Duration", `${(result.durationMs / 1000).toFixed(1)} s`]);
  return rows;
}
