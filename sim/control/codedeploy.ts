import { randomUUID } from "node:crypto";
import { clientError, list, paginate } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { deployments } from "./blue-green.ts";
import { deploymentOperations } from "./codedeploy-deployments.ts";
import { isActive } from "./deployment-model.ts";
import { arn, date, type Sim } from "./state.ts";
import { predefinedEcsConfigs } from "./traffic.ts";

/** CodeDeploy (ECS compute platform): applications, deployment groups and deployment configs. */

// biome-ignore lint/suspicious/noExplicitAny: records as AWS names their fields
type Row = Record<string, any>;

export const applications = (sim: Sim): Record<string, Row> => (sim.state.codedeploy.applications ??= {});
export const groups = (sim: Sim): Record<string, Row> => (sim.state.codedeploy.groups ??= {});
export const configs = (sim: Sim): Record<string, Row> => (sim.state.codedeploy.configs ??= {});

export function findApplication(sim: Sim, name: unknown): Row {
  if (!name)
    throw clientError(
      "ApplicationNameRequiredException",
      "The minimum number of required application names was not specified.",
    );
  const application = applications(sim)[String(name)];
  if (!application)
    throw clientError("ApplicationDoesNotExistException", `No application found for name: ${name}`);
  return application;
}

export function findGroup(sim: Sim, applicationName: unknown, groupName: unknown): Row {
  findApplication(sim, applicationName);
  if (!groupName)
    throw clientError("DeploymentGroupNameRequiredException", "Deployment group name is missing");
  const group = groups(sim)[`${applicationName}/${groupName}`];
  if (!group)
    throw clientError(
      "DeploymentGroupDoesNotExistException",
      `No Deployment Group found for name: ${groupName}`,
    );
  return group;
}

export function createApplication(sim: Sim, name: string, computePlatform = "ECS"): Row {
  if (!name)
    throw clientError(
      "ApplicationNameRequiredException",
      "The minimum number of required application names was not specified.",
    );
  if (applications(sim)[name])
    throw clientError("ApplicationAlreadyExistsException", `The application ${name} already exists.`);
  const application = {
    applicationId: randomUUID(),
    applicationName: name,
    createTime: sim.clock.now(),
    linkedToGitHub: false,
    computePlatform,
  };
  applications(sim)[name] = application;
  return application;
}

function applicationView(application: Row) {
  return { ...application, createTime: date(application.createTime) };
}

function validateGroup(sim: Sim, input: Row, existingKey?: string): void {
  const alarms = list(input.alarmConfiguration?.alarms);
  if (alarms.length > 10)
    throw clientError(
      "AlarmsLimitExceededException",
      "The maximum number of alarms for a deployment group (10) was exceeded.",
    );
  const configName = input.deploymentConfigName;
  if (configName && !predefinedEcsConfigs[configName] && !configs(sim)[configName]) {
    throw clientError(
      "DeploymentConfigDoesNotExistException",
      `No deployment configuration found for name: ${configName}`,
    );
  }
  const style = input.deploymentStyle;
  if (style && (style.deploymentType !== "BLUE_GREEN" || style.deploymentOption !== "WITH_TRAFFIC_CONTROL")) {
    throw clientError(
      "InvalidDeploymentStyleException",
      "ECS deployment groups must be BLUE_GREEN WITH_TRAFFIC_CONTROL.",
    );
  }
  for (const mapping of list<Row>(input.ecsServices)) {
    const cluster = sim.state.clusters[mapping.clusterName];
    const service =
      cluster &&
      sim.state.services[`${cluster.clusterArn.replace(":cluster/", ":service/")}/${mapping.serviceName}`];
    if (service?.status !== "ACTIVE") {
      throw clientError(
        "InvalidECSServiceException",
        `The ECS service ${mapping.clusterName}/${mapping.serviceName} does not exist.`,
      );
    }
    if (service.deploymentController !== "CODE_DEPLOY") {
      throw clientError(
        "InvalidECSServiceException",
        `The ECS service ${mapping.serviceName} does not use the CODE_DEPLOY deployment controller.`,
      );
    }
    for (const [key, other] of Object.entries(groups(sim))) {
      if (key === existingKey) continue;
      if (
        list<Row>(other.ecsServices).some(
          (item) => item.serviceName === mapping.serviceName && item.clusterName === mapping.clusterName,
        )
      ) {
        throw clientError(
          "ECSServiceMappingLimitExceededException",
          `The ECS service ${mapping.serviceName} is already associated with deployment group ${other.deploymentGroupName}.`,
        );
      }
    }
  }
  const pairs = list<Row>(input.loadBalancerInfo?.targetGroupPairInfoList);
  for (const pair of pairs) {
    const names = list<Row>(pair.targetGroups).map((group) => group.name);
    if (names.length !== 2 || names[0] === names[1]) {
      throw clientError(
        "InvalidTargetGroupPairException",
        "A target group pair needs two different target groups.",
      );
    }
    for (const name of names) {
      if (!Object.values(sim.state.targetGroups).some((group) => group.targetGroupName === name)) {
        throw clientError("InvalidTargetGroupPairException", `Target group ${name} does not exist.`);
      }
    }
  }
}

