import { bool, clientError, list, num, paginate, required } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { pullableImage } from "./ecr.ts";
import { clusterName, findCluster, findTaskDefinition, tagsOf } from "./ecs.ts";
import { recordTaskStopped } from "./ecs-circuit-breaker.ts";
import { addEvent, computedDesiredCount } from "./ecs-services.ts";
import { date, hex, type Service, type Sim, type Tag, type Task, type TaskSet } from "./state.ts";

/** ECS tasks: started and stopped by the reconciler (services) or RunTask/StopTask, tagged at creation. */

const retentionMs = 60 * 60 * 1000;

interface LaunchOptions {
  clusterArn: string;
  taskDefinitionArn: string;
  service?: Service;
  taskSet?: TaskSet;
  startedBy?: string;
  group?: string;
  tags: Tag[];
  // biome-ignore lint/suspicious/noExplicitAny: RunTask overrides as given
  overrides?: Record<string, any>;
}

/** Tags a new task receives, by the propagation rules: copied once, at creation. */
export function creationTags(sim: Sim, service: Service, taskDefinitionArn: string): Tag[] {
  const tags: Tag[] = [];
  if (service.propagateTags === "TASK_DEFINITION") tags.push(...tagsOf(sim, taskDefinitionArn));
  if (service.propagateTags === "SERVICE") tags.push(...tagsOf(sim, service.serviceArn));
  if (service.enableECSManagedTags) {
    tags.push({ key: "aws:ecs:clusterName", value: clusterName(service.clusterArn) });
    tags.push({ key: "aws:ecs:serviceName", value: service.serviceName });
  }
  return tags;
}

export function launchTask(sim: Sim, options: LaunchOptions): Task {
  const taskId = hex(16);
  const cluster = clusterName(options.clusterArn);
  const taskArn = `${options.clusterArn.replace(":cluster/", ":task/")}/${taskId}`;
  const definition = findTaskDefinition(sim, options.taskDefinitionArn);
  const task: Task = {
    taskArn,
    taskId,
    clusterArn: options.clusterArn,
    serviceArn: options.service?.serviceArn,
    taskSetId: options.taskSet?.id,
    taskDefinitionArn: options.taskDefinitionArn,
    group:
      options.group ??
      (options.service ? `service:${options.service.serviceName}` : `family:${definition.family}`),
    startedBy: options.startedBy,
    launchType: options.service?.launchType ?? "FARGATE",
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    createdAt: sim.clock.now(),
    targets: [],
  };
  sim.state.tasks[taskArn] = task;
  sim.state.tags[taskArn] = options.tags;
  const launch = {
    taskArn,
    taskId,
    clusterName: cluster,
    serviceName: options.service?.serviceName,
    taskDefinition: {
      ...definition.body,
      // ECR URIs are pulled from the registry behind ECR; the task definition keeps what was registered.
      // biome-ignore lint/suspicious/noExplicitAny: container definitions as registered
      containerDefinitions: (definition.body.containerDefinitions ?? []).map((container: any) =>
        typeof container.image === "string"
          ? { ...container, image: pullableImage(sim, container.image) }
          : container,
      ),
      taskDefinitionArn: definition.taskDefinitionArn,
      revision: definition.revision,
    },
    overrides: options.overrides,
  };
  sim.runtime.startTask(launch).then(
    async (started) => {
      if (task.desiredStatus === "STOPPED") {
        await sim.runtime.stopTask(taskArn, task.stoppedReason ?? "Task stopped before it started");
        markStopped(
          sim,
          task,
          task.stoppedReason ?? "Task stopped before it started",
          task.stopCode ?? "UserInitiated",
        );
        return;
      }
      task.lastStatus = "RUNNING";
      task.startedAt = sim.clock.now();
      task.address = started.address;
      task.imageDigests = started.imageDigests;
      for (const binding of options.taskSet?.loadBalancers ?? []) {
        if (!binding.targetGroupArn) continue;
        task.targets.push([binding.targetGroupArn, binding.containerPort]);
        const group = sim.state.targetGroups[binding.targetGroupArn];
        group?.targets.push({ id: started.address, port: binding.containerPort });
        await sim.runtime.registerTargets(binding.targetGroupArn, [
          { id: started.address, port: binding.containerPort },
        ]);
      }
      sim.wake();
    },
    (error: unknown) => {
      // A data plane may say exactly why (CannotPullContainerError: …); else the start failed in the container.
      const given = (error as { stoppedReason?: unknown } | undefined)?.stoppedReason;
      const reason =
        typeof given === "string"
          ? given
          : `CannotStartContainerError: ${error instanceof Error ? error.message : error}`;
      task.containerReason = reason;
      markStopped(sim, task, reason, "TaskFailedToStart");
      sim.wake();
    },
  );
  return task;
}

