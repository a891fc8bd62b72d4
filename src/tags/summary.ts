import { escapeHtml } from "../report/html.ts";
import type { Severity } from "./model.ts";
import type { CheckReport, RuleResult, ServiceResult } from "./report.ts";
import type { ServiceCommit } from "./service-state.ts";

export interface SummaryOptions {
  /** Links a commit SHA (e.g. `https://github.com/org/repo/commit/<sha>`); plain text without it. */
  commitUrl?: (sha: string) => string;
  /** GitHub refuses a step summary over 1 MiB; the summary stops adding services before this many bytes. */
  maxBytes?: number;
}

/** Under GitHub's 1 MiB step summary limit, with room for what other steps append. */
export const defaultSummaryBytes = 1_000_000;

const failIcon: Record<Severity, string> = { error: "❌", warning: "⚠️", notice: "ℹ️" };
const cell = (text: string) => escapeHtml(text).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const bytes = (text: string) => Buffer.byteLength(text, "utf8");
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

export const resultIcon = (result: Pick<RuleResult, "passed" | "severity">) =>
  result.passed ? "✅" : failIcon[result.severity];

function serviceIcon(service: ServiceResult): string {
  if (service.failed.error) return failIcon.error;
  if (service.failed.warning) return failIcon.warning;
  if (service.failed.notice) return failIcon.notice;
  return "✅";
}

const serviceName = (service: ServiceResult) =>
  service.service === null ? `cluster ${service.cluster}` : `${service.cluster}/${service.service}`;

function commitText(commit: ServiceCommit, options: SummaryOptions): string {
  const sha = commit.sha;
  const label =
    sha === undefined
      ? "no Version"
      : !/^[0-9a-f]{40}$/.test(sha)
        ? `\`${cell(sha.slice(0, 40))}\``
        : options.commitUrl
          ? `[\`${sha.slice(0, 12)}\`](${options.commitUrl(sha)})`
          : `\`${sha.slice(0, 12)}\``;
  const notes = [plural(commit.tasks, "task")];
  if (commit.primary) notes.push("PRIMARY");
  if (commit.draining) notes.push("draining");
  return `${label} (${notes.join(", ")})`;
}

const commitsText = (service: ServiceResult, options: SummaryOptions) =>
  service.commits.length
    ? service.commits.map((commit) => commitText(commit, options)).join(" · ")
    : "nothing";

/** A failing service's table: every rule, or in compact form (large accounts) its failed rules only. */
function serviceTable(service: ServiceResult, options: SummaryOptions, compact: boolean): string {
  const shown = compact ? service.results.filter((result) => !result.passed) : service.results;
  const hidden = service.results.length - shown.length;
  const lines = [
    `#### ${serviceIcon(service)} ${cell(serviceName(service))}`,
    "",
    ...(service.service !== null || service.commits.length
      ? [
          `Runs ${commitsText(service, options)}${service.inDeployment ? " — deployment in progress" : ""}`,
          "",
        ]
      : []),
    "| Rule | Result | Detail |",
    "| --- | --- | --- |",
    ...shown.map(
      (result) =>
        `| ${result.ruleId} ${cell(result.title)} | ${resultIcon(result)} | ${cell(result.detail)} |`,
    ),
    ...(hidden ? [`| ${plural(hidden, "other rule")} | ✅ | passed |`] : []),
    "",
  ];
  return `${lines.join("\n")}\n`;
}

function serviceLine(service: ServiceResult, options: SummaryOptions): string {
  const checks = service.results.reduce((sum, result) => sum + result.checked, 0);
  return `- ✅ ${cell(serviceName(service))}: ${plural(service.results.length, "rule")}, ${plural(checks, "check")} passed; runs ${commitsText(service, options)}\n`;
}

