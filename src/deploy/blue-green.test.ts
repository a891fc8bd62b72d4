import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentGroupInfo,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  GetDeploymentTargetCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from "@aws-sdk/client-codedeploy";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { memoryReporter } from "../report/reporter.ts";
import { type BlueGreenOptions, deployBlueGreen as deployPrepared } from "./blue-green.ts";
import { prepareRevision } from "./revision.ts";

/** What the action does: prepare the revision (shared with rolling mode), then deploy it blue/green. */
async function deployBlueGreen(
  options: BlueGreenOptions,
  dependencies: Parameters<typeof deployPrepared>[2],
) {
  return deployPrepared(options, await prepareRevision(options, dependencies.ecs), dependencies);
}

const ecs = mockClient(ECSClient);
const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = mockClient(CloudWatchClient);
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const blueArn = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-api:7";
const greenArn = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-api:8";

const service: Service = {
  serviceName: "valmetal-dev-api",
  status: "ACTIVE",
  taskDefinition: blueArn,
  deploymentController: { type: "CODE_DEPLOY" },
  loadBalancers: [{ containerName: "api", containerPort: 8080, targetGroupArn: "arn:tg/blue" }],
  networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"] } },
};
const liveTaskDefinition: TaskDefinition = {
  taskDefinitionArn: blueArn,
  family: "valmetal-dev-api",
  revision: 7,
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "512",
  memory: "1024",
  executionRoleArn: "arn:aws:iam::222222222222:role/valmetal-dev-api-execution",
  containerDefinitions: [{ name: "api", image: "old", portMappings: [{ containerPort: 8080 }] }],
};
const group: DeploymentGroupInfo = {
  applicationName: "valmetal-dev-api",
  deploymentGroupName: "valmetal-dev-api",
  computePlatform: "ECS",
  deploymentStyle: { deploymentType: "BLUE_GREEN", deploymentOption: "WITH_TRAFFIC_CONTROL" },
  ecsServices: [{ clusterName: "valmetal-dev", serviceName: "valmetal-dev-api" }],
  alarmConfiguration: { enabled: true, alarms: [{ name: "valmetal-dev-api-green-5xx" }] },
};

function options(overrides: Partial<BlueGreenOptions> = {}): BlueGreenOptions {
  return {
    cluster: "valmetal-dev",
    service: "valmetal-dev-api",
    images: { api: `111111111111.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api:dev-${sha}` },
    environment: {},
    sha,
    tags: { Environment: "dev", Application: "valmetal", Component: "api" },
    application: "valmetal-dev-api",
    deploymentGroup: "valmetal-dev-api",
    hooks: {},
    alarms: [],
    useGroupAlarms: true,
    insufficientData: "ignore",
    smokeChecks: [],
    bakeMs: 0,
    timeoutMs: 3_600_000,
    rollbackOnStop: true,
    whenBusy: "fail",
    pollMs: { active: 5_000, waiting: 15_000, floor: 5_000 },
    rollbackTimeoutMs: 1_800_000,
    ...overrides,
  };
}

const deps = (created: string[] = []) => ({
  ecs: new ECSClient({ region: "ca-central-1" }),
  codedeploy: new CodeDeployClient({ region: "ca-central-1" }),
  cloudwatch: new CloudWatchClient({ region: "ca-central-1" }),
  elb: new ElasticLoadBalancingV2Client({ region: "ca-central-1" }),
  clock: new FakeClock(),
  reporter: memoryReporter(),
  onDeploymentCreated: (id: string) => created.push(id),
});

