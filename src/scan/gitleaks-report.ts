import { ToolkitError } from "../errors.ts";

/**
 * One leaked credential as the toolkit keeps it: rule, file, line and commit. The value itself (gitleaks' Secret,
 * Match, the SARIF snippet) is never copied out of the report, so nothing downstream can print it.
 */
export interface SecretFinding {
  rule: string;
  description?: string;
  file: string;
  line: number;
  commit: string;
  /** gitleaks' fingerprint (<commit>:<file>:<rule>:<line>), rebuilt when the report leaves it empty. */
  fingerprint: string;
}

const fingerprintOf = (finding: Omit<SecretFinding, "fingerprint">) =>
  `${finding.commit ? `${finding.commit}:` : ""}${finding.file}:${finding.rule}:${finding.line}`;

interface JsonFinding {
  RuleID?: string;
  Description?: string;
  StartLine?: number;
  File?: string;
  Commit?: string;
  Fingerprint?: string;
}

const parse = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ToolkitError(
      `${what} is not JSON (${(error as Error).message}); gitleaks did not finish writing it`,
    );
  }
};

/** `gitleaks --report-format json`: an array of findings. */
export function parseGitleaksJson(text: string, what = "gitleaks' JSON report"): SecretFinding[] {
  const report = parse(text, what);
  if (!Array.isArray(report))
    throw new ToolkitError(`${what} is not a JSON array; it is not a gitleaks report`);
  return (report as JsonFinding[]).map((item) => {
    const finding = {
      rule: item.RuleID ?? "unknown",
      description: item.Description || undefined,
      file: item.File ?? "",
      line: item.StartLine ?? 0,
      commit: item.Commit ?? "",
    };
    return { ...finding, fingerprint: item.Fingerprint || fingerprintOf(finding) };
  });
}

interface SarifLog {
  runs?: Array<{
    tool?: { driver?: { rules?: Array<{ id: string; shortDescription?: { text?: string } }> } };
    results?: Array<{
      ruleId?: string;
      locations?: Array<{
        physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
      }>;
      partialFingerprints?: { commitSha?: string };
    }>;
  }>;
}

/** `gitleaks --report-format sarif`: results with a location and partialFingerprints.commitSha. */
export function parseGitleaksSarif(text: string, what = "gitleaks' SARIF report"): SecretFinding[] {
  const log = parse(text, what) as SarifLog;
  const run = log?.runs?.[0];
  if (!run) throw new ToolkitError(`${what} has no runs[]; it is not a SARIF log`);
  const rules = new Map(
    (run.tool?.driver?.rules ?? []).map((rule) => [rule.id, rule.shortDescription?.text]),
  );
  return (run.results ?? []).map((result) => {
    const location = result.locations?.[0]?.physicalLocation;
    const finding = {
      rule: result.ruleId ?? "unknown",
      description: rules.get(result.ruleId ?? ""),
      file: location?.artifactLocation?.uri ?? "",
      line: location?.region?.startLine ?? 0,
      commit: result.partialFingerprints?.commitSha ?? "",
    };
    return { ...finding, fingerprint: fingerprintOf(finding) };
  });
}

/** Either format, told apart by content (a baseline may be a JSON or a SARIF report). */
export function parseGitleaksReport(text: string, what: string): SecretFinding[] {
  return text.trimStart().startsWith("[") ? parseGitleaksJson(text, what) : parseGitleaksSarif(text, what);
}

/** A finding is in the baseline by fingerprint, or by rule, file and line when a fingerprint differs in form. */
export function inBaseline(finding: SecretFinding, baseline: SecretFinding[]): boolean {
  return baseline.some(
    (known) =>
      known.fingerprint === finding.fingerprint ||
      (known.rule === finding.rule &&
        known.file === finding.file &&
        known.line === finding.line &&
        (!known.commit || !finding.commit || known.commit === finding.commit)),
  );
}
