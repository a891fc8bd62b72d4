import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ToolkitError } from "../errors.ts";
import { parseSemgrepJson, parseSemgrepSarif, type SemgrepRun } from "./semgrep-report.ts";
import { resolveScanner, type ToolEnvironment, toolPath } from "./tools.ts";

export interface SemgrepOptions {
  configs: string[];
  version: string;
  install: boolean;
  /** Only findings new since this commit (--baseline-commit). */
  baselineRef?: string;
  excludes: string[];
  /** The source folder scanned. */
  workDir: string;
  outputDir: string;
}

export interface SemgrepOutcome extends SemgrepRun {
  exitCode: number;
  jsonPath: string;
  sarifPath: string;
}

/** What semgrep's exit codes mean (semgrep/semgrep cli/src/semgrep/error.py). */
const exitMeanings: Record<number, string> = {
  2: "fatal error",
  3: "invalid code in a target file",
  4: "invalid rule pattern",
  5: "unparseable rule YAML",
  7: "missing config",
  8: "invalid language",
  13: "invalid API key",
  14: "scan failure",
};

/**
 * One `semgrep scan` run writing JSON and SARIF together, metrics off. Exit 0 (no blocking findings) and 1 (findings)
 * are scans; every other code is a scanner error, as are missing output files: never read as "no findings".
 */
export async function runSemgrep(options: SemgrepOptions, tools: ToolEnvironment): Promise<SemgrepOutcome> {
  const semgrep = await resolveScanner(
    "semgrep",
    {
      install: options.install,
      version: options.version,
      howToInstall: `pipx install semgrep==${options.version}`,
    },
    tools,
  );
  const jsonPath = join(options.outputDir, "semgrep.json");
  const sarifPath = join(options.outputDir, "semgrep.sarif");
  await mkdir(options.outputDir, { recursive: true });
  await rm(jsonPath, { force: true });
  await rm(sarifPath, { force: true });
  const args = ["scan"];
  for (const config of options.configs) args.push("--config", config);
  args.push(`--json-output=${jsonPath}`, `--sarif-output=${sarifPath}`, "--metrics", "off");
  for (const exclude of options.excludes) args.push("--exclude", exclude);
  if (options.baselineRef) args.push("--baseline-commit", options.baselineRef);
  // semgrep's own text output quotes the matched source lines (a hard-coded credential among them): not logged.
  tools.reporter.info(`semgrep ${args.join(" ")}`);
  const result = await tools.run(semgrep, args, {
    cwd: options.workDir,
    env: {
      ...tools.env,
      PATH: toolPath(tools),
      SEMGREP_SEND_METRICS: "off",
      SEMGREP_ENABLE_VERSION_CHECK: "0",
    },
    signal: tools.signal,
    tailLines: 20,
  });
  if (result.exitCode !== 0 && result.exitCode !== 1) {
    const meaning = exitMeanings[result.exitCode] ?? "error";
    throw new ToolkitError(
      `semgrep failed with exit code ${result.exitCode} (${meaning}); this is a scanner error, not a clean scan. Last lines:\n${result.tail.join("\n")}`,
    );
  }
  const json = await readOutput(jsonPath, "JSON", result.exitCode);
  const sarif = await readOutput(sarifPath, "SARIF", result.exitCode);
  const fromJson = parseSemgrepJson(json, `semgrep's JSON output ${jsonPath}`);
  const fromSarif = parseSemgrepSarif(sarif, `semgrep's SARIF output ${sarifPath}`);
  const known = new Set(fromJson.problems.map((problem) => problem.message));
  const problems = [
    ...fromJson.problems,
    ...fromSarif.problems.filter((problem) => !known.has(problem.message)),
  ];
  return { ...fromJson, problems, exitCode: result.exitCode, jsonPath, sarifPath };
}

async function readOutput(path: string, kind: string, exitCode: number): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new ToolkitError(
      `semgrep exited with code ${exitCode} but wrote no ${kind} output to ${path}; this is a scanner error, not a clean scan`,
    );
  }
}
