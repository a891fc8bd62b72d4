import { describe, expect, it } from "vitest";
import {
  isExcluded,
  parseSastThreshold,
  parseThresholds,
  sastGate,
  secretsGate,
  vulnerabilityGate,
} from "./gates.ts";
import { type SastFinding, sastLevel } from "./semgrep-report.ts";
import type { Vulnerability, VulnerabilitySeverity } from "./vulnerabilities.ts";

const vulnerability = (
  severity: VulnerabilitySeverity,
  fixedVersion?: string,
  id = `CVE-${severity}`,
): Vulnerability => ({
  id,
  package: "pkg",
  installedVersion: "1.0",
  fixedVersion,
  severity,
  source: fixedVersion === undefined ? "ecr-basic" : "trivy",
});
const sast = (severity: string): SastFinding => ({
  rule: `rule-${severity}`,
  path: "src/app.ts",
  line: 1,
  endLine: 1,
  column: 1,
  severity,
  level: sastLevel(severity),
  message: "m",
});

describe("image vulnerability gate", () => {
  it.each([
    ["nothing found passes", [], ["CRITICAL", "HIGH"], [], false, "passed", []],
    [
      "a HIGH fails the default fail-on",
      [vulnerability("HIGH", "2.0")],
      ["CRITICAL", "HIGH"],
      [],
      false,
      "failed",
      ["HIGH: 1 found, 0 allowed"],
    ],
    [
      "MEDIUMs pass the default fail-on",
      [vulnerability("MEDIUM", "2.0"), vulnerability("MEDIUM", "")],
      ["CRITICAL", "HIGH"],
      [],
      false,
      "passed",
      [],
    ],
    [
      "HIGHs under max-counts pass",
      [vulnerability("HIGH", "2", "a"), vulnerability("HIGH", "2", "b")],
      ["CRITICAL", "HIGH"],
      ["HIGH=2"],
      false,
      "passed",
      [],
    ],
    [
      "HIGHs over max-counts fail",
      [vulnerability("HIGH", "2", "a"), vulnerability("HIGH", "2", "b"), vulnerability("HIGH", "2", "c")],
      ["CRITICAL", "HIGH"],
      ["HIGH=2"],
      false,
      "failed",
      ["HIGH: 3 found, 2 allowed"],
    ],
    [
      "max-counts gates a severity fail-on leaves out",
      [vulnerability("MEDIUM", "2", "a"), vulnerability("MEDIUM", "2", "b")],
      ["CRITICAL"],
      ["MEDIUM=1"],
      false,
      "failed",
      ["MEDIUM: 2 found, 1 allowed"],
    ],
    [
      "fixed-only leaves out a CRITICAL without a fix",
      [vulnerability("CRITICAL", "")],
      ["CRITICAL"],
      [],
      true,
      "passed",
      [],
    ],
    [
      "fixed-only keeps a CRITICAL with a fix",
      [vulnerability("CRITICAL", "1.1")],
      ["CRITICAL"],
      [],
      true,
      "failed",
      ["CRITICAL: 1 found, 0 allowed"],
    ],
    [
      "fixed-only keeps basic-scan findings (no fix data)",
      [vulnerability("CRITICAL")],
      ["CRITICAL"],
      [],
      true,
      "failed",
      ["CRITICAL: 1 found, 0 allowed"],
    ],
    ["fail-on none reports only", [vulnerability("CRITICAL", "1")], ["none"], [], false, "passed", []],
  ] as const)("%s", (_case, found, failOn, maxCounts, fixedOnly, status, reasons) => {
    const decision = vulnerabilityGate([...found], {
      thresholds: parseThresholds([...failOn], [...maxCounts]),
      fixedOnly,
    });
    expect(decision.status).toBe(status);
    expect(decision.reasons).toEqual(reasons);
    expect(decision.failing.length > 0).toBe(status === "failed");
  });

  it("lists only the severities that broke a threshold as failing", () => {
    const decision = vulnerabilityGate([vulnerability("CRITICAL", "1"), vulnerability("LOW", "1")], {
      thresholds: parseThresholds(["CRITICAL"], []),
      fixedOnly: false,
    });
    expect(decision.failing.map((item) => item.severity)).toEqual(["CRITICAL"]);
    expect(decision.counts).toMatchObject({ CRITICAL: 1, LOW: 1, HIGH: 0 });
  });

  it.each([
    [["URGENT"], [], "fail-on names severity 'URGENT'"],
    [[], ["HIGH:5"], "max-counts entry 'HIGH:5' is not SEVERITY=N"],
    [[], ["SEVERE=1"], "max-counts names severity 'SEVERE'"],
  ])("refuses thresholds %j %j", (failOn, maxCounts, message) => {
    expect(() => parseThresholds(failOn, maxCounts)).toThrow(message);
  });
});

describe("SAST gate", () => {
  it.each([
    ["ERROR", ["ERROR"], "failed", 1],
    ["ERROR", ["WARNING", "INFO"], "passed", 0],
    ["ERROR", ["HIGH"], "failed", 1],
    ["ERROR", ["CRITICAL", "MEDIUM"], "failed", 1],
    ["WARNING", ["MEDIUM", "WARNING", "LOW"], "failed", 2],
    ["INFO", ["INFO"], "failed", 1],
    ["CRITICAL", ["ERROR", "HIGH"], "passed", 0],
    ["none", ["CRITICAL"], "passed", 0],
  ])("fail-on %s with %j: %s", (failOn, severities, status, failing) => {
    const decision = sastGate(severities.map(sast), parseSastThreshold(failOn));
    expect(decision.status).toBe(status);
    expect(decision.failing).toHaveLength(failing);
  });

  it("refuses an unknown severity", () => {
    expect(() => parseSastThreshold("BLOCKER")).toThrow("sast-fail-on is 'BLOCKER'");
  });

  it.each([
    ["tests/unit/a.ts", ["tests"], true],
    ["src/tests/a.ts", ["tests"], true],
    ["src/testsuite/a.ts", ["tests"], false],
    ["vendor/lib/x.js", ["vendor/**"], true],
    ["src/legacy/old.js", ["src/legacy"], true],
    ["src/legacy2/old.js", ["src/legacy"], false],
    ["web/app.min.js", ["*.min.js"], true],
    ["web/app.js", ["*.min.js"], false],
  ])("ignore-paths: %s with %j excluded: %s", (path, patterns, excluded) => {
    expect(isExcluded(path, patterns)).toBe(excluded);
  });
});

describe("secrets gate", () => {
  it("fails on any remaining finding", () => {
    expect(secretsGate([]).status).toBe("passed");
    const finding = {
      rule: "aws-access-key",
      file: "a",
      line: 1,
      commit: "c",
      fingerprint: "c:a:aws-access-key:1",
    };
    expect(secretsGate([finding])).toMatchObject({ status: "failed", reasons: ["1 leaked credential(s)"] });
  });
});
