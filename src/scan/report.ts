import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { GateResult, ScanResult } from "./scan.ts";

function gateReport<T>(gate: GateResult<T> | undefined, extra: Record<string, unknown> = {}) {
  if (!gate) return undefined;
  return {
    status: gate.status,
    error: gate.error,
    counts: gate.counts,
    reasons: gate.reasons,
    sources: gate.sources,
    failing: gate.failing,
    findings: gate.findings,
    ignored: gate.ignored.map(({ finding, entry }) => ({
      finding,
      reason: entry.reason,
      expires: entry.expires,
    })),
    notGated: gate.notGated,
    warnings: gate.warnings,
    ...extra,
  };
}

/** The machine-readable result: what the summary shows, with every finding. Secret values are never in it. */
export function scanReport(result: ScanResult, scannedAt: Date) {
  return {
    result: result.result,
    failedGates: result.failedGates,
    scannedAt: scannedAt.toISOString(),
    gates: {
      sast: gateReport(result.sast, { sarif: result.sast?.sarifPath, problems: result.sast?.problems }),
      secrets: gateReport(result.secrets, { inBaseline: result.secrets?.inBaseline }),
      image: gateReport(result.image, { ecr: result.image?.ecr }),
    },
  };
}

export async function writeScanReport(path: string, result: ScanResult, scannedAt: Date): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(scanReport(result, scannedAt), null, 2)}\n`);
}
