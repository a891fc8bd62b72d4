/**
 * What check-tags reads from the account (the snapshot) and what it concludes (findings). The reader (account.ts)
 * fills a snapshot with batched, bounded calls; the rules (rules.ts) are pure functions of a snapshot and options, so
 * each rule is unit-testable from a literal.
 */

/** Tags keyed by their exact key: `version` and `Version` are two different tags, as in AWS. */
export type Tags = Record<string, string>;

export interface ClusterSnapshot {
  arn: string;
  name: string;
  tags: Tags;
  /** The containerInsights setting: enabled, enhanced or disabled; undefined when the cluster has none. */
  containerInsights?: string;
}

export interface TaskSetSnapshot {
  id: string;
  arn: string;
  /** PRIMARY, ACTIVE or DRAINING. */
  status: string;
  taskDefinitionArn: string;
}

export interface DeploymentGroupSnapshot {
  applicationName: string;
  deploymentGroupName: string;
  autoRollbackEnabled: boolean;
  autoRollbackEvents: string[];
  alarmsEnabled: boolean;
  alarmNames: string[];
}

export interface ServiceSnapshot {
  arn: string;
  name: string;
  clusterArn: string;
  clusterName: string;
  status: string;
  /** ECS, CODE_DEPLOY or EXTERNAL. */
  deploymentController: string;
  /** TASK_DEFINITION, SERVICE or NONE (AWS omits it when NONE). */
  propagateTags: string;
  enableECSManagedTags: boolean;
  tags: Tags;
  /** The service's taskDefinition field (the PRIMARY revision for ECS-controller services). */
  taskDefinitionArn?: string;
  /** CODE_DEPLOY and EXTERNAL services. */
  taskSets: TaskSetSnapshot[];
  /** ECS-controller deployments: PRIMARY, ACTIVE (older, still draining) with their revision. */
  deployments: { id: string; status: string; taskDefinitionArn: string; rolloutState?: string }[];
  /** The CodeDeploy deployment group that deploys this service, when one was found. */
  deploymentGroup?: DeploymentGroupSnapshot;
  /** A CodeDeploy deployment of this service is in progress (blue/green: two task sets are expected). */
  deploymentInProgress: boolean;
}

export interface ContainerSnapshot {
  name: string;
  image: string;
  /** The digest the task actually runs (DescribeTasks containers[].imageDigest). */
  imageDigest?: string;
}

export interface TaskSnapshot {
  arn: string;
  clusterArn: string;
  clusterName: string;
  /** The service the task belongs to (from its group `service:<name>`), when it has one. */
  serviceName?: string;
  taskDefinitionArn: string;
  startedBy?: string;
  lastStatus: string;
  desiredStatus: string;
  tags: Tags;
  containers: ContainerSnapshot[];
  startedAt?: Date;
}

export interface TaskDefinitionSnapshot {
  arn: string;
  family: string;
  revision: number;
  /** ACTIVE, INACTIVE or DELETE_IN_PROGRESS: an INACTIVE revision may still run. */
  status: string;
  /** Tags from DescribeTaskDefinition's top-level `tags` (not inside taskDefinition). */
  tags: Tags;
  containers: { name: string; image: string }[];
}

/** What the registry says about an image reference `<repository>:<tag>` a container uses. */
export interface ImageSnapshot {
  /** `<registry>/<repository>:<tag>` exactly as the task definition names it. */
  reference: string;
  repositoryName: string;
  tag?: string;
  /** The digest the registry holds for that tag today; undefined when the tag is gone or was not read. */
  digest?: string;
  /** MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION; undefined when not read. */
  tagMutability?: string;
  /** Why the registry could not be read for this image (no ECR repository, access denied …). */
  unreadable?: string;
}

export interface AccountSnapshot {
  clusters: ClusterSnapshot[];
  services: ServiceSnapshot[];
  /** RUNNING tasks (desiredStatus RUNNING) of the services in scope. */
  tasks: TaskSnapshot[];
  /** Every revision in use (by a service, task set, deployment or running task), keyed by ARN. */
  taskDefinitions: Record<string, TaskDefinitionSnapshot>;
  /** The latest ACTIVE revisions of each family in scope (for the one-to-one rule), newest first. */
  familyRevisions: Record<string, string[]>;
  /** Keyed by image reference. */
  images: Record<string, ImageSnapshot>;
}

export type Severity = "error" | "warning" | "notice";

export interface RuleDefinition {
  id: string;
  title: string;
  severity: Severity;
  /** The existing control this rule corresponds to (Security Hub, AWS Config …) or "new". */
  anchor: string;
  /** One paragraph for the README: what is checked, why, how to fix. */
  description: string;
}

/** Where a finding points: the narrowest resource it is about. */
export interface FindingResource {
  clusterName: string;
  serviceName?: string;
  taskArn?: string;
  taskDefinitionArn?: string;
  image?: string;
  /** The ARN of the narrowest ECS resource the finding is about (task, task definition, service or cluster). */
  arn?: string;
  /** The task definition family, for the family-wide rule (TAG013). */
  family?: string;
}

export interface Finding {
  ruleId: string;
  /** The severity after overrides from the `rules` input. */
  severity: Severity;
  passed: boolean;
  resource: FindingResource;
  detail: string;
}

export interface RuleOverride {
  ruleId: string;
  action: "disable" | Severity;
  reason: string;
}

export interface CheckOptions {
  expectedEnvironment?: string;
  expectedSha?: string;
  requiredTagKeys: string[];
  allowedEnvironments: string[];
  /** Registry hosts or `<registry>/<repository>` prefixes images may come from; empty = any. */
  allowedImages: string[];
  overrides: RuleOverride[];
}

/** What reading the account cost: computed by the reader, shown by the report. */
export interface ReadStatistics {
  /** Calls per operation, e.g. `{ DescribeServices: 100, DescribeTasks: 100 }`. */
  calls: Record<string, number>;
  total: number;
  /** The fewest calls the batch limits allow for what was read. */
  minimum: number;
  /** Calls answered with a throttling error (and retried). */
  throttled: number;
  wallMs: number;
}
