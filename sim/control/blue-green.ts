import { randomUUID } from "node:crypto";
import type { SimTimer } from "../clock.ts";
import { alarmStateForCodeDeploy } from "./alarms.ts";
import { finish, snapshotTaskSets, succeed } from "./deployment-end.ts";
import {
  type Deployment,
  type HookExecution,
  hookEvents,
  isActive,
  rollbackStageOrder,
  type Stage,
  stageOrder,
} from "./deployment-model.ts";
import { addEvent, newTaskSet, primaryTaskSet } from "./ecs-services.ts";
import { setForward } from "./elbv2.ts";
import { type Service, type Sim, slot, type TaskSet } from "./state.ts";
import { trafficPlan } from "./traffic.ts";

/**
 * The CodeDeploy ECS blue/green state machine. A deployment walks the stages of deployment-model.ts on the sim
 * clock: `advanceDeployment` is called on every heartbeat, on API calls that change it (continue, hook status,
 * stop) and by a timer armed for its next deadline, so schedules are exact and resume after a restart.
 */

const timers = new WeakMap<Sim, Map<string, SimTimer>>();
const minute = 60_000;

export function deployments(sim: Sim): Record<string, Deployment> {
  return slot(sim.state.codedeploy, "deployments", () => ({}));
}

export function hookExecutions(sim: Sim): Record<string, HookExecution> {
  return slot(sim.state.codedeploy, "hooks", () => ({}));
}

function service(sim: Sim, deployment: Deployment): Service | undefined {
  return sim.state.services[deployment.serviceArn];
}

function taskSet(sim: Sim, deployment: Deployment, id: string | undefined): TaskSet | undefined {
  return service(sim, deployment)?.taskSets.find((set) => set.id === id && !set.deleted);
}

function event(deployment: Deployment, name: string) {
  return deployment.events.find((item) => item.lifecycleEventName === name);
}

function order(deployment: Deployment): Stage[] {
  return deployment.rollbackOf ? rollbackStageOrder : stageOrder;
}

function enterNext(sim: Sim, deployment: Deployment) {
  const stages = order(deployment);
  deployment.stage = stages[stages.indexOf(deployment.stage) + 1] ?? "Done";
  deployment.stageStartedAt = sim.clock.now();
  deployment.deadline = undefined;
  enterStage(sim, deployment);
}

function setEvent(
  sim: Sim,
  deployment: Deployment,
  name: string,
  status: "InProgress" | "Succeeded" | "Skipped",
) {
  const item = event(deployment, name);
  if (!item) return;
  const now = sim.clock.now();
  if (status === "InProgress") item.startTime = now;
  else {
    item.startTime ??= now;
    item.endTime = now;
  }
  item.status = status;
  deployment.lastUpdatedAt = now;
}

