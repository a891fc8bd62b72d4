import { settle } from "./clock.ts";
import {
  type AlarmState,
  alarms,
  evaluateAlarms,
  evaluateCompositeAlarm,
  setState,
} from "./control/alarms.ts";
import { advanceDeployments, deployments, hookExecutions } from "./control/blue-green.ts";
import { deploymentView } from "./control/codedeploy-deployments.ts";
import { setScanFindings } from "./control/ecr.ts";
import { serviceView } from "./control/ecs-services.ts";
import { reconcile } from "./control/ecs-tasks.ts";
import { MemoryRuntime } from "./control/memory-runtime.ts";
import { putMetricData } from "./control/metrics.ts";
import type { TargetState } from "./control/runtime.ts";
import type { Sim } from "./control/state.ts";
import type { FaultRule } from "./protocol/faults.ts";
import type { AdminHandler } from "./protocol/server.ts";
import type { Simulator } from "./simulator.ts";

/** The admin API under /_sim/ (JSON in, JSON out): clock, faults, scan findings, alarms, state. Not an AWS API. */

// biome-ignore lint/suspicious/noExplicitAny: admin bodies are free-form JSON
type Body = Record<string, any>;

export function summary(sim: Sim, simulator: Simulator) {
  const state = sim.state;
  return {
    now: new Date(sim.clock.now()).toISOString(),
    scale: sim.clock.scale,
    endpoint: simulator.endpoint,
    settings: state.settings,
    services: Object.values(state.services).map((service) => {
      const view = serviceView(sim, service);
      return {
        serviceArn: service.serviceArn,
        status: service.status,
        desiredCount: service.desiredCount,
        runningCount: view.runningCount,
        taskDefinition: view.taskDefinition,
        deploymentController: service.deploymentController,
        taskSets: service.taskSets.map((set) => ({
          id: set.id,
          status: set.status,
          taskDefinition: set.taskDefinition,
          externalId: set.externalId,
          stabilityStatus: set.stabilityStatus,
          deleted: set.deleted ?? false,
        })),
      };
    }),
    listeners: Object.values(state.listeners).map((listener) => ({
      listenerArn: listener.listenerArn,
      port: listener.port,
      url: sim.runtime.listenerUrl(listener.listenerArn),
      weights: listener.forward.map((item) => ({
        targetGroup: state.targetGroups[item.targetGroupArn]?.targetGroupName ?? item.targetGroupArn,
        weight: item.weight,
      })),
    })),
    deployments: Object.values(deployments(sim)).map((deployment) => ({
      ...deploymentView(deployment),
      stage: deployment.stage,
      greenWeight: deployment.greenWeight,
    })),
    hooks: Object.values(hookExecutions(sim)),
    alarms: Object.values(alarms(sim)).map((alarm) => ({
      AlarmName: alarm.AlarmName,
      kind: alarm.kind,
      StateValue: alarm.StateValue,
      StateReason: alarm.StateReason,
      held: alarm.held ?? false,
    })),
    faults: simulator.faults.list(),
    calls: simulator.faults.counts(),
    unmodelled: state.unmodelled,
  };
}

