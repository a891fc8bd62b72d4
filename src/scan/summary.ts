import { code, escapeHtml } from "../report/html.ts";
import type { SecretFinding } from "./gitleaks-report.ts";
import type { GateResult, ScanResult } from "./scan.ts";
import { type SastFinding, sastLevels } from "./semgrep-report.ts";
import type { Vulnerability } from "./vulnerabilities.ts";

/** Links into the repository at the scanned commit. */
export interface SourceLinks {
  /** The file at `commit` (default: the scanned commit), anchored at the line. */
  file: (path: string, line: number, commit?: string) => string;
  commit: (sha: string) => string;
}

export interface SummarySection {
  heading: string;
  /** First row is the header; cells are HTML. */
  rows: string[][];
  note?: string;
}

const link = (href: string | undefined, text: string) =>
  href ? `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>` : escapeHtml(text);

const statusText = (gate: GateResult<unknown>) =>
  gate.status === "passed" ? "✅ passed" : gate.status === "failed" ? "❌ failed" : "⚠️ scanner error";

const countsText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${severity} ${count}`)
    .join(", ") || "none";

export const topSast = 20;
export const topVulnerabilities = 50;

/** The job summary: one row per gate, then the findings that failed each gate. */
export function scanSummary(result: ScanResult, links: SourceLinks): SummarySection[] {
  const gates = [result.sast, result.secrets, result.image].filter((gate) => gate !== undefined);
  const sections: SummarySection[] = [
    {
      heading: `Scan ${result.result === "passed" ? "passed" : `failed: ${result.failedGates.join(", ")}`}`,
      rows: [
        ["Gate", "Result", "Counts (after ignores)", "Ignored", "Why", "Source"],
        ...gates.map((gate) => [
          gate.gate,
          statusText(gate),
          escapeHtml(countsText(gate.counts)),
          String(gate.ignored.length),
          escapeHtml(gate.error ?? (gate.reasons.join("; ") || "within thresholds")),
          escapeHtml(gate.sources.join(", ")),
        ]),
      ],
    },
  ];
  if (result.image?.failing.length) sections.push(vulnerabilitySection(result.image.failing));
  if (result.sast?.findings.length) sections.push(sastSection(result.sast, links));
  if (result.secrets?.findings.length) sections.push(secretsSection(result.secrets.findings, links));
  const warnings = gates.flatMap((gate) => gate.warnings);
  if (warnings.length)
    sections.push({
      heading: "Warnings",
      rows: [["Warning"], ...warnings.map((warning) => [escapeHtml(warning)])],
    });
  return sections;
}

const severityOrder = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"];

function vulnerabilitySection(failing: Vulnerability[]): SummarySection {
  const sorted = [...failing].sort(
    (a, b) =>
      severityOrder.indexOf(a.severity) - severityOrder.indexOf(b.severity) || a.id.localeCompare(b.id),
  );
  return {
    heading: "Image vulnerabilities that failed the gate",
    rows: [
      ["Severity", "Vulnerability", "Package", "Installed", "Fixed in", "Source"],
      ...sorted
        .slice(0, topVulnerabilities)
        .map((item) => [
          item.severity,
          link(item.url, item.id),
          code(item.package),
          escapeHtml(item.installedVersion ?? ""),
          escapeHtml(item.fixedVersion === undefined ? "not reported" : item.fixedVersion || "no fix"),
          item.source,
        ]),
    ],
    note:
      sorted.length > topVulnerabilities
        ? `${sorted.length - topVulnerabilities} more in the JSON report`
        : undefined,
  };
}

function sastSection(gate: GateResult<SastFinding>, links: SourceLinks): SummarySection {
  const failing = new Set(gate.failing);
  const sorted = [...gate.findings].sort(
    (a, b) =>
      Number(failing.has(b)) - Number(failing.has(a)) ||
      sastLevels.indexOf(b.level) - sastLevels.indexOf(a.level),
  );
  return {
    heading: "SAST findings",
    rows: [
      ["Severity", "Rule", "Location", "Message", "Gate"],
      ...sorted
        .slice(0, topSast)
        .map((item) => [
          escapeHtml(item.severity),
          link(item.url, item.rule),
          link(links.file(item.path, item.line), `${item.path}:${item.line}`),
          escapeHtml(item.message.split("\n")[0]?.slice(0, 200) ?? ""),
          failing.has(item) ? "fails" : "reported",
        ]),
    ],
    note:
      sorted.length > topSast ? `${sorted.length - topSast} more in the JSON report and SARIF` : undefined,
  };
}

/** Rule, file, line and commit only: the value is not in the finding to begin with. */
function secretsSection(findings: SecretFinding[], links: SourceLinks): SummarySection {
  return {
    heading: "Leaked credentials",
    rows: [
      ["Rule", "Location", "Commit"],
      ...findings.map((item) => [
        code(item.rule),
        item.commit
          ? link(links.file(item.file, item.line, item.commit), `${item.file}:${item.line}`)
          : escapeHtml(`${item.file}:${item.line}`),
        item.commit ? link(links.commit(item.commit), item.commit.slice(0, 12)) : "",
      ]),
    ],
  };
}

export interface ScanAnnotation {
  level: "error" | "warning" | "notice";
  message: string;
  title: string;
  file?: string;
  startLine?: number;
  endLine?: number;
}

export const maxAnnotations = 50;

/** File/line annotations: SAST findings (error when they fail the gate) and secrets (rule, file, line, commit). */
export function scanAnnotations(result: ScanResult): ScanAnnotation[] {
  const annotations: ScanAnnotation[] = [];
  for (const gate of [result.sast, result.secrets, result.image]) {
    if (gate?.status === "error")
      annotations.push({ level: "error", title: `${gate.gate}: scanner error`, message: gate.error ?? "" });
  }
  if (result.sast) {
    const failing = new Set(result.sast.failing);
    for (const finding of result.sast.findings) {
      annotations.push({
        level: failing.has(finding) ? "error" : "warning",
        title: `semgrep ${finding.severity}: ${finding.rule}`,
        message: finding.message,
        file: finding.path,
        startLine: finding.line,
        endLine: finding.endLine,
      });
    }
  }
  for (const finding of result.secrets?.findings ?? []) {
    annotations.push({
      level: "error",
      title: `gitleaks: ${finding.rule}`,
      message: `leaked credential (rule ${finding.rule}) in ${finding.file}:${finding.line}${
        finding.commit ? ` at commit ${finding.commit}` : ""
      }; rotate it, then remove it from the history or allow it in the ignore file with a reason`,
      file: finding.file,
      startLine: finding.line,
    });
  }
  if (result.image?.failing.length) {
    annotations.push({
      level: "error",
      title: "image vulnerabilities",
      message: `image gate failed: ${result.image.reasons.join("; ")}`,
    });
  }
  return annotations.slice(0, maxAnnotations);
}