function markStopped(sim: Sim, task: Task, reason: string, stopCode: string, exitCode?: number): void {
  if (task.lastStatus === "STOPPED") return;
  task.desiredStatus = "STOPPED";
  task.lastStatus = "STOPPED";
  task.stoppedReason ??= reason;
  task.stopCode ??= stopCode;
  task.exitCode = exitCode;
  task.stoppedAt = sim.clock.now();
  releaseTargets(sim, task);
  recordTaskStopped(sim, task);
}

function releaseTargets(sim: Sim, task: Task): void {
  for (const [targetGroupArn, port] of task.targets) {
    const group = sim.state.targetGroups[targetGroupArn];
    if (group)
      group.targets = group.targets.filter((target) => !(target.id === task.address && target.port === port));
    if (task.address) void sim.runtime.deregisterTargets(targetGroupArn, [{ id: task.address, port }]);
  }
  task.targets = [];
}

export function stopTask(sim: Sim, task: Task, reason: string, stopCode = "ServiceSchedulerInitiated"): void {
  if (task.desiredStatus === "STOPPED") return;
  task.desiredStatus = "STOPPED";
  task.stoppedReason = reason;
  task.stopCode = stopCode;
  task.stoppingAt = sim.clock.now();
  releaseTargets(sim, task);
  if (task.lastStatus === "PROVISIONING") return;
  task.lastStatus = "DEPROVISIONING";
  sim.runtime.stopTask(task.taskArn, reason).then(
    () => markStopped(sim, task, reason, stopCode),
    () => markStopped(sim, task, reason, stopCode),
  );
}

/** Called by the data plane when a task's process exits on its own. */
export function taskExited(sim: Sim, taskArn: string, reason: string, exitCode?: number): void {
  const task = sim.state.tasks[taskArn];
  if (!task) return;
  markStopped(sim, task, reason, "EssentialContainerExited", exitCode);
  sim.wake();
}

/** Health of a task's targets as the data plane sees it: true when all are healthy. */
function tasksHealthy(sim: Sim, tasks: Task[]): boolean {
  for (const task of tasks) {
    for (const [targetGroupArn, port] of task.targets) {
      const health = sim.runtime
        .targetHealth(targetGroupArn)
        .find((item) => item.id === task.address && item.port === port);
      if (health?.state !== "healthy") return false;
    }
  }
  return true;
}

