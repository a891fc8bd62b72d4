import { bool, clientError, list, num, paginate, required } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { clusterName, findCluster, findTaskDefinition, tagsOf } from "./ecs.ts";
import {
  arn,
  date,
  hex,
  type LoadBalancerBinding,
  type Service,
  type Sim,
  type Tag,
  type TaskSet,
} from "./state.ts";

/** ECS services: creation, updates (refused for the task definition of CODE_DEPLOY services), describe, list. */

export function findService(sim: Sim, clusterReference: string | undefined, reference: string): Service {
  const cluster = findCluster(sim, clusterReference);
  const name = reference.startsWith("arn:") ? reference.slice(reference.lastIndexOf("/") + 1) : reference;
  const service = sim.state.services[`${cluster.clusterArn.replace(":cluster/", ":service/")}/${name}`];
  if (!service) throw clientError("ServiceNotFoundException", "Service not found.");
  return service;
}

export function newTaskSet(
  sim: Sim,
  service: Service,
  taskDefinition: string,
  options: Partial<Pick<TaskSet, "externalId" | "startedBy" | "status" | "scale" | "loadBalancers">> = {},
): TaskSet {
  const id = `ecs-svc/${BigInt(`0x${hex(8)}`) % 10n ** 19n}`.padEnd(27, "0");
  const now = sim.clock.now();
  const cluster = clusterName(service.clusterArn);
  return {
    id,
    taskSetArn: arn(sim, "ecs", `task-set/${cluster}/${service.serviceName}/${id}`),
    status: options.status ?? "PRIMARY",
    taskDefinition,
    externalId: options.externalId,
    startedBy: options.startedBy,
    scale: options.scale ?? 100,
    loadBalancers: options.loadBalancers ?? service.loadBalancers,
    stabilityStatus: "STABILIZING",
    stabilityStatusAt: now,
    createdAt: now,
    updatedAt: now,
    networkConfiguration: service.networkConfiguration,
  };
}

export const computedDesiredCount = (service: Service, taskSet: TaskSet): number =>
  taskSet.deleted || service.status !== "ACTIVE"
    ? 0
    : Math.ceil((service.desiredCount * taskSet.scale) / 100);

export function primaryTaskSet(service: Service): TaskSet | undefined {
  return service.taskSets.find((set) => set.status === "PRIMARY" && !set.deleted);
}

function countTasks(sim: Sim, service: Service, taskSet?: TaskSet) {
  const tasks = Object.values(sim.state.tasks).filter(
    (task) => task.serviceArn === service.serviceArn && (!taskSet || task.taskSetId === taskSet.id),
  );
  return {
    runningCount: tasks.filter((task) => task.lastStatus === "RUNNING" && task.desiredStatus === "RUNNING")
      .length,
    pendingCount: tasks.filter((task) => ["PROVISIONING", "PENDING"].includes(task.lastStatus)).length,
  };
}

export function taskSetView(sim: Sim, service: Service, taskSet: TaskSet) {
  return {
    id: taskSet.id,
    taskSetArn: taskSet.taskSetArn,
    serviceArn: service.serviceArn,
    clusterArn: service.clusterArn,
    startedBy: taskSet.startedBy,
    externalId: taskSet.externalId,
    status: taskSet.status,
    taskDefinition: taskSet.taskDefinition,
    computedDesiredCount: computedDesiredCount(service, taskSet),
    ...countTasks(sim, service, taskSet),
    createdAt: date(taskSet.createdAt),
    updatedAt: date(taskSet.updatedAt),
    launchType: service.launchType,
    platformVersion: service.platformVersion ?? "1.4.0",
    networkConfiguration: taskSet.networkConfiguration,
    loadBalancers: taskSet.loadBalancers,
    serviceRegistries: [],
    scale: { value: taskSet.scale, unit: "PERCENT" },
    stabilityStatus: taskSet.stabilityStatus,
    stabilityStatusAt: date(taskSet.stabilityStatusAt),
    tags: [],
  };
}

function deploymentView(sim: Sim, service: Service, taskSet: TaskSet) {
  const counts = countTasks(sim, service, taskSet);
  const desired = computedDesiredCount(service, taskSet);
  return {
    id: taskSet.id,
    status: taskSet.status,
    taskDefinition: taskSet.taskDefinition,
    desiredCount: desired,
    ...counts,
    failedTasks: taskSet.failedTasks ?? 0,
    createdAt: date(taskSet.createdAt),
    updatedAt: date(taskSet.updatedAt),
    launchType: service.launchType,
    platformVersion: service.platformVersion ?? "1.4.0",
    networkConfiguration: taskSet.networkConfiguration,
    ...(service.deploymentController === "ECS"
      ? {
          rolloutState: taskSet.rolloutState ?? "IN_PROGRESS",
          rolloutStateReason:
            taskSet.rolloutStateReason ??
            (taskSet.rolloutState === "COMPLETED"
              ? `ECS deployment ${taskSet.id} completed.`
              : `ECS deployment ${taskSet.id} in progress.`),
        }
      : {}),
  };
}

