import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { repositoryRoot } from "../../test/support/run-action.ts";
import type { CommandRunner } from "../process/command.ts";
import { runCommand } from "../process/command.ts";
import { memoryReporter } from "../report/reporter.ts";
import { runGitleaks } from "./gitleaks.ts";
import { runSemgrep, type SemgrepOptions } from "./semgrep.ts";
import { installGitleaks, installSemgrep, type ToolEnvironment } from "./tools.ts";
import { runTrivy } from "./trivy.ts";

/**
 * The scanners' process handling, run against real executables on PATH that stand in for semgrep, gitleaks, trivy
 * and pipx (test/support/stand-in-scanners): they write the real fixture outputs and exit with the asked code.
 */
const standIns = join(repositoryRoot, "test/support/stand-in-scanners");
const fixtures = join(repositoryRoot, "test/fixtures");
const systemPath = [dirname(process.execPath), "/usr/bin", "/bin"];

let work: string;
let log: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "scan-test-"));
  log = join(work, "stand-in.log");
});

function tools(
  folders: string[],
  env: Record<string, string> = {},
  run: CommandRunner = runCommand,
): ToolEnvironment {
  return {
    env: {
      PATH: [...folders.map((folder) => join(standIns, folder)), ...systemPath].join(":"),
      STAND_IN_LOG: log,
      ...env,
    },
    toolsDir: join(work, "tools"),
    run,
    reporter: memoryReporter(),
  };
}
const invocations = async () =>
  (await readFile(log, "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { tool: string; args: string[]; cwd: string });

const semgrepOptions = (): SemgrepOptions => ({
  configs: ["p/default", "p/typescript"],
  version: "1.185.0",
  install: false,
  excludes: ["tests", "vendor/**"],
  workDir: work,
  outputDir: join(work, "out"),
});
const semgrepOutputs = {
  STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-error-info.json"),
  STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-with-rules.sarif"),
};

describe("semgrep process handling", () => {
  it.each([0, 1])("reads both outputs of one run that exits %i, with metrics off", async (code) => {
    const outcome = await runSemgrep(
      { ...semgrepOptions(), baselineRef: "origin/main" },
      tools(["semgrep"], { ...semgrepOutputs, STAND_IN_SEMGREP_EXIT: String(code) }),
    );
    expect(outcome.exitCode).toBe(code);
    expect(outcome.findings).toHaveLength(2);
    expect(outcome.problems).toEqual([]);
    expect(await readFile(outcome.sarifPath, "utf8")).toContain('"Semgrep OSS"');
    const calls = await invocations();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.cwd).toBe(work);
    expect(calls[0]?.args).toEqual([
      "scan",
      "--config",
      "p/default",
      "--config",
      "p/typescript",
      `--json-output=${join(work, "out/semgrep.json")}`,
      `--sarif-output=${join(work, "out/semgrep.sarif")}`,
      "--metrics",
      "off",
      "--exclude",
      "tests",
      "--exclude",
      "vendor/**",
      "--baseline-commit",
      "origin/main",
    ]);
  });

  it.each([
    [2, "fatal error"],
    [3, "invalid code in a target file"],
    [4, "invalid rule pattern"],
    [5, "unparseable rule YAML"],
    [7, "missing config"],
    [8, "invalid language"],
    [13, "invalid API key"],
    [14, "scan failure"],
  ])("fails as a scanner error on exit code %i (%s), even with outputs written", async (code, meaning) => {
    await expect(
      runSemgrep(
        semgrepOptions(),
        tools(["semgrep"], { ...semgrepOutputs, STAND_IN_SEMGREP_EXIT: String(code) }),
      ),
    ).rejects.toThrow(
      `semgrep failed with exit code ${code} (${meaning}); this is a scanner error, not a clean scan`,
    );
  });

  it("fails when semgrep exits 0 without writing its outputs", async () => {
    await expect(
      runSemgrep(
        semgrepOptions(),
        tools(["semgrep"], { STAND_IN_SEMGREP_SARIF: semgrepOutputs.STAND_IN_SEMGREP_SARIF }),
      ),
    ).rejects.toThrow(
      `semgrep exited with code 0 but wrote no JSON output to ${join(work, "out/semgrep.json")}`,
    );
  });

  it("merges the errors of both outputs: errors[] and SARIF tool notifications", async () => {
    const outcome = await runSemgrep(
      semgrepOptions(),
      tools(["semgrep"], {
        STAND_IN_SEMGREP_JSON: join(fixtures, "semgrep/semgrep-scan-results-with-errors.json"),
        STAND_IN_SEMGREP_SARIF: join(fixtures, "semgrep/semgrep-scan-tool-error.sarif"),
      }),
    );
    expect(outcome.problems.map((problem) => problem.type)).toEqual([
      "Internal matching error",
      "SemgrepError",
    ]);
  });

  it("says how to install semgrep when it is missing and install is false", async () => {
    await expect(runSemgrep(semgrepOptions(), tools(["pipx"]))).rejects.toThrow(
      "semgrep is not on PATH; set install: true (installs semgrep 1.185.0), or install it before this step: pipx install semgrep==1.185.0",
    );
    expect(await invocations()).toEqual([]);
  });

  it("installs the pinned semgrep with pipx when missing, then scans with it", async () => {
    const outcome = await runSemgrep({ ...semgrepOptions(), install: true }, tools(["pipx"], semgrepOutputs));
    expect(outcome.findings).toHaveLength(2);
    const calls = await invocations();
    expect(calls.map((call) => [call.tool, call.args[0]])).toEqual([
      ["pipx", "install"],
      ["semgrep", "scan"],
    ]);
    expect(calls[0]?.args).toEqual(["install", "--force", "semgrep==1.185.0"]);
  });

  it("falls back to pip in a virtual environment of its own when pipx is missing", async () => {
    const commands: string[][] = [];
    const fakeRun: CommandRunner = async (program, args) => {
      commands.push([program, ...args]);
      if (program.endsWith("/pip")) {
        const bin = join(work, "tools/semgrep-venv/bin");
        await writeFile(join(bin, "semgrep"), "#!/bin/sh\n", { mode: 0o755 });
      }
      return { exitCode: 0, stdout: "", tail: [] };
    };
    const python = join(work, "python-only");
    await mkdir(join(work, "tools/semgrep-venv/bin"), { recursive: true });
    await mkdir(python);
    await writeFile(join(python, "python3"), "#!/bin/sh\n", { mode: 0o755 });
    const environment = { ...tools([], {}, fakeRun), env: { PATH: python } };
    expect(await installSemgrep("1.185.0", environment)).toBe(join(work, "tools/semgrep-venv/bin/semgrep"));
    expect(commands).toEqual([
      ["python3", "-m", "venv", join(work, "tools/semgrep-venv")],
      [join(work, "tools/semgrep-venv/bin/pip"), "install", "--quiet", "semgrep==1.185.0"],
    ]);
  });

  it("reports a failed install with pip's last lines", async () => {
    await expect(
      runSemgrep({ ...semgrepOptions(), install: true }, tools(["pipx"], { STAND_IN_PIPX_EXIT: "1" })),
    ).rejects.toThrow(
      /pipx install --force semgrep==1\.185\.0 failed \(exit code 1\); last lines:\nstand-in pipx: No matching distribution found/,
    );
  });
});

describe("gitleaks process handling", () => {
  const report = { STAND_IN_GITLEAKS_REPORT: join(fixtures, "gitleaks/gitleaks-report.json") };

  it.each([
    ["change", undefined, "--log-opts=-1"],
    ["change", "abc123", "--log-opts=abc123..HEAD"],
    ["history", "abc123", undefined],
  ] as const)("scans the %s (base %s) with a redacted JSON report", async (scope, baselineRef, logOpts) => {
    const outcome = await runGitleaks(
      { version: "8.21.2", install: false, scope, baselineRef, workDir: work },
      tools(["gitleaks"], report),
    );
    expect(outcome.findings).toEqual([
      expect.objectContaining({ rule: "test-rule", file: "auth.py", line: 1 }),
    ]);
    const args = (await invocations())[0]?.args ?? [];
    expect(args.slice(0, 2)).toEqual(["git", "--report-format"]);
    expect(args).toContain("--redact");
    expect(args).toEqual(expect.arrayContaining(["--exit-code", "0"]));
    expect(args.filter((arg) => arg.startsWith("--log-opts"))).toEqual(logOpts ? [logOpts] : []);
  });

  it("fails as a scanner error on a non-zero exit without repeating what gitleaks printed", async () => {
    const error = await runGitleaks(
      { version: "8.21.2", install: false, scope: "change", workDir: work },
      tools(["gitleaks"], { ...report, STAND_IN_GITLEAKS_EXIT: "1" }),
    ).catch((caught: Error) => caught);
    expect((error as Error).message).toContain("gitleaks failed with exit code 1; this is a scanner error");
    expect((error as Error).message).not.toContain("a secret");
    expect((error as Error).message).not.toContain("line containing");
  });

  it("says how to install gitleaks when missing, and installs the pinned release archive when allowed", async () => {
    await expect(
      runGitleaks({ version: "8.21.2", install: false, scope: "change", workDir: work }, tools([])),
    ).rejects.toThrow("gitleaks is not on PATH; set install: true (installs gitleaks 8.21.2)");

    const commands: string[][] = [];
    const fakeRun: CommandRunner = async (program, args) => {
      commands.push([program, ...args]);
      if (program === "tar") {
        const bin = args[args.indexOf("-C") + 1] as string;
        await writeFile(join(bin, "gitleaks"), "#!/bin/sh\n", { mode: 0o755 });
      }
      return { exitCode: 0, stdout: "", tail: [] };
    };
    const installed = await installGitleaks("8.21.2", { ...tools([], {}, fakeRun), arch: "x64" });
    expect(installed).toBe(join(work, "tools/bin/gitleaks"));
    expect(commands[0]).toEqual([
      "curl",
      "-sSfL",
      "--retry",
      "3",
      "-o",
      join(work, "tools/gitleaks_8.21.2.tar.gz"),
      "https://github.com/gitleaks/gitleaks/releases/download/v8.21.2/gitleaks_8.21.2_linux_x64.tar.gz",
    ]);
    expect(commands[1]?.[0]).toBe("tar");
  });
});

describe("trivy process handling", () => {
  it("runs trivy image to a JSON report and parses it", async () => {
    const parsed = await runTrivy(
      "127.0.0.1:5000/app@sha256:abc",
      tools(["trivy"], { STAND_IN_TRIVY_REPORT: join(fixtures, "trivy/trivy-image-alpine-39.json") }),
    );
    expect(parsed.vulnerabilities).toHaveLength(6);
    expect((await invocations())[0]?.args).toEqual(
      expect.arrayContaining(["image", "--format", "json", "127.0.0.1:5000/app@sha256:abc"]),
    );
  });

  it("fails as a scanner error when trivy exits non-zero", async () => {
    await expect(runTrivy("img", tools(["trivy"], { STAND_IN_TRIVY_EXIT: "1" }))).rejects.toThrow(
      "trivy failed with exit code 1; this is a scanner error",
    );
  });
});