/** Brings every service's task sets to their computed desired counts and refreshes their stability. */
export function reconcile(sim: Sim): void {
  const now = sim.clock.now();
  for (const [taskArn, task] of Object.entries(sim.state.tasks)) {
    if (task.lastStatus === "STOPPED" && now - (task.stoppedAt ?? now) > retentionMs) {
      delete sim.state.tasks[taskArn];
      delete sim.state.tags[taskArn];
    }
  }
  // Tasks by service, once per tick: filtering every task for every service is quadratic at 1,000s of each.
  const byService = new Map<string, Task[]>();
  for (const task of Object.values(sim.state.tasks)) {
    if (!task.serviceArn) continue;
    const tasks = byService.get(task.serviceArn);
    if (tasks) tasks.push(task);
    else byService.set(task.serviceArn, [task]);
  }
  for (const service of Object.values(sim.state.services)) {
    if (service.status === "INACTIVE") continue;
    const tasks = byService.get(service.serviceArn) ?? [];
    for (const taskSet of [...service.taskSets]) {
      const desired = computedDesiredCount(service, taskSet);
      const live = tasks.filter((task) => task.taskSetId === taskSet.id && task.desiredStatus === "RUNNING");
      for (let count = live.length; count < desired; count++) {
        launchTask(sim, {
          clusterArn: service.clusterArn,
          taskDefinitionArn: taskSet.taskDefinition,
          service,
          taskSet,
          startedBy: taskSet.startedBy === "CODE_DEPLOY" ? taskSet.id : (taskSet.startedBy ?? taskSet.id),
          tags: creationTags(sim, service, taskSet.taskDefinition),
        });
      }
      for (const task of live.slice(desired))
        stopTask(sim, task, "Scaling activity initiated by (deployment)");
      const running = live.filter((task) => task.lastStatus === "RUNNING").slice(0, desired);
      const steady = running.length === desired && live.length === desired && tasksHealthy(sim, running);
      const stability = steady ? "STEADY_STATE" : "STABILIZING";
      if (stability !== taskSet.stabilityStatus) {
        taskSet.stabilityStatus = stability;
        taskSet.stabilityStatusAt = now;
        if (steady && taskSet.status === "PRIMARY" && !taskSet.deleted) {
          addEvent(sim, service, `(service ${service.serviceName}) has reached a steady state.`);
        }
      }
      // ECS sees a deployment COMPLETED once its tasks have been steady across a reconciler period, not at once.
      const settledFor = now - sim.state.settings.heartbeatSeconds * 1000;
      if (
        steady &&
        running.every((task) => (task.startedAt ?? now) <= settledFor) &&
        service.deploymentController === "ECS" &&
        taskSet.status === "PRIMARY" &&
        !taskSet.deleted &&
        (taskSet.rolloutState ?? "IN_PROGRESS") === "IN_PROGRESS"
      ) {
        taskSet.rolloutState = "COMPLETED";
        taskSet.rolloutStateReason = `ECS deployment ${taskSet.id} completed.`;
        taskSet.updatedAt = now;
        addEvent(
          sim,
          service,
          `(service ${service.serviceName}) (deployment ${taskSet.id}) deployment completed.`,
        );
      }
      const remaining = tasks.some((task) => task.taskSetId === taskSet.id && task.lastStatus !== "STOPPED");
      if (taskSet.deleted && !remaining) service.taskSets.splice(service.taskSets.indexOf(taskSet), 1);
    }
    if (service.deploymentController === "ECS") {
      const primary = service.taskSets.find((set) => set.status === "PRIMARY" && !set.deleted);
      const ended = primary?.rolloutState === "COMPLETED" || primary?.rolloutState === "FAILED";
      if (primary?.stabilityStatus === "STEADY_STATE" && ended) {
        for (const set of service.taskSets) if (set !== primary) set.deleted = true;
      }
    }
    if (service.status === "DRAINING" && !tasks.some((task) => task.lastStatus !== "STOPPED")) {
      service.status = "INACTIVE";
    }
  }
}

function taskView(sim: Sim, task: Task, include: string[]) {
  const definition = sim.state.taskDefinitions[task.taskDefinitionArn];
  // biome-ignore lint/suspicious/noExplicitAny: container definitions as registered
  const containers = list<Record<string, any>>(definition?.body.containerDefinitions).map((container) => ({
    containerArn: `${task.clusterArn.replace(":cluster/", ":container/")}/${task.taskId}/${container.name}`,
    taskArn: task.taskArn,
    name: container.name,
    image: container.image,
    imageDigest: task.imageDigests?.[container.name],
    lastStatus: task.lastStatus === "DEPROVISIONING" ? "RUNNING" : task.lastStatus,
    exitCode: task.lastStatus === "STOPPED" ? task.exitCode : undefined,
    reason: task.lastStatus === "STOPPED" ? task.containerReason : undefined,
    networkInterfaces: task.address ? [{ attachmentId: task.taskId, privateIpv4Address: task.address }] : [],
    healthStatus: "UNKNOWN",
    cpu: container.cpu !== undefined ? String(container.cpu) : undefined,
    memory: container.memory !== undefined ? String(container.memory) : undefined,
  }));
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    group: task.group,
    startedBy: task.startedBy,
    launchType: task.launchType,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    createdAt: date(task.createdAt),
    startedAt: date(task.startedAt),
    stoppingAt: date(task.stoppingAt),
    stoppedAt: date(task.stoppedAt),
    stoppedReason: task.stoppedReason,
    stopCode: task.stopCode,
    cpu: definition?.body.cpu,
    memory: definition?.body.memory,
    containers,
    attachments: task.address
      ? [
          {
            id: task.taskId,
            type: "ElasticNetworkInterface",
            status: "ATTACHED",
            details: [{ name: "privateIPv4Address", value: task.address }],
          },
        ]
      : [],
    availabilityZone: `${sim.state.settings.region}a`,
    connectivity: "CONNECTED",
    healthStatus: "UNKNOWN",
    platformVersion: "1.4.0",
    version: 1,
    tags: include.includes("TAGS") ? tagsOf(sim, task.taskArn) : undefined,
  };
}

