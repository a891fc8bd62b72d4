import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as core from "@actions/core";
import { ecrClient } from "../aws/clients.ts";
import { systemClock } from "../clock.ts";
import { InputError } from "../errors.ts";
import { runCommand } from "../process/command.ts";
import { parseEcrImage } from "../scan/ecr-image.ts";
import { parseSastThreshold, parseThresholds } from "../scan/gates.ts";
import { type IgnoreEntry, parseIgnoreFile } from "../scan/ignore-file.ts";
import { writeScanReport } from "../scan/report.ts";
import { type ScanOptions, type ScanResult, scan } from "../scan/scan.ts";
import { scanAnnotations, scanSummary } from "../scan/summary.ts";
import type { ToolEnvironment } from "../scan/tools.ts";
import { trivyOnPath } from "../scan/trivy.ts";
import {
  actionReporter,
  cancellationSignal,
  finishStage,
  type GitHubRun,
  gitHubRun,
  type Inputs,
  runnerInputs,
  type StageResult,
} from "./shell.ts";

async function ignoreEntries(path: string, workspace: string): Promise<IgnoreEntry[]> {
  if (!path) return [];
  const file = resolve(workspace, path);
  const text = await readFile(file, "utf8").catch(() => {
    throw new InputError(`ignore-file ${path} cannot be read; pass a path relative to the workspace`);
  });
  return parseIgnoreFile(text, path).entries;
}

function positiveNumber(inputs: Inputs, name: string): number {
  const value = Number(inputs.text(name));
  if (!Number.isFinite(value) || value < 0)
    throw new InputError(`input ${name} is '${inputs.text(name)}'; use a number of minutes`);
  return value;
}

/** Every input read and validated before the first scanner runs. */
export async function scanOptions(
  inputs: Inputs,
  github: GitHubRun,
  tools: ToolEnvironment,
  outputDir: string,
) {
  const workDir = resolve(github.workspace, inputs.text("working-directory") || ".");
  const baselineRef = inputs.text("baseline-ref") || undefined;
  const install = inputs.boolean("install");
  const options: ScanOptions = { ignore: await ignoreEntries(inputs.text("ignore-file"), github.workspace) };
  if (inputs.boolean("sast")) {
    options.sast = {
      configs: inputs.list("semgrep-config"),
      version: inputs.text("semgrep-version"),
      install,
      baselineRef,
      excludes: inputs.list("ignore-paths"),
      workDir,
      outputDir,
      failOn: parseSastThreshold(inputs.text("sast-fail-on")),
    };
    if (!options.sast.configs.length)
      throw new InputError("input semgrep-config is empty; name a rule set (p/default)");
  }
  if (inputs.boolean("secrets")) {
    const baseline = inputs.text("secrets-baseline");
    options.secrets = {
      version: inputs.text("gitleaks-version"),
      install,
      scope: inputs.choice("secrets-scope", ["change", "history"] as const),
      baselineRef,
      workDir,
      baselineFile: baseline ? resolve(github.workspace, baseline) : undefined,
    };
  }
  const imageInput = inputs.text("image");
  const trivyReport = inputs.text("trivy-report");
  const trivy = inputs.choice("trivy", ["true", "false", "auto"] as const);
  const thresholds = parseThresholds(inputs.list("fail-on"), inputs.list("max-counts"));
  const fixedOnly = inputs.boolean("fixed-only");
  const maxWaitMs = positiveNumber(inputs, "scan-wait-minutes") * 60_000;
  if (imageInput || trivyReport || trivy === "true") {
    const image = imageInput ? parseEcrImage(imageInput) : undefined;
    if (trivy === "true" && !image && !trivyReport)
      throw new InputError("trivy: true needs the image input (the image trivy scans)");
    options.image = {
      image,
      trivyReport: trivyReport ? resolve(github.workspace, trivyReport) : undefined,
      runTrivy: trivy === "true" || (trivy === "auto" && !trivyReport && (await trivyOnPath(tools))),
      thresholds,
      fixedOnly,
      maxWaitMs,
    };
  }
  if (!options.sast && !options.secrets && !options.image)
    throw new InputError("every gate is off; set sast or secrets to true, or pass image or trivy-report");
  return options;
}

function writeAnnotations(result: ScanResult) {
  for (const annotation of scanAnnotations(result)) {
    const properties: core.AnnotationProperties = { title: annotation.title };
    if (annotation.file) {
      properties.file = annotation.file;
      properties.startLine = annotation.startLine;
      properties.endLine = annotation.endLine;
    }
    if (annotation.level === "error") core.error(annotation.message, properties);
    else if (annotation.level === "warning") core.warning(annotation.message, properties);
    else core.notice(annotation.message, properties);
  }
}

/** The scanners' helpers: where tools are installed, how they run, the step's cancellation. */
export function scanTools(github: GitHubRun, signal: AbortSignal): ToolEnvironment {
  return {
    env: process.env,
    toolsDir: join(github.tempDir, "scan-tools"),
    run: runCommand,
    reporter: actionReporter,
    signal,
  };
}

export const scanOutputDir = (inputs: Inputs, github: GitHubRun) =>
  resolve(github.workspace, inputs.text("output-dir") || join(github.tempDir, "scan"));

/** Runs the gates; annotations and its summary section are written, a failed gate is the stage's failure. */
export async function scanStage(
  options: ScanOptions,
  context: { github: GitHubRun; tools: ToolEnvironment; outputDir: string; region?: string },
): Promise<StageResult> {
  const { github, tools, outputDir } = context;
  const awsRegion = context.region || options.image?.image?.region || undefined;
  const result = await scan(options, {
    clock: systemClock,
    tools,
    ecr: () => ecrClient(awsRegion ? { region: awsRegion } : {}),
  });

  const reportPath = join(outputDir, "scan-report.json");
  await writeScanReport(reportPath, result, systemClock.now());
  writeAnnotations(result);
  const links = {
    file: (path: string, line: number, commit = github.sha) =>
      `${github.repositoryUrl}/blob/${commit}/${path}#L${line}`,
    commit: github.commitUrl,
  };
  const summary = core.summary.addHeading("scan", 3);
  for (const section of scanSummary(result, links)) {
    summary
      .addHeading(section.heading, 4)
      .addTable(
        section.rows.map((row, index) => (index ? row : row.map((data) => ({ data, header: true })))),
      );
    if (section.note) summary.addRaw(`<p>${section.note}</p>`);
  }
  await summary.write();
  const why = [result.sast, result.secrets, result.image]
    .filter((gate) => gate && gate.status !== "passed")
    .map((gate) => `${gate?.gate}: ${gate?.error ?? gate?.reasons.join("; ")}`);
  return {
    outputs: {
      result: result.result,
      "failed-gates": result.failedGates.join(","),
      report: reportPath,
      sarif: result.sast?.sarifPath ?? "",
      "sast-findings": String(result.sast?.failing.length ?? 0),
      "secrets-findings": String(result.secrets?.failing.length ?? 0),
      "vulnerability-findings": String(result.image?.failing.length ?? 0),
      "vulnerability-counts": JSON.stringify(result.image?.counts ?? {}),
    },
    failure: result.result === "failed" ? `scan failed — ${why.join(" | ")}` : undefined,
  };
}

export async function run(): Promise<void> {
  const github = gitHubRun();
  const inputs = runnerInputs;
  const tools = scanTools(github, cancellationSignal());
  const outputDir = scanOutputDir(inputs, github);
  const options = await scanOptions(inputs, github, tools, outputDir);
  const result = await scanStage(options, { github, tools, outputDir, region: inputs.text("aws-region") });
  await finishStage(result, github);
}
