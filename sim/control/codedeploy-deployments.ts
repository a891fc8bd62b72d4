import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { clientError, list, paginate, time } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { advanceDeployment, deployments, hookExecutions } from "./blue-green.ts";
import { findApplication, findGroup } from "./codedeploy.ts";
import { finish, newDeploymentId } from "./deployment-end.ts";
import { type Deployment, isActive, lifecycleEventNames } from "./deployment-model.ts";
import { date, type Sim } from "./state.ts";
import { routingConfig } from "./traffic.ts";

/** CodeDeploy deployments: create from an AppSpec, read, stop, continue, hooks, targets. */

// biome-ignore lint/suspicious/noExplicitAny: AppSpec documents are free-form
type Json = any;

function field(object: Json, name: string): Json {
  if (!object || typeof object !== "object") return undefined;
  const key = Object.keys(object).find((item) => item.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

export function parseAppSpec(content: string): {
  taskDefinition: string;
  containerName: string;
  containerPort: number;
  hooks: Record<string, string>;
} {
  let document: Json;
  try {
    document = content.trim().startsWith("{") ? JSON.parse(content) : parseYaml(content);
  } catch (error) {
    throw clientError(
      "InvalidRevisionException",
      `The AppSpec content is neither JSON nor YAML: ${error instanceof Error ? error.message : error}`,
    );
  }
  const resources = field(document, "Resources");
  const first = Array.isArray(resources) ? resources[0] : undefined;
  const target = first ? Object.values(first)[0] : undefined;
  const properties = field(target, "Properties");
  const taskDefinition = field(properties, "TaskDefinition");
  const loadBalancerInfo = field(properties, "LoadBalancerInfo");
  const containerName = field(loadBalancerInfo, "ContainerName");
  const containerPort = Number(field(loadBalancerInfo, "ContainerPort"));
  if (typeof taskDefinition !== "string" || !containerName || !Number.isInteger(containerPort)) {
    throw clientError(
      "InvalidRevisionException",
      "The AppSpec needs Resources[0].TargetService.Properties with TaskDefinition and LoadBalancerInfo {ContainerName, ContainerPort}.",
    );
  }
  const hooks: Record<string, string> = {};
  for (const entry of list<Json>(field(document, "Hooks"))) {
    for (const [name, functionName] of Object.entries(entry ?? {})) {
      const event = lifecycleEventNames.find((item) => item.toLowerCase() === name.toLowerCase());
      if (event) hooks[event] = String(functionName);
    }
  }
  return { taskDefinition, containerName: String(containerName), containerPort, hooks };
}

function findDeployment(sim: Sim, id: unknown): Deployment {
  if (!id)
    throw clientError("DeploymentIdRequiredException", "At least one deployment ID must be specified.");
  if (!/^d-[A-Z0-9]{9}$/.test(String(id)))
    throw clientError("InvalidDeploymentIdException", `The deployment ID ${id} is not valid.`);
  const deployment = deployments(sim)[String(id)];
  if (!deployment)
    throw clientError("DeploymentDoesNotExistException", `The deployment ${id} could not be found.`);
  return deployment;
}

export function deploymentView(deployment: Deployment) {
  return {
    applicationName: deployment.applicationName,
    deploymentGroupName: deployment.deploymentGroupName,
    deploymentConfigName: deployment.deploymentConfigName,
    deploymentId: deployment.deploymentId,
    previousRevision: undefined,
    revision: deployment.revision,
    status: deployment.status,
    errorInformation: deployment.errorInformation,
    createTime: date(deployment.createTime),
    startTime: date(deployment.startTime),
    completeTime: date(deployment.completeTime),
    description: deployment.description,
    creator: deployment.creator,
    ignoreApplicationStopFailures: false,
    autoRollbackConfiguration: deployment.autoRollbackConfiguration,
    updateOutdatedInstancesOnly: false,
    rollbackInfo: deployment.rollbackInfo,
    deploymentStyle: { deploymentType: "BLUE_GREEN", deploymentOption: "WITH_TRAFFIC_CONTROL" },
    instanceTerminationWaitTimeStarted: deployment.instanceTerminationWaitTimeStarted,
    blueGreenDeploymentConfiguration: deployment.blueGreenDeploymentConfiguration,
    loadBalancerInfo: deployment.loadBalancerInfo,
    fileExistsBehavior: "DISALLOW",
    deploymentStatusMessages: deployment.statusMessages,
    computePlatform: "ECS",
    overrideAlarmConfiguration: deployment.overrideAlarmConfiguration,
  };
}

const targetStatus: Record<string, string> = {
  Created: "Pending",
  Queued: "Pending",
  InProgress: "InProgress",
  Baking: "InProgress",
  Ready: "Ready",
  Succeeded: "Succeeded",
  Failed: "Failed",
  Stopped: "Failed",
};

function targetView(deployment: Deployment) {
  return {
    deploymentTargetType: "ECSTarget",
    ecsTarget: {
      deploymentId: deployment.deploymentId,
      targetId: `${deployment.clusterName}:${deployment.serviceName}`,
      targetArn: deployment.serviceArn,
      lastUpdatedAt: date(deployment.lastUpdatedAt),
      status: targetStatus[deployment.status] ?? "Unknown",
      lifecycleEvents: deployment.events.map((event) => ({
        lifecycleEventName: event.lifecycleEventName,
        status: event.status,
        startTime: date(event.startTime),
        endTime: date(event.endTime),
        diagnostics: event.diagnostics,
      })),
      taskSetsInfo: deployment.taskSetsInfo ?? [],
    },
  };
}

function findTarget(_sim: Sim, deployment: Deployment, targetId: unknown) {
  if (!targetId)
    throw clientError("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.");
  if (targetId !== `${deployment.clusterName}:${deployment.serviceName}`) {
    throw clientError(
      "DeploymentTargetDoesNotExistException",
      `The target ${targetId} does not exist in deployment ${deployment.deploymentId}.`,
    );
  }
  return targetView(deployment);
}

function rollbackOnStop(deployment: Deployment, requested: unknown): boolean {
  if (typeof requested === "boolean") return requested;
  const auto = deployment.autoRollbackConfiguration;
  return Boolean(auto.enabled && (auto.events ?? []).includes("DEPLOYMENT_STOP_ON_REQUEST"));
}

export function deploymentOperations(sim: Sim): Operations {
  return {
    CreateDeployment: (input) => {
      findApplication(sim, input.applicationName);
      const group = findGroup(sim, input.applicationName, input.deploymentGroupName);
      const revision = input.revision;
      if (!revision) throw clientError("RevisionRequiredException", "The revision ID was not specified.");
      if (
        revision.revisionType !== "AppSpecContent" ||
        typeof revision.appSpecContent?.content !== "string"
      ) {
        throw clientError(
          "InvalidRevisionException",
          "ECS deployments need revisionType AppSpecContent with appSpecContent.content.",
        );
      }
      const { content, sha256 } = revision.appSpecContent;
      if (sha256 && createHash("sha256").update(content).digest("hex") !== String(sha256).toLowerCase()) {
        throw clientError(
          "InvalidRevisionException",
          "The sha256 of the AppSpec content does not match appSpecContent.sha256.",
        );
      }
      const appSpec = parseAppSpec(content);
      const configName =
        input.deploymentConfigName ?? group.deploymentConfigName ?? "CodeDeployDefault.ECSAllAtOnce";
      if (!routingConfig(sim, configName)) {
        throw clientError(
          "DeploymentConfigDoesNotExistException",
          `No deployment configuration found for name: ${configName}`,
        );
      }
      const active = Object.values(deployments(sim)).find(
        (item) =>
          item.applicationName === group.applicationName &&
          item.deploymentGroupName === group.deploymentGroupName &&
          isActive(item),
      );
      if (active) {
        throw clientError(
          "DeploymentLimitExceededException",
          `The Deployment Group '${group.deploymentGroupName}' already has an active Deployment '${active.deploymentId}'`,
        );
      }
      const mapping = list<Json>(group.ecsServices)[0];
      const cluster = mapping && sim.state.clusters[mapping.clusterName];
      const serviceArn = cluster
        ? `${cluster.clusterArn.replace(":cluster/", ":service/")}/${mapping.serviceName}`
        : "";
      const override = input.overrideAlarmConfiguration;
      const now = sim.clock.now();
      const deployment: Deployment = {
        deploymentId: newDeploymentId(),
        applicationName: group.applicationName,
        deploymentGroupName: group.deploymentGroupName,
        deploymentConfigName: configName,
        status: "Created",
        creator: "user",
        description: input.description,
        createTime: now,
        revision,
        instanceTerminationWaitTimeStarted: false,
        autoRollbackConfiguration: input.autoRollbackConfiguration ??
          group.autoRollbackConfiguration ?? { enabled: false },
        alarmConfiguration: override ?? group.alarmConfiguration ?? { enabled: false },
        overrideAlarmConfiguration: override,
        blueGreenDeploymentConfiguration: group.blueGreenDeploymentConfiguration,
        loadBalancerInfo: group.loadBalancerInfo,
        statusMessages: [],
        clusterName: mapping?.clusterName ?? "",
        serviceName: mapping?.serviceName ?? "",
        serviceArn,
        taskDefinitionArn: appSpec.taskDefinition,
        containerName: appSpec.containerName,
        containerPort: appSpec.containerPort,
        hooks: appSpec.hooks,
        events: lifecycleEventNames.map((name) => ({ lifecycleEventName: name, status: "Pending" })),
        stage: "BeforeInstall",
        stageStartedAt: now,
        greenWeight: 0,
        continued: {},
        lastUpdatedAt: now,
      };
      deployments(sim)[deployment.deploymentId] = deployment;
      sim.wake();
      return { deploymentId: deployment.deploymentId };
    },
    GetDeployment: (input) => ({ deploymentInfo: deploymentView(findDeployment(sim, input.deploymentId)) }),
    BatchGetDeployments: (input) => {
      const ids = list<string>(input.deploymentIds);
      if (ids.length > 25)
        throw clientError(
          "BatchLimitExceededException",
          "The maximum number of names or IDs allowed for this request (25) was exceeded.",
        );
      return { deploymentsInfo: ids.map((id) => deploymentView(findDeployment(sim, id))) };
    },
    ListDeployments: (input) => {
      if (input.deploymentGroupName) findGroup(sim, input.applicationName, input.deploymentGroupName);
      else if (input.applicationName) findApplication(sim, input.applicationName);
      const statuses = list<string>(input.includeOnlyStatuses);
      const start = time(input.createTimeRange?.start);
      const end = time(input.createTimeRange?.end);
      const ids = Object.values(deployments(sim))
        .filter((item) => !input.applicationName || item.applicationName === input.applicationName)
        .filter(
          (item) => !input.deploymentGroupName || item.deploymentGroupName === input.deploymentGroupName,
        )
        .filter((item) => statuses.length === 0 || statuses.includes(item.status))
        .filter(
          (item) =>
            (start === undefined || item.createTime >= start) &&
            (end === undefined || item.createTime <= end),
        )
        .sort((a, b) => b.createTime - a.createTime)
        .map((item) => item.deploymentId);
      const { page, nextToken } = paginate(ids, input.nextToken, 100);
      return { deployments: page, nextToken };
    },
    StopDeployment: (input) => {
      const deployment = findDeployment(sim, input.deploymentId);
      if (!isActive(deployment)) {
        throw clientError(
          "DeploymentAlreadyCompletedException",
          `The deployment ${deployment.deploymentId} has already completed.`,
        );
      }
      const rollback = rollbackOnStop(deployment, input.autoRollbackEnabled);
      finish(
        sim,
        deployment,
        "Stopped",
        "MANUAL_STOP",
        "The deployment was stopped by a user request (StopDeployment).",
        rollback,
      );
      sim.wake();
      return {
        status: "Succeeded",
        statusMessage: rollback ? "Stopped; a rollback deployment was started." : "Stopped.",
      };
    },
    ContinueDeployment: (input) => {
      const deployment = findDeployment(sim, input.deploymentId);
      const waitType = input.deploymentWaitType ?? "READY_WAIT";
      if (waitType !== "READY_WAIT" && waitType !== "TERMINATION_WAIT") {
        throw clientError("InvalidDeploymentWaitTypeException", `The wait type ${waitType} is not valid.`);
      }
      if (!isActive(deployment)) {
        throw clientError(
          "DeploymentAlreadyCompletedException",
          `The deployment ${deployment.deploymentId} has already completed.`,
        );
      }
      const waiting =
        waitType === "READY_WAIT" ? deployment.status === "Ready" : deployment.stage === "TerminationWait";
      if (!waiting) {
        throw clientError(
          "DeploymentIsNotInReadyStateException",
          `The deployment ${deployment.deploymentId} is not waiting for ${waitType}.`,
        );
      }
      deployment.continued[waitType] = true;
      advanceDeployment(sim, deployment);
      return {};
    },
    PutLifecycleEventHookExecutionStatus: (input) => {
      const hook = hookExecutions(sim)[String(input.lifecycleEventHookExecutionId ?? "")];
      if (!hook || (input.deploymentId && hook.deploymentId !== input.deploymentId)) {
        throw clientError(
          "InvalidLifecycleEventHookExecutionIdException",
          `The lifecycle event hook execution ID ${input.lifecycleEventHookExecutionId} is not valid.`,
        );
      }
      if (input.status !== "Succeeded" && input.status !== "Failed") {
        throw clientError(
          "InvalidLifecycleEventHookExecutionStatusException",
          `The status ${input.status} is not valid; use Succeeded or Failed.`,
        );
      }
      if (hook.status) {
        throw clientError(
          "LifecycleEventAlreadyCompletedException",
          `The lifecycle event ${hook.lifecycleEventName} of ${hook.deploymentId} has already completed.`,
        );
      }
      hook.status = input.status;
      const deployment = deployments(sim)[hook.deploymentId];
      if (deployment) advanceDeployment(sim, deployment);
      return { lifecycleEventHookExecutionId: hook.lifecycleEventHookExecutionId };
    },
    ListDeploymentTargets: (input) => {
      const deployment = findDeployment(sim, input.deploymentId);
      return { targetIds: [`${deployment.clusterName}:${deployment.serviceName}`] };
    },
    GetDeploymentTarget: (input) => {
      const deployment = findDeployment(sim, input.deploymentId);
      return { deploymentTarget: findTarget(sim, deployment, input.targetId) };
    },
    BatchGetDeploymentTargets: (input) => {
      const deployment = findDeployment(sim, input.deploymentId);
      const ids = list<string>(input.targetIds);
      if (ids.length > 25)
        throw clientError(
          "DeploymentTargetListSizeExceededException",
          "The maximum number of targets that can be associated with an Amazon ECS deployment (25) was exceeded.",
        );
      return { deploymentTargets: ids.map((id) => findTarget(sim, deployment, id)) };
    },
    RegisterApplicationRevision: (input) => {
      findApplication(sim, input.applicationName);
      if (!input.revision)
        throw clientError("RevisionRequiredException", "The revision ID was not specified.");
      return {};
    },
  };
}
