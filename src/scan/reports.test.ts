import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot } from "../../test/support/run-action.ts";
import { parseScanFindingsPage } from "./ecr-findings.ts";
import { parseGitleaksJson, parseGitleaksReport, parseGitleaksSarif } from "./gitleaks-report.ts";
import { isScannerError, parseSemgrepJson, parseSemgrepSarif } from "./semgrep-report.ts";
import { parseTrivyReport } from "./trivy-report.ts";

const fixture = (path: string) => readFileSync(join(repositoryRoot, "test/fixtures", path), "utf8");

describe("semgrep outputs (real snapshots from semgrep's own test suite)", () => {
  it("reads results with classic severities, registry links and fingerprints from --json", () => {
    const run = parseSemgrepJson(fixture("semgrep/semgrep-scan-results-error-info.json"));
    expect(run.problems).toEqual([]);
    expect(run.scanned).toBe(16);
    expect(
      run.findings.map(({ rule, path, line, severity, level }) => ({ rule, path, line, severity, level })),
    ).toEqual([
      {
        rule: "javascript.lang.correctness.useless-eqeq.eqeq-is-bad",
        path: "targets/basic/stupid.js",
        line: 3,
        severity: "ERROR",
        level: "HIGH",
      },
      expect.objectContaining({ severity: "INFO", level: "LOW" }),
    ]);
    expect(run.findings[0]?.url).toBe(
      "https://semgrep.dev/r/javascript.lang.correctness.useless-eqeq.eqeq-is-bad",
    );
    expect(run.findings[0]?.fingerprint).toMatch(/^[0-9a-f]{128}_0$/);
  });

  it("keeps semgrep's own errors[] as problems that make the scan untrustworthy", () => {
    const run = parseSemgrepJson(fixture("semgrep/semgrep-scan-results-with-errors.json"));
    expect(run.findings).toHaveLength(1);
    expect(run.findings[0]?.severity).toBe("ERROR");
    expect(run.problems).toEqual([
      expect.objectContaining({ level: "warn", type: "Internal matching error", rule: expect.any(String) }),
    ]);
    expect(run.problems.every(isScannerError)).toBe(true);
  });

  it("takes a SARIF result's severity from its rule's defaultConfiguration (results carry no level)", () => {
    const run = parseSemgrepSarif(fixture("semgrep/semgrep-scan-with-rules.sarif"));
    expect(run.problems).toEqual([]);
    expect(run.findings).toHaveLength(2);
    for (const finding of run.findings) {
      expect(finding.severity).toMatch(/^(ERROR|WARNING|INFO)$/);
      expect(finding.url).toMatch(/^https:\/\//);
      expect(finding.line).toBeGreaterThan(0);
    }
  });

  it("reads tool execution notifications as errors even when executionSuccessful is true", () => {
    const run = parseSemgrepSarif(fixture("semgrep/semgrep-scan-tool-error.sarif"));
    expect(run.findings).toEqual([]);
    expect(run.problems).toEqual([
      { level: "error", type: "SemgrepError", message: "File not found: targets/basic/inexistent.py" },
    ]);
    expect(run.problems.every(isScannerError)).toBe(true);
  });

  it.each([
    [{ level: "warn", type: "Syntax error", message: "" }, false],
    [{ level: "warn", type: "Partial parsing", message: "" }, false],
    [{ level: "error", type: "Syntax error", message: "" }, true],
    [{ level: "warn", type: "Internal matching error", message: "" }, true],
    [{ level: "error", type: "Rule parse error", message: "" }, true],
    [{ level: "info", type: "Timeout", message: "" }, false],
  ])("treats %o as a scanner error: %s", (problem, expected) => {
    expect(isScannerError(problem)).toBe(expected);
  });

  it("refuses output that is not semgrep's", () => {
    expect(() => parseSemgrepJson("{}")).toThrow("has no results[]");
    expect(() => parseSemgrepJson("{trunc")).toThrow("is not JSON");
  });
});

describe("gitleaks reports (real expected outputs of gitleaks' report tests)", () => {
  const values = ["a secret", "line containing secret"];

  it("keeps rule, file, line and commit of a JSON finding, and never the value", () => {
    const findings = parseGitleaksJson(fixture("gitleaks/gitleaks-report.json"));
    expect(findings).toEqual([
      {
        rule: "test-rule",
        description: undefined,
        file: "auth.py",
        line: 1,
        commit: "0000000000000000",
        fingerprint: "0000000000000000:auth.py:test-rule:1",
      },
    ]);
    for (const value of values) expect(JSON.stringify(findings)).not.toContain(value);
  });

  it("reads the SARIF report the same way, without its snippet", () => {
    const findings = parseGitleaksSarif(fixture("gitleaks/gitleaks-report.sarif"));
    expect(findings).toEqual([
      expect.objectContaining({ rule: "test-rule", file: "auth.py", line: 1, commit: "0000000000000000" }),
    ]);
    expect(findings[0]?.fingerprint).toBe("0000000000000000:auth.py:test-rule:1");
    for (const value of values) expect(JSON.stringify(findings)).not.toContain(value);
    expect(parseGitleaksReport(fixture("gitleaks/gitleaks-report.sarif"), "baseline")).toEqual(findings);
    expect(parseGitleaksReport(fixture("gitleaks/gitleaks-report.json"), "baseline")).toEqual(findings);
  });
});

describe("trivy JSON report (trivy's integration golden file)", () => {
  it("reads every vulnerability with package, installed and fixed version and link", () => {
    const report = parseTrivyReport(fixture("trivy/trivy-image-alpine-39.json"));
    expect(report.vulnerabilities).toHaveLength(6);
    expect(report.vulnerabilities.filter((item) => item.severity === "CRITICAL")).toHaveLength(2);
    expect(report.vulnerabilities.filter((item) => item.severity === "MEDIUM")).toHaveLength(4);
    expect(report.vulnerabilities).toContainEqual({
      id: "CVE-2019-14697",
      package: "musl",
      installedVersion: "1.1.20-r4",
      fixedVersion: "1.1.20-r5",
      severity: "CRITICAL",
      title: undefined,
      url: "https://avd.aquasec.com/nvd/cve-2019-14697",
      source: "trivy",
    });
  });

  it("refuses a file that is not a SchemaVersion 2 report", () => {
    expect(() => parseTrivyReport('{"SchemaVersion": 1}', "old.json")).toThrow(
      "old.json is not a trivy JSON report of SchemaVersion 2",
    );
  });
});

describe("ECR DescribeImageScanFindings (the AWS CLI's example response)", () => {
  it("reads a basic finding's package from its attributes; basic scans report no fixed version", () => {
    const page = JSON.parse(fixture("ecr/ecr-describe-image-scan-findings.json"));
    expect(parseScanFindingsPage(page)).toEqual([
      {
        id: "CVE-2019-5188",
        package: "e2fsprogs",
        installedVersion: "1.44.1-1ubuntu1.1",
        severity: "MEDIUM",
        title: expect.stringContaining("E2fsprogs"),
        url: "http://people.ubuntu.com/~ubuntu-security/cve/CVE-2019-5188",
        source: "ecr-basic",
      },
    ]);
  });
});
