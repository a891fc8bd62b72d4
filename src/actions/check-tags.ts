import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import * as core from "@actions/core";
import { codeDeployClient, ecrClient, ecsClient } from "../aws/clients.ts";
import { InputError } from "../errors.ts";
import { validateSha } from "../image/tags.ts";
import { checkTags } from "../tags/check.ts";
import type { Finding, RuleOverride } from "../tags/model.ts";
import { parseRuleOverrides } from "../tags/overrides.ts";
import { checkReport, failed } from "../tags/report.ts";
import { ruleDefinitions } from "../tags/rules.ts";
import { type SarifOptions, sarif } from "../tags/sarif.ts";
import { summaryMarkdown } from "../tags/summary.ts";
import {
  actionReporter,
  cancellationSignal,
  finishStage,
  type GitHubRun,
  gitHubRun,
  type Inputs,
  runnerInputs,
  type StageResult,
} from "./shell.ts";

/** Annotations written at most, the worst first; the rest are counted in one more line. */
const annotationLimit = 50;

function integerInput(inputs: Inputs, name: string, min: number, max: number): number {
  const text = inputs.text(name).trim();
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`input ${name} is '${text}'; use a whole number from ${min} to ${max}`);
  }
  return value;
}

const rank = { error: 0, warning: 1, notice: 2 } as const;
const titles = new Map(ruleDefinitions.map((rule) => [rule.id, rule.title]));

function where(finding: Finding): string {
  const { resource } = finding;
  return [resource.clusterName, resource.serviceName, resource.taskArn?.split("/").pop()]
    .filter(Boolean)
    .join("/");
}

function annotate(findings: Finding[]): void {
  const failing = findings
    .filter((finding) => !finding.passed)
    .sort((a, b) => rank[a.severity] - rank[b.severity] || a.ruleId.localeCompare(b.ruleId));
  for (const finding of failing.slice(0, annotationLimit)) {
    const title = `${finding.ruleId} ${titles.get(finding.ruleId) ?? ""}`.trim();
    const message = `${where(finding)}: ${finding.detail}`;
    if (finding.severity === "error") core.error(message, { title });
    else if (finding.severity === "warning") core.warning(message, { title });
    else core.notice(message, { title });
  }
  if (failing.length > annotationLimit) {
    core.warning(
      `${failing.length - annotationLimit} more failing findings are not annotated; see the job summary and the report`,
    );
  }
}

/** Rule help links point at this toolkit's README, at the ref the workflow uses. */
function sarifOptions(overrides: RuleOverride[]): SarifOptions {
  const repository = process.env.GITHUB_ACTION_REPOSITORY || "org/toolkit";
  const ref = process.env.GITHUB_ACTION_REF || "main";
  return {
    readmeUrl: `https://github.com/${repository}/blob/${ref}/actions/check-tags/README.md`,
    toolVersion: process.env.GITHUB_ACTION_REF || undefined,
    overrides,
  };
}

export type CheckTagsOptions = ReturnType<typeof checkTagsOptions>;

/** Every check-tags input, read and validated before the first AWS call. */
export function checkTagsOptions(inputs: Inputs, github: GitHubRun) {
  const sha = inputs.text("sha") ? validateSha(inputs.text("sha")) : undefined;
  const environment = inputs.text("environment").trim() || undefined;
  const allowedEnvironments = inputs.list("allowed-environments");
  if (environment && allowedEnvironments.length && !allowedEnvironments.includes(environment)) {
    throw new InputError(
      `environment '${environment}' is not one of allowed-environments (${allowedEnvironments.join(", ")}); fix one of the two inputs`,
    );
  }
  return {
    failOn: inputs.choice("fail-on", ["error", "warning", "never"] as const),
    rules: {
      expectedEnvironment: environment,
      expectedSha: sha,
      requiredTagKeys: inputs.list("required-tags"),
      allowedEnvironments,
      allowedImages: inputs.list("allowed-images"),
      overrides: parseRuleOverrides(inputs.text("rules")),
    },
    reportPath: resolve(
      github.workspace,
      inputs.text("report-path") || join(github.tempDir, "check-tags-report.json"),
    ),
    sarifPath: resolve(
      github.workspace,
      inputs.text("sarif-path") || join(github.tempDir, "check-tags.sarif"),
    ),
    region: inputs.text("aws-region") ? { region: inputs.text("aws-region") } : {},
    clusters: inputs.list("clusters"),
    services: inputs.list("services"),
    concurrency: integerInput(inputs, "max-concurrency", 1, 64),
    revisionHistory: integerInput(inputs, "revision-history", 1, 100),
  };
}

/** Reads the account, evaluates the rules, writes the reports, annotations and its summary section. */
export async function checkTagsStage(
  check: CheckTagsOptions,
  github: GitHubRun,
  signal: AbortSignal,
): Promise<StageResult> {
  const { failOn, rules: options, reportPath, sarifPath, region } = check;
  const result = await checkTags(
    {
      ecs: ecsClient(region),
      ecr: ecrClient(region),
      codedeploy: codeDeployClient(region),
      clusters: check.clusters,
      services: check.services,
      concurrency: check.concurrency,
      revisionHistory: check.revisionHistory,
      signal,
    },
    options,
    actionReporter,
  );

  const { findings, snapshot, statistics } = result;
  const outcome = failed(findings, failOn) ? "failed" : "passed";
  for (const path of [reportPath, sarifPath]) await mkdir(dirname(path), { recursive: true });
  const report = checkReport({ snapshot, findings, statistics, options, generatedAt: new Date() });
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    sarifPath,
    `${JSON.stringify(sarif(findings, sarifOptions(options.overrides)), null, 2)}\n`,
  );
  annotate(findings);
  await core.summary.addRaw(summaryMarkdown(report, { commitUrl: github.commitUrl })).write();

  const failing = findings.filter((finding) => !finding.passed);
  const errors = failing.filter((finding) => finding.severity === "error").length;
  const warnings = failing.filter((finding) => finding.severity === "warning").length;
  core.info(
    `check-tags ${outcome}: ${errors} errors, ${warnings} warnings over ${snapshot.services.length} services and ${snapshot.tasks.length} tasks; ${statistics.total} API calls (minimum ${statistics.minimum}), peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  );
  return {
    outputs: {
      result: outcome,
      report: reportPath,
      sarif: sarifPath,
      errors: String(errors),
      warnings: String(warnings),
      services: String(snapshot.services.length),
      tasks: String(snapshot.tasks.length),
      "api-calls": String(statistics.total),
    },
    failure:
      outcome === "failed"
        ? `check-tags failed (fail-on: ${failOn}): ${errors} error and ${warnings} warning findings; see the annotations and the job summary`
        : undefined,
  };
}

export async function run(): Promise<void> {
  const github = gitHubRun();
  const check = checkTagsOptions(runnerInputs, github);
  await finishStage(await checkTagsStage(check, github, cancellationSignal()), github);
}
