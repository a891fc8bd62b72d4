import { readFile } from "node:fs/promises";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { Clock } from "../clock.ts";
import { ToolkitError } from "../errors.ts";
import { type EcrScanFindings, waitForScanFindings } from "./ecr-findings.ts";
import type { EcrImage } from "./ecr-image.ts";
import type { SastThreshold, VulnerabilityGateOptions } from "./gates.ts";
import { type GateDecision, isExcluded, sastGate, secretsGate, vulnerabilityGate } from "./gates.ts";
import type { GitleaksOptions } from "./gitleaks.ts";
import { runGitleaks } from "./gitleaks.ts";
import { inBaseline, parseGitleaksReport, type SecretFinding } from "./gitleaks-report.ts";
import {
  applyIgnores,
  entryMatchers,
  expiryWarnings,
  type Ignored,
  type IgnoreEntry,
} from "./ignore-file.ts";
import { runSemgrep, type SemgrepOptions } from "./semgrep.ts";
import { isScannerError, type SastFinding, type SemgrepProblem } from "./semgrep-report.ts";
import type { ToolEnvironment } from "./tools.ts";
import { runTrivy } from "./trivy.ts";
import { parseTrivyReport } from "./trivy-report.ts";
import { mergeVulnerabilities, type Vulnerability } from "./vulnerabilities.ts";

export type GateName = "sast" | "secrets" | "image";

/** One gate's outcome: `error` means the scanner failed, so the gate could not decide (never a pass). */
export interface GateResult<T> {
  gate: GateName;
  status: "passed" | "failed" | "error";
  /** The scanner error, when status is error. */
  error?: string;
  counts: Record<string, number>;
  /** Findings after baseline and ignores. */
  findings: T[];
  failing: T[];
  reasons: string[];
  ignored: Array<Ignored<T>>;
  notGated: T[];
  warnings: string[];
  /** Where the findings came from: semgrep, gitleaks, ECR basic scan, trivy report … */
  sources: string[];
}

export interface SastGateResult extends GateResult<SastFinding> {
  sarifPath?: string;
  problems: SemgrepProblem[];
}
export interface SecretsGateResult extends GateResult<SecretFinding> {
  inBaseline: number;
}
export interface ImageGateResult extends GateResult<Vulnerability> {
  ecr?: Omit<EcrScanFindings, "vulnerabilities">;
}

export interface ScanResult {
  result: "passed" | "failed";
  sast?: SastGateResult;
  secrets?: SecretsGateResult;
  image?: ImageGateResult;
  failedGates: GateName[];
}

export interface ScanOptions {
  sast?: SemgrepOptions & { failOn: SastThreshold };
  secrets?: GitleaksOptions & { baselineFile?: string };
  image?: VulnerabilityGateOptions & {
    image?: EcrImage;
    trivyReport?: string;
    runTrivy: boolean;
    maxWaitMs: number;
  };
  ignore: IgnoreEntry[];
}

export interface ScanDependencies {
  clock: Clock;
  tools: ToolEnvironment;
  ecr: () => ECRClient;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function empty<T>(gate: GateName): GateResult<T> {
  return {
    gate,
    status: "passed",
    counts: {},
    findings: [],
    failing: [],
    reasons: [],
    ignored: [],
    notGated: [],
    warnings: [],
    sources: [],
  };
}

function decide<T>(
  gate: GateName,
  found: T[],
  section: "sast" | "secrets" | "vulnerabilities",
  options: ScanOptions,
  now: Date,
  decision: (kept: T[]) => GateDecision<T>,
): GateResult<T> {
  const entries = options.ignore.filter((entry) => entry.section === section);
  const matcher = entryMatchers[section] as (entry: IgnoreEntry, finding: T) => boolean;
  const ignores = applyIgnores(found, entries, matcher, now);
  const decided = decision(ignores.kept);
  return {
    ...empty<T>(gate),
    status: decided.status,
    counts: decided.counts,
    findings: ignores.kept,
    failing: decided.failing,
    reasons: decided.reasons,
    notGated: decided.notGated,
    ignored: ignores.ignored,
    warnings: expiryWarnings(
      entries,
      now,
      ignores.expired.map((item) => item.entry),
    ),
  };
}

/** Scanner errors are kept per gate (the other gates still run and report); anything else is a bug and throws. */
async function guarded<R extends GateResult<unknown>>(
  gate: GateName,
  work: () => Promise<R>,
  extra: Partial<R>,
) {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ToolkitError)) throw error;
    return { ...empty(gate), ...extra, status: "error" as const, error: message(error) } as R;
  }
}

