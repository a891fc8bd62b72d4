import type {
  AccountSnapshot,
  CheckOptions,
  Finding,
  ReadStatistics,
  RuleOverride,
  Severity,
  TaskSnapshot,
} from "./model.ts";
import { ruleDefinitions } from "./rules.ts";
import { revisionVersion, type ServiceCommit, serviceCommits, serviceStates } from "./service-state.ts";

export const reportVersion = 1;

export interface ReportInput {
  snapshot: AccountSnapshot;
  options: CheckOptions;
  findings: Finding[];
  statistics: ReadStatistics;
  generatedAt: Date;
}

export type SeverityCounts = Record<Severity, number>;

/** One rule's result on one service: its findings folded into one row. */
export interface RuleResult {
  ruleId: string;
  title: string;
  /** The highest severity among its failures, else the rule's effective severity. */
  severity: Severity;
  passed: boolean;
  /** Findings (resources checked) and how many of them failed. */
  checked: number;
  failed: number;
  /** The finding's detail; for several resources, the failures (first few) or the common detail. */
  detail: string;
}

/** A service, or a cluster with its own findings (TAG009) and those of its standalone tasks (service null). */
export interface ServiceResult {
  cluster: string;
  service: string | null;
  arn: string | null;
  deploymentController: string | null;
  inDeployment: boolean | null;
  passed: boolean;
  /** Failed findings by severity. */
  failed: SeverityCounts;
  /** The commits the service runs, PRIMARY first (from its running tasks' revisions). */
  commits: ServiceCommit[];
  results: RuleResult[];
}

export interface RuleSummary {
  id: string;
  title: string;
  /** After the override, if any. */
  severity: Severity;
  defaultSeverity: Severity;
  anchor: string;
  disabled: boolean;
  override: RuleOverride | null;
  checked: number;
  failed: number;
}

export interface CheckReport {
  version: number;
  generatedAt: string;
  scope: {
    clusters: string[];
    services: number;
    tasks: number;
    taskDefinitions: number;
    images: number;
    expectedEnvironment: string | null;
    expectedSha: string | null;
    requiredTagKeys: string[];
    allowedEnvironments: string[];
    allowedImages: string[];
  };
  totals: { findings: number; passed: number; failed: number; failedBySeverity: SeverityCounts };
  rules: RuleSummary[];
  services: ServiceResult[];
  findings: Finding[];
  overrides: RuleOverride[];
  statistics: ReadStatistics;
}

const severityRank: Record<Severity, number> = { error: 3, warning: 2, notice: 1 };
const emptyCounts = (): SeverityCounts => ({ error: 0, warning: 0, notice: 0 });
const titles = new Map(ruleDefinitions.map((rule) => [rule.id, rule.title]));

/** Whether the step fails: any failed finding at or above the `fail-on` severity (notices never fail it). */
export function failed(findings: readonly Finding[], failOn: "error" | "warning" | "never"): boolean {
  if (failOn === "never") return false;
  const blocking: Severity[] = failOn === "error" ? ["error"] : ["error", "warning"];
  return findings.some((finding) => !finding.passed && blocking.includes(finding.severity));
}

/** The JSON report: stable field names, documented in actions/check-tags/README.md. */
export function checkReport(input: ReportInput): CheckReport {
  const { snapshot, options, findings, statistics } = input;
  const failedBySeverity = emptyCounts();
  for (const finding of findings) if (!finding.passed) failedBySeverity[finding.severity] += 1;
  const failedCount = findings.filter((finding) => !finding.passed).length;
  return {
    version: reportVersion,
    generatedAt: input.generatedAt.toISOString(),
    scope: {
      clusters: snapshot.clusters.map((cluster) => cluster.name),
      services: snapshot.services.length,
      tasks: snapshot.tasks.length,
      taskDefinitions: Object.keys(snapshot.taskDefinitions).length,
      images: Object.keys(snapshot.images).length,
      expectedEnvironment: options.expectedEnvironment ?? null,
      expectedSha: options.expectedSha ?? null,
      requiredTagKeys: options.requiredTagKeys,
      allowedEnvironments: options.allowedEnvironments,
      allowedImages: options.allowedImages,
    },
    totals: {
      findings: findings.length,
      passed: findings.length - failedCount,
      failed: failedCount,
      failedBySeverity,
    },
    rules: ruleSummaries(findings, options.overrides),
    services: serviceResults(snapshot, findings),
    findings,
    overrides: options.overrides,
    statistics,
  };
}

function ruleSummaries(findings: readonly Finding[], overrides: readonly RuleOverride[]): RuleSummary[] {
  return ruleDefinitions.map((rule) => {
    const override = overrides.find((candidate) => candidate.ruleId === rule.id) ?? null;
    const own = findings.filter((finding) => finding.ruleId === rule.id);
    return {
      id: rule.id,
      title: rule.title,
      severity: override && override.action !== "disable" ? override.action : rule.severity,
      defaultSeverity: rule.severity,
      anchor: rule.anchor,
      disabled: override?.action === "disable",
      override,
      checked: own.length,
      failed: own.filter((finding) => !finding.passed).length,
    };
  });
}