function totalsSection(report: CheckReport): string {
  const { totals, scope } = report;
  const failedBy = totals.failedBySeverity;
  const verdict =
    totals.failed === 0
      ? `✅ all ${totals.findings} checks passed`
      : `${failIcon.error} ${plural(failedBy.error, "error")}, ${failIcon.warning} ${plural(failedBy.warning, "warning")}, ${failIcon.notice} ${plural(failedBy.notice, "notice")}; ${totals.passed} of ${totals.findings} checks passed`;
  const failing = report.services.filter((service) => service.service !== null && !service.passed).length;
  return [
    "## Tag check",
    "",
    `**${verdict}**`,
    "",
    `${plural(scope.clusters.length, "cluster")}, ${plural(scope.services, "service")} (${failing} with failures), ${plural(scope.tasks, "running task")}, ${plural(scope.taskDefinitions, "task definition revision")}, ${plural(scope.images, "image")}${scope.expectedSha ? `; expected commit \`${scope.expectedSha.slice(0, 12)}\`` : ""}${scope.expectedEnvironment ? `; environment ${cell(scope.expectedEnvironment)}` : ""}.`,
    "",
    "",
  ].join("\n");
}

function overridesSection(report: CheckReport): string {
  if (report.overrides.length === 0) return "";
  const rows = report.overrides.map((override) => {
    const title = report.rules.find((rule) => rule.id === override.ruleId)?.title ?? "";
    return `| ${override.ruleId} ${cell(title)} | ${override.action === "disable" ? "disabled" : `severity ${override.action}`} | ${cell(override.reason)} |`;
  });
  return ["### Overrides", "", "| Rule | Override | Reason |", "| --- | --- | --- |", ...rows, "", ""].join(
    "\n",
  );
}

function statisticsSection(report: CheckReport): string {
  const { statistics } = report;
  const overhead =
    statistics.minimum > 0
      ? ` (${((statistics.total / statistics.minimum - 1) * 100).toFixed(0)}% above)`
      : "";
  const perOperation = Object.entries(statistics.calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([operation, count]) => `${operation} ${count}`)
    .join(", ");
  return [
    "### API calls",
    "",
    `${plural(statistics.total, "call")}, minimum ${statistics.minimum} for what was read${overhead}; ${statistics.throttled} throttled and retried; read in ${(statistics.wallMs / 1000).toFixed(1)} s.`,
    "",
    perOperation ? `${perOperation}.` : "",
    "",
  ].join("\n");
}

/**
 * The job summary: totals, then a table per service with failures (worst first), then one line per all-green
 * service, then overrides and API calls. When that would pass `maxBytes`, failing services' tables keep their failed
 * rules only; services stop being added before `maxBytes`, and the summary says how many were left out (the JSON
 * report has them all).
 */
export function summaryMarkdown(report: CheckReport, options: SummaryOptions = {}): string {
  const full = boundedSummary(report, options, false);
  return full.complete ? full.markdown : boundedSummary(report, options, true).markdown;
}

function boundedSummary(
  report: CheckReport,
  options: SummaryOptions,
  compact: boolean,
): { markdown: string; complete: boolean } {
  const maxBytes = options.maxBytes ?? defaultSummaryBytes;
  const head = totalsSection(report);
  const tail = overridesSection(report) + statisticsSection(report);
  const failing = report.services.filter((service) => !service.passed);
  const passing = report.services.filter((service) => service.passed);
  const reserve = 500;
  let budget = maxBytes - bytes(head) - bytes(tail) - reserve;
  const parts: string[] = [];
  const add = (text: string) => {
    const size = bytes(text);
    if (size > budget) return false;
    parts.push(text);
    budget -= size;
    return true;
  };
  let shownFailing = 0;
  let shownPassing = 0;
  if (failing.length && add(`### Services with failures (${failing.length})\n\n`)) {
    if (compact) parts.push("Tables list failed rules only, to fit the summary's size limit.\n\n");
    for (const service of failing) {
      if (!add(serviceTable(service, options, compact))) break;
      shownFailing += 1;
    }
  }
  if (
    shownFailing === failing.length &&
    passing.length &&
    add(`### Passing services (${passing.length})\n\n`)
  ) {
    for (const service of passing) {
      if (!add(serviceLine(service, options))) break;
      shownPassing += 1;
    }
    parts.push("\n");
  }
  const cutFailing = failing.length - shownFailing;
  const cutPassing = passing.length - shownPassing;
  if (cutFailing + cutPassing > 0) {
    parts.push(
      `> **${plural(cutFailing + cutPassing, "service")} not shown** (${cutFailing} with failures, ${cutPassing} passing): GitHub limits a job summary to 1 MiB, so this one stops at ${maxBytes} bytes. The JSON report lists every service and finding.\n\n`,
    );
  }
  return { markdown: head + parts.join("") + tail, complete: cutFailing + cutPassing === 0 };
}
