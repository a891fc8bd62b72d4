import {
  BatchGetDeploymentGroupsCommand,
  type CodeDeployClient,
  type DeploymentGroupInfo,
  GetDeploymentGroupCommand,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
} from "@aws-sdk/client-codedeploy";
import { DescribeServicesCommand, type ECSClient, type Service } from "@aws-sdk/client-ecs";
import { validateFargateSize } from "../ecs/fargate.ts";
import type { TaskDefinitionInput } from "../ecs/task-definition-file.ts";
import { InputError, ToolkitError } from "../errors.ts";

export class DeploymentTargetError extends ToolkitError {}

/** The live ECS service, or a clear error naming the cluster and service. */
export async function describeService(
  ecs: ECSClient,
  cluster: string,
  serviceName: string,
): Promise<Service> {
  const response = await ecs.send(
    new DescribeServicesCommand({ cluster, services: [serviceName], include: ["TAGS"] }),
  );
  const service = response.services?.find((candidate) => candidate.status !== "INACTIVE");
  if (!service) {
    const reason = response.failures?.[0]?.reason ?? "MISSING";
    throw new DeploymentTargetError(
      `service ${serviceName} not found in cluster ${cluster} (${reason}); check the cluster and service inputs`,
    );
  }
  return service;
}

const roleArn = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/**
 * Checks the rendered task definition against the service it will run in, before anything is registered: the load
 * balancer's container exists and exposes its port, roles are role ARNs, Fargate sizes are valid.
 */
export function validateForService(taskDefinition: TaskDefinitionInput, service: Service): void {
  const family = taskDefinition.family as string;
  const loadBalancer = service.loadBalancers?.[0];
  if (loadBalancer?.containerName) {
    const container = taskDefinition.containerDefinitions?.find(
      (item) => item.name === loadBalancer.containerName,
    );
    if (!container) {
      throw new InputError(
        `service ${service.serviceName} sends traffic to container '${loadBalancer.containerName}', which task definition ${family} does not have`,
      );
    }
    const ports = (container.portMappings ?? []).map((mapping) => mapping.containerPort);
    if (!ports.includes(loadBalancer.containerPort)) {
      throw new InputError(
        `service ${service.serviceName} sends traffic to ${loadBalancer.containerName}:${loadBalancer.containerPort}, but the container maps ports ${ports.join(", ") || "none"}; add a portMapping for ${loadBalancer.containerPort}`,
      );
    }
  }
  for (const key of ["taskRoleArn", "executionRoleArn"] as const) {
    const value = taskDefinition[key];
    if (value && !roleArn.test(value)) {
      throw new InputError(`${key} '${value}' of task definition ${family} is not an IAM role ARN`);
    }
  }
  const usesSecrets = taskDefinition.containerDefinitions?.some((container) => container.secrets?.length);
  if (usesSecrets && !taskDefinition.executionRoleArn) {
    throw new InputError(
      `task definition ${family} uses secrets but has no executionRoleArn to read them with`,
    );
  }
  if (taskDefinition.requiresCompatibilities?.includes("FARGATE")) {
    validateFargateSize(taskDefinition.cpu, taskDefinition.memory, family);
  }
}

export interface DeploymentGroupRef {
  application: string;
  group: string;
  info: DeploymentGroupInfo;
}

async function getGroup(codedeploy: CodeDeployClient, application: string, group: string) {
  try {
    const response = await codedeploy.send(
      new GetDeploymentGroupCommand({ applicationName: application, deploymentGroupName: group }),
    );
    return response.deploymentGroupInfo;
  } catch (error) {
    const name = (error as Error).name;
    if (name === "ApplicationDoesNotExistException" || name === "DeploymentGroupDoesNotExistException")
      return undefined;
    throw error;
  }
}

const servesService = (info: DeploymentGroupInfo, cluster: string, service: string) =>
  (info.ecsServices ?? []).some(
    (item) =>
      item.serviceName === service &&
      (item.clusterName === cluster || cluster.endsWith(`/${item.clusterName}`)),
  );

