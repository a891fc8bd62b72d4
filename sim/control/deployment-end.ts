import { deployments, enterStage, hookExecutions } from "./blue-green.ts";
import type { Deployment } from "./deployment-model.ts";
import type { Service, Sim, TaskSet } from "./state.ts";

/** How a deployment ends: Succeeded, or Failed/Stopped with an optional rollback deployment. */

function service(sim: Sim, deployment: Deployment): Service | undefined {
  return sim.state.services[deployment.serviceArn];
}

function taskSet(sim: Sim, deployment: Deployment, id: string | undefined): TaskSet | undefined {
  return service(sim, deployment)?.taskSets.find((set) => set.id === id && !set.deleted);
}

export function succeed(sim: Sim, deployment: Deployment): void {
  const now = sim.clock.now();
  deployment.status = "Succeeded";
  deployment.stage = "Done";
  deployment.completeTime = now;
  deployment.deadline = undefined;
  deployment.lastUpdatedAt = now;
  for (const item of deployment.events) if (item.status === "Pending") item.status = "Skipped";
  const group =
    sim.state.codedeploy.groups?.[`${deployment.applicationName}/${deployment.deploymentGroupName}`];
  if (group) {
    group.lastSuccessfulDeployment = {
      deploymentId: deployment.deploymentId,
      status: "Succeeded",
      endTime: now,
      createTime: deployment.createTime,
    };
  }
  sim.log(`codedeploy: ${deployment.deploymentId} succeeded`);
}

/** Ends a deployment Failed or Stopped; with `rollback` and green installed, starts a rollback deployment. */
export function finish(
  sim: Sim,
  deployment: Deployment,
  status: "Failed" | "Stopped",
  code: string,
  message: string,
  rollback: boolean,
): void {
  const now = sim.clock.now();
  for (const item of deployment.events) {
    if (item.status === "InProgress") {
      item.status = "Failed";
      item.endTime = now;
      item.diagnostics = {
        errorCode: status === "Stopped" ? "UnknownError" : "ScriptFailed",
        scriptName: "",
        message,
        logTail: "",
      };
    } else if (item.status === "Pending") item.status = "Skipped";
  }
  for (const hook of Object.values(hookExecutions(sim))) {
    if (hook.deploymentId === deployment.deploymentId && !hook.status) hook.status = "Failed";
  }
  deployment.status = status;
  deployment.completeTime = now;
  deployment.deadline = undefined;
  deployment.lastUpdatedAt = now;
  deployment.errorInformation = { code, message };
  deployment.statusMessages.push(message);
  snapshotTaskSets(sim, deployment);
  sim.log(`codedeploy: ${deployment.deploymentId} ${status} (${code}): ${message}`);
  const greenInstalled = deployment.greenTaskSetId !== undefined && deployment.stage !== "BeforeInstall";
  if (rollback && greenInstalled && !deployment.rollbackOf) {
    const rollbackDeployment = startRollback(sim, deployment);
    deployment.rollbackInfo = {
      rollbackDeploymentId: rollbackDeployment.deploymentId,
      rollbackMessage: `Deployment ${deployment.deploymentId} was rolled back by deployment ${rollbackDeployment.deploymentId}.`,
    };
  }
  deployment.stage = "Done";
}

export function startRollback(sim: Sim, failed: Deployment): Deployment {
  const now = sim.clock.now();
  const blue = taskSet(sim, failed, failed.blueTaskSetId);
  const id = newDeploymentId();
  const taskDefinitionArn = blue?.taskDefinition ?? failed.taskDefinitionArn;
  const content = JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: "AWS::ECS::Service",
          Properties: {
            TaskDefinition: taskDefinitionArn,
            LoadBalancerInfo: { ContainerName: failed.containerName, ContainerPort: failed.containerPort },
          },
        },
      },
    ],
  });
  const rollback: Deployment = {
    ...failed,
    deploymentId: id,
    deploymentConfigName: "CodeDeployDefault.ECSAllAtOnce",
    status: "InProgress",
    creator: "codeDeployRollback",
    description: undefined,
    createTime: now,
    startTime: now,
    completeTime: undefined,
    revision: { revisionType: "AppSpecContent", appSpecContent: { content } },
    errorInformation: undefined,
    rollbackInfo: {
      rollbackTriggeringDeploymentId: failed.deploymentId,
      rollbackMessage: `Rolls back deployment ${failed.deploymentId}.`,
    },
    instanceTerminationWaitTimeStarted: false,
    statusMessages: [],
    taskDefinitionArn,
    hooks: {},
    events: failed.events.map((item) => ({
      lifecycleEventName: item.lifecycleEventName,
      status: "Skipped" as const,
    })),
    stage: "AllowTraffic",
    stageStartedAt: now,
    deadline: undefined,
    continued: {},
    nextAlarmPoll: undefined,
    lastUpdatedAt: now,
    rollbackOf: failed.deploymentId,
    taskSetsInfo: undefined,
  };
  deployments(sim)[id] = rollback;
  sim.log(`codedeploy: rollback ${id} of ${failed.deploymentId} started`);
  enterStage(sim, rollback);
  return rollback;
}

export function newDeploymentId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let id = "d-";
  for (let index = 0; index < 9; index++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

export function snapshotTaskSets(sim: Sim, deployment: Deployment): void {
  const target = service(sim, deployment);
  if (!target) return;
  const labelled: Array<[string | undefined, string | undefined, string, number]> = [
    [deployment.blueTaskSetId, deployment.blueTargetGroupArn, "Blue", 100 - deployment.greenWeight],
    [deployment.greenTaskSetId, deployment.greenTargetGroupArn, "Green", deployment.greenWeight],
  ];
  const infos = [];
  for (const [id, targetGroupArn, label, weight] of labelled) {
    const set = target.taskSets.find((item) => item.id === id);
    const previous = deployment.taskSetsInfo?.find((item) => item.taskSetLabel === label);
    if (!set) {
      if (previous)
        infos.push({
          ...previous,
          desiredCount: 0,
          pendingCount: 0,
          runningCount: 0,
          status: "DRAINING",
          trafficWeight: weight,
        });
      continue;
    }
    const tasks = Object.values(sim.state.tasks).filter(
      (task) => task.taskSetId === set.id && task.desiredStatus === "RUNNING",
    );
    infos.push({
      identifer: set.id,
      desiredCount: set.deleted ? 0 : Math.ceil((target.desiredCount * set.scale) / 100),
      pendingCount: tasks.filter((task) => task.lastStatus !== "RUNNING").length,
      runningCount: tasks.filter((task) => task.lastStatus === "RUNNING").length,
      status: set.deleted ? "DRAINING" : set.status,
      trafficWeight: weight,
      targetGroup: {
        name: targetGroupArn ? sim.state.targetGroups[targetGroupArn]?.targetGroupName : undefined,
      },
      taskSetLabel: label,
    });
  }
  deployment.taskSetsInfo = infos;
}