export function enterStage(sim: Sim, deployment: Deployment) {
  const now = sim.clock.now();
  const stage = deployment.stage;
  const bg = deployment.blueGreenDeploymentConfiguration ?? {};
  if (hookEvents.has(stage)) {
    if (stage === "AfterAllowTestTraffic" && !deployment.testListenerArn) {
      setEvent(sim, deployment, stage, "Skipped");
      return enterNext(sim, deployment);
    }
    const functionName = deployment.hooks[stage];
    if (!functionName) {
      setEvent(sim, deployment, stage, "Succeeded");
      return enterNext(sim, deployment);
    }
    setEvent(sim, deployment, stage, "InProgress");
    const id = randomUUID();
    hookExecutions(sim)[id] = {
      lifecycleEventHookExecutionId: id,
      deploymentId: deployment.deploymentId,
      lifecycleEventName: stage,
      functionName,
      startedAt: now,
    };
    deployment.deadline = now + sim.state.settings.hookTimeoutMinutes * minute;
    sim.log(`codedeploy: ${deployment.deploymentId} ${stage} waits for hook ${functionName} (${id})`);
    return;
  }
  switch (stage) {
    case "Install": {
      setEvent(sim, deployment, stage, "InProgress");
      const target = service(sim, deployment);
      if (target?.status !== "ACTIVE") {
        return finish(
          sim,
          deployment,
          "Failed",
          "INVALID_ECS_SERVICE",
          "The ECS service is not active.",
          true,
        );
      }
      if (!sim.state.taskDefinitions[deployment.taskDefinitionArn]) {
        return finish(
          sim,
          deployment,
          "Failed",
          "ECS_UPDATE_ERROR",
          `The task definition ${deployment.taskDefinitionArn} does not exist.`,
          false,
        );
      }
      for (const set of target.taskSets) if (set.id !== deployment.blueTaskSetId) set.deleted = true;
      const green = newTaskSet(sim, target, deployment.taskDefinitionArn, {
        status: "ACTIVE",
        externalId: deployment.deploymentId,
        startedBy: "CODE_DEPLOY",
        loadBalancers: [
          {
            targetGroupArn: deployment.greenTargetGroupArn,
            containerName: deployment.containerName,
            containerPort: deployment.containerPort,
          },
        ],
      });
      target.taskSets.push(green);
      deployment.greenTaskSetId = green.id;
      deployment.deadline = now + sim.state.settings.installTimeoutMinutes * minute;
      addEvent(
        sim,
        target,
        `(service ${target.serviceName}, taskSet ${green.id}) has begun draining connections on 0 tasks.`,
      );
      sim.wake();
      return;
    }
    case "AllowTestTraffic": {
      if (deployment.testListenerArn && deployment.greenTargetGroupArn) {
        setForward(sim, deployment.testListenerArn, [
          { targetGroupArn: deployment.greenTargetGroupArn, weight: 100 },
        ]);
      }
      setEvent(sim, deployment, stage, "Succeeded");
      return enterNext(sim, deployment);
    }
    case "ReadyWait": {
      const ready = bg.deploymentReadyOption;
      if (ready?.actionOnTimeout !== "STOP_DEPLOYMENT") return enterNext(sim, deployment);
      deployment.status = "Ready";
      deployment.deadline = now + Number(ready.waitTimeInMinutes ?? 0) * minute;
      return;
    }
    case "AllowTraffic": {
      if (deployment.rollbackOf) return rollBackTraffic(sim, deployment);
      setEvent(sim, deployment, stage, "InProgress");
      deployment.status = "InProgress";
      return advanceTraffic(sim, deployment);
    }
    case "TerminationWait": {
      deployment.instanceTerminationWaitTimeStarted = true;
      const termination = bg.terminateBlueInstancesOnDeploymentSuccess ?? {};
      if (termination.action === "KEEP_ALIVE") {
        deployment.stage = "Cleanup";
        return succeed(sim, deployment);
      }
      deployment.deadline = now + Number(termination.terminationWaitTimeInMinutes ?? 0) * minute;
      return;
    }
    case "Cleanup": {
      const retired = deployment.rollbackOf ? deployment.greenTaskSetId : deployment.blueTaskSetId;
      const set = taskSet(sim, deployment, retired);
      if (set) set.deleted = true;
      sim.wake();
      return;
    }
    case "Done":
      return succeed(sim, deployment);
    default:
      return;
  }
}

function advanceTraffic(sim: Sim, deployment: Deployment) {
  const plan = trafficPlan(sim, deployment.deploymentConfigName);
  const elapsed = sim.clock.now() - deployment.stageStartedAt;
  let weight = 0;
  let next: number | undefined;
  for (const step of plan) {
    if (step.afterMs <= elapsed) weight = step.weight;
    else if (next === undefined) next = deployment.stageStartedAt + step.afterMs;
  }
  if (weight !== deployment.greenWeight) applyWeights(sim, deployment, weight);
  deployment.deadline = next;
  if (weight >= 100) {
    const target = service(sim, deployment);
    const blue = taskSet(sim, deployment, deployment.blueTaskSetId);
    const green = taskSet(sim, deployment, deployment.greenTaskSetId);
    if (blue) blue.status = "ACTIVE";
    if (green) green.status = "PRIMARY";
    if (target)
      addEvent(sim, target, `(service ${target.serviceName}) updated the primary task set to ${green?.id}.`);
    setEvent(sim, deployment, "AllowTraffic", "Succeeded");
    enterNext(sim, deployment);
  }
}

function applyWeights(sim: Sim, deployment: Deployment, greenWeight: number): void {
  deployment.greenWeight = greenWeight;
  if (!deployment.prodListenerArn || !deployment.blueTargetGroupArn || !deployment.greenTargetGroupArn)
    return;
  setForward(sim, deployment.prodListenerArn, [
    { targetGroupArn: deployment.blueTargetGroupArn, weight: 100 - greenWeight },
    { targetGroupArn: deployment.greenTargetGroupArn, weight: greenWeight },
  ]);
}

