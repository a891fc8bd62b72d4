import { createHash } from "node:crypto";
import {
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  UpdateDeploymentGroupCommand,
  type UpdateDeploymentGroupCommandInput,
} from "@aws-sdk/client-codedeploy";
import { DescribeServicesCommand, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { DescribeListenersCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { startTestSimulator, type TestSimulator } from "./support.ts";

export const fixture = "sim/test/fixtures/blue-green.template.json";

/** The fixture account (cluster valmetal-dev, service api, group valmetal-api/api), steady after 30 s. */
export async function startBlueGreen(
  options: Parameters<typeof startTestSimulator>[0] = {},
): Promise<TestSimulator> {
  const t = await startTestSimulator({ templates: [fixture], ...options });
  await t.advance(30);
  return t;
}

export async function registerRevision(
  t: TestSimulator,
  version = "1111111111111111111111111111111111111111",
) {
  const response = await t.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "valmetal-api",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "api",
          image: `registry/valmetal/dev-api:dev-${version}`,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
      tags: [
        { key: "Environment", value: "dev" },
        { key: "Version", value: version },
      ],
    }),
  );
  return response.taskDefinition?.taskDefinitionArn as string;
}

export function appSpec(taskDefinition: string, hooks: Record<string, string> = {}) {
  const content = JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: "AWS::ECS::Service",
          Properties: {
            TaskDefinition: taskDefinition,
            LoadBalancerInfo: { ContainerName: "api", ContainerPort: 8080 },
          },
        },
      },
    ],
    Hooks: Object.entries(hooks).map(([event, fn]) => ({ [event]: fn })),
  });
  return { content, sha256: createHash("sha256").update(content).digest("hex") };
}

export async function createDeployment(
  t: TestSimulator,
  options: { hooks?: Record<string, string>; config?: string; taskDefinition?: string } = {},
) {
  const taskDefinition = options.taskDefinition ?? (await registerRevision(t));
  const response = await t.codedeploy.send(
    new CreateDeploymentCommand({
      applicationName: "valmetal-api",
      deploymentGroupName: "api",
      deploymentConfigName: options.config,
      revision: { revisionType: "AppSpecContent", appSpecContent: appSpec(taskDefinition, options.hooks) },
    }),
  );
  await t.simulator.tick();
  return { deploymentId: response.deploymentId as string, taskDefinition };
}

export async function deployment(t: TestSimulator, deploymentId: string) {
  return (await t.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo ?? {};
}

export async function target(t: TestSimulator, deploymentId: string) {
  const response = await t.codedeploy.send(
    new GetDeploymentTargetCommand({ deploymentId, targetId: "valmetal-dev:api" }),
  );
  return response.deploymentTarget?.ecsTarget ?? {};
}

export async function service(t: TestSimulator) {
  const response = await t.ecs.send(
    new DescribeServicesCommand({ cluster: "valmetal-dev", services: ["api"] }),
  );
  return response.services?.[0] ?? {};
}

/** Production weights by target group name, e.g. {"api-blue": 90, "api-green": 10}. */
export async function prodWeights(t: TestSimulator, port = 80): Promise<Record<string, number>> {
  const loadBalancerArn = Object.keys(t.simulator.sim.state.loadBalancers)[0];
  const response = await t.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
  const listener = response.Listeners?.find((item) => item.Port === port);
  const weights: Record<string, number> = {};
  for (const group of listener?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? []) {
    const name = /targetgroup\/([^/]+)\//.exec(group.TargetGroupArn ?? "")?.[1] ?? "";
    weights[name] = group.Weight ?? 0;
  }
  return weights;
}

export async function updateGroup(
  t: TestSimulator,
  input: Omit<UpdateDeploymentGroupCommandInput, "applicationName" | "currentDeploymentGroupName">,
) {
  await t.codedeploy.send(
    new UpdateDeploymentGroupCommand({
      applicationName: "valmetal-api",
      currentDeploymentGroupName: "api",
      ...input,
    }),
  );
}

export async function pendingHooks(t: TestSimulator) {
  return (await t.admin("/hooks")) as unknown as Array<{
    lifecycleEventHookExecutionId: string;
    lifecycleEventName: string;
  }>;
}
