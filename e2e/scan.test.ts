import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateRepositoryCommand, ECRClient } from "@aws-sdk/client-ecr";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Simulator, startSimulator } from "../sim/simulator.ts";
import { registryApi } from "../test/support/registry-api.ts";
import { type ActionRun, repositoryRoot, runAction } from "../test/support/run-action.ts";
import { simulatorAccess } from "./support/simulator-access.ts";

/**
 * The bundled scan action, run as the runner runs it: the image gate against the simulator's ECR (its images live in
 * the e2e registry, pushed there by the bundled build-push; its scan findings are set through the admin API), and the
 * SAST and secrets gates with stand-in scanners on PATH that write the real semgrep and gitleaks fixture outputs.
 */
const registry = inject("registry");
const region = "ca-central-1";
const repositoryName = `e2e/scan-${randomBytes(3).toString("hex")}`;
const repository = `${registry}/${repositoryName}`;
const fixtures = join(repositoryRoot, "test/fixtures");
const standIns = join(repositoryRoot, "test/support/stand-in-scanners");
const imageGateOnly = { sast: "false", secrets: "false" };

let simulator: Simulator;
let ecr: ECRClient;
let env: Record<string, string>;
let imageRef: string;
let digest: string;

async function setScan(body: Record<string, unknown>) {
  const response = await fetch(`${simulator.admin}/scan-findings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ repositoryName, imageDigest: digest, ...body }),
  });
  expect(response.status).toBe(200);
}

const errors = (run: ActionRun) => run.annotations.filter((annotation) => annotation.level === "error");
const basicFinding = (name: string, severity: string, pkg: string, version: string) => ({
  name,
  severity,
  uri: `https://security-tracker.debian.org/tracker/${name}`,
  description: `${name} in ${pkg}`,
  attributes: [
    { key: "package_name", value: pkg },
    { key: "package_version", value: version },
  ],
});

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 60, settings: { registry, region } });
  const access = simulatorAccess(simulator);
  env = access.env;
  ecr = new ECRClient(access.clientConfig);
  await ecr.send(new CreateRepositoryCommand({ repositoryName }));
  const built = await runAction("actions/build-push", {
    inputs: {
      context: "e2e/fixtures/hello",
      builder: "buildah",
      repository,
      environment: "dev",
      sha: randomBytes(20).toString("hex"),
    },
    env,
  });
  expect(built.exitCode, built.log).toBe(0);
  imageRef = built.outputs["image-ref"] as string;
  digest = built.outputs.digest as string;
});

afterAll(async () => {
  ecr?.destroy();
  await simulator?.stop();
});