/** A rollback deployment: 100% back to blue on both listeners, blue PRIMARY again, green drained and deleted. */
function rollBackTraffic(sim: Sim, deployment: Deployment) {
  applyWeights(sim, deployment, 0);
  if (deployment.testListenerArn && deployment.blueTargetGroupArn) {
    setForward(sim, deployment.testListenerArn, [
      { targetGroupArn: deployment.blueTargetGroupArn, weight: 100 },
    ]);
  }
  const blue = taskSet(sim, deployment, deployment.blueTaskSetId);
  const green = taskSet(sim, deployment, deployment.greenTaskSetId);
  if (blue) blue.status = "PRIMARY";
  if (green) green.status = "ACTIVE";
  setEvent(sim, deployment, "AllowTestTraffic", "Succeeded");
  setEvent(sim, deployment, "AllowTraffic", "Succeeded");
  enterNext(sim, deployment);
}

/** Starts a created deployment: picks blue and green from the live listener, then enters BeforeInstall. */
export function startDeployment(sim: Sim, deployment: Deployment) {
  const now = sim.clock.now();
  const target = service(sim, deployment);
  deployment.status = "InProgress";
  deployment.startTime = now;
  deployment.stage = "BeforeInstall";
  deployment.stageStartedAt = now;
  const pair = deployment.loadBalancerInfo?.targetGroupPairInfoList?.[0];
  const names: string[] = (pair?.targetGroups ?? []).map((group: { name: string }) => group.name);
  const arns = names.map(
    (name) =>
      Object.values(sim.state.targetGroups).find((group) => group.targetGroupName === name)?.targetGroupArn,
  );
  deployment.prodListenerArn = pair?.prodTrafficRoute?.listenerArns?.[0];
  deployment.testListenerArn = pair?.testTrafficRoute?.listenerArns?.[0];
  const prod = deployment.prodListenerArn ? sim.state.listeners[deployment.prodListenerArn] : undefined;
  const serving = prod?.forward
    .filter((item) => arns.includes(item.targetGroupArn))
    .sort((a, b) => b.weight - a.weight)[0];
  const blueArn = serving?.targetGroupArn ?? target?.loadBalancers[0]?.targetGroupArn ?? arns[0];
  deployment.blueTargetGroupArn = blueArn;
  deployment.greenTargetGroupArn = arns.find((item) => item && item !== blueArn);
  deployment.blueTaskSetId = target ? primaryTaskSet(target)?.id : undefined;
  deployment.greenWeight = 0;
  const alarms = deployment.alarmConfiguration;
  if (alarms.enabled && (alarms.alarms?.length ?? 0) > 0) {
    deployment.nextAlarmPoll = now + sim.state.settings.codeDeployAlarmPollSeconds * 1000;
  }
  if (!target || !deployment.greenTargetGroupArn || !deployment.prodListenerArn) {
    return finish(
      sim,
      deployment,
      "Failed",
      "INVALID_ECS_SERVICE",
      "The deployment group's ECS service or target group pair is not valid.",
      false,
    );
  }
  enterStage(sim, deployment);
}

function pollAlarms(sim: Sim, deployment: Deployment): boolean {
  const configuration = deployment.alarmConfiguration;
  const now = sim.clock.now();
  if (deployment.nextAlarmPoll === undefined || now < deployment.nextAlarmPoll) return false;
  const every = sim.state.settings.codeDeployAlarmPollSeconds * 1000;
  while (deployment.nextAlarmPoll <= now) deployment.nextAlarmPoll += every;
  const events = deployment.autoRollbackConfiguration.enabled
    ? (deployment.autoRollbackConfiguration.events ?? [])
    : [];
  for (const { name } of configuration.alarms ?? []) {
    const state = alarmStateForCodeDeploy(sim, name);
    if (state === "ALARM") {
      finish(
        sim,
        deployment,
        "Stopped",
        "ALARM_ACTIVE",
        `One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <${name}>`,
        events.includes("DEPLOYMENT_STOP_ON_ALARM"),
      );
      return true;
    }
    if (state === undefined && !configuration.ignorePollAlarmFailure) {
      finish(
        sim,
        deployment,
        "Stopped",
        "ALARM_ACTIVE",
        `The deployment was stopped because the state of alarm <${name}> could not be retrieved.`,
        events.includes("DEPLOYMENT_STOP_ON_ALARM"),
      );
      return true;
    }
  }
  return false;
}

/** One look at a deployment: alarms, then its current stage's exit condition. */
export function advanceDeployment(sim: Sim, deployment: Deployment): void {
  for (let guard = 0; guard < 20 && isActive(deployment); guard++) {
    if (deployment.status === "Created") {
      startDeployment(sim, deployment);
      continue;
    }
    if (!deployment.rollbackOf && pollAlarms(sim, deployment)) return;
    const before = `${deployment.stage}/${deployment.status}`;
    checkStage(sim, deployment);
    if (`${deployment.stage}/${deployment.status}` === before) break;
  }
  if (deployment.greenTaskSetId) snapshotTaskSets(sim, deployment);
  armTimer(sim, deployment);
}

