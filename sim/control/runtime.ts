/**
 * The boundary between the control plane (sim/control) and the data plane (sim/data).
 *
 * The control plane decides WHAT runs and WHERE traffic goes; the data plane makes it real. The control plane calls
 * a `Runtime` and never touches processes or sockets itself:
 *
 * - Tasks: `startTask` when the reconciler needs a task (a service below its desired count, a CodeDeploy green task
 *   set, RunTask); the data plane runs the containers of `launch.taskDefinition` (image, entryPoint/command,
 *   environment, portMappings) and resolves with the task's address once the process is started (not yet healthy).
 *   `stopTask` when a task must go (scale-in, task set deleted, StopTask): SIGTERM, then SIGKILL after
 *   `stopTimeout`. A task that exits on its own is reported back through `RuntimeContext.taskStopped`.
 * - Load balancers: `configureLoadBalancer` once per ALB with its listeners (ports), `configureTargetGroup` once per
 *   target group (health check settings). `setListenerWeights` whenever CodeDeploy (or provisioning) moves traffic:
 *   the listener forwards each request to a target group chosen by weight (weights sum to 100, or 0 = no traffic),
 *   then to one of that group's healthy targets. `registerTargets`/`deregisterTargets` follow the tasks.
 * - Health: `targetHealth` answers what the data plane's health checks see; the control plane polls it to decide
 *   stabilityStatus and whether an Install can go on (an unhealthy green stalls in Install).
 * - Metrics: the data plane publishes AWS/ApplicationELB metrics through `RuntimeContext.putMetricData`.
 * - Time: every data-plane schedule (health check interval, metric periods) runs on `RuntimeContext.clock`.
 *
 * Every method may be called repeatedly with the same arguments (idempotent), and must not throw for an unknown
 * ARN (ignore it). Addresses are what the data plane chooses (e.g. 127.x.y.z, one per task).
 */
import type { SimClock } from "../clock.ts";

export type TargetState = "initial" | "healthy" | "unhealthy" | "draining" | "unused";

export interface TaskLaunch {
  taskArn: string;
  taskId: string;
  clusterName: string;
  serviceName?: string;
  /** The full registered task definition, as DescribeTaskDefinition returns it (containerDefinitions, cpu, …). */
  // biome-ignore lint/suspicious/noExplicitAny: the task definition as registered
  taskDefinition: Record<string, any>;
  /** Per-container overrides of RunTask, if any. */
  // biome-ignore lint/suspicious/noExplicitAny: as given
  overrides?: Record<string, any>;
}

export interface StartedTask {
  /** The task's private IPv4 address; targets are registered as `{id: address, port: containerPort}`. */
  address: string;
  /** Image digest per container name, when the data plane resolved one. */
  imageDigests?: Record<string, string>;
}

export interface Target {
  id: string;
  port: number;
}

export interface TargetHealth extends Target {
  state: TargetState;
  reason?: string;
  description?: string;
}

export interface WeightedTargetGroup {
  targetGroupArn: string;
  weight: number;
}

export interface ListenerSpec {
  listenerArn: string;
  port: number;
  protocol: string;
}

export interface LoadBalancerSpec {
  loadBalancerArn: string;
  loadBalancerName: string;
  listeners: ListenerSpec[];
}

export interface TargetGroupSpec {
  targetGroupArn: string;
  targetGroupName: string;
  protocol: string;
  port: number;
  healthCheck: {
    path: string;
    port: string;
    protocol: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThresholdCount: number;
    unhealthyThresholdCount: number;
    matcher: string;
  };
  deregistrationDelaySeconds: number;
}

export interface TaskRuntime {
  startTask(launch: TaskLaunch): Promise<StartedTask>;
  stopTask(taskArn: string, reason: string): Promise<void>;
}

export interface TrafficRuntime {
  configureLoadBalancer(spec: LoadBalancerSpec): Promise<void>;
  configureTargetGroup(spec: TargetGroupSpec): Promise<void>;
  setListenerWeights(listenerArn: string, weights: WeightedTargetGroup[]): Promise<void>;
  registerTargets(targetGroupArn: string, targets: Target[]): Promise<void>;
  deregisterTargets(targetGroupArn: string, targets: Target[]): Promise<void>;
  targetHealth(targetGroupArn: string): TargetHealth[];
  /** `http://host:port` a client can reach for this listener, if the data plane serves it. */
  listenerUrl(listenerArn: string): string | undefined;
}

export interface MetricDatum {
  MetricName: string;
  Dimensions?: Array<{ Name: string; Value: string }>;
  /** Epoch ms of sim time; defaults to the clock's now. */
  Timestamp?: number;
  Value?: number;
  Values?: number[];
  Counts?: number[];
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  Unit?: string;
}

/** What the control plane gives the data plane when it creates it. */
export interface RuntimeContext {
  clock: SimClock;
  putMetricData(namespace: string, data: MetricDatum[]): void;
  taskStopped(taskArn: string, detail: { reason: string; exitCode?: number }): void;
  log(line: string): void;
}

export interface Runtime extends TaskRuntime, TrafficRuntime {
  stop(): Promise<void>;
}

export type RuntimeFactory = (context: RuntimeContext) => Runtime | Promise<Runtime>;
