import { randomBytes } from "node:crypto";
import type { SimClock } from "../clock.ts";
import type { Runtime } from "./runtime.ts";

/**
 * The account as the control plane holds it: plain data (epoch-ms numbers, no class instances) so it can be
 * persisted as JSON and resumed. Handlers turn the numbers into Dates, which the wire sends as epoch seconds.
 */
export interface Tag {
  key: string;
  value: string;
}

export interface Settings {
  region: string;
  accountId: string;
  /** How often CodeDeploy polls the group's alarms, sim seconds (AWS does not publish it). */
  codeDeployAlarmPollSeconds: number;
  /** A lifecycle hook not answered within this time fails the deployment (AWS: 1 hour, unverified). */
  hookTimeoutMinutes: number;
  /** A green task set not healthy within this time fails the deployment in Install (60 min, unverified). */
  installTimeoutMinutes: number;
  /** Period of the reconciler and of health polling, sim seconds. */
  heartbeatSeconds: number;
  /** Period of CloudWatch alarm evaluation, sim seconds. */
  alarmEvaluationSeconds: number;
  /** `host:port` of the OCI registry behind ECR. */
  registry?: string;
}

export const defaultSettings: Settings = {
  region: "ca-central-1",
  accountId: "123456789012",
  codeDeployAlarmPollSeconds: 60,
  hookTimeoutMinutes: 60,
  installTimeoutMinutes: 60,
  heartbeatSeconds: 2,
  alarmEvaluationSeconds: 60,
};

export interface Cluster {
  clusterArn: string;
  clusterName: string;
  status: "ACTIVE" | "INACTIVE";
  settings: Array<{ name: string; value: string }>;
  createdAt: number;
}

export interface TaskDefinition {
  taskDefinitionArn: string;
  family: string;
  revision: number;
  status: "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS";
  // biome-ignore lint/suspicious/noExplicitAny: task definitions are kept as registered
  body: Record<string, any>;
  registeredAt: number;
  deregisteredAt?: number;
}

export interface LoadBalancerBinding {
  targetGroupArn?: string;
  loadBalancerName?: string;
  containerName: string;
  containerPort: number;
}

/** A set of tasks of one task definition: a CODE_DEPLOY task set, or an ECS-controller deployment. */
export interface TaskSet {
  id: string;
  taskSetArn: string;
  status: "PRIMARY" | "ACTIVE" | "DRAINING";
  taskDefinition: string;
  externalId?: string;
  startedBy?: string;
  scale: number;
  loadBalancers: LoadBalancerBinding[];
  stabilityStatus: "STEADY_STATE" | "STABILIZING";
  stabilityStatusAt: number;
  createdAt: number;
  updatedAt: number;
  // biome-ignore lint/suspicious/noExplicitAny: kept as given
  networkConfiguration?: any;
  /** Set once the set is deleted: its tasks are stopped, then it disappears. */
  deleted?: boolean;
  /** ECS controller: tasks of this deployment that failed to start or stopped on their own while it rolled out. */
  failedTasks?: number;
  /** ECS controller: COMPLETED once steady as PRIMARY, FAILED when the circuit breaker trips; absent = IN_PROGRESS. */
  rolloutState?: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason?: string;
}

export interface Service {
  serviceArn: string;
  serviceName: string;
  clusterArn: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  launchType: string;
  deploymentController: "ECS" | "CODE_DEPLOY" | "EXTERNAL";
  propagateTags: "TASK_DEFINITION" | "SERVICE" | "NONE";
  enableECSManagedTags: boolean;
  loadBalancers: LoadBalancerBinding[];
  // biome-ignore lint/suspicious/noExplicitAny: kept as given
  networkConfiguration?: any;
  // biome-ignore lint/suspicious/noExplicitAny: kept as given
  deploymentConfiguration?: any;
  platformVersion?: string;
  healthCheckGracePeriodSeconds?: number;
  schedulingStrategy: string;
  createdAt: number;
  taskSets: TaskSet[];
  events: Array<{ id: string; createdAt: number; message: string }>;
}