/** Looks through the account's ECS applications for the deployment group that deploys this service. */
async function discoverGroup(codedeploy: CodeDeployClient, cluster: string, service: string) {
  let applicationsToken: string | undefined;
  do {
    const applications = await codedeploy.send(new ListApplicationsCommand({ nextToken: applicationsToken }));
    for (const application of applications.applications ?? []) {
      let groupsToken: string | undefined;
      do {
        const groups = await codedeploy.send(
          new ListDeploymentGroupsCommand({ applicationName: application, nextToken: groupsToken }),
        );
        const names = groups.deploymentGroups ?? [];
        for (let start = 0; start < names.length; start += 100) {
          const batch = await codedeploy.send(
            new BatchGetDeploymentGroupsCommand({
              applicationName: application,
              deploymentGroupNames: names.slice(start, start + 100),
            }),
          );
          const match = batch.deploymentGroupsInfo?.find((info) => servesService(info, cluster, service));
          if (match) return { application, group: match.deploymentGroupName as string, info: match };
        }
        groupsToken = groups.nextToken;
      } while (groupsToken);
    }
    applicationsToken = applications.nextToken;
  } while (applicationsToken);
  return undefined;
}

/**
 * The CodeDeploy deployment group of the service: from the inputs, else the official action's default names
 * (AppECS-<cluster>-<service> / DgpECS-<cluster>-<service>), else the group whose ECS service is this one. It must
 * be an ECS blue/green group with traffic control that deploys exactly this service.
 */
export async function resolveDeploymentGroup(
  codedeploy: CodeDeployClient,
  cluster: string,
  service: string,
  names: { application?: string; group?: string },
): Promise<DeploymentGroupRef> {
  const clusterName = cluster.split("/").pop() as string;
  const application = names.application || `AppECS-${clusterName}-${service}`;
  const group = names.group || `DgpECS-${clusterName}-${service}`;
  let found: DeploymentGroupRef | undefined;
  const info = await getGroup(codedeploy, application, group);
  if (info) found = { application, group, info };
  else if (!names.application && !names.group) found = await discoverGroup(codedeploy, clusterName, service);
  if (!found) {
    throw new DeploymentTargetError(
      `CodeDeploy deployment group ${application}/${group} does not exist${names.group ? "" : ", and no deployment group deploys service " + service}; pass codedeploy-application and codedeploy-deployment-group`,
    );
  }
  const { info: groupInfo } = found;
  const where = `deployment group ${found.application}/${found.group}`;
  if (groupInfo.computePlatform && groupInfo.computePlatform !== "ECS") {
    throw new DeploymentTargetError(`${where} is for ${groupInfo.computePlatform}, not ECS`);
  }
  const style = groupInfo.deploymentStyle;
  if (style?.deploymentType !== "BLUE_GREEN" || style.deploymentOption !== "WITH_TRAFFIC_CONTROL") {
    throw new DeploymentTargetError(
      `${where} is ${style?.deploymentType ?? "?"}/${style?.deploymentOption ?? "?"}; ECS deployments need BLUE_GREEN with WITH_TRAFFIC_CONTROL`,
    );
  }
  if (!servesService(groupInfo, clusterName, service)) {
    const served = (groupInfo.ecsServices ?? [])
      .map((item) => `${item.clusterName}/${item.serviceName}`)
      .join(", ");
    throw new DeploymentTargetError(
      `${where} deploys ${served || "no service"}, not ${clusterName}/${service}`,
    );
  }
  return found;
}

/** Alarm names CodeDeploy itself watches for the group (when its alarm configuration is enabled). */
export function groupAlarms(info: DeploymentGroupInfo): string[] {
  if (!info.alarmConfiguration?.enabled) return [];
  return (info.alarmConfiguration.alarms ?? []).map((alarm) => alarm.name ?? "").filter(Boolean);
}
