import { ToolkitError } from "../errors.ts";

/**
 * Semgrep's severities: the classic ERROR/WARNING/INFO and, since 1.72, CRITICAL/HIGH/MEDIUM/LOW. They rank as
 * INFO=LOW < WARNING=MEDIUM < ERROR=HIGH < CRITICAL (the same mapping semgrep uses for SARIF levels).
 */
export const sastSeverityRank: Record<string, number> = {
  INFO: 1,
  LOW: 1,
  WARNING: 2,
  MEDIUM: 2,
  ERROR: 3,
  HIGH: 3,
  CRITICAL: 4,
};
export const sastLevels = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type SastLevel = (typeof sastLevels)[number];

export function sastLevel(severity: string): SastLevel {
  return sastLevels[(sastSeverityRank[severity.toUpperCase()] ?? 1) - 1] as SastLevel;
}

export interface SastFinding {
  rule: string;
  path: string;
  line: number;
  endLine: number;
  column: number;
  /** As semgrep wrote it (ERROR, WARNING, INFO, CRITICAL …). */
  severity: string;
  level: SastLevel;
  message: string;
  /** The rule's page (metadata.source or shortlink, or the SARIF rule's helpUri). */
  url?: string;
  fingerprint?: string;
}

/** A problem semgrep itself had: a rule it could not run, a target it could not read, a config it could not load. */
export interface SemgrepProblem {
  level: string;
  type: string;
  message: string;
  rule?: string;
  path?: string;
}

export interface SemgrepRun {
  version?: string;
  findings: SastFinding[];
  problems: SemgrepProblem[];
  scanned: number;
}

interface JsonResult {
  check_id?: string;
  path?: string;
  start?: { line?: number; col?: number };
  end?: { line?: number };
  extra?: {
    message?: string;
    severity?: string;
    fingerprint?: string;
    is_ignored?: boolean;
    metadata?: { source?: string; shortlink?: string };
  };
}
interface JsonError {
  code?: number;
  level?: string;
  type?: string | unknown[];
  rule_id?: string;
  message?: string;
  path?: string;
}

const parseJson = (text: string, what: string) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ToolkitError(
      `${what} is not JSON (${(error as Error).message}); semgrep did not finish writing it`,
    );
  }
};

/** `semgrep scan --json` output: results[] (nosemgrep-ignored ones dropped) and errors[]. */
export function parseSemgrepJson(text: string, what = "semgrep's JSON output"): SemgrepRun {
  const report = parseJson(text, what) as {
    version?: string;
    results?: JsonResult[];
    errors?: JsonError[];
    paths?: { scanned?: string[] };
  };
  if (!report || typeof report !== "object" || !Array.isArray(report.results)) {
    throw new ToolkitError(`${what} has no results[]; it is not semgrep --json output`);
  }
  const findings = report.results
    .filter((result) => !result.extra?.is_ignored)
    .map((result): SastFinding => {
      const severity = (result.extra?.severity ?? "INFO").toUpperCase();
      const line = result.start?.line ?? 1;
      return {
        rule: result.check_id ?? "unknown",
        path: result.path ?? "",
        line,
        endLine: result.end?.line ?? line,
        column: result.start?.col ?? 1,
        severity,
        level: sastLevel(severity),
        message: result.extra?.message ?? "",
        url: result.extra?.metadata?.source ?? result.extra?.metadata?.shortlink,
        fingerprint: result.extra?.fingerprint,
      };
    });
  const problems = (report.errors ?? []).map(
    (error): SemgrepProblem => ({
      level: error.level ?? "error",
      type: Array.isArray(error.type) ? String(error.type[0]) : (error.type ?? "error"),
      message: (error.message ?? "").trim(),
      rule: error.rule_id,
      path: error.path,
    }),
  );
  return { version: report.version, findings, problems, scanned: report.paths?.scanned?.length ?? 0 };
}

interface SarifRule {
  id: string;
  helpUri?: string;
  defaultConfiguration?: { level?: string };
}
interface SarifResult {
  ruleId?: string;
  level?: string;
  message?: { text?: string };
  locations?: Array<{
    physicalLocation?: {
      artifactLocation?: { uri?: string };
      region?: { startLine?: number; endLine?: number; startColumn?: number };
    };
  }>;
}
interface SarifLog {
  runs?: Array<{
    tool?: { driver?: { name?: string; semanticVersion?: string; rules?: SarifRule[] } };
    results?: SarifResult[];
    invocations?: Array<{
      executionSuccessful?: boolean;
      toolExecutionNotifications?: Array<{
        level?: string;
        message?: { text?: string };
        descriptor?: { id?: string };
      }>;
    }>;
  }>;
}

const sarifSeverity: Record<string, string> = {
  error: "ERROR",
  warning: "WARNING",
  note: "INFO",
  none: "INFO",
};

/**
 * semgrep's SARIF: results carry no level (it is on the rule's defaultConfiguration), and semgrep's own errors sit
 * in invocations[].toolExecutionNotifications[] even when executionSuccessful is true.
 */
export function parseSemgrepSarif(text: string, what = "semgrep's SARIF output"): SemgrepRun {
  const log = parseJson(text, what) as SarifLog;
  const run = log?.runs?.[0];
  if (!run) throw new ToolkitError(`${what} has no runs[]; it is not a SARIF log`);
  const rules = new Map((run.tool?.driver?.rules ?? []).map((rule) => [rule.id, rule]));
  const findings = (run.results ?? []).map((result): SastFinding => {
    const rule = rules.get(result.ruleId ?? "");
    const severity =
      sarifSeverity[result.level ?? rule?.defaultConfiguration?.level ?? "warning"] ?? "WARNING";
    const location = result.locations?.[0]?.physicalLocation;
    const line = location?.region?.startLine ?? 1;
    return {
      rule: result.ruleId ?? "unknown",
      path: location?.artifactLocation?.uri ?? "",
      line,
      endLine: location?.region?.endLine ?? line,
      column: location?.region?.startColumn ?? 1,
      severity,
      level: sastLevel(severity),
      message: result.message?.text ?? "",
      url: rule?.helpUri,
    };
  });
  const problems: SemgrepProblem[] = [];
  for (const invocation of run.invocations ?? []) {
    for (const notification of invocation.toolExecutionNotifications ?? []) {
      problems.push({
        level: notification.level ?? "error",
        type: notification.descriptor?.id ?? "notification",
        message: notification.message?.text ?? "",
      });
    }
    if (invocation.executionSuccessful === false)
      problems.push({
        level: "error",
        type: "execution",
        message: "semgrep reported executionSuccessful: false",
      });
  }
  return { version: run.tool?.driver?.semanticVersion, findings, problems, scanned: 0 };
}

/**
 * Which of semgrep's own problems mean the scan cannot be trusted. A target file semgrep could not parse is a
 * warning (semgrep skips that file, as it says); anything else — a rule that failed, a missing file or config, an
 * internal matching error — is a scanner error: findings may be missing, so it is never read as "no findings".
 */
export function isScannerError(problem: SemgrepProblem): boolean {
  const fileSkip = /^(Syntax error|Lexical error|Partial parsing|Other syntax error)$/i.test(problem.type);
  if (fileSkip && problem.level !== "error") return false;
  return problem.level === "error" || problem.level === "warn" || problem.level === "warning";
}