export interface Task {
  taskArn: string;
  taskId: string;
  clusterArn: string;
  serviceArn?: string;
  taskSetId?: string;
  taskDefinitionArn: string;
  group: string;
  startedBy?: string;
  launchType: string;
  lastStatus: "PROVISIONING" | "PENDING" | "RUNNING" | "DEPROVISIONING" | "STOPPED";
  desiredStatus: "RUNNING" | "STOPPED";
  createdAt: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
  stopCode?: string;
  address?: string;
  imageDigests?: Record<string, string>;
  exitCode?: number;
  /** Why its containers stopped (a pull error), as DescribeTasks shows in containers[].reason. */
  containerReason?: string;
  /** Targets this task registered: [targetGroupArn, port]. */
  targets: Array<[string, number]>;
}

export interface TargetGroup {
  targetGroupArn: string;
  targetGroupName: string;
  protocol: string;
  port: number;
  targetType: string;
  vpcId?: string;
  // biome-ignore lint/suspicious/noExplicitAny: health check fields as AWS names them
  healthCheck: Record<string, any>;
  loadBalancerArns: string[];
  targets: Array<{ id: string; port: number }>;
  /** `deregistration_delay.timeout_seconds`; absent in state files written before it was kept (AWS default 300). */
  deregistrationDelaySeconds?: number;
}

export interface ForwardTarget {
  targetGroupArn: string;
  weight: number;
}

export interface Listener {
  listenerArn: string;
  loadBalancerArn: string;
  port: number;
  protocol: string;
  /** Default action: forward to target groups by weight (other action types are kept as given). */
  forward: ForwardTarget[];
  // biome-ignore lint/suspicious/noExplicitAny: non-forward actions as given
  otherActions?: any[];
}

export interface ListenerRule {
  ruleArn: string;
  listenerArn: string;
  priority: string;
  // biome-ignore lint/suspicious/noExplicitAny: conditions as given
  conditions: any[];
  forward: ForwardTarget[];
}

export interface LoadBalancer {
  loadBalancerArn: string;
  loadBalancerName: string;
  type: string;
  scheme: string;
  dnsName: string;
  createdAt: number;
  securityGroups: string[];
}

export interface State {
  settings: Settings;
  seq: number;
  clusters: Record<string, Cluster>;
  taskDefinitions: Record<string, TaskDefinition>;
  services: Record<string, Service>;
  tasks: Record<string, Task>;
  tags: Record<string, Tag[]>;
  loadBalancers: Record<string, LoadBalancer>;
  listeners: Record<string, Listener>;
  rules: Record<string, ListenerRule>;
  targetGroups: Record<string, TargetGroup>;
  // biome-ignore lint/suspicious/noExplicitAny: each module owns its own records
  codedeploy: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: each module owns its own records
  cloudwatch: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: each module owns its own records
  ecr: Record<string, any>;
  /** Template resources the simulator accepted without modelling them. */
  unmodelled: Array<{ logicalId: string; type: string; template: string }>;
}

export function emptyState(settings: Partial<Settings> = {}): State {
  return {
    settings: { ...defaultSettings, ...settings },
    seq: 0,
    clusters: {},
    taskDefinitions: {},
    services: {},
    tasks: {},
    tags: {},
    loadBalancers: {},
    listeners: {},
    rules: {},
    targetGroups: {},
    codedeploy: {},
    cloudwatch: {},
    ecr: {},
    unmodelled: [],
  };
}

/** What every control-plane module works on. */
export interface Sim {
  state: State;
  clock: SimClock;
  runtime: Runtime;
  /** Asks the reconciler and the deployment machine to look at the state again soon. */
  wake(): void;
  log(line: string): void;
}

export const hex = (bytes: number): string => randomBytes(bytes).toString("hex");

export function arn(sim: Sim, service: string, resource: string, separator = ":"): string {
  const { region, accountId } = sim.state.settings;
  return `arn:aws:${service}:${region}:${accountId}${separator}${resource}`;
}

export const date = (ms: number | undefined): Date | undefined =>
  ms === undefined ? undefined : new Date(ms);

export function nextSeq(sim: Sim): number {
  sim.state.seq += 1;
  return sim.state.seq;
}

/** `holder[key]`, created with `make()` the first time. */
export function slot<T>(holder: Record<string, unknown>, key: string, make: () => T): T {
  if (holder[key] === undefined) holder[key] = make();
  return holder[key] as T;
}