export function createDeploymentGroup(sim: Sim, input: Row): Row {
  const application = findApplication(sim, input.applicationName);
  const name = input.deploymentGroupName;
  if (!name) throw clientError("DeploymentGroupNameRequiredException", "Deployment group name is missing");
  const key = `${application.applicationName}/${name}`;
  if (groups(sim)[key])
    throw clientError("DeploymentGroupAlreadyExistsException", `A deployment group ${name} already exists.`);
  if (!input.serviceRoleArn)
    throw clientError("RoleRequiredException", "The service role ARN was not specified.");
  validateGroup(sim, input);
  const group = {
    applicationName: application.applicationName,
    deploymentGroupId: randomUUID(),
    deploymentGroupName: name,
    deploymentConfigName: input.deploymentConfigName ?? "CodeDeployDefault.ECSAllAtOnce",
    serviceRoleArn: input.serviceRoleArn,
    alarmConfiguration: input.alarmConfiguration ?? {
      enabled: false,
      ignorePollAlarmFailure: false,
      alarms: [],
    },
    autoRollbackConfiguration: input.autoRollbackConfiguration ?? { enabled: false, events: [] },
    deploymentStyle: input.deploymentStyle ?? {
      deploymentType: "BLUE_GREEN",
      deploymentOption: "WITH_TRAFFIC_CONTROL",
    },
    blueGreenDeploymentConfiguration: input.blueGreenDeploymentConfiguration ?? {},
    loadBalancerInfo: input.loadBalancerInfo ?? {},
    ecsServices: list(input.ecsServices),
    computePlatform: application.computePlatform,
    triggerConfigurations: list(input.triggerConfigurations),
    outdatedInstancesStrategy: input.outdatedInstancesStrategy ?? "UPDATE",
    terminationHookEnabled: false,
  };
  groups(sim)[key] = group;
  sim.state.tags[arn(sim, "codedeploy", `deploymentgroup:${key}`)] = list(input.tags);
  return group;
}

function groupView(sim: Sim, group: Row) {
  const { lastSuccessfulDeployment, ...rest } = group;
  const attempts = Object.values(deployments(sim))
    .filter(
      (item) =>
        item.applicationName === group.applicationName &&
        item.deploymentGroupName === group.deploymentGroupName,
    )
    .sort((a, b) => b.createTime - a.createTime);
  const last = attempts[0];
  const info = (item: Row | undefined) =>
    item && {
      deploymentId: item.deploymentId,
      status: item.status,
      endTime: date(item.endTime ?? item.completeTime),
      createTime: date(item.createTime),
    };
  return {
    ...rest,
    lastSuccessfulDeployment: info(lastSuccessfulDeployment),
    lastAttemptedDeployment: info(last),
  };
}

export function createDeploymentConfig(sim: Sim, input: Row): Row {
  const name = input.deploymentConfigName;
  if (!name) throw clientError("DeploymentConfigNameRequiredException", "Deployment config name is missing");
  if (predefinedEcsConfigs[name] || configs(sim)[name]) {
    throw clientError(
      "DeploymentConfigAlreadyExistsException",
      `A deployment configuration ${name} already exists.`,
    );
  }
  const routing = input.trafficRoutingConfig ?? { type: "AllAtOnce" };
  const valid =
    routing.type === "AllAtOnce" ||
    (routing.type === "TimeBasedCanary" &&
      routing.timeBasedCanary?.canaryPercentage > 0 &&
      routing.timeBasedCanary?.canaryInterval > 0) ||
    (routing.type === "TimeBasedLinear" &&
      routing.timeBasedLinear?.linearPercentage > 0 &&
      routing.timeBasedLinear?.linearInterval > 0);
  if (!valid)
    throw clientError(
      "InvalidTrafficRoutingConfigurationException",
      "The traffic routing configuration is not valid.",
    );
  const config = {
    deploymentConfigId: randomUUID(),
    deploymentConfigName: name,
    computePlatform: input.computePlatform ?? "ECS",
    trafficRoutingConfig: routing,
    createTime: sim.clock.now(),
  };
  configs(sim)[name] = config;
  return config;
}

function configView(sim: Sim, name: string) {
  const custom = configs(sim)[name];
  if (custom) return { ...custom, createTime: date(custom.createTime) };
  const predefined = predefinedEcsConfigs[name];
  if (!predefined)
    throw clientError(
      "DeploymentConfigDoesNotExistException",
      `No deployment configuration found for name: ${name}`,
    );
  return {
    deploymentConfigId: name,
    deploymentConfigName: name,
    computePlatform: "ECS",
    trafficRoutingConfig: predefined,
    createTime: new Date(0),
  };
}

