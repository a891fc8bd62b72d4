import type { AccountSnapshot, ServiceSnapshot, TaskSnapshot } from "./model.ts";

/**
 * What a service may legitimately run right now, derived from its task sets (CODE_DEPLOY, EXTERNAL) or its
 * deployments (ECS controller), and the tasks it runs.
 */
export interface ServiceState {
  service: ServiceSnapshot;
  /** Revisions the service deploys now: its PRIMARY and ACTIVE task sets or deployments. */
  legitimate: Set<string>;
  /** Revisions of DRAINING task sets: their tasks are tolerated while they drain. */
  draining: Set<string>;
  /** The revision serving production: the PRIMARY task set or deployment, else the service's taskDefinition. */
  primary?: string;
  /** A deployment is under way: up to two revisions (and two commits) are legitimate. */
  inDeployment: boolean;
  /** The service's running tasks (stopped and stopping tasks left out). */
  tasks: TaskSnapshot[];
  /** ARNs of the tasks that belong to a DRAINING task set. */
  drainingTasks: Set<string>;
}

/** A task counts when it runs or is about to: STOPPED tasks and tasks ECS is stopping are ignored. */
export const isRunning = (task: TaskSnapshot) =>
  task.lastStatus !== "STOPPED" && task.desiredStatus !== "STOPPED";

export const serviceKey = (clusterName: string, serviceName: string) => `${clusterName}/${serviceName}`;

/** The Version tag of a revision: the commit it was built from. */
export function revisionVersion(snapshot: AccountSnapshot, taskDefinitionArn: string): string | undefined {
  return snapshot.taskDefinitions[taskDefinitionArn]?.tags.Version;
}

export function serviceState(service: ServiceSnapshot, tasks: TaskSnapshot[]): ServiceState {
  const legitimate = new Set<string>();
  const draining = new Set<string>();
  const drainingIds = new Set<string>();
  let primary: string | undefined;
  let inDeployment: boolean;
  if (service.taskSets.length > 0 || service.deploymentController !== "ECS") {
    for (const taskSet of service.taskSets) {
      if (taskSet.status === "DRAINING") {
        draining.add(taskSet.taskDefinitionArn);
        drainingIds.add(taskSet.id);
      } else {
        legitimate.add(taskSet.taskDefinitionArn);
        if (taskSet.status === "PRIMARY") primary = taskSet.taskDefinitionArn;
      }
    }
    const live = service.taskSets.filter((taskSet) => taskSet.status !== "DRAINING").length;
    inDeployment = service.deploymentInProgress || live >= 2;
  } else {
    for (const deployment of service.deployments) {
      if (deployment.status === "PRIMARY" || deployment.status === "ACTIVE") {
        legitimate.add(deployment.taskDefinitionArn);
      }
      if (deployment.status === "PRIMARY") primary = deployment.taskDefinitionArn;
    }
    const active = service.deployments.filter((deployment) => deployment.status === "ACTIVE").length;
    const rolling = service.deployments.some(
      (deployment) => deployment.status === "PRIMARY" && deployment.rolloutState === "IN_PROGRESS",
    );
    inDeployment = service.deploymentInProgress || active > 0 || rolling;
  }
  primary ??= service.taskDefinitionArn;
  if (legitimate.size === 0 && service.taskDefinitionArn) legitimate.add(service.taskDefinitionArn);
  const drainingTasks = new Set(
    tasks
      .filter(
        (task) =>
          (task.startedBy !== undefined && drainingIds.has(task.startedBy)) ||
          (draining.has(task.taskDefinitionArn) && !legitimate.has(task.taskDefinitionArn)),
      )
      .map((task) => task.arn),
  );
  return {
    service,
    legitimate,
    draining,
    ...(primary ? { primary } : {}),
    inDeployment,
    tasks,
    drainingTasks,
  };
}

/** Running tasks grouped by service (`cluster/service`), and those that belong to no service. */
export function groupTasks(snapshot: AccountSnapshot): {
  byService: Map<string, TaskSnapshot[]>;
  standalone: TaskSnapshot[];
} {
  const byService = new Map<string, TaskSnapshot[]>();
  const standalone: TaskSnapshot[] = [];
  for (const task of snapshot.tasks) {
    if (!isRunning(task)) continue;
    if (task.serviceName === undefined) {
      standalone.push(task);
      continue;
    }
    const key = serviceKey(task.clusterName, task.serviceName);
    const list = byService.get(key);
    if (list) list.push(task);
    else byService.set(key, [task]);
  }
  return { byService, standalone };
}

export function serviceStates(snapshot: AccountSnapshot): {
  services: ServiceState[];
  standalone: TaskSnapshot[];
  /** Running tasks naming a service that is not in the snapshot (out of scope or deleted). */
  orphans: TaskSnapshot[];
} {
  const { byService, standalone } = groupTasks(snapshot);
  const services = snapshot.services.map((service) => {
    const key = serviceKey(service.clusterName, service.name);
    const tasks = byService.get(key) ?? [];
    byService.delete(key);
    return serviceState(service, tasks);
  });
  return { services, standalone, orphans: [...byService.values()].flat() };
}

/** The commits a service runs: each Version with its task count, PRIMARY first; draining ones flagged. */
export interface ServiceCommit {
  /** The Version tag, or undefined when the revision has none. */
  sha?: string;
  tasks: number;
  revisions: string[];
  primary: boolean;
  draining: boolean;
}

export function serviceCommits(snapshot: AccountSnapshot, state: ServiceState): ServiceCommit[] {
  const commits = new Map<string, ServiceCommit>();
  const add = (arn: string, tasks: number, draining: boolean) => {
    const sha = revisionVersion(snapshot, arn);
    const key = `${sha ?? ""}|${draining}`;
    const commit = commits.get(key) ?? {
      ...(sha !== undefined ? { sha } : {}),
      tasks: 0,
      revisions: [],
      primary: false,
      draining,
    };
    commit.tasks += tasks;
    if (!commit.revisions.includes(arn)) commit.revisions.push(arn);
    if (arn === state.primary) commit.primary = true;
    commits.set(key, commit);
  };
  for (const task of state.tasks) add(task.taskDefinitionArn, 1, state.drainingTasks.has(task.arn));
  if (state.tasks.length === 0 && state.primary) add(state.primary, 0, false);
  return [...commits.values()].sort(
    (a, b) =>
      Number(b.primary) - Number(a.primary) || Number(a.draining) - Number(b.draining) || b.tasks - a.tasks,
  );
}
