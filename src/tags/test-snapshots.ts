import { createHash } from "node:crypto";
import type {
  AccountSnapshot,
  CheckOptions,
  ClusterSnapshot,
  DeploymentGroupSnapshot,
  ImageSnapshot,
  ServiceSnapshot,
  Tags,
  TaskDefinitionSnapshot,
  TaskSnapshot,
} from "./model.ts";

/**
 * Literal account snapshots for the rules' tests: a healthy account built from a few calls, which a test then breaks
 * in one place. Everything is deterministic (ARNs, digests, task ids).
 */

export const account = "123456789012";
export const region = "ca-central-1";
export const registry = `${account}.dkr.ecr.${region}.amazonaws.com`;
export const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
export const otherSha = "0c5c1b4b9d0e3a2f61d7a8e9b0c1d2e3f4a5b6c7";
export const thirdSha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

const arnPrefix = `arn:aws:ecs:${region}:${account}`;
export const clusterArn = (cluster: string) => `${arnPrefix}:cluster/${cluster}`;
export const serviceArn = (cluster: string, service: string) => `${arnPrefix}:service/${cluster}/${service}`;
export const taskArn = (cluster: string, id: string) => `${arnPrefix}:task/${cluster}/${id}`;
export const taskDefinitionArn = (family: string, revision: number) =>
  `${arnPrefix}:task-definition/${family}:${revision}`;
export const digestOf = (image: string) => `sha256:${createHash("sha256").update(image).digest("hex")}`;
export const imageOf = (component: string, environment: string, commit: string) =>
  `${registry}/valmetal/${component}:${environment}-${commit}`;

export function cluster(name = "prod", overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    arn: clusterArn(name),
    name,
    tags: { Environment: "prod", Application: "valmetal" },
    containerInsights: "enabled",
    ...overrides,
  };
}

export interface RevisionOptions {
  sha?: string;
  environment?: string;
  component?: string;
  status?: string;
  /** Replaces the four traceability tags entirely. */
  tags?: Tags;
  images?: string[];
}

/** A revision as deploy-ecs registers it: tags Environment, Application, Component, Version and the commit's image. */
export function revision(
  family: string,
  number: number,
  options: RevisionOptions = {},
): TaskDefinitionSnapshot {
  const commit = options.sha ?? sha;
  const environment = options.environment ?? "prod";
  const component = options.component ?? family;
  const images = options.images ?? [imageOf(component, environment, commit)];
  return {
    arn: taskDefinitionArn(family, number),
    family,
    revision: number,
    status: options.status ?? "ACTIVE",
    tags: options.tags ?? {
      Environment: environment,
      Application: "valmetal",
      Component: component,
      Version: commit,
    },
    containers: images.map((image, index) => ({
      name: index === 0 ? component : `${component}-${index}`,
      image,
    })),
  };
}

export const deploymentGroup = (
  overrides: Partial<DeploymentGroupSnapshot> = {},
): DeploymentGroupSnapshot => ({
  applicationName: "valmetal-prod",
  deploymentGroupName: "api",
  autoRollbackEnabled: true,
  autoRollbackEvents: ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
  alarmsEnabled: true,
  alarmNames: ["api-5xx", "api-latency-p95"],
  ...overrides,
});

/** A CODE_DEPLOY service with one PRIMARY task set per revision given (more task sets via `taskSets`). */
export function service(
  name: string,
  primary: TaskDefinitionSnapshot,
  overrides: Partial<ServiceSnapshot> = {},
  clusterName = "prod",
): ServiceSnapshot {
  return {
    arn: serviceArn(clusterName, name),
    name,
    clusterArn: clusterArn(clusterName),
    clusterName,
    status: "ACTIVE",
    deploymentController: "CODE_DEPLOY",
    propagateTags: "TASK_DEFINITION",
    enableECSManagedTags: true,
    tags: { Environment: "prod", Application: "valmetal", Component: name },
    taskDefinitionArn: primary.arn,
    taskSets: [
      {
        id: `ecs-svc/${name}-1`,
        arn: `${serviceArn(clusterName, name)}/ts-1`,
        status: "PRIMARY",
        taskDefinitionArn: primary.arn,
      },
    ],
    deployments: [],
    deploymentGroup: deploymentGroup({ deploymentGroupName: name }),
    deploymentInProgress: false,
    ...overrides,
  };
}

