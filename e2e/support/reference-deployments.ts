import { createHash } from "node:crypto";
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  ListDeploymentTargetsCommand,
} from "@aws-sdk/client-codedeploy";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Simulator } from "../../sim/simulator.ts";
import { registrableTaskDefinition } from "../../src/ecs/task-definition-file.ts";
import type { Component, Release } from "./reference-builds.ts";
import { simulatorAccess } from "./simulator-access.ts";

/** What a deployment pipeline does against the (simulated) account, with the real AWS SDK v3 clients. */

export interface AwsClients {
  ecs: ECSClient;
  codeDeploy: CodeDeployClient;
  elbv2: ElasticLoadBalancingV2Client;
  cloudWatch: CloudWatchClient;
}

export interface DeploymentView {
  status: string;
  errorCode?: string;
  errorMessage?: string;
  rollbackDeploymentId?: string;
  completeTime?: Date;
  /** Production traffic share per task set label (Blue, Green), in percent. */
  weights: Record<string, number>;
  taskSets: Array<{ label: string; weight: number; targetGroup: string; status: string; running: number }>;
}

/** infra's names in the dev environment: cluster, service, CodeDeploy application and group, ALB. */
export const devName = (component: Component) => `valmetal-dev-${component}`;

export function awsClients(simulator: Simulator): AwsClients {
  const config = { ...simulatorAccess(simulator).clientConfig, maxAttempts: 3 };
  return {
    ecs: new ECSClient(config),
    codeDeploy: new CodeDeployClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    cloudWatch: new CloudWatchClient(config),
  };
}

/** Registers a new revision of the service's task definition running the release (image, APP_VERSION, Version tag). */
export async function registerRelease(clients: AwsClients, release: Release): Promise<string> {
  const name = devName(release.component);
  const service = (await clients.ecs.send(new DescribeServicesCommand({ cluster: name, services: [name] })))
    .services?.[0];
  if (!service?.taskDefinition) throw new Error(`service ${name} not found`);
  const current = await clients.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition, include: ["TAGS"] }),
  );
  const definition = registrableTaskDefinition(current, service.taskDefinition).input;
  const containerDefinitions = (definition.containerDefinitions ?? []).map((container) =>
    container.name === release.component
      ? {
          ...container,
          image: release.image,
          environment: (container.environment ?? []).map((pair) =>
            pair.name === "APP_VERSION" ? { ...pair, value: release.sha } : pair,
          ),
        }
      : container,
  );
  const registered = await clients.ecs.send(
    new RegisterTaskDefinitionCommand({
      ...definition,
      containerDefinitions,
      tags: (definition.tags ?? []).map((tag) =>
        tag.key === "Version" ? { ...tag, value: release.sha } : tag,
      ),
    }),
  );
  return String(registered.taskDefinition?.taskDefinitionArn);
}

/** CodeDeploy CreateDeployment with an AppSpec naming the task definition; returns the deployment id. */
export async function createDeployment(
  clients: AwsClients,
  component: Component,
  taskDefinitionArn: string,
  options: { deploymentConfigName?: string } = {},
): Promise<string> {
  const appSpec = JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: "AWS::ECS::Service",
          Properties: {
            TaskDefinition: taskDefinitionArn,
            LoadBalancerInfo: { ContainerName: component, ContainerPort: 8080 },
          },
        },
      },
    ],
  });
  const created = await clients.codeDeploy.send(
    new CreateDeploymentCommand({
      applicationName: devName(component),
      deploymentGroupName: devName(component),
      ...(options.deploymentConfigName ? { deploymentConfigName: options.deploymentConfigName } : {}),
      revision: {
        revisionType: "AppSpecContent",
        appSpecContent: { content: appSpec, sha256: createHash("sha256").update(appSpec).digest("hex") },
      },
    }),
  );
  return String(created.deploymentId);
}

/** GetDeployment + GetDeploymentTarget: status, error, rollback and the task sets' traffic weights. */
export async function deploymentView(clients: AwsClients, deploymentId: string): Promise<DeploymentView> {
  const info = (await clients.codeDeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;
  const targetIds =
    (await clients.codeDeploy.send(new ListDeploymentTargetsCommand({ deploymentId }))).targetIds ?? [];
  const target = targetIds[0]
    ? (
        await clients.codeDeploy.send(
          new GetDeploymentTargetCommand({ deploymentId, targetId: targetIds[0] }),
        )
      ).deploymentTarget?.ecsTarget
    : undefined;
  const taskSets = (target?.taskSetsInfo ?? []).map((set) => ({
    label: String(set.taskSetLabel),
    weight: Number(set.trafficWeight ?? 0),
    targetGroup: String(set.targetGroup?.name),
    status: String(set.status),
    running: Number(set.runningCount ?? 0),
  }));
  return {
    status: String(info?.status),
    ...(info?.errorInformation?.code ? { errorCode: info.errorInformation.code } : {}),
    ...(info?.errorInformation?.message ? { errorMessage: info.errorInformation.message } : {}),
    ...(info?.rollbackInfo?.rollbackDeploymentId
      ? { rollbackDeploymentId: info.rollbackInfo.rollbackDeploymentId }
      : {}),
    ...(info?.completeTime ? { completeTime: info.completeTime } : {}),
    weights: Object.fromEntries(taskSets.map((set) => [set.label, set.weight])),
    taskSets,
  };
}

/** `http://127.0.0.1:<port>` serving the component's production (443) or test (8443) listener. */
export async function listenerUrl(
  clients: AwsClients,
  simulator: Simulator,
  component: Component,
  which: "production" | "test" = "production",
): Promise<string> {
  const balancer = (
    await clients.elbv2.send(new DescribeLoadBalancersCommand({ Names: [devName(component)] }))
  ).LoadBalancers?.[0];
  const listeners =
    (await clients.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: balancer?.LoadBalancerArn })))
      .Listeners ?? [];
  const port = which === "production" ? 443 : 8443;
  const listener = listeners.find((candidate) => candidate.Port === port);
  const url = listener?.ListenerArn ? simulator.runtime.listenerUrl(listener.ListenerArn) : undefined;
  if (!url)
    throw new Error(`the ${which} listener of ${component} (:${port}) is not served by the data plane`);
  return url;
}

export async function componentAlarms(clients: AwsClients, component: Component): Promise<MetricAlarm[]> {
  return (
    (await clients.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${devName(component)}-` })))
      .MetricAlarms ?? []
  );
}