describe("scan: image gate on the simulator's ECR scan of an image build-push pushed", () => {
  it("waits for the scan to complete, reads every page, and passes under the thresholds", async () => {
    await setScan({
      completeAfterSeconds: 120,
      findings: [
        basicFinding("CVE-2026-1000", "HIGH", "openssl", "3.0.11-1"),
        ...Array.from({ length: 120 }, (_, index) =>
          basicFinding(`CVE-2025-${2000 + index}`, "LOW", "coreutils", "9.1-1"),
        ),
      ],
    });
    const run = await runAction("actions/scan", {
      inputs: { ...imageGateOnly, image: imageRef, "max-counts": "HIGH=1" },
      env,
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.log).toContain(`ECR scan of ${imageRef}: IN_PROGRESS`);
    expect(run.outputs).toMatchObject({
      result: "passed",
      "failed-gates": "",
      "vulnerability-findings": "0",
    });
    expect(JSON.parse(run.outputs["vulnerability-counts"] as string)).toMatchObject({ HIGH: 1, LOW: 120 });
    const report = JSON.parse(await readFile(run.outputs.report as string, "utf8"));
    expect(report.gates.image).toMatchObject({ status: "passed", counts: { HIGH: 1, LOW: 120 } });
    expect(report.gates.image.findings).toHaveLength(121);
    expect(run.summary).toContain("within thresholds");
    expect(errors(run)).toEqual([]);
  });

  it("fails over the threshold, naming the findings that failed with package, versions and link; honours the ignore file", async () => {
    await setScan({
      findings: [
        basicFinding("CVE-2026-2001", "CRITICAL", "libssl3", "3.0.11-1"),
        basicFinding("CVE-2026-2002", "HIGH", "zlib1g", "1.2.13"),
        basicFinding("CVE-2026-2003", "HIGH", "libc6", "2.36-9"),
        basicFinding("CVE-2026-2004", "MEDIUM", "tar", "1.34"),
      ],
    });
    const run = await runAction("actions/scan", {
      inputs: {
        ...imageGateOnly,
        image: imageRef,
        "ignore-file": "e2e/fixtures/scan/ignore.yml",
      },
      env,
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({
      result: "failed",
      "failed-gates": "image",
      "vulnerability-findings": "2",
    });
    // CVE-2026-2002 is ignored until 2999; the entry for CVE-2026-2003 expired in 2001 and says so.
    expect(run.summary).toContain("CVE-2026-2001");
    expect(run.summary).toContain("<code>libssl3</code>");
    expect(run.summary).toContain("3.0.11-1");
    expect(run.summary).toContain('href="https://security-tracker.debian.org/tracker/CVE-2026-2001"');
    expect(run.summary).toContain("CVE-2026-2003");
    expect(run.summary).not.toContain("CVE-2026-2002</a>");
    expect(run.log).toContain(
      "ignore-file entry vulnerabilities CVE-2026-2003 in libc6 expired on 2001-01-31 (reason was: fixed upstream, waiting for the base image): no longer ignored, 1 finding(s) count again",
    );
    const report = JSON.parse(await readFile(run.outputs.report as string, "utf8"));
    expect(report.gates.image.reasons).toEqual(["CRITICAL: 1 found, 0 allowed", "HIGH: 1 found, 0 allowed"]);
    expect(report.gates.image.ignored).toEqual([
      expect.objectContaining({ reason: "zlib is not reachable from the app", expires: "2999-12-31" }),
    ]);
    expect(errors(run).map((error) => error.message)).toContain(
      "image gate failed: CRITICAL: 1 found, 0 allowed; HIGH: 1 found, 0 allowed",
    );
    expect(errors(run).at(-1)?.message).toBe(
      "scan failed — image: CRITICAL: 1 found, 0 allowed; HIGH: 1 found, 0 allowed",
    );
  });

  it("gates enhanced (Inspector) findings with fixed-only: a fixable HIGH fails, a CRITICAL without a fix is set aside", async () => {
    const enhanced = (id: string, severity: string, pkg: string, fixedInVersion?: string) => ({
      severity,
      status: "ACTIVE",
      type: "PACKAGE_VULNERABILITY",
      title: `${id} - ${pkg}`,
      fixAvailable: fixedInVersion ? "YES" : "NO",
      packageVulnerabilityDetails: {
        vulnerabilityId: id,
        sourceUrl: `https://nvd.nist.gov/vuln/detail/${id}`,
        vulnerablePackages: [
          { name: pkg, version: "1.2.3", release: "1", packageManager: "OS", fixedInVersion },
        ],
      },
    });
    await setScan({
      enhancedFindings: [
        enhanced("CVE-2026-3001", "CRITICAL", "libxml2"),
        enhanced("CVE-2026-3002", "HIGH", "curl", "1.2.4-1"),
      ],
    });
    const run = await runAction("actions/scan", {
      inputs: { ...imageGateOnly, image: imageRef, "fixed-only": "true" },
      env,
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ result: "failed", "vulnerability-findings": "1" });
    expect(run.summary).toContain("ECR enhanced scan");
    expect(run.summary).toContain(
      '<a href="https://nvd.nist.gov/vuln/detail/CVE-2026-3002">CVE-2026-3002</a>',
    );
    expect(run.summary).toContain("1.2.4-1");
    expect(run.summary).not.toContain(">CVE-2026-3001</a>");
    const report = JSON.parse(await readFile(run.outputs.report as string, "utf8"));
    expect(report.gates.image.notGated).toEqual([
      expect.objectContaining({ id: "CVE-2026-3001", package: "libxml2", fixedVersion: "" }),
    ]);
  });

  it("reports clearly that an image index cannot be scanned by ECR, and why", async () => {
    const api = registryApi(repository);
    const manifest = await api.client.getManifest(digest);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: manifest?.mediaType,
            digest,
            size: manifest?.body.length,
            platform: { architecture: "amd64", os: "linux" },
          },
        ],
      }),
    );
    const indexDigest = await api.client.putManifest("dev-index", {
      body: index,
      mediaType: "application/vnd.oci.image.index.v1+json",
    });
    const response = await fetch(`${simulator.admin}/scan-findings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ repositoryName, imageDigest: indexDigest, status: "UNSUPPORTED_IMAGE" }),
    });
    expect(response.status).toBe(200);

    const run = await runAction("actions/scan", {
      inputs: { ...imageGateOnly, image: `${repository}@${indexDigest}` },
      env,
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ result: "failed", "failed-gates": "image" });
    const message = `ECR cannot scan ${repository}@${indexDigest} (UNSUPPORTED_IMAGE: The operation is not supported for this image.); its manifest is application/vnd.oci.image.index.v1+json; an image index (buildx adds a provenance attestation by default) cannot be scanned: build with provenance: false, or scan the per-platform image digest`;
    expect(errors(run)[0]).toMatchObject({ message, properties: { title: "image: scanner error" } });
    expect(run.summary).toContain("scanner error");
    expect(run.log).not.toMatch(/\n\s+at /);
  });
});

describe("scan: SAST and secrets gates with stand-in scanners writing the real tool outputs", () => {
  const values = ["a secret", "line containing secret", "johndoe@gmail.com", "John Doe"];
  const scannerEnv = (extra: Record<string, string> = {}) => ({
    PATH: `${join(standIns, "semgrep")}:${join(standIns, "gitleaks")}:${process.env.PATH}`,
    STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-error-info.json"),
    STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-with-rules.sarif"),
    STAND_IN_GITLEAKS_REPORT: join(fixtures, "gitleaks/gitleaks-report.json"),
    ...extra,
  });

  async function everythingWritten(run: ActionRun): Promise<string> {
    const folder = join(run.outputs.report as string, "..");
    const files = await readdir(folder);
    const contents = await Promise.all(files.map((file) => readFile(join(folder, file), "utf8")));
    return [
      run.rawOutput,
      run.log,
      run.summary,
      JSON.stringify(run.annotations),
      JSON.stringify(run.outputs),
      ...contents,
    ].join("\n");
  }

  it("never writes a secret value from the gitleaks report to the log, annotations, summary, outputs or report files", async () => {
    const run = await runAction("actions/scan", { inputs: {}, env: scannerEnv() });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({
      result: "failed",
      "failed-gates": "sast,secrets",
      "secrets-findings": "1",
      "sast-findings": "1",
    });
    const written = await everythingWritten(run);
    for (const value of values) expect(written).not.toContain(value);
    // What it shows instead: rule, file, line and commit.
    expect(run.summary).toContain("<code>test-rule</code>");
    expect(run.summary).toContain("auth.py:1");
    expect(run.summary).toContain("https://github.com/valmetal/farm-platform/commit/0000000000000000");
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        level: "error",
        message:
          "leaked credential (rule test-rule) in auth.py:1 at commit 0000000000000000; rotate it, then remove it from the history or allow it in the ignore file with a reason",
        properties: expect.objectContaining({ file: "auth.py", line: "1" }),
      }),
    );
    // SAST: the ERROR finding fails, annotated on its file and line, with a link at the commit; SARIF ready to upload.
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        level: "error",
        properties: expect.objectContaining({ file: "targets/basic/stupid.js", line: "3" }),
      }),
    );
    expect(run.summary).toContain(
      "https://github.com/valmetal/farm-platform/blob/0123456789abcdef0123456789abcdef01234567/targets/basic/stupid.js#L3",
    );
    expect(JSON.parse(await readFile(run.outputs.sarif as string, "utf8")).version).toBe("2.1.0");
  });

  it("lets a baseline (the SARIF report) allow known leaks, still without printing a value", async () => {
    const run = await runAction("actions/scan", {
      inputs: {
        "secrets-baseline": "test/fixtures/gitleaks/gitleaks-report.sarif",
        "sast-fail-on": "CRITICAL",
      },
      env: scannerEnv(),
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ result: "passed", "secrets-findings": "0" });
    const report = JSON.parse(await readFile(run.outputs.report as string, "utf8"));
    expect(report.gates.secrets).toMatchObject({ status: "passed", inBaseline: 1 });
    for (const value of values) expect(await everythingWritten(run)).not.toContain(value);
  });

  it("fails as a scanner error, never a clean scan, when semgrep exits 2 or reports its own errors", async () => {
    const crashed = await runAction("actions/scan", {
      inputs: { secrets: "false" },
      env: scannerEnv({ STAND_IN_SEMGREP_EXIT: "2" }),
    });
    expect(crashed.exitCode).toBe(1);
    expect(crashed.outputs).toMatchObject({ result: "failed", "failed-gates": "sast" });
    expect(errors(crashed)[0]?.message).toContain("semgrep failed with exit code 2 (fatal error)");

    const erred = await runAction("actions/scan", {
      inputs: { secrets: "false", "sast-fail-on": "none" },
      env: scannerEnv({
        STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-with-errors.json"),
        STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-tool-error.sarif"),
      }),
    });
    expect(erred.exitCode).toBe(1);
    expect(errors(erred)[0]?.message).toMatch(
      /^semgrep reported 2 error\(s\), so its findings may be incomplete: Internal matching error .*; SemgrepError: File not found: targets\/basic\/inexistent.py$/,
    );
  });

  it("installs the pinned semgrep with pipx when it is missing (a stand-in pipx), then gates on its outputs", async () => {
    const run = await runAction("actions/scan", {
      inputs: { secrets: "false", "sast-fail-on": "none" },
      env: { ...scannerEnv(), PATH: `${join(standIns, "pipx")}:${process.env.PATH}` },
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.log).toContain("installing semgrep==1.185.0 with pipx");
    expect(run.outputs).toMatchObject({ result: "passed", "sast-findings": "0" });
  });

  it("says how to install semgrep when it is missing and install is false", async () => {
    const run = await runAction("actions/scan", {
      inputs: { secrets: "false", install: "false" },
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(run.exitCode).toBe(1);
    expect(errors(run)[0]?.message).toContain(
      "semgrep is not on PATH; set install: true (installs semgrep 1.185.0), or install it before this step: pipx install semgrep==1.185.0",
    );
  });
});
