import type {
  AccountSnapshot,
  CheckOptions,
  FindingResource,
  Severity,
  Tags,
  TaskSnapshot,
} from "./model.ts";
import type { ServiceState } from "./service-state.ts";

/**
 * Records the result of one rule on one resource. `severity` lowers the rule's default for this finding only (a
 * digest-pinned image TAG004 cannot prove, an image the registry would not show); an override from the `rules`
 * input still wins.
 */
export type Emit = (
  ruleId: string,
  passed: boolean,
  resource: FindingResource,
  detail: string,
  severity?: Severity,
) => void;

export interface RuleContext {
  snapshot: AccountSnapshot;
  options: CheckOptions;
  emit: Emit;
}

/** Tag keys our pipelines set on every task definition; Version is the commit SHA. */
export const environmentKey = "Environment";
export const versionKey = "Version";

/** User tags only: `aws:` tags are set by AWS and cannot be edited. */
export const userTags = (tags: Tags) => Object.entries(tags).filter(([key]) => !key.startsWith("aws:"));

/** A key of `tags` equal to `key` but for case (`version` for `Version`), which AWS treats as another tag. */
export function caseVariant(tags: Tags, key: string): string | undefined {
  const lower = key.toLowerCase();
  return Object.keys(tags).find((candidate) => candidate !== key && candidate.toLowerCase() === lower);
}

/** Says which required keys are missing, and which of them exist in another case. */
export function missingKeys(tags: Tags, keys: readonly string[]): string[] {
  return keys
    .filter((key) => !(key in tags))
    .map((key) => {
      const variant = caseVariant(tags, key);
      return variant
        ? `${key} missing ('${variant}' differs only in case: tag keys are case-sensitive)`
        : `${key} missing`;
    });
}

/** `abcdef123456…` for a SHA in a sentence; other values in quotes. */
export const shortSha = (value: string) =>
  /^[0-9a-f]{40}$/.test(value)
    ? value.slice(0, 12)
    : `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;

/** `api:7` from a task definition ARN. */
export const revisionName = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

export const familyOf = (arn: string) => revisionName(arn).replace(/:\d+$/, "");

/**
 * What rules run over: a service with its state, or the standalone tasks of a cluster (RunTask, no service), or
 * tasks naming a service the snapshot does not hold. `revisions` are the revisions checked for this subject: those
 * the service deploys and those its running tasks use.
 */
export interface Subject {
  clusterName: string;
  serviceName?: string;
  state?: ServiceState;
  tasks: TaskSnapshot[];
  revisions: string[];
}