function checkStage(sim: Sim, deployment: Deployment) {
  const now = sim.clock.now();
  const stage = deployment.stage;
  const failureRollback = Boolean(
    deployment.autoRollbackConfiguration.enabled &&
      (deployment.autoRollbackConfiguration.events ?? []).includes("DEPLOYMENT_FAILURE"),
  );
  if (hookEvents.has(stage)) {
    const hook = Object.values(hookExecutions(sim)).find(
      (item) => item.deploymentId === deployment.deploymentId && item.lifecycleEventName === stage,
    );
    if (hook?.status === "Succeeded") {
      setEvent(sim, deployment, stage, "Succeeded");
      return enterNext(sim, deployment);
    }
    const timedOut = deployment.deadline !== undefined && now >= deployment.deadline;
    if (hook?.status === "Failed" || timedOut) {
      if (hook && !hook.status) hook.status = "Failed";
      const why = timedOut
        ? `The ${stage} hook ${hook?.functionName} timed out.`
        : `The ${stage} hook ${hook?.functionName} reported Failed.`;
      return finish(
        sim,
        deployment,
        "Failed",
        "HOOK_EXECUTION_FAILURE",
        why,
        failureRollback && stage !== "BeforeInstall",
      );
    }
    return;
  }
  switch (stage) {
    case "Install": {
      const green = taskSet(sim, deployment, deployment.greenTaskSetId);
      if (green?.stabilityStatus === "STEADY_STATE") {
        setEvent(sim, deployment, stage, "Succeeded");
        return enterNext(sim, deployment);
      }
      if (deployment.deadline !== undefined && now >= deployment.deadline) {
        return finish(
          sim,
          deployment,
          "Failed",
          "TIMEOUT",
          "The replacement task set did not become healthy before the Install timeout.",
          failureRollback,
        );
      }
      return;
    }
    case "ReadyWait": {
      if (deployment.continued.READY_WAIT) {
        deployment.status = "InProgress";
        return enterNext(sim, deployment);
      }
      if (deployment.deadline !== undefined && now >= deployment.deadline) {
        const events = deployment.autoRollbackConfiguration.enabled
          ? (deployment.autoRollbackConfiguration.events ?? [])
          : [];
        return finish(
          sim,
          deployment,
          "Stopped",
          "TIMEOUT",
          "The deployment timed out while waiting for the replacement task set to be approved (ContinueDeployment).",
          events.includes("DEPLOYMENT_STOP_ON_REQUEST"),
        );
      }
      return;
    }
    case "AllowTraffic":
      if (!deployment.rollbackOf) advanceTraffic(sim, deployment);
      return;
    case "TerminationWait":
      if (
        deployment.continued.TERMINATION_WAIT ||
        (deployment.deadline !== undefined && now >= deployment.deadline)
      ) {
        return enterNext(sim, deployment);
      }
      return;
    case "Cleanup": {
      const retired = deployment.rollbackOf ? deployment.greenTaskSetId : deployment.blueTaskSetId;
      const gone = !service(sim, deployment)?.taskSets.some((set) => set.id === retired);
      if (gone) return enterNext(sim, deployment);
      return;
    }
    default:
      return;
  }
}

function armTimer(sim: Sim, deployment: Deployment): void {
  let map = timers.get(sim);
  if (!map) {
    map = new Map();
    timers.set(sim, map);
  }
  const current = map.get(deployment.deploymentId);
  const due = isActive(deployment)
    ? Math.min(
        deployment.deadline ?? Number.POSITIVE_INFINITY,
        deployment.nextAlarmPoll ?? Number.POSITIVE_INFINITY,
      )
    : Number.POSITIVE_INFINITY;
  if (current && current.at === due) return;
  current?.cancel();
  map.delete(deployment.deploymentId);
  if (Number.isFinite(due)) {
    map.set(
      deployment.deploymentId,
      sim.clock.at(due, () => advanceDeployment(sim, deployment)),
    );
  }
}

/** Runs every active deployment once (heartbeat). */
export function advanceDeployments(sim: Sim): void {
  for (const deployment of Object.values(deployments(sim))) {
    if (isActive(deployment)) advanceDeployment(sim, deployment);
  }
}