/** An ECS-controller (rolling) service with one PRIMARY deployment. */
export function rollingService(
  name: string,
  primary: TaskDefinitionSnapshot,
  overrides: Partial<ServiceSnapshot> = {},
): ServiceSnapshot {
  const { deploymentGroup: _ignored, ...base } = service(name, primary);
  return {
    ...base,
    deploymentController: "ECS",
    taskSets: [],
    deployments: [
      {
        id: `ecs-svc/${name}-d1`,
        status: "PRIMARY",
        taskDefinitionArn: primary.arn,
        rolloutState: "COMPLETED",
      },
    ],
    ...overrides,
  };
}

let taskCounter = 0;

/** A RUNNING task of a revision, tagged as ECS tags it when the service propagates tags and manages them. */
export function task(
  revisionSnapshot: TaskDefinitionSnapshot,
  serviceName: string | undefined,
  overrides: Partial<TaskSnapshot> = {},
  clusterName = "prod",
): TaskSnapshot {
  taskCounter += 1;
  const id = `${taskCounter.toString(16).padStart(8, "0")}a1b2c3d4e5f6a7b8c9d0e1f2`;
  const managed: Tags = { "aws:ecs:clusterName": clusterName };
  if (serviceName !== undefined) managed["aws:ecs:serviceName"] = serviceName;
  return {
    arn: taskArn(clusterName, id),
    clusterArn: clusterArn(clusterName),
    clusterName,
    ...(serviceName !== undefined ? { serviceName } : {}),
    taskDefinitionArn: revisionSnapshot.arn,
    ...(serviceName !== undefined ? { startedBy: `ecs-svc/${serviceName}-1` } : {}),
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    tags: { ...revisionSnapshot.tags, ...managed },
    containers: revisionSnapshot.containers.map((container) => ({
      name: container.name,
      image: container.image,
      imageDigest: digestOf(container.image),
    })),
    startedAt: new Date("2026-03-02T10:00:00Z"),
    ...overrides,
  };
}

/**
 * Assembles a snapshot: task definitions keyed by ARN, each family's ACTIVE revisions newest first, and every image
 * the revisions name as an IMMUTABLE ECR image whose tag holds the digest the tasks run.
 */
export function snapshot(parts: {
  clusters?: ClusterSnapshot[];
  services?: ServiceSnapshot[];
  tasks?: TaskSnapshot[];
  revisions: TaskDefinitionSnapshot[];
  images?: Record<string, Partial<ImageSnapshot>>;
}): AccountSnapshot {
  const taskDefinitions = Object.fromEntries(parts.revisions.map((item) => [item.arn, item]));
  const familyRevisions: Record<string, string[]> = {};
  for (const item of [...parts.revisions].sort((a, b) => b.revision - a.revision)) {
    if (item.status !== "ACTIVE") continue;
    familyRevisions[item.family] = [...(familyRevisions[item.family] ?? []), item.arn];
  }
  const images: Record<string, ImageSnapshot> = {};
  for (const item of parts.revisions) {
    for (const container of item.containers) {
      const reference = container.image;
      const [path = "", tag] = reference.replace(/@.*$/, "").split(/:(?=[^/:]*$)/);
      images[reference] = {
        reference,
        repositoryName: path.slice(path.indexOf("/") + 1),
        ...(tag ? { tag } : {}),
        digest: digestOf(reference),
        tagMutability: "IMMUTABLE",
        ...parts.images?.[reference],
      };
    }
  }
  return {
    clusters: parts.clusters ?? [cluster()],
    services: parts.services ?? [],
    tasks: parts.tasks ?? [],
    taskDefinitions,
    familyRevisions,
    images,
  };
}

export function checkOptions(overrides: Partial<CheckOptions> = {}): CheckOptions {
  return {
    requiredTagKeys: ["Environment", "Application", "Component", "Version"],
    allowedEnvironments: ["dev", "staging", "prod"],
    allowedImages: [],
    overrides: [],
    ...overrides,
  };
}

/** One healthy CODE_DEPLOY service `api` with its revision 7 and `tasks` running tasks: every rule passes. */
export function healthyAccount(tasks = 2): AccountSnapshot {
  const api = revision("api", 7);
  return snapshot({
    services: [service("api", api)],
    tasks: Array.from({ length: tasks }, () => task(api, "api")),
    revisions: [api],
  });
}