export async function sastScan(options: ScanOptions, deps: ScanDependencies): Promise<SastGateResult> {
  const sast = options.sast as NonNullable<ScanOptions["sast"]>;
  return guarded<SastGateResult>(
    "sast",
    async () => {
      const run = await runSemgrep(sast, deps.tools);
      const excluded = run.findings.filter((finding) => isExcluded(finding.path, sast.excludes));
      const found = run.findings.filter((finding) => !excluded.includes(finding));
      const result = decide("sast", found, "sast", options, deps.clock.now(), (kept) =>
        sastGate(kept, sast.failOn),
      );
      const errors = run.problems.filter(isScannerError);
      const warnings = run.problems
        .filter((problem) => !isScannerError(problem))
        .map(
          (problem) =>
            `semgrep ${problem.level}: ${problem.type}${problem.path ? ` in ${problem.path}` : ""}`,
        );
      return {
        ...result,
        status: errors.length ? "error" : result.status,
        error: errors.length
          ? `semgrep reported ${errors.length} error(s), so its findings may be incomplete: ${errors
              .map(
                (problem) =>
                  `${problem.type}${problem.rule ? ` (rule ${problem.rule})` : ""}${problem.path ? ` in ${problem.path}` : ""}: ${problem.message.split("\n")[0]}`,
              )
              .join("; ")}`
          : undefined,
        warnings: [...result.warnings, ...warnings],
        sources: [`semgrep ${run.version ?? ""}`.trim()],
        sarifPath: run.sarifPath,
        problems: run.problems,
      };
    },
    { problems: [] },
  );
}

export async function secretsScan(options: ScanOptions, deps: ScanDependencies): Promise<SecretsGateResult> {
  const secrets = options.secrets as NonNullable<ScanOptions["secrets"]>;
  return guarded<SecretsGateResult>(
    "secrets",
    async () => {
      const baseline = secrets.baselineFile
        ? parseGitleaksReport(
            await readBaseline(secrets.baselineFile),
            `secrets-baseline ${secrets.baselineFile}`,
          )
        : [];
      const run = await runGitleaks(secrets, deps.tools);
      const fresh = run.findings.filter((finding) => !inBaseline(finding, baseline));
      const result = decide("secrets", fresh, "secrets", options, deps.clock.now(), secretsGate);
      return {
        ...result,
        sources: [
          `gitleaks (${
            secrets.scope === "history"
              ? "whole history"
              : run.logOpts === "-1"
                ? "last commit"
                : `commits ${run.logOpts}`
          })`,
        ],
        inBaseline: run.findings.length - fresh.length,
      };
    },
    { inBaseline: 0 },
  );
}

async function readBaseline(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new ToolkitError(
      `secrets-baseline ${path} cannot be read; pass the path of a gitleaks JSON report`,
    );
  }
}

export async function imageScan(options: ScanOptions, deps: ScanDependencies): Promise<ImageGateResult> {
  const image = options.image as NonNullable<ScanOptions["image"]>;
  return guarded<ImageGateResult>(
    "image",
    async () => {
      const lists: Vulnerability[][] = [];
      const sources: string[] = [];
      let ecr: EcrScanFindings | undefined;
      if (image.image) {
        ecr = await waitForScanFindings(image.image, {
          client: deps.ecr(),
          clock: deps.clock,
          reporter: deps.tools.reporter,
          maxWaitMs: image.maxWaitMs,
          signal: deps.tools.signal,
        });
        lists.push(ecr.vulnerabilities);
        sources.push(`ECR ${ecr.kind} scan of ${image.image.reference}`);
      }
      if (image.trivyReport) {
        const text = await readFile(image.trivyReport, "utf8").catch(() => {
          throw new ToolkitError(
            `trivy-report ${image.trivyReport} cannot be read; pass the path trivy wrote`,
          );
        });
        lists.push(parseTrivyReport(text, `trivy-report ${image.trivyReport}`).vulnerabilities);
        sources.push(`trivy report ${image.trivyReport}`);
      } else if (image.runTrivy && image.image) {
        lists.push((await runTrivy(image.image.reference, deps.tools)).vulnerabilities);
        sources.push(`trivy image ${image.image.reference}`);
      }
      const result = decide(
        "image",
        mergeVulnerabilities(...lists),
        "vulnerabilities",
        options,
        deps.clock.now(),
        (kept) => vulnerabilityGate(kept, image),
      );
      const warnings = [...result.warnings];
      if (image.fixedOnly && ecr?.kind === "basic" && ecr.vulnerabilities.length)
        warnings.push("fixed-only: ECR basic scans report no fixed versions, so their findings stay gated");
      const { vulnerabilities: _, ...ecrSummary } = ecr ?? { vulnerabilities: [] };
      return { ...result, warnings, sources, ecr: ecr ? (ecrSummary as ImageGateResult["ecr"]) : undefined };
    },
    {},
  );
}

/** Runs the gates that are on, each independently, and says which failed. */
export async function scan(options: ScanOptions, deps: ScanDependencies): Promise<ScanResult> {
  const { reporter } = deps.tools;
  const result: ScanResult = { result: "passed", failedGates: [] };
  if (options.sast) result.sast = await reporter.group("SAST (semgrep)", () => sastScan(options, deps));
  if (options.secrets)
    result.secrets = await reporter.group("Secrets (gitleaks)", () => secretsScan(options, deps));
  if (options.image)
    result.image = await reporter.group("Image vulnerabilities", () => imageScan(options, deps));
  for (const gate of [result.sast, result.secrets, result.image]) {
    if (!gate) continue;
    for (const warning of gate.warnings) reporter.warning(warning);
    if (gate.status !== "passed") result.failedGates.push(gate.gate);
  }
  result.result = result.failedGates.length ? "failed" : "passed";
  return result;
}
