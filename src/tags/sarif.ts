import type { Finding, RuleOverride, Severity } from "./model.ts";
import { subjectName } from "./report.ts";
import { ruleDefinitions } from "./rules.ts";

export const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

export interface SarifOptions {
  /** The README that documents the rules; each rule's helpUri is `<readmeUrl>#tag001`. */
  readmeUrl: string;
  /** The toolkit's version or commit, when known. */
  toolVersion?: string;
  overrides?: readonly RuleOverride[];
}

const level: Record<Severity, "error" | "warning" | "note"> = {
  error: "error",
  warning: "warning",
  notice: "note",
};

/** The ARN a finding points at: the narrowest ECS resource, else the cluster name. */
function logicalLocationOf(finding: Finding) {
  const { resource } = finding;
  const name = subjectName(finding);
  const fullyQualifiedName = resource.image
    ? `${resource.arn ?? `${resource.clusterName}/${resource.serviceName ?? ""}`}#${resource.image}`
    : (resource.arn ?? resource.taskArn ?? resource.taskDefinitionArn ?? resource.clusterName);
  return { name, fullyQualifiedName, kind: "resource" };
}

/**
 * Code scanning rejects a result without `physicalLocation.artifactLocation.uri` ("locationFromSarifResult: expected
 * artifact location"), and there is no source file behind a running task. So each result names a stable pseudo-path
 * per service (or task definition family, or cluster), as container scanners name the image: ECS names only hold
 * letters, digits, `-` and `_`, so the path is a valid relative URI. Tasks come and go; their service does not.
 */
export function artifactPathOf({ resource }: Finding): string {
  const family =
    resource.family ?? resource.taskDefinitionArn?.replace(/^.*task-definition\//, "").replace(/:\d+$/, "");
  if (resource.serviceName) return `ecs/${resource.clusterName}/services/${resource.serviceName}`;
  if (family) return `ecs/${resource.clusterName}/task-definitions/${family}`;
  return `ecs/${resource.clusterName}`;
}

/**
 * SARIF 2.1.0 with the failed findings as results: rules from ruleDefinitions (help at the README anchor), logical
 * locations carrying the ARN, physical locations on the service's pseudo-path (artifactPathOf).
 */
export function sarif(findings: readonly Finding[], options: SarifOptions) {
  const overrides = new Map((options.overrides ?? []).map((override) => [override.ruleId, override]));
  const rules = ruleDefinitions.map((rule) => {
    const override = overrides.get(rule.id);
    const severity = override && override.action !== "disable" ? override.action : rule.severity;
    return {
      id: rule.id,
      name: rule.title
        .replace(/<[^>]*>/g, " ")
        .split(/[^A-Za-z0-9]+/)
        .filter(Boolean)
        .map((word) => word[0]?.toUpperCase() + word.slice(1))
        .join(""),
      shortDescription: { text: rule.title },
      fullDescription: { text: rule.description },
      helpUri: `${options.readmeUrl}#${rule.id.toLowerCase()}`,
      help: { text: rule.description },
      defaultConfiguration: { level: level[severity], enabled: override?.action !== "disable" },
      properties: { anchor: rule.anchor, ...(override ? { override: override.reason } : {}) },
    };
  });
  const index = new Map(rules.map((rule, position) => [rule.id, position]));
  const results = findings
    .filter((finding) => !finding.passed)
    .map((finding) => {
      const location = logicalLocationOf(finding);
      return {
        ruleId: finding.ruleId,
        ruleIndex: index.get(finding.ruleId) ?? -1,
        level: level[finding.severity],
        message: { text: `${location.name}: ${finding.detail}` },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: artifactPathOf(finding) },
              region: { startLine: 1 },
            },
            logicalLocations: [location],
          },
        ],
        partialFingerprints: { resourceRule: `${finding.ruleId}:${location.fullyQualifiedName}` },
      };
    });
  return {
    $schema: sarifSchema,
    version: "2.1.0" as const,
    runs: [
      {
        tool: {
          driver: {
            name: "check-tags",
            informationUri: options.readmeUrl,
            ...(options.toolVersion ? { version: options.toolVersion } : {}),
            rules,
          },
        },
        results,
      },
    ],
  };
}
