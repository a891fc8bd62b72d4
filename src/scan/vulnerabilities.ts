/** The image gate's unit: one vulnerable package, whichever scanner reported it. */

export const vulnerabilitySeverities = [
  "CRITICAL",
  "HIGH",
  "MEDIUM",
  "LOW",
  "INFORMATIONAL",
  "UNDEFINED",
] as const;
export type VulnerabilitySeverity = (typeof vulnerabilitySeverities)[number];

export type VulnerabilitySource = "ecr-basic" | "ecr-enhanced" | "trivy";

export interface Vulnerability {
  id: string;
  package: string;
  installedVersion?: string;
  /** Empty when the scanner knows no fix; undefined when it does not report fixes at all (ECR basic). */
  fixedVersion?: string;
  severity: VulnerabilitySeverity;
  title?: string;
  url?: string;
  source: VulnerabilitySource;
}

/** Scanners spell "no rating" differently: trivy UNKNOWN, Inspector UNTRIAGED, ECR basic UNDEFINED. */
export function vulnerabilitySeverity(value: string | undefined): VulnerabilitySeverity {
  const upper = (value ?? "").toUpperCase();
  if (upper === "INFO") return "INFORMATIONAL";
  return (vulnerabilitySeverities as readonly string[]).includes(upper)
    ? (upper as VulnerabilitySeverity)
    : "UNDEFINED";
}

/** True when the finding has a fix to upgrade to; undefined when the source does not say. */
export function hasFix(vulnerability: Vulnerability): boolean | undefined {
  if (vulnerability.fixedVersion === undefined) return undefined;
  return vulnerability.fixedVersion.trim() !== "";
}

/** One entry per vulnerability id, package and installed version: ECR and trivy often report the same. */
export function mergeVulnerabilities(...lists: Vulnerability[][]): Vulnerability[] {
  const byKey = new Map<string, Vulnerability>();
  for (const vulnerability of lists.flat()) {
    const key = `${vulnerability.id}|${vulnerability.package}|${vulnerability.installedVersion ?? ""}`;
    const known = byKey.get(key);
    if (!known) byKey.set(key, vulnerability);
    else if (known.fixedVersion === undefined && vulnerability.fixedVersion !== undefined)
      byKey.set(key, { ...known, fixedVersion: vulnerability.fixedVersion });
  }
  return [...byKey.values()];
}

export function countBySeverity(vulnerabilities: Vulnerability[]): Record<VulnerabilitySeverity, number> {
  const counts = Object.fromEntries(vulnerabilitySeverities.map((severity) => [severity, 0])) as Record<
    VulnerabilitySeverity,
    number
  >;
  for (const vulnerability of vulnerabilities) counts[vulnerability.severity]++;
  return counts;
}