export function codeDeployOperations(sim: Sim): Operations {
  return {
    ...deploymentOperations(sim),
    CreateApplication: (input) => ({
      applicationId: createApplication(sim, input.applicationName, input.computePlatform ?? "Server")
        .applicationId,
    }),
    GetApplication: (input) => ({
      application: applicationView(findApplication(sim, input.applicationName)),
    }),
    BatchGetApplications: (input) => ({
      applicationsInfo: list<string>(input.applicationNames).map((name) =>
        applicationView(findApplication(sim, name)),
      ),
    }),
    ListApplications: (input) => {
      const { page, nextToken } = paginate(Object.keys(applications(sim)).sort(), input.nextToken, 100);
      return { applications: page, nextToken };
    },
    DeleteApplication: (input) => {
      const application = findApplication(sim, input.applicationName);
      delete applications(sim)[application.applicationName];
      for (const key of Object.keys(groups(sim)))
        if (key.startsWith(`${application.applicationName}/`)) delete groups(sim)[key];
      return {};
    },
    CreateDeploymentGroup: (input) => ({
      deploymentGroupId: createDeploymentGroup(sim, input).deploymentGroupId,
    }),
    GetDeploymentGroup: (input) => ({
      deploymentGroupInfo: groupView(sim, findGroup(sim, input.applicationName, input.deploymentGroupName)),
    }),
    BatchGetDeploymentGroups: (input) => {
      const found = [];
      let errorMessage: string | undefined;
      for (const name of list<string>(input.deploymentGroupNames)) {
        const group = groups(sim)[`${input.applicationName}/${name}`];
        if (group) found.push(groupView(sim, group));
        else errorMessage = `Deployment group ${name} does not exist.`;
      }
      findApplication(sim, input.applicationName);
      return { deploymentGroupsInfo: found, errorMessage };
    },
    ListDeploymentGroups: (input) => {
      findApplication(sim, input.applicationName);
      const names = Object.values(groups(sim))
        .filter((group) => group.applicationName === input.applicationName)
        .map((group) => group.deploymentGroupName)
        .sort();
      const { page, nextToken } = paginate(names, input.nextToken, 100);
      return { applicationName: input.applicationName, deploymentGroups: page, nextToken };
    },
    UpdateDeploymentGroup: (input) => {
      const group = findGroup(sim, input.applicationName, input.currentDeploymentGroupName);
      const key = `${group.applicationName}/${group.deploymentGroupName}`;
      validateGroup(sim, input, key);
      const fields = [
        "deploymentConfigName",
        "serviceRoleArn",
        "alarmConfiguration",
        "autoRollbackConfiguration",
        "deploymentStyle",
        "blueGreenDeploymentConfiguration",
        "loadBalancerInfo",
        "ecsServices",
      ];
      for (const field of fields) if (input[field] !== undefined) group[field] = input[field];
      if (input.newDeploymentGroupName && input.newDeploymentGroupName !== group.deploymentGroupName) {
        delete groups(sim)[key];
        group.deploymentGroupName = input.newDeploymentGroupName;
        groups(sim)[`${group.applicationName}/${group.deploymentGroupName}`] = group;
      }
      return { hooksNotCleanedUp: [] };
    },
    DeleteDeploymentGroup: (input) => {
      const group = findGroup(sim, input.applicationName, input.deploymentGroupName);
      const active = Object.values(deployments(sim)).some(
        (item) =>
          item.deploymentGroupName === group.deploymentGroupName &&
          item.applicationName === group.applicationName &&
          isActive(item),
      );
      if (active)
        throw clientError(
          "InvalidDeploymentGroupNameException",
          "The deployment group has an active deployment.",
        );
      delete groups(sim)[`${group.applicationName}/${group.deploymentGroupName}`];
      return { hooksNotCleanedUp: [] };
    },
    CreateDeploymentConfig: (input) => ({
      deploymentConfigId: createDeploymentConfig(sim, input).deploymentConfigId,
    }),
    GetDeploymentConfig: (input) => ({ deploymentConfigInfo: configView(sim, input.deploymentConfigName) }),
    ListDeploymentConfigs: (input) => {
      const names = [...Object.keys(predefinedEcsConfigs), ...Object.keys(configs(sim))].sort();
      const { page, nextToken } = paginate(names, input.nextToken, 100);
      return { deploymentConfigsList: page, nextToken };
    },
    DeleteDeploymentConfig: (input) => {
      const name = input.deploymentConfigName;
      if (predefinedEcsConfigs[name])
        throw clientError(
          "InvalidOperationException",
          "Predefined deployment configurations cannot be deleted.",
        );
      if (!configs(sim)[name])
        throw clientError(
          "DeploymentConfigDoesNotExistException",
          `No deployment configuration found for name: ${name}`,
        );
      delete configs(sim)[name];
      return {};
    },
    ListTagsForResource: (input) => ({ Tags: sim.state.tags[input.ResourceArn] ?? [] }),
  };
}
