import { InputError } from "../errors.ts";
import type { SecretFinding } from "./gitleaks-report.ts";
import {
  type SastFinding,
  type SastLevel,
  sastLevel,
  sastLevels,
  sastSeverityRank,
} from "./semgrep-report.ts";
import {
  countBySeverity,
  hasFix,
  type Vulnerability,
  type VulnerabilitySeverity,
  vulnerabilitySeverities,
} from "./vulnerabilities.ts";

/** Per severity, how many vulnerabilities are allowed; a severity not listed is not gated. */
export type VulnerabilityThresholds = Partial<Record<VulnerabilitySeverity, number>>;

const severityName = (value: string, input: string): VulnerabilitySeverity => {
  const upper = value.trim().toUpperCase();
  if (!(vulnerabilitySeverities as readonly string[]).includes(upper)) {
    throw new InputError(`${input} names severity '${value}'; use ${vulnerabilitySeverities.join(", ")}`);
  }
  return upper as VulnerabilitySeverity;
};

/** fail-on (a maximum of 0 for each severity listed) then max-counts (SEVERITY=N) on top. */
export function parseThresholds(failOn: string[], maxCounts: string[]): VulnerabilityThresholds {
  const thresholds: VulnerabilityThresholds = {};
  for (const value of failOn) {
    if (value.toLowerCase() === "none") continue;
    thresholds[severityName(value, "fail-on")] = 0;
  }
  for (const pair of maxCounts) {
    const match = /^([A-Za-z]+)\s*=\s*(\d+)$/.exec(pair.trim());
    if (!match) throw new InputError(`max-counts entry '${pair}' is not SEVERITY=N; write e.g. HIGH=5`);
    thresholds[severityName(match[1] as string, "max-counts")] = Number(match[2]);
  }
  return thresholds;
}

export interface GateDecision<T> {
  status: "passed" | "failed";
  /** Counts by severity of the findings the gate looked at. */
  counts: Record<string, number>;
  /** The findings that make the gate fail. */
  failing: T[];
  /** One line per broken threshold: "HIGH: 3 found, 0 allowed". */
  reasons: string[];
  /** Findings set aside by an option (fixed-only), with why. */
  notGated: T[];
}

export interface VulnerabilityGateOptions {
  thresholds: VulnerabilityThresholds;
  fixedOnly: boolean;
}

/**
 * Fails when a gated severity has more findings than allowed. With fixed-only, findings known to have no fix are
 * left out; findings whose source does not report fixes (ECR basic) stay in.
 */
export function vulnerabilityGate(
  vulnerabilities: Vulnerability[],
  options: VulnerabilityGateOptions,
): GateDecision<Vulnerability> {
  const notGated = options.fixedOnly ? vulnerabilities.filter((item) => hasFix(item) === false) : [];
  const gated = vulnerabilities.filter((item) => !notGated.includes(item));
  const counts = countBySeverity(gated);
  const failing: Vulnerability[] = [];
  const reasons: string[] = [];
  for (const severity of vulnerabilitySeverities) {
    const allowed = options.thresholds[severity];
    if (allowed === undefined || counts[severity] <= allowed) continue;
    reasons.push(`${severity}: ${counts[severity]} found, ${allowed} allowed`);
    failing.push(...gated.filter((item) => item.severity === severity));
  }
  return { status: failing.length ? "failed" : "passed", counts, failing, reasons, notGated };
}

export type SastThreshold = SastLevel | "none";

export function parseSastThreshold(value: string): SastThreshold {
  const upper = value.trim().toUpperCase();
  if (upper === "NONE") return "none";
  if (!(upper in sastSeverityRank)) {
    throw new InputError(
      `sast-fail-on is '${value}'; use INFO, WARNING, ERROR, LOW, MEDIUM, HIGH, CRITICAL or none`,
    );
  }
  return sastLevel(upper);
}

/** Fails on any finding at or above the threshold level. */
export function sastGate(findings: SastFinding[], failOn: SastThreshold): GateDecision<SastFinding> {
  const counts = Object.fromEntries(sastLevels.map((level) => [level, 0])) as Record<SastLevel, number>;
  for (const finding of findings) counts[finding.level]++;
  const floor = failOn === "none" ? Number.POSITIVE_INFINITY : sastLevels.indexOf(failOn);
  const failing = findings.filter((finding) => sastLevels.indexOf(finding.level) >= floor);
  const reasons = failing.length ? [`${failing.length} finding(s) at ${failOn} or above`] : [];
  return { status: failing.length ? "failed" : "passed", counts, failing, reasons, notGated: [] };
}

/** Any secret not in the baseline or the ignore file fails. */
export function secretsGate(findings: SecretFinding[]): GateDecision<SecretFinding> {
  return {
    status: findings.length ? "failed" : "passed",
    counts: { leaks: findings.length },
    failing: findings,
    reasons: findings.length ? [`${findings.length} leaked credential(s)`] : [],
    notGated: [],
  };
}

function globToRegExp(glob: string, suffix: string): RegExp {
  let pattern = "";
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] as string;
    if (char === "*" && glob[index + 1] === "*") {
      pattern += ".*";
      index++;
      if (glob[index + 1] === "/") index++;
    } else if (char === "*") pattern += "[^/]*";
    else if (char === "?") pattern += "[^/]";
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${pattern}${suffix}$`);
}

/**
 * semgrep's --exclude semantics, applied again to the results: a pattern without a slash matches any path
 * component (tests, *.min.js); one with a slash matches from the root, and everything under it (src/legacy, vendor/**).
 */
export function isExcluded(path: string, patterns: string[]): boolean {
  const clean = path.replace(/^\.\//, "");
  return patterns.some((raw) => {
    const pattern = raw.replace(/^\.\//, "").replace(/\/$/, "");
    if (pattern.includes("/")) return globToRegExp(pattern, "(/.*)?").test(clean);
    const component = globToRegExp(pattern, "");
    return clean.split("/").some((part) => component.test(part));
  });
}