describe("blue/green deployment of a service", () => {
  beforeEach(() => {
    for (const mock of [ecs, codedeploy, cloudwatch]) mock.reset();
    ecs.on(DescribeServicesCommand).resolves({ services: [service] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: liveTaskDefinition, tags: [] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [blueArn] });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: greenArn, revision: 8 } });
    codedeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: group });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: "d-NEW" });
    codedeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { status: "Succeeded" } });
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });
    codedeploy.on(GetDeploymentTargetCommand).resolves({});
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: "valmetal-dev-api-green-5xx", StateValue: "OK" }] });
  });

  const mutatingCalls = () =>
    ecs.commandCalls(RegisterTaskDefinitionCommand).length +
    codedeploy.commandCalls(CreateDeploymentCommand).length;

  it("renders from the live revision, registers it, and creates the deployment from an AppSpec of the service", async () => {
    const created: string[] = [];
    const result = await deployBlueGreen(options(), deps(created));
    expect(result).toMatchObject({
      deploymentId: "d-NEW",
      previousTaskDefinition: blueArn,
      taskDefinition: { arn: greenArn, reused: false },
      alarms: ["valmetal-dev-api-green-5xx"],
      outcome: { succeeded: true },
    });
    expect(created).toEqual(["d-NEW"]);
    const registered = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(registered?.containerDefinitions?.[0]?.image).toBe(options().images.api);
    expect(registered?.tags).toContainEqual({ key: "Version", value: sha });
    const deployment = codedeploy.commandCalls(CreateDeploymentCommand)[0]?.args[0].input;
    expect(deployment).toMatchObject({
      applicationName: "valmetal-dev-api",
      deploymentGroupName: "valmetal-dev-api",
    });
    const appSpec = JSON.parse(deployment?.revision?.appSpecContent?.content as string);
    expect(appSpec.Resources[0].TargetService.Properties).toMatchObject({
      TaskDefinition: greenArn,
      LoadBalancerInfo: { ContainerName: "api", ContainerPort: 8080 },
    });
  });

  it.each([
    [
      "a missing service",
      () => ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: "MISSING" }] }),
      "service valmetal-dev-api not found in cluster valmetal-dev (MISSING)",
    ],
    [
      "a service with the ECS controller",
      () =>
        ecs
          .on(DescribeServicesCommand)
          .resolves({ services: [{ ...service, deploymentController: { type: "ECS" } }] }),
      "uses the ECS deployment controller; blue/green needs CODE_DEPLOY",
    ],
    [
      "a load balancer port the container does not map",
      () =>
        ecs.on(DescribeServicesCommand).resolves({
          services: [{ ...service, loadBalancers: [{ containerName: "api", containerPort: 9000 }] }],
        }),
      "sends traffic to api:9000, but the container maps ports 8080",
    ],
    [
      "an in-place deployment group",
      () =>
        codedeploy.on(GetDeploymentGroupCommand).resolves({
          deploymentGroupInfo: {
            ...group,
            deploymentStyle: { deploymentType: "IN_PLACE", deploymentOption: "WITHOUT_TRAFFIC_CONTROL" },
          },
        }),
      "is IN_PLACE/WITHOUT_TRAFFIC_CONTROL; ECS deployments need BLUE_GREEN with WITH_TRAFFIC_CONTROL",
    ],
    [
      "a deployment group of another service",
      () =>
        codedeploy.on(GetDeploymentGroupCommand).resolves({
          deploymentGroupInfo: {
            ...group,
            ecsServices: [{ clusterName: "valmetal-dev", serviceName: "valmetal-dev-web" }],
          },
        }),
      "deploys valmetal-dev/valmetal-dev-web, not valmetal-dev/valmetal-dev-api",
    ],
    [
      "a missing alarm",
      () => cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] }),
      "CloudWatch alarm(s) not found: valmetal-dev-api-green-5xx",
    ],
    [
      "an active deployment on the group",
      () => {
        codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ["d-OLD"] });
        codedeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: { status: "InProgress" } });
      },
      "deployment d-OLD is InProgress on valmetal-dev-api/valmetal-dev-api; CodeDeploy runs one deployment per group",
    ],
  ])(
    "refuses %s with one clear error, before registering or deploying anything",
    async (_case, arrange, message) => {
      arrange();
      await expect(deployBlueGreen(options(), deps())).rejects.toThrow(message);
      expect(mutatingCalls()).toBe(0);
    },
  );

  it("waits for an active deployment to end when asked to", async () => {
    codedeploy
      .on(ListDeploymentsCommand)
      .resolvesOnce({ deployments: ["d-OLD"] })
      .resolves({ deployments: [] });
    const result = await deployBlueGreen(options({ whenBusy: "wait" }), deps());
    expect(result.deploymentId).toBe("d-NEW");
  });

  it("finds the deployment group under the official action's default names", async () => {
    await deployBlueGreen(options({ application: undefined, deploymentGroup: undefined }), deps());
    expect(codedeploy.commandCalls(GetDeploymentGroupCommand)[0]?.args[0].input).toEqual({
      applicationName: "AppECS-valmetal-dev-valmetal-dev-api",
      deploymentGroupName: "DgpECS-valmetal-dev-valmetal-dev-api",
    });
  });
});