export function taskOperations(sim: Sim): Operations {
  return {
    ListTasks: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const desiredStatus = input.desiredStatus ?? "RUNNING";
      const serviceArn = input.serviceName
        ? `${cluster.clusterArn.replace(":cluster/", ":service/")}/${String(input.serviceName).split("/").pop()}`
        : undefined;
      if (serviceArn && !sim.state.services[serviceArn]) {
        throw clientError("ServiceNotFoundException", "Service not found.");
      }
      const arns = Object.values(sim.state.tasks)
        .filter((task) => task.clusterArn === cluster.clusterArn && task.desiredStatus === desiredStatus)
        .filter((task) => !serviceArn || task.serviceArn === serviceArn)
        .filter((task) => !input.startedBy || task.startedBy === input.startedBy)
        .filter(
          (task) =>
            !input.family || sim.state.taskDefinitions[task.taskDefinitionArn]?.family === input.family,
        )
        .filter((task) => !input.launchType || task.launchType === input.launchType)
        .map((task) => task.taskArn);
      const { page, nextToken } = paginate(arns, input.nextToken, input.maxResults, 100, 100);
      return { taskArns: page, nextToken };
    },
    DescribeTasks: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const references = list<string>(input.tasks);
      if (references.length === 0) throw clientError("InvalidParameterException", "Tasks cannot be empty.");
      if (references.length > 100)
        throw clientError("InvalidParameterException", "tasks can have at most 100 items.");
      const include = list<string>(input.include);
      const tasks = [];
      const failures = [];
      for (const reference of references) {
        const id = reference.slice(reference.lastIndexOf("/") + 1);
        const task = sim.state.tasks[`${cluster.clusterArn.replace(":cluster/", ":task/")}/${id}`];
        if (task) tasks.push(taskView(sim, task, include));
        else failures.push({ arn: reference, reason: "MISSING" });
      }
      return { tasks, failures };
    },
    RunTask: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const definition = findTaskDefinition(sim, required(input.taskDefinition, "taskDefinition"));
      const count = num(input.count) ?? 1;
      if (count < 1 || count > 10)
        throw clientError("InvalidParameterException", "count must be between 1 and 10.");
      const tags: Tag[] = [...list<Tag>(input.tags)];
      if (input.propagateTags === "TASK_DEFINITION") tags.push(...tagsOf(sim, definition.taskDefinitionArn));
      if (bool(input.enableECSManagedTags))
        tags.push({ key: "aws:ecs:clusterName", value: cluster.clusterName });
      const tasks = [];
      for (let index = 0; index < count; index++) {
        const task = launchTask(sim, {
          clusterArn: cluster.clusterArn,
          taskDefinitionArn: definition.taskDefinitionArn,
          startedBy: input.startedBy,
          group: input.group,
          tags,
          overrides: input.overrides,
        });
        tasks.push(taskView(sim, task, ["TAGS"]));
      }
      return { tasks, failures: [] };
    },
    StopTask: (input) => {
      const cluster = findCluster(sim, input.cluster);
      const reference = required<string>(input.task, "task");
      const task =
        sim.state.tasks[`${cluster.clusterArn.replace(":cluster/", ":task/")}/${reference.split("/").pop()}`];
      if (!task) throw clientError("InvalidParameterException", "The referenced task was not found.");
      stopTask(sim, task, input.reason ?? "Task stopped by user", "UserInitiated");
      return { task: taskView(sim, task, []) };
    },
  };
}
