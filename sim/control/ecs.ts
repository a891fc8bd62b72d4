import { clientError, list, paginate, required } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { serviceOperations } from "./ecs-services.ts";
import { taskOperations } from "./ecs-tasks.ts";
import { arn, type Cluster, date, type Sim, type Tag, type TaskDefinition } from "./state.ts";

/** ECS: clusters, task definitions and tags; services and tasks live in ecs-services.ts and ecs-tasks.ts. */

export function clusterName(reference: string | undefined): string {
  const value = reference || "default";
  return value.startsWith("arn:") ? value.slice(value.lastIndexOf("/") + 1) : value;
}

export function findCluster(sim: Sim, reference: string | undefined): Cluster {
  const cluster = sim.state.clusters[clusterName(reference)];
  if (cluster?.status !== "ACTIVE") throw clientError("ClusterNotFoundException", "Cluster not found.");
  return cluster;
}

export function createCluster(
  sim: Sim,
  name: string,
  tags: Tag[] = [],
  settings: Cluster["settings"] = [],
): Cluster {
  const existing = sim.state.clusters[name];
  if (existing?.status === "ACTIVE") return existing;
  const cluster: Cluster = {
    clusterArn: arn(sim, "ecs", `cluster/${name}`),
    clusterName: name,
    status: "ACTIVE",
    settings,
    createdAt: sim.clock.now(),
  };
  sim.state.clusters[name] = cluster;
  sim.state.tags[cluster.clusterArn] = tags;
  return cluster;
}

export function tagsOf(sim: Sim, resourceArn: string): Tag[] {
  return sim.state.tags[resourceArn] ?? [];
}

function clusterView(sim: Sim, cluster: Cluster, include: string[]) {
  const services = Object.values(sim.state.services).filter(
    (service) => service.clusterArn === cluster.clusterArn && service.status === "ACTIVE",
  );
  const tasks = Object.values(sim.state.tasks).filter((task) => task.clusterArn === cluster.clusterArn);
  return {
    clusterArn: cluster.clusterArn,
    clusterName: cluster.clusterName,
    status: cluster.status,
    activeServicesCount: services.length,
    runningTasksCount: tasks.filter((task) => task.lastStatus === "RUNNING").length,
    pendingTasksCount: tasks.filter((task) => ["PROVISIONING", "PENDING"].includes(task.lastStatus)).length,
    registeredContainerInstancesCount: 0,
    settings: cluster.settings,
    capacityProviders: ["FARGATE", "FARGATE_SPOT"],
    tags: include.includes("TAGS") ? tagsOf(sim, cluster.clusterArn) : undefined,
  };
}

export function parseTaskDefinitionReference(reference: string): { family: string; revision?: number } {
  const tail = reference.startsWith("arn:")
    ? reference.slice(reference.indexOf("task-definition/") + 16)
    : reference;
  const [family, revision] = tail.split(":");
  return { family: family ?? "", revision: revision ? Number(revision) : undefined };
}

export function findTaskDefinition(sim: Sim, reference: string): TaskDefinition {
  const { family, revision } = parseTaskDefinitionReference(reference);
  const revisions = Object.values(sim.state.taskDefinitions).filter((item) => item.family === family);
  const found =
    revision !== undefined
      ? revisions.find((item) => item.revision === revision)
      : revisions.filter((item) => item.status === "ACTIVE").sort((a, b) => b.revision - a.revision)[0];
  if (!found) throw clientError("ClientException", "Unable to describe task definition.");
  return found;
}

