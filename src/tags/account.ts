import type { CodeDeployClient } from "@aws-sdk/client-codedeploy";
import type { ECRClient } from "@aws-sdk/client-ecr";
import {
  type Cluster,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import { AccountReadError, AwsCalls, listAll } from "./calls.ts";
import { groupOf, readDeploymentGroups } from "./deployment-groups.ts";
import { readImages } from "./images.ts";
import type {
  AccountSnapshot,
  ClusterSnapshot,
  ReadStatistics,
  ServiceSnapshot,
  TaskSnapshot,
} from "./model.ts";
import { chunks, pool } from "./pool.ts";
import { describeTaskDefinition, familyHistory, lastSegment, tagMap } from "./task-definitions.ts";

/**
 * Reads what check-tags looks at, with batched and bounded calls: every list call at its largest page, every describe
 * call at its batch limit, one DescribeTaskDefinition per revision, all through one pool of `concurrency` calls.
 *
 * The theoretical minimum it reports is what the batch limits allow for what was found:
 *   ListClusters        ceil(clusters / 100)                      (only when no clusters are given)
 *   DescribeClusters    ceil(clusters / 100)
 *   ListServices        Σ cluster max(1, ceil(services_c / 100))  (only when no services are given)
 *   DescribeServices    Σ cluster ceil(services_c / 10)           (services given: ceil(given / 10) per cluster)
 *   ListTasks           Σ cluster max(1, ceil(tasks_c / 100))     (services given: Σ service max(1, ceil(tasks_s / 100)))
 *   DescribeTasks       Σ cluster ceil(tasks_c / 100)
 *   ListTaskDefinitions      one per family (maxResults = revision-history)
 *   DescribeTaskDefinition   one per revision in use or in a family's history
 *   ECR DescribeRepositories ceil(repositories / 100) per registry; DescribeImages Σ repository ceil(images_r / 100)
 *   CodeDeploy (only with CODE_DEPLOY services) ceil(applications / 100) ListApplications + per application
 *     ceil(groups / 100) ListDeploymentGroups + ceil(groups / 100) BatchGetDeploymentGroups
 * The reader makes exactly these calls unless a batch has to be split (an image or repository that does not exist
 * fails a whole DescribeImages/DescribeRepositories call), so calls = minimum + retries in the usual case.
 */
export interface ReadAccountOptions {
  ecs: ECSClient;
  ecr: ECRClient;
  codedeploy: CodeDeployClient;
  /** Names or ARNs; empty = every cluster. */
  clusters: string[];
  /** Names or ARNs; empty = every service of the clusters. */
  services: string[];
  concurrency: number;
  /** ACTIVE revisions per family read for the one-to-one rule. */
  revisionHistory: number;
  signal?: AbortSignal;
  /** Wall time source (default Date.now). */
  now?: () => number;
}

export interface AccountRead {
  snapshot: AccountSnapshot;
  statistics: ReadStatistics;
}

const ceil = (count: number, size: number) => Math.ceil(count / size);

interface ClusterWork {
  cluster: ClusterSnapshot;
  services: ServiceSnapshot[];
  taskArns: string[];
}

export async function readAccount(options: ReadAccountOptions): Promise<AccountRead> {
  const now = options.now ?? Date.now;
  const started = now();
  const calls = new AwsCalls(pool(options.concurrency), options.signal);
  const { ecs } = options;
  const minimum: Record<string, number> = {};
  const add = (operation: string, count: number) => {
    minimum[operation] = (minimum[operation] ?? 0) + count;
  };

  // Clusters.
  let clusterRefs = options.clusters;
  if (clusterRefs.length === 0) {
    clusterRefs = await listAll(async (nextToken) => {
      const page = await calls.send<{ clusterArns?: string[]; nextToken?: string }>(
        ecs,
        new ListClustersCommand({ maxResults: 100, nextToken }),
        { service: "ecs", resource: "the account" },
      );
      return { items: page.clusterArns ?? [], nextToken: page.nextToken };
    });
    add("ListClusters", Math.max(1, ceil(clusterRefs.length, 100)));
  }
  const clusters = await describeClusters(calls, ecs, clusterRefs, options.clusters.length > 0);
  add("DescribeClusters", ceil(clusterRefs.length, 100));

  // Services, then their tasks, cluster by cluster (all through the same pool).
  const servicesGiven = options.services.length > 0;
  const work: ClusterWork[] = await Promise.all(
    clusters.map(async (cluster) => {
      const serviceRefs = servicesGiven
        ? options.services.filter((ref) => inCluster(ref, cluster.name))
        : await listAll(async (nextToken) => {
            const page = await calls.send<{ serviceArns?: string[]; nextToken?: string }>(
              ecs,
              new ListServicesCommand({ cluster: cluster.arn, maxResults: 100, nextToken }),
              { service: "ecs", resource: `cluster ${cluster.name}` },
            );
            return { items: page.serviceArns ?? [], nextToken: page.nextToken };
          });
      if (!servicesGiven) add("ListServices", Math.max(1, ceil(serviceRefs.length, 100)));
      add("DescribeServices", ceil(serviceRefs.length, 10));
      const services = await describeServices(calls, ecs, cluster, serviceRefs);
      const taskArns = servicesGiven
        ? (
            await Promise.all(services.map((service) => listServiceTasks(calls, ecs, cluster, service, add)))
          ).flat()
        : await listClusterTasks(calls, ecs, cluster, add);
      return { cluster, services, taskArns };
    }),
  );
  const services = work.flatMap((item) => item.services);
  if (servicesGiven) {
    const missing = options.services.filter(
      (ref) => !services.some((service) => service.arn === ref || service.name === lastSegment(ref)),
    );
    if (missing.length) {
      throw new AccountReadError(
        `service${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found (or not ACTIVE) in cluster${clusters.length > 1 ? "s" : ""} ${clusters.map((cluster) => cluster.name).join(", ")} — check the services and clusters inputs`,
      );
    }
  }

  const tasks = (
    await Promise.all(
      work.map(async ({ cluster, services: inCluster, taskArns }) => {
        add("DescribeTasks", ceil(taskArns.length, 100));
        const described = await describeTasks(calls, ecs, cluster, taskArns);
        const names = new Set(inCluster.map((service) => service.name));
        return described.filter(
          (task) => task.desiredStatus === "RUNNING" && names.has(task.serviceName ?? ""),
        );
      }),
    )
  ).flat();

  // Task definitions in use, once per revision, and the recent ACTIVE revisions of their families.
  const inUse = new Set<string>();
  for (const service of services) {
    if (service.taskDefinitionArn) inUse.add(service.taskDefinitionArn);
    for (const set of service.taskSets) inUse.add(set.taskDefinitionArn);
    for (const deployment of service.deployments) inUse.add(deployment.taskDefinitionArn);
  }
  for (const task of tasks) inUse.add(task.taskDefinitionArn);
  const definitions = await Promise.all(
    [...inUse].filter(Boolean).map((arn) => describeTaskDefinition(calls, ecs, arn)),
  );
  add("DescribeTaskDefinition", definitions.length);
  const taskDefinitions = Object.fromEntries(definitions.map((definition) => [definition.arn, definition]));
  const families = [...new Set(definitions.map((definition) => definition.family))];
  add("ListTaskDefinitions", families.length);
  const familyRevisions: Record<string, string[]> = Object.fromEntries(
    await Promise.all(
      families.map(
        async (family): Promise<[string, string[]]> => [
          family,
          await familyHistory(calls, ecs, family, options.revisionHistory),
        ],
      ),
    ),
  );

  // The history's revisions not in use are read too: the one-to-one rule compares their Version tags.
  const history = [...new Set(Object.values(familyRevisions).flat())].filter((arn) => !taskDefinitions[arn]);
  add("DescribeTaskDefinition", history.length);
  for (const definition of await Promise.all(history.map((arn) => describeTaskDefinition(calls, ecs, arn)))) {
    taskDefinitions[definition.arn] = definition;
  }

  // Registry (images of the revisions in use) and deployment groups.
  const imageRefs = [
    ...new Set(definitions.flatMap((definition) => definition.containers.map((c) => c.image))),
  ];
  const images = await readImages(calls, options.ecr, imageRefs, add);
  if (services.some((service) => service.deploymentController === "CODE_DEPLOY")) {
    const groups = await readDeploymentGroups(calls, options.codedeploy, add);
    for (const service of services) service.deploymentGroup = groupOf(groups, service);
  }

  const total = Object.values(calls.counts.calls).reduce((sum, count) => sum + count, 0);
  return {
    snapshot: {
      clusters,
      services,
      tasks,
      taskDefinitions,
      familyRevisions,
      images,
    },
    statistics: {
      calls: calls.counts.calls,
      total,
      minimum: Object.values(minimum).reduce((sum, count) => sum + count, 0),
      throttled: calls.counts.retried,
      wallMs: now() - started,
    },
  };
}

/** Whether a service reference may name a service of this cluster: names and short ARNs may, long ARNs say. */
function inCluster(reference: string, clusterName: string): boolean {
  if (!reference.startsWith("arn:")) return true;
  const path = reference.slice(reference.indexOf(":service/") + ":service/".length).split("/");
  return path.length < 2 || path[0] === clusterName;
}

async function describeClusters(
  calls: AwsCalls,
  ecs: ECSClient,
  references: string[],
  given: boolean,
): Promise<ClusterSnapshot[]> {
  const batches = await Promise.all(
    chunks(references, 100).map((batch) =>
      calls.send<{ clusters?: Cluster[] }>(
        ecs,
        new DescribeClustersCommand({ clusters: batch, include: ["TAGS", "SETTINGS"] }),
        {
          service: "ecs",
          resource: `cluster${batch.length > 1 ? "s" : ""} ${batch.map(lastSegment).join(", ")}`,
        },
      ),
    ),
  );
  const found = batches.flatMap((batch) => batch.clusters ?? []);
  const active = found.filter((cluster) => cluster.status === "ACTIVE");
  if (given) {
    const missing = references.filter(
      (ref) =>
        !active.some((cluster) => cluster.clusterArn === ref || cluster.clusterName === lastSegment(ref)),
    );
    if (missing.length) {
      const region = await ecsRegion(ecs);
      throw new AccountReadError(
        `cluster${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found in region ${region} (DescribeClusters answered MISSING or INACTIVE) — check the clusters input and aws-region`,
      );
    }
  }
  return active.map((cluster) => ({
    arn: cluster.clusterArn ?? "",
    name: cluster.clusterName ?? "",
    tags: tagMap(cluster.tags),
    containerInsights: (cluster.settings ?? []).find((setting) => setting.name === "containerInsights")
      ?.value,
  }));
}

async function ecsRegion(ecs: ECSClient): Promise<string> {
  try {
    return await ecs.config.region();
  } catch {
    return "(unknown)";
  }
}

async function describeServices(
  calls: AwsCalls,
  ecs: ECSClient,
  cluster: ClusterSnapshot,
  references: string[],
): Promise<ServiceSnapshot[]> {
  const batches = await Promise.all(
    chunks(references, 10).map((batch) =>
      calls.send<{ services?: Service[] }>(
        ecs,
        new DescribeServicesCommand({ cluster: cluster.arn, services: batch, include: ["TAGS"] }),
        { service: "ecs", resource: `services of cluster ${cluster.name}` },
      ),
    ),
  );
  return batches
    .flatMap((batch) => batch.services ?? [])
    .filter((service) => service.status !== "INACTIVE")
    .map((service) => serviceSnapshot(cluster, service));
}

function serviceSnapshot(cluster: ClusterSnapshot, service: Service): ServiceSnapshot {
  const taskSets = (service.taskSets ?? []).map((set) => ({
    id: set.id ?? "",
    arn: set.taskSetArn ?? "",
    status: set.status ?? "",
    taskDefinitionArn: set.taskDefinition ?? "",
  }));
  const deployments = (service.deployments ?? []).map((deployment) => ({
    id: deployment.id ?? "",
    status: deployment.status ?? "",
    taskDefinitionArn: deployment.taskDefinition ?? "",
    rolloutState: deployment.rolloutState,
  }));
  const controller = service.deploymentController?.type ?? "ECS";
  const liveSets = taskSets.filter((set) => set.status !== "DRAINING").length;
  return {
    arn: service.serviceArn ?? "",
    name: service.serviceName ?? "",
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    status: service.status ?? "",
    deploymentController: controller,
    propagateTags: service.propagateTags ?? "NONE",
    enableECSManagedTags: service.enableECSManagedTags ?? false,
    tags: tagMap(service.tags),
    taskDefinitionArn: service.taskDefinition,
    taskSets: controller === "ECS" ? [] : taskSets,
    deployments: controller === "ECS" ? deployments : [],
    deploymentInProgress: controller === "ECS" ? deployments.length > 1 : liveSets > 1,
  };
}

async function listClusterTasks(
  calls: AwsCalls,
  ecs: ECSClient,
  cluster: ClusterSnapshot,
  add: (operation: string, count: number) => void,
): Promise<string[]> {
  const arns = await listAll(async (nextToken) => {
    const page = await calls.send<{ taskArns?: string[]; nextToken?: string }>(
      ecs,
      new ListTasksCommand({ cluster: cluster.arn, desiredStatus: "RUNNING", maxResults: 100, nextToken }),
      { service: "ecs", resource: `cluster ${cluster.name}` },
    );
    return { items: page.taskArns ?? [], nextToken: page.nextToken };
  });
  add("ListTasks", Math.max(1, ceil(arns.length, 100)));
  return arns;
}

/** Tasks of one service, task-set tasks of CODE_DEPLOY services included (they belong to the service too). */
async function listServiceTasks(
  calls: AwsCalls,
  ecs: ECSClient,
  cluster: ClusterSnapshot,
  service: ServiceSnapshot,
  add: (operation: string, count: number) => void,
): Promise<string[]> {
  const arns = await listAll(async (nextToken) => {
    const page = await calls.send<{ taskArns?: string[]; nextToken?: string }>(
      ecs,
      new ListTasksCommand({
        cluster: cluster.arn,
        serviceName: service.name,
        desiredStatus: "RUNNING",
        maxResults: 100,
        nextToken,
      }),
      { service: "ecs", resource: `service ${service.name} of cluster ${cluster.name}` },
    );
    return { items: page.taskArns ?? [], nextToken: page.nextToken };
  });
  add("ListTasks", Math.max(1, ceil(arns.length, 100)));
  return arns;
}

async function describeTasks(
  calls: AwsCalls,
  ecs: ECSClient,
  cluster: ClusterSnapshot,
  arns: string[],
): Promise<TaskSnapshot[]> {
  const batches = await Promise.all(
    chunks([...new Set(arns)], 100).map((batch) =>
      calls.send<{ tasks?: Task[] }>(
        ecs,
        new DescribeTasksCommand({ cluster: cluster.arn, tasks: batch, include: ["TAGS"] }),
        { service: "ecs", resource: `tasks of cluster ${cluster.name}` },
      ),
    ),
  );
  return batches.flatMap((batch) => batch.tasks ?? []).map((task) => taskSnapshot(cluster, task));
}

function taskSnapshot(cluster: ClusterSnapshot, task: Task): TaskSnapshot {
  const group = task.group ?? "";
  return {
    arn: task.taskArn ?? "",
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    serviceName: group.startsWith("service:") ? group.slice("service:".length) : undefined,
    taskDefinitionArn: task.taskDefinitionArn ?? "",
    startedBy: task.startedBy,
    lastStatus: task.lastStatus ?? "",
    desiredStatus: task.desiredStatus ?? "",
    tags: tagMap(task.tags),
    containers: (task.containers ?? []).map((container) => ({
      name: container.name ?? "",
      image: container.image ?? "",
      imageDigest: container.imageDigest,
    })),
    startedAt: task.startedAt,
  };
}
