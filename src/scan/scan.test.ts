import { readFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DescribeImageScanFindingsCommand, ECRClient } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { repositoryRoot } from "../../test/support/run-action.ts";
import { FakeClock } from "../clock.ts";
import { runCommand } from "../process/command.ts";
import { memoryReporter } from "../report/reporter.ts";
import { parseEcrImage } from "./ecr-image.ts";
import { parseThresholds } from "./gates.ts";
import { parseIgnoreFile } from "./ignore-file.ts";
import { writeScanReport } from "./report.ts";
import { type ScanOptions, scan } from "./scan.ts";
import { scanAnnotations, scanSummary } from "./summary.ts";

const ecr = mockClient(ECRClient);
const fixtures = join(repositoryRoot, "test/fixtures");
const standIns = join(repositoryRoot, "test/support/stand-in-scanners");
const image = parseEcrImage(
  `123456789012.dkr.ecr.ca-central-1.amazonaws.com/sample-repo@sha256:${"7".repeat(64)}`,
);
const links = {
  file: (path: string, line: number, commit = "c0ffee") =>
    `https://github.com/o/r/blob/${commit}/${path}#L${line}`,
  commit: (sha: string) => `https://github.com/o/r/commit/${sha}`,
};

let work: string;
beforeEach(async () => {
  ecr.reset();
  work = await mkdtemp(join(tmpdir(), "scan-core-"));
});

function deps(env: Record<string, string>, clock = new FakeClock(new Date("2026-03-01T12:00:00Z"))) {
  const reporter = memoryReporter();
  return {
    reporter,
    deps: {
      clock,
      ecr: () => new ECRClient({ region: "ca-central-1" }),
      tools: {
        env: {
          PATH: [
            join(standIns, "semgrep"),
            join(standIns, "gitleaks"),
            dirname(process.execPath),
            "/usr/bin",
            "/bin",
          ].join(":"),
          ...env,
        },
        toolsDir: join(work, "tools"),
        run: runCommand,
        reporter,
      },
    },
  };
}

const allGates = (ignore = ""): ScanOptions => ({
  sast: {
    configs: ["p/default"],
    version: "1.185.0",
    install: false,
    excludes: [],
    workDir: work,
    outputDir: join(work, "out"),
    failOn: "HIGH",
  },
  secrets: { version: "8.21.2", install: false, scope: "change", workDir: work },
  image: {
    image,
    trivyReport: join(fixtures, "trivy/trivy-image-alpine-39.json"),
    runTrivy: false,
    thresholds: parseThresholds(["CRITICAL", "HIGH"], []),
    fixedOnly: false,
    maxWaitMs: 60_000,
  },
  ignore: ignore ? parseIgnoreFile(ignore, "ignore.yml").entries : [],
});

describe("scan: the gates together", () => {
  it("runs every gate on the real outputs, merges ECR and trivy, and reports without a secret value", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves(
        JSON.parse(readFileSync(join(fixtures, "ecr/ecr-describe-image-scan-findings.json"), "utf8")),
      );
    const { deps: dependencies } = deps({
      STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-error-info.json"),
      STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-with-rules.sarif"),
      STAND_IN_GITLEAKS_REPORT: join(fixtures, "gitleaks/gitleaks-report.json"),
    });
    const result = await scan(allGates(), dependencies);
    expect(result.failedGates).toEqual(["sast", "secrets", "image"]);
    expect(result.image?.counts).toMatchObject({ CRITICAL: 2, MEDIUM: 5 });
    expect(result.image?.sources).toEqual([
      `ECR basic scan of ${image.reference}`,
      `trivy report ${join(fixtures, "trivy/trivy-image-alpine-39.json")}`,
    ]);
    expect(result.image?.failing.map((item) => `${item.id} ${item.package}`)).toEqual([
      "CVE-2019-14697 musl",
      "CVE-2019-14697 musl-utils",
    ]);

    const summary = JSON.stringify(scanSummary(result, links));
    expect(summary).toContain("Scan failed: sast, secrets, image");
    expect(summary).toContain("1.1.20-r5");
    expect(summary).toContain("https://github.com/o/r/blob/0000000000000000/auth.py#L1");
    expect(summary).toContain("https://github.com/o/r/blob/c0ffee/targets/basic/stupid.js#L3");
    const reportPath = join(work, "out/scan-report.json");
    await writeScanReport(reportPath, result, new Date("2026-03-01T12:00:00Z"));
    const written = [
      summary,
      JSON.stringify(scanAnnotations(result)),
      await readFile(reportPath, "utf8"),
    ].join("\n");
    for (const value of ["a secret", "line containing secret", "johndoe@gmail.com"])
      expect(written).not.toContain(value);
  });

  it("keeps reporting the other gates when one scanner errs, and accepts ignores until they expire", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves({ imageScanStatus: { status: "FAILED", description: "Unable to scan" } });
    const ignore = `
sast:
  - rule: javascript.lang.correctness.useless-eqeq.eqeq-is-bad
    reason: legacy
    expires: 2026-02-28
secrets:
  - fingerprint: 0000000000000000:auth.py:test-rule:1
    reason: revoked test key
    expires: 2026-03-31
`;
    const { deps: dependencies, reporter } = deps({
      STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-error-info.json"),
      STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-with-rules.sarif"),
      STAND_IN_GITLEAKS_REPORT: join(fixtures, "gitleaks/gitleaks-report.json"),
    });
    const options = allGates(ignore);
    delete options.image?.trivyReport;
    const result = await scan(options, dependencies);
    expect(result.image).toMatchObject({
      status: "error",
      error: expect.stringContaining("ended FAILED: Unable to scan"),
    });
    expect(result.secrets).toMatchObject({ status: "passed", failing: [] });
    expect(result.secrets?.ignored.map((item) => item.entry.reason)).toEqual(["revoked test key"]);
    expect(result.sast?.status).toBe("failed");
    expect(reporter.warnings).toEqual([
      "ignore-file entry sast javascript.lang.correctness.useless-eqeq.eqeq-is-bad expired on 2026-02-28 (reason was: legacy): no longer ignored, 1 finding(s) count again; renew or remove it",
    ]);
    expect(scanAnnotations(result)[0]).toMatchObject({ level: "error", title: "image: scanner error" });
  });

  it("warns that fixed-only cannot leave out basic ECR findings, which carry no fix", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves(
        JSON.parse(readFileSync(join(fixtures, "ecr/ecr-describe-image-scan-findings.json"), "utf8")),
      );
    const { deps: dependencies } = deps({});
    const result = await scan(
      {
        ignore: [],
        image: {
          image,
          runTrivy: false,
          thresholds: parseThresholds(["MEDIUM"], []),
          fixedOnly: true,
          maxWaitMs: 0,
        },
      },
      dependencies,
    );
    expect(result.image?.status).toBe("failed");
    expect(result.image?.warnings).toEqual([
      "fixed-only: ECR basic scans report no fixed versions, so their findings stay gated",
    ]);
  });
});
