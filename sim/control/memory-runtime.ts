import type {
  LoadBalancerSpec,
  Runtime,
  RuntimeContext,
  StartedTask,
  Target,
  TargetGroupSpec,
  TargetHealth,
  TargetState,
  TaskLaunch,
  WeightedTargetGroup,
} from "./runtime.ts";

/**
 * A data plane without processes: tasks "start" instantly on made-up 10.0.x.y addresses and targets turn healthy
 * `healthyAfterSeconds` (sim) after registration, unless a test says otherwise. Lets the control plane and the
 * CodeDeploy state machine be tested deterministically on the manual clock.
 */
export interface MemoryRuntimeOptions {
  healthyAfterSeconds?: number;
}

/**
 * Makes tasks fail, as a broken release does: those of a task definition (ARN, or `family:revision`) or whose
 * container image contains `image`. `pull`: the task never starts (TaskFailedToStart, CannotPullContainerError by
 * default); `exit`: it starts, then its essential container exits with code 1.
 */
export interface TaskFailure {
  taskDefinition?: string;
  image?: string;
  mode?: "pull" | "exit";
  reason?: string;
}

export class MemoryRuntime implements Runtime {
  readonly context: RuntimeContext;
  healthyAfterSeconds: number;
  readonly started = new Map<string, TaskLaunch & { address: string }>();
  readonly stopped: Array<{ taskArn: string; reason: string }> = [];
  readonly weights = new Map<string, WeightedTargetGroup[]>();
  readonly loadBalancers = new Map<string, LoadBalancerSpec>();
  readonly targetGroups = new Map<string, TargetGroupSpec>();
  readonly targets = new Map<string, Map<string, { target: Target; registeredAt: number }>>();
  /** Forced health per target group (all its targets) or per `tg|id:port`. */
  readonly forced = new Map<string, TargetState>();
  readonly failures: TaskFailure[] = [];
  #next = 0;

  constructor(context: RuntimeContext, options: MemoryRuntimeOptions = {}) {
    this.context = context;
    this.healthyAfterSeconds = options.healthyAfterSeconds ?? 10;
  }

  /** Tasks matching `failure` fail from now on (see TaskFailure). */
  failTasks(failure: TaskFailure): void {
    if (!failure.taskDefinition && !failure.image)
      throw new Error("a task failure needs a taskDefinition or an image to match");
    this.failures.push(failure);
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  #failureOf(launch: TaskLaunch): { failure: TaskFailure; image: string } | undefined {
    const definition = launch.taskDefinition;
    const arn = String(definition.taskDefinitionArn ?? "");
    // biome-ignore lint/suspicious/noExplicitAny: container definitions as registered
    const images: string[] = (definition.containerDefinitions ?? []).map((container: any) =>
      String(container.image),
    );
    for (const failure of this.failures) {
      if (
        failure.taskDefinition &&
        (arn === failure.taskDefinition || arn.endsWith(`/${failure.taskDefinition}`))
      )
        return { failure, image: images[0] ?? "" };
      const image = failure.image ? images.find((item) => item.includes(failure.image as string)) : undefined;
      if (image) return { failure, image };
    }
    return undefined;
  }

  async startTask(launch: TaskLaunch): Promise<StartedTask> {
    const failing = this.#failureOf(launch);
    if (failing && (failing.failure.mode ?? "pull") === "pull") {
      const reason =
        failing.failure.reason ??
        `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${failing.image}: not found`;
      throw Object.assign(new Error(reason), { stoppedReason: reason });
    }
    if (failing) {
      // The essential container exits as soon as it starts: queued before the control plane hears of the start, so
      // the task is never seen RUNNING, whatever the clock does in between.
      void Promise.resolve().then(() => {
        if (this.started.has(launch.taskArn)) this.crash(launch.taskArn, 1, failing.failure.reason);
      });
    }
    this.#next += 1;
    const address = `10.0.${Math.floor(this.#next / 250)}.${(this.#next % 250) + 2}`;
    this.started.set(launch.taskArn, { ...launch, address });
    return { address };
  }

  async stopTask(taskArn: string, reason: string): Promise<void> {
    if (this.started.delete(taskArn)) this.stopped.push({ taskArn, reason });
  }

  /** Simulates a task process exiting on its own. */
  crash(taskArn: string, exitCode = 1, reason = "Essential container in task exited"): void {
    this.started.delete(taskArn);
    this.context.taskStopped(taskArn, { reason, exitCode });
  }

  async configureLoadBalancer(spec: LoadBalancerSpec): Promise<void> {
    this.loadBalancers.set(spec.loadBalancerArn, spec);
  }

  async configureTargetGroup(spec: TargetGroupSpec): Promise<void> {
    this.targetGroups.set(spec.targetGroupArn, spec);
  }

  async setListenerWeights(listenerArn: string, weights: WeightedTargetGroup[]): Promise<void> {
    this.weights.set(
      listenerArn,
      weights.map((weight) => ({ ...weight })),
    );
  }

  async registerTargets(targetGroupArn: string, targets: Target[]): Promise<void> {
    const group = this.targets.get(targetGroupArn) ?? new Map();
    for (const target of targets) {
      const key = `${target.id}:${target.port}`;
      if (!group.has(key)) group.set(key, { target, registeredAt: this.context.clock.now() });
    }
    this.targets.set(targetGroupArn, group);
  }

  async deregisterTargets(targetGroupArn: string, targets: Target[]): Promise<void> {
    const group = this.targets.get(targetGroupArn);
    for (const target of targets) group?.delete(`${target.id}:${target.port}`);
  }

  targetHealth(targetGroupArn: string): TargetHealth[] {
    const group = this.targets.get(targetGroupArn);
    if (!group) return [];
    const now = this.context.clock.now();
    return [...group.entries()].map(([key, { target, registeredAt }]) => {
      const forced = this.forced.get(`${targetGroupArn}|${key}`) ?? this.forced.get(targetGroupArn);
      const state: TargetState =
        forced ?? (now - registeredAt >= this.healthyAfterSeconds * 1000 ? "healthy" : "initial");
      return { ...target, state };
    });
  }

  /** Forces the health of every target of a group (or clears it with undefined). */
  setHealth(targetGroupArn: string, state: TargetState | undefined): void {
    if (state) this.forced.set(targetGroupArn, state);
    else this.forced.delete(targetGroupArn);
  }

  listenerUrl(listenerArn: string): string | undefined {
    for (const spec of this.loadBalancers.values()) {
      const listener = spec.listeners.find((item) => item.listenerArn === listenerArn);
      if (listener) return `memory://${spec.loadBalancerName}:${listener.port}`;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.started.clear();
  }
}

export const memoryRuntime =
  (options: MemoryRuntimeOptions = {}) =>
  (context: RuntimeContext): MemoryRuntime =>
    new MemoryRuntime(context, options);
