import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { adminHandler } from "./admin.ts";
import { SimClock, settle } from "./clock.ts";
import { evaluateAlarms } from "./control/alarms.ts";
import { advanceDeployments } from "./control/blue-green.ts";
import { cloudWatchOperations } from "./control/cloudwatch.ts";
import { codeDeployOperations } from "./control/codedeploy.ts";
import { ecrOperations } from "./control/ecr.ts";
import { ecsOperations } from "./control/ecs.ts";
import { reconcile, taskExited } from "./control/ecs-tasks.ts";
import { elbv2Operations, setForward, targetGroupSpec } from "./control/elbv2.ts";
import { memoryRuntime } from "./control/memory-runtime.ts";
import { putMetricData } from "./control/metrics.ts";
import type { Runtime, RuntimeFactory } from "./control/runtime.ts";
import { emptyState, type Settings, type Sim, type State } from "./control/state.ts";
import { Faults } from "./protocol/faults.ts";
import { createProtocolServer } from "./protocol/server.ts";
import { provisionTemplate } from "./provision.ts";

/** The simulator as a library: `startSimulator` for tests and the pipeline, used by `sim start` too. */

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Sim seconds per real second; 0 = manual clock (advance through the admin API). Default 1. */
  timeScale?: number;
  /** Sim time at start, epoch ms (default now). */
  startTime?: number;
  settings?: Partial<Settings>;
  /** CloudFormation templates (parsed JSON or file paths) to provision at start. */
  templates?: Array<string | { name: string; template: Record<string, unknown> }>;
  /** Template parameter values. */
  parameters?: Record<string, string>;
  /** The data plane; default: the in-memory runtime (no processes). */
  runtime?: RuntimeFactory;
  /** JSON file the state is saved to (on stop and every few seconds) and resumed from. */
  stateFile?: string;
  log?: (line: string) => void;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>`: set as AWS_ENDPOINT_URL. */
  endpoint: string;
  /** `${endpoint}/_sim`. */
  admin: string;
  sim: Sim;
  clock: SimClock;
  runtime: Runtime;
  faults: Faults;
  /** Runs the reconciler and the deployment machine now. */
  tick(): Promise<void>;
  save(): void;
  stop(): Promise<void>;
}

function loadState(file: string | undefined): { state: State; now: number } | undefined {
  if (!file || !existsSync(file)) return undefined;
  const saved = JSON.parse(readFileSync(file, "utf8")) as { state: State; now: number };
  return saved;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const log = options.log ?? (() => undefined);
  const resumed = loadState(options.stateFile);
  const clock = new SimClock({ start: resumed?.now ?? options.startTime, scale: options.timeScale ?? 1 });
  const state = resumed?.state ?? emptyState(options.settings);
  if (resumed && options.settings) Object.assign(state.settings, options.settings);
  let runtime: Runtime | undefined;
  // No tick until start-up is done (tasks launched before the listeners serve would miss their URLs): the wake at
  // the end of start-up runs the first one.
  let scheduled = true;
  const sim: Sim = {
    state,
    clock,
    get runtime(): Runtime {
      if (!runtime) throw new Error("runtime not started");
      return runtime;
    },
    wake: () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        tickNow();
      });
    },
    log,
  };
  const tickNow = () => {
    try {
      reconcile(sim);
      advanceDeployments(sim);
    } catch (error) {
      log(`sim: tick failed: ${error instanceof Error ? error.stack : error}`);
    }
  };
  runtime = await (options.runtime ?? memoryRuntime())({
    clock,
    putMetricData: (namespace, data) => putMetricData(sim, namespace, data),
    taskStopped: (taskArn, detail) => taskExited(sim, taskArn, detail.reason, detail.exitCode),
    log,
  });

  if (resumed) await resumeRuntime(sim);
  for (const entry of options.templates ?? []) {
    const { name, template } =
      typeof entry === "string" ? { name: entry, template: JSON.parse(readFileSync(entry, "utf8")) } : entry;
    const report = provisionTemplate(sim, template, { name, parameters: options.parameters });
    log(
      `sim: provisioned ${name}: ${report.created.length} resources, ${report.unmodelled.length} not modelled`,
    );
  }

  // Listeners open asynchronously during provisioning: wait until the data plane serves them.
  await Promise.all(
    Object.values(state.loadBalancers).map((loadBalancer) =>
      runtime?.configureLoadBalancer({
        loadBalancerArn: loadBalancer.loadBalancerArn,
        loadBalancerName: loadBalancer.loadBalancerName,
        listeners: Object.values(state.listeners)
          .filter((listener) => listener.loadBalancerArn === loadBalancer.loadBalancerArn)
          .map((listener) => ({
            listenerArn: listener.listenerArn,
            port: listener.port,
            protocol: listener.protocol,
          })),
      }),
    ),
  );

  const heartbeat = clock.every(state.settings.heartbeatSeconds * 1000, tickNow);
  const evaluation = clock.every(state.settings.alarmEvaluationSeconds * 1000, () => {
    evaluateAlarms(sim);
    advanceDeployments(sim);
  });

  const faults = new Faults();
  const save = () => {
    if (!options.stateFile) return;
    const temporary = `${options.stateFile}.tmp`;
    writeFileSync(temporary, JSON.stringify({ now: clock.now(), state }));
    renameSync(temporary, options.stateFile);
  };
  const tick = async () => {
    tickNow();
    await settle();
  };
  const simulator: Partial<Simulator> = { sim, clock, runtime, faults, tick, save };
  const server = createProtocolServer({
    services: {
      ecs: ecsOperations(sim),
      codedeploy: codeDeployOperations(sim),
      monitoring: cloudWatchOperations(sim),
      ecr: ecrOperations(sim),
      elasticloadbalancing: elbv2Operations(sim),
    },
    faults,
    admin: adminHandler(sim, simulator as Simulator),
    defaultRegion: state.settings.region,
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const saver = options.stateFile ? setInterval(save, 5000) : undefined;
  saver?.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  Object.assign(simulator, {
    endpoint,
    admin: `${endpoint}/_sim`,
    stop: async () => {
      heartbeat.cancel();
      evaluation.cancel();
      if (saver) clearInterval(saver);
      save();
      clock.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime?.stop();
    },
  });
  scheduled = false;
  sim.wake();
  return simulator as Simulator;
}

/** After a restart: tasks did not survive (their processes are gone), load balancers are set up again. */
async function resumeRuntime(sim: Sim): Promise<void> {
  const now = sim.clock.now();
  for (const task of Object.values(sim.state.tasks)) {
    if (task.lastStatus !== "STOPPED") {
      Object.assign(task, {
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stoppedAt: now,
        stoppedReason: "Simulator restarted",
        stopCode: "TaskFailedToStart",
        targets: [],
      });
    }
  }
  for (const group of Object.values(sim.state.targetGroups)) group.targets = [];
  for (const group of Object.values(sim.state.targetGroups))
    await sim.runtime.configureTargetGroup(targetGroupSpec(group));
  for (const loadBalancer of Object.values(sim.state.loadBalancers)) {
    const listeners = Object.values(sim.state.listeners)
      .filter((listener) => listener.loadBalancerArn === loadBalancer.loadBalancerArn)
      .map((listener) => ({
        listenerArn: listener.listenerArn,
        port: listener.port,
        protocol: listener.protocol,
      }));
    await sim.runtime.configureLoadBalancer({
      loadBalancerArn: loadBalancer.loadBalancerArn,
      loadBalancerName: loadBalancer.loadBalancerName,
      listeners,
    });
  }
  for (const listener of Object.values(sim.state.listeners))
    setForward(sim, listener.listenerArn, listener.forward);
}