export function serviceView(sim: Sim, service: Service, include: string[] = []) {
  const live = service.taskSets.filter((set) => !set.deleted);
  const primary = primaryTaskSet(service);
  const external = service.deploymentController !== "ECS";
  return {
    serviceArn: service.serviceArn,
    serviceName: service.serviceName,
    clusterArn: service.clusterArn,
    loadBalancers: service.loadBalancers,
    serviceRegistries: [],
    status: service.status,
    desiredCount: service.desiredCount,
    ...countTasks(sim, service),
    launchType: service.launchType,
    platformVersion: service.platformVersion ?? "1.4.0",
    taskDefinition: primary?.taskDefinition,
    deploymentConfiguration: service.deploymentConfiguration ?? {
      maximumPercent: 200,
      minimumHealthyPercent: 100,
    },
    taskSets: external ? live.map((set) => taskSetView(sim, service, set)) : undefined,
    deployments: live.map((set) => deploymentView(sim, service, set)),
    events: service.events
      .slice(-100)
      .reverse()
      .map((event) => ({ ...event, createdAt: date(event.createdAt) })),
    createdAt: date(service.createdAt),
    placementConstraints: [],
    placementStrategy: [],
    networkConfiguration: service.networkConfiguration,
    healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds,
    schedulingStrategy: service.schedulingStrategy,
    deploymentController: { type: service.deploymentController },
    tags: include.includes("TAGS") ? tagsOf(sim, service.serviceArn) : undefined,
    createdBy: `arn:aws:iam::${sim.state.settings.accountId}:role/sim`,
    enableECSManagedTags: service.enableECSManagedTags,
    propagateTags: service.propagateTags,
    enableExecuteCommand: false,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: CreateService input as sent
export function createService(sim: Sim, input: Record<string, any>): Service {
  const cluster = findCluster(sim, input.cluster);
  const name = required<string>(input.serviceName, "serviceName");
  const serviceArn = `${cluster.clusterArn.replace(":cluster/", ":service/")}/${name}`;
  const existing = sim.state.services[serviceArn];
  if (existing && existing.status !== "INACTIVE") {
    throw clientError("InvalidParameterException", "Creation of service was not idempotent.");
  }
  const controller = input.deploymentController?.type ?? "ECS";
  const reference = input.taskDefinition as string | undefined;
  if (!reference && controller !== "EXTERNAL")
    throw clientError("InvalidParameterException", "taskDefinition is required");
  const definition = reference ? findTaskDefinition(sim, reference) : undefined;
  const propagateTags = input.propagateTags ?? "NONE";
  const loadBalancers: LoadBalancerBinding[] = list<LoadBalancerBinding>(input.loadBalancers).map(
    (binding) => ({
      ...binding,
      containerPort: Number(binding.containerPort),
    }),
  );
  for (const binding of loadBalancers) {
    if (binding.targetGroupArn && !sim.state.targetGroups[binding.targetGroupArn]) {
      throw clientError("InvalidParameterException", `target group ${binding.targetGroupArn} does not exist`);
    }
  }
  const tags = list<Tag>(input.tags);
  const service: Service = {
    serviceArn,
    serviceName: name,
    clusterArn: cluster.clusterArn,
    status: "ACTIVE",
    desiredCount: num(input.desiredCount) ?? (input.schedulingStrategy === "DAEMON" ? 1 : 0),
    launchType: input.launchType ?? "FARGATE",
    deploymentController: controller,
    propagateTags,
    enableECSManagedTags: bool(input.enableECSManagedTags) ?? false,
    loadBalancers,
    networkConfiguration: input.networkConfiguration,
    deploymentConfiguration: input.deploymentConfiguration,
    platformVersion: input.platformVersion,
    healthCheckGracePeriodSeconds: num(input.healthCheckGracePeriodSeconds),
    schedulingStrategy: input.schedulingStrategy ?? "REPLICA",
    createdAt: sim.clock.now(),
    taskSets: [],
    events: [],
  };
  if (definition) service.taskSets.push(newTaskSet(sim, service, definition.taskDefinitionArn));
  sim.state.services[serviceArn] = service;
  sim.state.tags[serviceArn] = tags;
  addEvent(sim, service, `(service ${name}) was created.`);
  sim.wake();
  return service;
}

export function addEvent(sim: Sim, service: Service, message: string): void {
  service.events.push({
    id: hex(16).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"),
    createdAt: sim.clock.now(),
    message,
  });
  if (service.events.length > 200) service.events.splice(0, service.events.length - 200);
}

export function serviceOperations(sim: Sim): Operations {
  return {
    CreateService: (input) => ({ service: serviceView(sim, createService(sim, input), ["TAGS"]) }),
    UpdateService: (input) => {
      const service = findService(sim, input.cluster, required(input.service, "service"));
      if (service.status !== "ACTIVE")
        throw clientError("ServiceNotActiveException", "Service was not ACTIVE.");
      const primary = primaryTaskSet(service);
      if (input.taskDefinition !== undefined) {
        const definition = findTaskDefinition(sim, input.taskDefinition);
        if (
          service.deploymentController === "CODE_DEPLOY" &&
          definition.taskDefinitionArn !== primary?.taskDefinition
        ) {
          throw clientError(
            "InvalidParameterException",
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
          );
        }
        if (
          service.deploymentController === "ECS" &&
          (definition.taskDefinitionArn !== primary?.taskDefinition || bool(input.forceNewDeployment))
        ) {
          startRollingDeployment(sim, service, definition.taskDefinitionArn);
        }
      } else if (bool(input.forceNewDeployment) && service.deploymentController === "ECS" && primary) {
        startRollingDeployment(sim, service, primary.taskDefinition);
      }
      if (input.desiredCount !== undefined)
        service.desiredCount = num(input.desiredCount) ?? service.desiredCount;
      if (input.propagateTags !== undefined) service.propagateTags = input.propagateTags;
      if (input.enableECSManagedTags !== undefined)
        service.enableECSManagedTags = bool(input.enableECSManagedTags) ?? false;
      if (input.healthCheckGracePeriodSeconds !== undefined) {
        service.healthCheckGracePeriodSeconds = num(input.healthCheckGracePeriodSeconds);
      }
      if (input.deploymentConfiguration !== undefined)
        service.deploymentConfiguration = input.deploymentConfiguration;
      if (input.networkConfiguration !== undefined) service.networkConfiguration = input.networkConfiguration;
      sim.wake();
      return { service: serviceView(sim, service) };
    },
    DeleteService: (input) => {
      const service = findService(sim, input.cluster, required(input.service, "service"));
      if (service.status !== "ACTIVE")
        throw clientError("ServiceNotActiveException", "Service was not ACTIVE.");
      if (service.desiredCount > 0 && !bool(input.force)) {
        throw clientError(
          "InvalidParameterException",
          "The service cannot be stopped while it is scaled above 0.",
        );
      }
      service.status = "DRAINING";
      service.desiredCount = 0;
      for (const taskSet of service.taskSets) taskSet.deleted = true;
      sim.wake();
      return { service: serviceView(sim, service) };
    },
    DescribeServices: (input) => {
      const names = list<string>(input.services);
      if (names.length === 0) throw clientError("InvalidParameterException", "services cannot be empty.");
      if (names.length > 10)
        throw clientError("InvalidParameterException", "services can have at most 10 items.");
      const cluster = findCluster(sim, input.cluster);
      const include = list<string>(input.include);
      const services = [];
      const failures = [];
      for (const reference of names) {
        const name = reference.startsWith("arn:")
          ? reference.slice(reference.lastIndexOf("/") + 1)
          : reference;
        const service = sim.state.services[`${cluster.clusterArn.replace(":cluster/", ":service/")}/${name}`];
        if (service) services.push(serviceView(sim, service, include));
        else
          failures.push({
            arn: `${cluster.clusterArn.replace(":cluster/", ":service/")}/${name}`,
            reason: "MISSING",
          });
      }
      return { services, failures };
    },
    ListServices: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const arns = Object.values(sim.state.services)
        .filter((service) => service.clusterArn === cluster.clusterArn && service.status === "ACTIVE")
        .filter((service) => !input.launchType || service.launchType === input.launchType)
        .map((service) => service.serviceArn);
      const { page, nextToken } = paginate(arns, input.nextToken, input.maxResults, 10, 100);
      return { serviceArns: page, nextToken };
    },
    DescribeTaskSets: (input) => {
      const service = findService(sim, input.cluster, required(input.service, "service"));
      const wanted = list<string>(input.taskSets);
      const sets = service.taskSets.filter(
        (set) =>
          !set.deleted && (wanted.length === 0 || wanted.includes(set.id) || wanted.includes(set.taskSetArn)),
      );
      const failures = wanted
        .filter((id) => !sets.some((set) => set.id === id || set.taskSetArn === id))
        .map((id) => ({ arn: id, reason: "MISSING" }));
      return { taskSets: sets.map((set) => taskSetView(sim, service, set)), failures };
    },
  };
}

/** ECS controller: a new PRIMARY deployment; the reconciler retires the old ones once it is steady. */
export function startRollingDeployment(sim: Sim, service: Service, taskDefinitionArn: string): TaskSet {
  for (const set of service.taskSets) if (set.status === "PRIMARY") set.status = "ACTIVE";
  const deployment = newTaskSet(sim, service, taskDefinitionArn);
  service.taskSets.push(deployment);
  addEvent(
    sim,
    service,
    `(service ${service.serviceName}) has started a deployment of ${taskDefinitionArn}.`,
  );
  return deployment;
}
