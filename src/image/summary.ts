import type { BuildPushResult } from "./build-push.ts";

const outcomeText: Record<BuildPushResult["outcome"], string> = {
  built: "built",
  reused: "reused (already pushed for this commit, build skipped)",
  promoted: "promoted (manifest copied, no rebuild)",
};

/** Markdown rows of the job summary: what was built or promoted, where it is, and from which commit. */
export function buildPushSummaryRows(result: BuildPushResult, commitUrl: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["Image", `\`${result.image}\``],
    ["Outcome", result.pushed ? outcomeText[result.outcome] : "built, not pushed (push: false)"],
    ["Commit", `[\`${result.sha.slice(0, 12)}\`](${commitUrl})`],
    ["Environment", result.environment],
  ];
  if (result.digest) rows.push(["Digest", `\`${result.digest}\``]);
  if (result.promotedFrom) rows.push(["Promoted from", result.promotedFrom]);
  if (result.builder) rows.push(["Builder", result.builder]);
  rows.push(["Tags", result.tags.map((tag) => `\`${tag}\``).join("<br>")]);
  rows.push(["Duration", `${(result.durationMs / 1000).toFixed(1)} s`]);
  return rows;
}
