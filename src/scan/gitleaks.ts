import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolkitError } from "../errors.ts";
import { parseGitleaksJson, type SecretFinding } from "./gitleaks-report.ts";
import { resolveScanner, type ToolEnvironment, toolPath } from "./tools.ts";

export interface GitleaksOptions {
  version: string;
  install: boolean;
  /** change: the commits after baselineRef (or the last commit); history: every commit. */
  scope: "change" | "history";
  baselineRef?: string;
  workDir: string;
}

export interface GitleaksOutcome {
  findings: SecretFinding[];
  logOpts?: string;
}

/**
 * `gitleaks git` over the change or the whole history, JSON report, values redacted by gitleaks itself and its
 * output never logged (it can print what it found). --exit-code 0 makes a non-zero exit mean a scanner error.
 */
export async function runGitleaks(
  options: GitleaksOptions,
  tools: ToolEnvironment,
): Promise<GitleaksOutcome> {
  const gitleaks = await resolveScanner(
    "gitleaks",
    {
      install: options.install,
      version: options.version,
      howToInstall: `download gitleaks_${options.version}_linux_x64.tar.gz from https://github.com/gitleaks/gitleaks/releases`,
    },
    tools,
  );
  // gitleaks' own report holds the values when --redact is not honoured (older versions): a private folder, deleted.
  const folder = await mkdtemp(join(tmpdir(), "gitleaks-"));
  try {
    return await scan(gitleaks, join(folder, "gitleaks.json"), options, tools);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function scan(
  gitleaks: string,
  reportPath: string,
  options: GitleaksOptions,
  tools: ToolEnvironment,
): Promise<GitleaksOutcome> {
  const logOpts =
    options.scope === "history" ? undefined : options.baselineRef ? `${options.baselineRef}..HEAD` : "-1";
  const args = [
    "git",
    "--report-format",
    "json",
    "--report-path",
    reportPath,
    "--redact",
    "--no-banner",
    "--exit-code",
    "0",
  ];
  if (logOpts) args.push(`--log-opts=${logOpts}`);
  args.push(".");
  tools.reporter.info(`gitleaks ${args.join(" ")}`);
  const result = await tools.run(gitleaks, args, {
    cwd: options.workDir,
    env: { ...tools.env, PATH: toolPath(tools) },
    signal: tools.signal,
    tailLines: 30,
  });
  if (result.exitCode !== 0) {
    // gitleaks prints findings (with -v, or in an older version) next to its errors: only its error lines are kept.
    const tail = result.tail.filter((line) => /\b(ERR|FTL)\b/.test(line)).join("\n") || "(no error line)";
    throw new ToolkitError(
      `gitleaks failed with exit code ${result.exitCode}; this is a scanner error, not a clean scan${
        options.scope === "change" ? " (a shallow clone lacks the commits to scan: fetch-depth: 0)" : ""
      }. Last lines:\n${tail}`,
    );
  }
  let text: string;
  try {
    text = await readFile(reportPath, "utf8");
  } catch {
    throw new ToolkitError(
      `gitleaks exited with code 0 but wrote no report to ${reportPath}; this is a scanner error, not a clean scan`,
    );
  }
  return { findings: parseGitleaksJson(text, "gitleaks' report"), logOpts };
}