/** Findings grouped per service (and per cluster for cluster and standalone-task findings), failing ones first. */
export function serviceResults(snapshot: AccountSnapshot, findings: readonly Finding[]): ServiceResult[] {
  const groups = new Map<string, Finding[]>();
  const keyOf = (cluster: string, service?: string) => `${cluster}\u0000${service ?? ""}`;
  for (const finding of findings) {
    const key = keyOf(finding.resource.clusterName, finding.resource.serviceName);
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  const { services, standalone } = serviceStates(snapshot);
  const results: ServiceResult[] = [];
  for (const state of services) {
    const { service } = state;
    const key = keyOf(service.clusterName, service.name);
    results.push({
      ...fold(groups.get(key) ?? []),
      cluster: service.clusterName,
      service: service.name,
      arn: service.arn,
      deploymentController: service.deploymentController,
      inDeployment: state.inDeployment,
      commits: serviceCommits(snapshot, state),
    });
    groups.delete(key);
  }
  for (const [key, group] of groups) {
    const [cluster = "", service = ""] = key.split("\u0000");
    const tasks = standalone.filter((task) => task.clusterName === cluster && service === "");
    results.push({
      ...fold(group),
      cluster,
      service: service || null,
      arn: service ? null : (snapshot.clusters.find((candidate) => candidate.name === cluster)?.arn ?? null),
      deploymentController: null,
      inDeployment: null,
      commits: taskCommits(snapshot, tasks),
    });
  }
  const weight = (result: ServiceResult) =>
    result.failed.error * 1e6 + result.failed.warning * 1e3 + result.failed.notice;
  return results.sort(
    (a, b) =>
      Number(a.passed) - Number(b.passed) ||
      weight(b) - weight(a) ||
      a.cluster.localeCompare(b.cluster) ||
      (a.service ?? "").localeCompare(b.service ?? ""),
  );
}

function taskCommits(snapshot: AccountSnapshot, tasks: TaskSnapshot[]): ServiceCommit[] {
  const commits = new Map<string, ServiceCommit>();
  for (const task of tasks) {
    const sha = revisionVersion(snapshot, task.taskDefinitionArn);
    const commit = commits.get(sha ?? "") ?? {
      ...(sha !== undefined ? { sha } : {}),
      tasks: 0,
      revisions: [],
      primary: false,
      draining: false,
    };
    commit.tasks += 1;
    if (!commit.revisions.includes(task.taskDefinitionArn)) commit.revisions.push(task.taskDefinitionArn);
    commits.set(sha ?? "", commit);
  }
  return [...commits.values()];
}

const maxDetails = 3;

function fold(findings: readonly Finding[]): Pick<ServiceResult, "passed" | "failed" | "results"> {
  const failedCounts = emptyCounts();
  const byRule = new Map<string, Finding[]>();
  for (const finding of findings) {
    if (!finding.passed) failedCounts[finding.severity] += 1;
    const own = byRule.get(finding.ruleId);
    if (own) own.push(finding);
    else byRule.set(finding.ruleId, [finding]);
  }
  const results: RuleResult[] = [];
  for (const rule of ruleDefinitions) {
    const own = byRule.get(rule.id);
    if (!own) continue;
    const failures = own.filter((finding) => !finding.passed);
    const severity = (failures.length ? failures : own).reduce<Severity>(
      (highest, finding) =>
        severityRank[finding.severity] > severityRank[highest] ? finding.severity : highest,
      "notice",
    );
    results.push({
      ruleId: rule.id,
      title: titles.get(rule.id) ?? rule.id,
      severity,
      passed: failures.length === 0,
      checked: own.length,
      failed: failures.length,
      detail: foldDetail(own, failures),
    });
  }
  return { passed: failures(failedCounts) === 0, failed: failedCounts, results };
}

const failures = (counts: SeverityCounts) => counts.error + counts.warning + counts.notice;

function foldDetail(own: readonly Finding[], failing: readonly Finding[]): string {
  if (own.length === 1) return own[0]?.detail ?? "";
  if (failing.length === 0) {
    const details = new Set(own.map((finding) => finding.detail));
    return details.size === 1
      ? `${own.length} checked: ${own[0]?.detail}`
      : `${own.length} checked, all passed`;
  }
  const shown = failing.slice(0, maxDetails).map((finding) => `${subjectName(finding)}: ${finding.detail}`);
  const more = failing.length > maxDetails ? `; … and ${failing.length - maxDetails} more` : "";
  return `${failing.length} of ${own.length} failed: ${shown.join("; ")}${more}`;
}

/** The narrowest thing a finding is about, in a few characters: a task id, an image, a revision. */
export function subjectName(finding: Finding): string {
  const { resource } = finding;
  if (resource.taskArn) return `task ${resource.taskArn.slice(resource.taskArn.lastIndexOf("/") + 1)}`;
  if (resource.image) return resource.image.slice(resource.image.lastIndexOf("/") + 1);
  if (resource.taskDefinitionArn) {
    return resource.taskDefinitionArn.slice(resource.taskDefinitionArn.lastIndexOf("/") + 1);
  }
  if (resource.family) return `family ${resource.family}`;
  return resource.serviceName ?? resource.clusterName;
}
export { type SummaryOptions, summaryMarkdown } from "./summary.ts";
