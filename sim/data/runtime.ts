import type {
  MetricDatum as ControlMetricDatum,
  LoadBalancerSpec,
  Runtime,
  RuntimeContext,
  StartedTask,
  Target,
  TargetGroupSpec,
  TargetHealth,
  TaskLaunch,
  WeightedTargetGroup,
} from "../control/runtime.ts";
import { type AddressPool, createAddressPool } from "./address-pool.ts";
import type { Clock } from "./clock.ts";
import { createImageStore, type ImageStore } from "./image-store.ts";
import {
  createLoadBalancer,
  createTargetGroup,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from "./load-balancer.ts";
import { createElbMetrics, type ElbMetrics, NAMESPACE } from "./metrics.ts";
import { type StandIns, standInEnvironment } from "./stand-ins.ts";
import { createTaskRunner, type RunningTask, type TaskRunner } from "./task-process.ts";

/**
 * The process data plane behind the control plane's `Runtime` interface (sim/control/runtime.ts): tasks are real
 * container processes, load balancers are real HTTP proxies, metrics come from real traffic.
 */

export interface ProcessRuntimeOptions {
  /** Image cache, e.g. `.tmp/sim/images`. */
  imageCacheDir: string;
  /** Task scratch folders, e.g. `.tmp/sim/tasks`. */
  taskWorkDir: string;
  addresses?: AddressPool;
  images?: ImageStore;
  /** Value of a secret's `valueFrom`; secrets without a value are left out of the environment. */
  resolveSecret?: (valueFrom: string) => string | undefined;
  /**
   * Stand-ins for what the simulator does not model (RDS, Secrets Manager, IoT Core …): environment variables
   * set on a container at launch, over its task definition's `environment` and `secrets` (see stand-ins.ts).
   */
  standIns?: StandIns;
  /** Real-time floor of health check and request timeouts. Default 2000 ms. */
  realTimeoutFloorMs?: number;
  /** Host the listeners bind to. Default 127.0.0.1. */
  listenerHost?: string;
}

/** `arn:aws:elasticloadbalancing:r:a:loadbalancer/app/name/id` → `app/name/id` (the CloudWatch dimension). */
export function arnSuffix(arn: string): string {
  const index = arn.indexOf(":loadbalancer/");
  if (index !== -1) return arn.slice(index + ":loadbalancer/".length);
  const group = arn.indexOf(":targetgroup/");
  if (group !== -1) return arn.slice(group + 1);
  return arn;
}

interface TaskEntry {
  address: string;
  containers: RunningTask[];
  stopping: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: container definitions as registered
type ContainerDefinition = Record<string, any>;

export function createProcessRuntime(context: RuntimeContext, options: ProcessRuntimeOptions): Runtime {
  const clock: Clock = {
    now: () => context.clock.now(),
    setTimer: (simMs, fn) => {
      const timer = context.clock.after(simMs, fn);
      return () => timer.cancel();
    },
  };
  const addresses = options.addresses ?? createAddressPool();
  const images = options.images ?? createImageStore({ cacheDir: options.imageCacheDir });
  const runner: TaskRunner = createTaskRunner({
    images,
    addresses,
    workDir: options.taskWorkDir,
    clock,
    onLog: (task, line) => context.log(`[${task.taskId}] ${line.message}`),
  });
  const metrics: ElbMetrics = createElbMetrics({
    clock,
    sink: {
      publish: (batch) =>
        context.putMetricData(
          NAMESPACE,
          batch.map(
            (datum): ControlMetricDatum => ({
              MetricName: datum.MetricName,
              Dimensions: datum.Dimensions,
              Timestamp: datum.Timestamp.getTime(),
              Unit: datum.Unit,
              ...(datum.Value !== undefined ? { Value: datum.Value } : {}),
              ...(datum.StatisticValues ? { StatisticValues: datum.StatisticValues } : {}),
              ...(datum.Values ? { Values: datum.Values, Counts: datum.Counts } : {}),
            }),
          ),
        ),
    },
  });
  const tasks = new Map<string, TaskEntry>();
  const loadBalancers = new Map<string, LoadBalancer>();
  const listeners = new Map<string, { balancer: LoadBalancer; listener: Listener }>();
  const targetGroups = new Map<string, TargetGroup>();
  // Weights set while a listener is still opening (createListener does not wait for the socket): applied on open.
  const weightsOf = new Map<string, WeightedTargetGroup[]>();
  const opening = new Map<string, Promise<void>>();
  const floor = options.realTimeoutFloorMs ?? 2000;

  function applyWeights(listenerArn: string): void {
    const found = listeners.get(listenerArn);
    const weights = weightsOf.get(listenerArn);
    if (!found || !weights) return;
    found.balancer.setWeights(
      found.listener,
      weights.flatMap((entry) => {
        const targetGroup = targetGroups.get(entry.targetGroupArn);
        return targetGroup ? [{ targetGroup, weight: entry.weight }] : [];
      }),
    );
  }

  async function stopEntry(taskArn: string, entry: TaskEntry, reason: string): Promise<void> {
    entry.stopping = true;
    await Promise.all(entry.containers.map((container) => container.stop(reason)));
    if (tasks.get(taskArn) === entry) tasks.delete(taskArn);
    addresses.release(entry.address);
  }

  return {
    async startTask(launch: TaskLaunch): Promise<StartedTask> {
      const existing = tasks.get(launch.taskArn);
      if (existing) return { address: existing.address };
      const definitions = (launch.taskDefinition.containerDefinitions ?? []) as ContainerDefinition[];
      // biome-ignore lint/suspicious/noExplicitAny: overrides as given
      const overrides = (launch.overrides?.containerOverrides ?? []) as Array<Record<string, any>>;
      const address = addresses.allocate();
      const entry: TaskEntry = { address, containers: [], stopping: false };
      tasks.set(launch.taskArn, entry);
      try {
        for (const definition of definitions) {
          const override = overrides.find((candidate) => candidate.name === definition.name) ?? {};
          const environment: Record<string, string> = {};
          for (const pair of [...(definition.environment ?? []), ...(override.environment ?? [])])
            environment[pair.name] = String(pair.value ?? "");
          const standIn = standInEnvironment(options.standIns, {
            containerName: String(definition.name),
            family: String(launch.taskDefinition.family ?? ""),
            clusterName: launch.clusterName,
            ...(launch.serviceName ? { serviceName: launch.serviceName } : {}),
          });
          for (const secret of definition.secrets ?? []) {
            const value = options.resolveSecret?.(secret.valueFrom);
            if (value !== undefined) environment[secret.name] = value;
            else if (!(secret.name in standIn))
              context.log(`[${launch.taskId}] secret ${secret.name} (${secret.valueFrom}) has no value`);
          }
          Object.assign(environment, standIn);
          const port = Number(definition.portMappings?.[0]?.containerPort ?? 8080);
          const container = await runner.start({
            taskId: `${launch.taskId}/${definition.name}`,
            imageRef: String(definition.image),
            containerName: String(definition.name),
            environment,
            containerPort: port,
            address,
            ...(definition.stopTimeout ? { stopTimeoutSeconds: Number(definition.stopTimeout) } : {}),
            ...((override.command ?? definition.command)
              ? { command: override.command ?? definition.command }
              : {}),
            ...(definition.entryPoint ? { entryPoint: definition.entryPoint } : {}),
            ...(definition.user ? { user: String(definition.user) } : {}),
            ...(definition.workingDirectory ? { workingDirectory: String(definition.workingDirectory) } : {}),
          });
          entry.containers.push(container);
          const essential = definition.essential !== false;
          void container.exited.then((exit) => {
            if (entry.stopping || !essential) return;
            void stopEntry(launch.taskArn, entry, "Essential container in task exited").then(() =>
              context.taskStopped(launch.taskArn, {
                reason: "Essential container in task exited",
                ...(exit.exitCode !== null ? { exitCode: exit.exitCode } : {}),
              }),
            );
          });
        }
      } catch (error) {
        await stopEntry(launch.taskArn, entry, "Task failed to start");
        throw error;
      }
      return {
        address,
        imageDigests: Object.fromEntries(
          entry.containers.map((container) => [container.containerName, container.image.manifestDigest]),
        ),
      };
    },

    async stopTask(taskArn, reason) {
      const entry = tasks.get(taskArn);
      if (entry && !entry.stopping) await stopEntry(taskArn, entry, reason);
    },

    async configureLoadBalancer(spec: LoadBalancerSpec) {
      let balancer = loadBalancers.get(spec.loadBalancerArn);
      if (!balancer) {
        balancer = createLoadBalancer({
          name: spec.loadBalancerName,
          arnSuffix: arnSuffix(spec.loadBalancerArn),
          clock,
          metrics,
          realTimeoutFloorMs: floor,
        });
        loadBalancers.set(spec.loadBalancerArn, balancer);
      }
      const target = balancer;
      await Promise.all(
        spec.listeners.map((listenerSpec) => {
          const arn = listenerSpec.listenerArn;
          if (listeners.has(arn)) return undefined;
          const open = (port: number) =>
            target.openListener({
              port,
              host: options.listenerHost ?? "127.0.0.1",
              protocol: listenerSpec.protocol === "HTTPS" ? "HTTPS" : "HTTP",
              rules: [{ targetGroups: [] }],
            });
          // One opening per listener however often it is configured (provisioning syncs at each new listener).
          let pending = opening.get(arn);
          if (!pending) {
            // The ALB's own port when free, any free port otherwise (listenerUrl tells which).
            pending = open(listenerSpec.port)
              .catch(() => open(0))
              .then((listener) => {
                listeners.set(arn, { balancer: target, listener });
                applyWeights(arn);
              })
              .finally(() => opening.delete(arn));
            opening.set(arn, pending);
          }
          return pending;
        }),
      );
    },

    async configureTargetGroup(spec: TargetGroupSpec) {
      const healthCheck = {
        path: spec.healthCheck.path,
        port: /^\d+$/.test(spec.healthCheck.port) ? Number(spec.healthCheck.port) : ("traffic-port" as const),
        intervalSeconds: spec.healthCheck.intervalSeconds,
        timeoutSeconds: spec.healthCheck.timeoutSeconds,
        healthyThreshold: spec.healthCheck.healthyThresholdCount,
        unhealthyThreshold: spec.healthCheck.unhealthyThresholdCount,
        matcher: spec.healthCheck.matcher,
      };
      const existing = targetGroups.get(spec.targetGroupArn);
      if (existing) {
        existing.modifyHealthCheck(healthCheck);
        return;
      }
      targetGroups.set(
        spec.targetGroupArn,
        createTargetGroup(
          {
            name: spec.targetGroupName,
            arnSuffix: arnSuffix(spec.targetGroupArn),
            port: spec.port,
            healthCheck,
            deregistrationDelaySeconds: spec.deregistrationDelaySeconds,
          },
          { clock, realTimeoutFloorMs: floor },
        ),
      );
    },

    async setListenerWeights(listenerArn: string, weights: WeightedTargetGroup[]) {
      weightsOf.set(listenerArn, weights);
      applyWeights(listenerArn);
    },

    async registerTargets(targetGroupArn: string, targets: Target[]) {
      targetGroups.get(targetGroupArn)?.registerTargets(targets);
    },

    async deregisterTargets(targetGroupArn: string, targets: Target[]) {
      // Like the ELB API: returns at once, the targets drain in the background.
      void targetGroups.get(targetGroupArn)?.deregisterTargets(targets);
    },

    targetHealth(targetGroupArn: string): TargetHealth[] {
      return (targetGroups.get(targetGroupArn)?.targetHealth() ?? []).map((entry) => ({
        ...entry.target,
        state: entry.state,
        ...(entry.reason ? { reason: entry.reason } : {}),
        ...(entry.description ? { description: entry.description } : {}),
      }));
    },

    listenerUrl(listenerArn: string) {
      const found = listeners.get(listenerArn);
      return found ? `http://${found.listener.host}:${found.listener.port}` : undefined;
    },

    async stop() {
      await Promise.all([...tasks].map(([taskArn, entry]) => stopEntry(taskArn, entry, "Simulator stopped")));
      await runner.stopAll();
      await Promise.all([...loadBalancers.values()].map((balancer) => balancer.close()));
      for (const group of targetGroups.values()) group.close();
      await metrics.stop();
    },
  };
}