export function adminHandler(sim: Sim, simulator: Simulator): AdminHandler {
  const ok = (body: unknown = { ok: true }) => ({ status: 200, body });
  return async ({ method, path, body }) => {
    const input = (body ?? {}) as Body;
    const route = `${method} ${path.replace(/\/+$/, "")}`;
    switch (route) {
      case "GET /_sim/state":
        return ok(summary(sim, simulator));
      case "GET /_sim/raw-state":
        return ok(sim.state);
      case "POST /_sim/clock": {
        if (input.scale !== undefined) sim.clock.setScale(Number(input.scale));
        if (input.advanceSeconds !== undefined) await sim.clock.advance(Number(input.advanceSeconds) * 1000);
        await simulator.tick();
        return ok({
          now: new Date(sim.clock.now()).toISOString(),
          nowMs: sim.clock.now(),
          scale: sim.clock.scale,
        });
      }
      case "GET /_sim/clock":
        return ok({
          now: new Date(sim.clock.now()).toISOString(),
          nowMs: sim.clock.now(),
          scale: sim.clock.scale,
        });
      case "POST /_sim/tick":
        await simulator.tick();
        return ok();
      case "GET /_sim/faults":
        return ok({ rules: simulator.faults.list(), calls: simulator.faults.counts() });
      case "POST /_sim/faults": {
        const rules = (input.rules ?? [input]) as FaultRule[];
        if (input.append) for (const rule of rules) simulator.faults.add(rule);
        else simulator.faults.set(rules);
        simulator.faults.calls.clear();
        return ok({ rules: simulator.faults.list() });
      }
      case "DELETE /_sim/faults":
        simulator.faults.clear();
        return ok();
      case "GET /_sim/calls":
        return ok(simulator.faults.counts());
      case "POST /_sim/scan-findings":
        setScanFindings(sim, input);
        return ok();
      case "POST /_sim/alarms/state": {
        const alarm = alarms(sim)[String(input.alarmName)];
        if (!alarm) return { status: 404, body: { error: `alarm ${input.alarmName} does not exist` } };
        setState(
          sim,
          alarm,
          input.stateValue as AlarmState,
          input.reason ?? "Set through the simulator admin API",
        );
        alarm.held = Boolean(input.hold);
        for (const other of Object.values(alarms(sim)))
          if (other.kind === "composite" && !other.held) evaluateCompositeAlarm(sim, other);
        advanceDeployments(sim);
        return ok();
      }
      case "POST /_sim/alarms/evaluate":
        evaluateAlarms(sim);
        advanceDeployments(sim);
        return ok();
      case "POST /_sim/metrics":
        putMetricData(
          sim,
          String(input.namespace),
          (input.metricData ?? []).map((item: Body) => ({
            ...item,
            Timestamp: item.Timestamp ? Date.parse(item.Timestamp) : undefined,
          })),
        );
        return ok();
      case "GET /_sim/hooks":
        return ok(Object.values(hookExecutions(sim)).filter((hook) => !hook.status));
      case "POST /_sim/settings": {
        const numeric = ["codeDeployAlarmPollSeconds", "hookTimeoutMinutes", "installTimeoutMinutes"];
        for (const key of numeric)
          if (input[key] !== undefined) (sim.state.settings as unknown as Body)[key] = Number(input[key]);
        return ok(sim.state.settings);
      }
      case "POST /_sim/targets/health": {
        if (!(sim.runtime instanceof MemoryRuntime))
          return {
            status: 400,
            body: { error: "target health can only be forced on the in-memory runtime" },
          };
        const group = Object.values(sim.state.targetGroups).find(
          (item) =>
            item.targetGroupArn === input.targetGroupArn || item.targetGroupName === input.targetGroupName,
        );
        if (!group) return { status: 404, body: { error: "target group not found" } };
        sim.runtime.setHealth(group.targetGroupArn, (input.state ?? undefined) as TargetState | undefined);
        reconcile(sim);
        await settle();
        return ok();
      }
      case "POST /_sim/tasks/fail":
      case "DELETE /_sim/tasks/fail": {
        if (!(sim.runtime instanceof MemoryRuntime))
          return {
            status: 400,
            body: { error: "task failures can only be injected on the in-memory runtime" },
          };
        if (method === "DELETE") {
          sim.runtime.clearFailures();
          return ok();
        }
        if (!input.taskDefinition && !input.image)
          return {
            status: 400,
            body: { error: "give taskDefinition or image to match the tasks that fail" },
          };
        if (input.mode !== undefined && !["pull", "exit"].includes(input.mode))
          return { status: 400, body: { error: `mode '${input.mode}' is not pull or exit` } };
        sim.runtime.failTasks({
          ...(input.taskDefinition ? { taskDefinition: String(input.taskDefinition) } : {}),
          ...(input.image ? { image: String(input.image) } : {}),
          ...(input.mode ? { mode: input.mode } : {}),
          ...(input.reason ? { reason: String(input.reason) } : {}),
        });
        return ok({ failures: sim.runtime.failures });
      }
      case "POST /_sim/save":
        simulator.save();
        return ok();
      default:
        return { status: 404, body: { error: `no admin route ${route}` } };
    }
  };
}
