import { ToolkitError } from "../errors.ts";
import { type Vulnerability, vulnerabilitySeverity } from "./vulnerabilities.ts";

interface TrivyVulnerability {
  VulnerabilityID?: string;
  PkgName?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Severity?: string;
  Title?: string;
  PrimaryURL?: string;
}
interface TrivyReport {
  SchemaVersion?: number;
  ArtifactName?: string;
  Results?: Array<{ Target?: string; Vulnerabilities?: TrivyVulnerability[] | null }>;
}

export interface ParsedTrivyReport {
  artifact?: string;
  vulnerabilities: Vulnerability[];
}

/** A `trivy image --format json` report (SchemaVersion 2): every Results[].Vulnerabilities[] entry. */
export function parseTrivyReport(text: string, source = "trivy report"): ParsedTrivyReport {
  let report: TrivyReport;
  try {
    report = JSON.parse(text) as TrivyReport;
  } catch (error) {
    throw new ToolkitError(
      `${source} is not JSON (${(error as Error).message}); pass a report written by trivy --format json`,
    );
  }
  if (typeof report !== "object" || report === null || report.SchemaVersion !== 2) {
    throw new ToolkitError(
      `${source} is not a trivy JSON report of SchemaVersion 2 (found ${JSON.stringify(
        (report as TrivyReport | null)?.SchemaVersion,
      )}); write it with trivy image --format json`,
    );
  }
  const vulnerabilities: Vulnerability[] = [];
  for (const result of report.Results ?? []) {
    for (const found of result.Vulnerabilities ?? []) {
      vulnerabilities.push({
        id: found.VulnerabilityID ?? "unknown",
        package: found.PkgName ?? "unknown",
        installedVersion: found.InstalledVersion,
        fixedVersion: found.FixedVersion ?? "",
        severity: vulnerabilitySeverity(found.Severity),
        title: found.Title,
        url: found.PrimaryURL,
        source: "trivy",
      });
    }
  }
  return { artifact: report.ArtifactName, vulnerabilities };
}