export function taskDefinitionView(definition: TaskDefinition) {
  return {
    ...definition.body,
    taskDefinitionArn: definition.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    status: definition.status,
    compatibilities: ["EC2", "FARGATE"],
    registeredAt: date(definition.registeredAt),
    registeredBy: "arn:aws:sts::000000000000:assumed-role/sim/sim",
    deregisteredAt: date(definition.deregisteredAt),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: RegisterTaskDefinition input as sent
export function registerTaskDefinition(sim: Sim, input: Record<string, any>): TaskDefinition {
  const family = required<string>(input.family, "family", "ClientException");
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
    throw clientError("ClientException", `Family contains invalid characters: ${family}`);
  }
  const containers = list(input.containerDefinitions);
  if (containers.length === 0) throw clientError("ClientException", "Container list cannot be empty.");
  const tags = list<Tag>(input.tags);
  checkTags(tags);
  const revisions = Object.values(sim.state.taskDefinitions).filter((item) => item.family === family);
  const revision = revisions.reduce((max, item) => Math.max(max, item.revision), 0) + 1;
  const { tags: _tags, ...body } = input;
  const definition: TaskDefinition = {
    taskDefinitionArn: arn(sim, "ecs", `task-definition/${family}:${revision}`),
    family,
    revision,
    status: "ACTIVE",
    body: {
      ...body,
      containerDefinitions: containers,
      volumes: body.volumes ?? [],
      placementConstraints: [],
    },
    registeredAt: sim.clock.now(),
  };
  sim.state.taskDefinitions[definition.taskDefinitionArn] = definition;
  sim.state.tags[definition.taskDefinitionArn] = tags;
  return definition;
}

function checkTags(tags: Tag[]): void {
  const user = tags.filter((tag) => !tag.key?.startsWith("aws:"));
  if (user.length > 50)
    throw clientError("InvalidParameterException", "Too many tags: at most 50 are allowed.");
  for (const tag of tags) {
    if (!tag.key) throw clientError("InvalidParameterException", "Tag keys must not be empty.");
  }
}

function resourceExists(sim: Sim, resourceArn: string): boolean {
  const state = sim.state;
  return Boolean(
    Object.values(state.clusters).some((item) => item.clusterArn === resourceArn) ||
      state.taskDefinitions[resourceArn] ||
      state.services[resourceArn] ||
      state.tasks[resourceArn],
  );
}

export function ecsOperations(sim: Sim): Operations {
  return {
    ...serviceOperations(sim),
    ...taskOperations(sim),
    CreateCluster: (input) => {
      const cluster = createCluster(
        sim,
        input.clusterName || "default",
        list(input.tags),
        list(input.settings),
      );
      return { cluster: clusterView(sim, cluster, ["TAGS"]) };
    },
    DeleteCluster: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const active = Object.values(sim.state.services).some(
        (service) => service.clusterArn === cluster.clusterArn && service.status === "ACTIVE",
      );
      if (active)
        throw clientError(
          "ClusterContainsServicesException",
          "The Cluster cannot be deleted while Services are active.",
        );
      cluster.status = "INACTIVE";
      return { cluster: clusterView(sim, cluster, []) };
    },
    DescribeClusters: (input) => {
      const names = list<string>(input.clusters);
      if (names.length > 100)
        throw clientError("InvalidParameterException", "clusters can have at most 100 items.");
      const include = list<string>(input.include);
      const clusters = [];
      const failures = [];
      for (const reference of names.length ? names : ["default"]) {
        const cluster = sim.state.clusters[clusterName(reference)];
        if (cluster) clusters.push(clusterView(sim, cluster, include));
        else failures.push({ arn: arn(sim, "ecs", `cluster/${clusterName(reference)}`), reason: "MISSING" });
      }
      return { clusters, failures };
    },
    ListClusters: (input) => {
      const arns = Object.values(sim.state.clusters)
        .filter((cluster) => cluster.status === "ACTIVE")
        .map((cluster) => cluster.clusterArn);
      const { page, nextToken } = paginate(arns, input.nextToken, input.maxResults, 100, 100);
      return { clusterArns: page, nextToken };
    },
    RegisterTaskDefinition: (input) => {
      const definition = registerTaskDefinition(sim, input);
      return {
        taskDefinition: taskDefinitionView(definition),
        tags: tagsOf(sim, definition.taskDefinitionArn),
      };
    },
    DescribeTaskDefinition: (input) => {
      const definition = findTaskDefinition(
        sim,
        required(input.taskDefinition, "taskDefinition", "ClientException"),
      );
      const withTags = list<string>(input.include).includes("TAGS");
      return {
        taskDefinition: taskDefinitionView(definition),
        tags: withTags ? tagsOf(sim, definition.taskDefinitionArn) : undefined,
      };
    },
    DeregisterTaskDefinition: (input) => {
      const reference = required<string>(input.taskDefinition, "taskDefinition", "ClientException");
      if (parseTaskDefinitionReference(reference).revision === undefined) {
        throw clientError("ClientException", "The specified task definition must include a revision.");
      }
      const definition = findTaskDefinition(sim, reference);
      definition.status = "INACTIVE";
      definition.deregisteredAt = sim.clock.now();
      return { taskDefinition: taskDefinitionView(definition) };
    },
    ListTaskDefinitions: (input) => {
      const status = input.status ?? "ACTIVE";
      const sorted = Object.values(sim.state.taskDefinitions)
        .filter(
          (item) =>
            item.status === status && (!input.familyPrefix || item.family.startsWith(input.familyPrefix)),
        )
        .sort((a, b) => a.family.localeCompare(b.family) || a.revision - b.revision);
      if (input.sort === "DESC") sorted.reverse();
      const arns = sorted.map((item) => item.taskDefinitionArn);
      const { page, nextToken } = paginate(arns, input.nextToken, input.maxResults, 100, 100);
      return { taskDefinitionArns: page, nextToken };
    },
    ListTaskDefinitionFamilies: (input) => {
      const status = input.status ?? "ACTIVE";
      const families = [
        ...new Set(
          Object.values(sim.state.taskDefinitions)
            .filter((item) => status === "ALL" || item.status === status)
            .filter((item) => !input.familyPrefix || item.family.startsWith(input.familyPrefix))
            .map((item) => item.family),
        ),
      ].sort();
      const { page, nextToken } = paginate(families, input.nextToken, input.maxResults, 100, 100);
      return { families: page, nextToken };
    },
    TagResource: (input) => {
      const resourceArn = required<string>(input.resourceArn, "resourceArn");
      if (!resourceExists(sim, resourceArn))
        throw clientError("ResourceNotFoundException", "The specified resource is not found.");
      const tags = list<Tag>(input.tags);
      if (tags.some((tag) => tag.key?.startsWith("aws:"))) {
        throw clientError("InvalidParameterException", "Tag keys with the aws: prefix are reserved.");
      }
      const current = new Map(tagsOf(sim, resourceArn).map((tag) => [tag.key, tag.value]));
      for (const tag of tags) current.set(tag.key, tag.value);
      const merged = [...current].map(([key, value]) => ({ key, value }));
      checkTags(merged);
      sim.state.tags[resourceArn] = merged;
      return {};
    },
    UntagResource: (input) => {
      const resourceArn = required<string>(input.resourceArn, "resourceArn");
      if (!resourceExists(sim, resourceArn))
        throw clientError("ResourceNotFoundException", "The specified resource is not found.");
      const keys = new Set(list<string>(input.tagKeys));
      sim.state.tags[resourceArn] = tagsOf(sim, resourceArn).filter((tag) => !keys.has(tag.key));
      return {};
    },
    ListTagsForResource: (input) => {
      const resourceArn = required<string>(input.resourceArn, "resourceArn");
      if (!resourceExists(sim, resourceArn))
        throw clientError("ResourceNotFoundException", "The specified resource is not found.");
      return { tags: tagsOf(sim, resourceArn) };
    },
  };
}
