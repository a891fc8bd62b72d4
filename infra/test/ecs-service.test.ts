import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import { COMPONENT_NAMES, ENVIRONMENT_NAMES } from "../lib/config.ts";
import {
  onlyResource,
  resourcesOf,
  type SynthesizedPlatform,
  synthesizePlatform,
  tagsOf,
} from "./platform.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";
let synthesized: SynthesizedPlatform;

beforeAll(() => {
  synthesized = synthesizePlatform({ context: { version: SHA } });
});

const cases = ENVIRONMENT_NAMES.flatMap((environment) =>
  COMPONENT_NAMES.map((component) => ({
    environment,
    component,
    name: `valmetal-${environment}-${component}`,
  })),
);

describe.each(cases)("$name on ECS Fargate", ({ environment, component, name }) => {
  const template = () => synthesized.environments[environment];

  test("the service hands deployments to CodeDeploy and propagates task-definition tags with managed tags", () => {
    template().hasResourceProperties("AWS::ECS::Service", {
      ServiceName: name,
      DeploymentController: { Type: "CODE_DEPLOY" },
      PropagateTags: "TASK_DEFINITION",
      EnableECSManagedTags: true,
      LaunchType: "FARGATE",
      TaskDefinition: name,
      LoadBalancers: [{ ContainerName: component, ContainerPort: 8080, TargetGroupArn: Match.anyValue() }],
    });
  });

  test("tasks run in the private subnets without a public IP", () => {
    const service = onlyResource(template(), "AWS::ECS::Service", (s) => s.Properties?.ServiceName === name);
    const network = (
      service.Properties.NetworkConfiguration as { AwsvpcConfiguration: Record<string, unknown> }
    ).AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe("DISABLED");
    const subnets = (network.Subnets as { Ref: string }[]).map((subnet) => subnet.Ref);
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(subnet).toMatch(/privateSubnet/);
  });

  test("the cluster has Container Insights", () => {
    template().hasResourceProperties("AWS::ECS::Cluster", {
      ClusterName: name,
      ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
    });
  });

  test("the task definition is sized, non-root, read-only with a /tmp scratch volume, and logs with retention", () => {
    const taskDefinition = onlyResource(
      template(),
      "AWS::ECS::TaskDefinition",
      (t) => t.Properties?.Family === name,
    );
    const properties = taskDefinition.Properties ?? {};
    expect(Number(properties.Cpu)).toBeGreaterThanOrEqual(256);
    expect(Number(properties.Memory)).toBeGreaterThanOrEqual(512);
    expect(properties.RequiresCompatibilities).toEqual(["FARGATE"]);
    expect(properties.NetworkMode).toBe("awsvpc");
    expect(properties.Volumes).toEqual([{ Name: "tmp" }]);
    const [container, ...others] = properties.ContainerDefinitions as Record<string, unknown>[];
    expect(others).toHaveLength(0);
    expect(container).toMatchObject({
      Name: component,
      User: "1000",
      ReadonlyRootFilesystem: true,
      Essential: true,
      PortMappings: [{ ContainerPort: 8080, Protocol: "tcp" }],
      MountPoints: [{ ContainerPath: "/tmp", SourceVolume: "tmp", ReadOnly: false }],
      Image: `111111111111.dkr.ecr.ca-central-1.amazonaws.com/valmetal/${component}:${environment}-${SHA}`,
      LogConfiguration: { LogDriver: "awslogs", Options: { "awslogs-stream-prefix": component } },
    });
    template().hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: `/ecs/${name}`,
      RetentionInDays: Match.anyValue(),
    });
  });

  test("the task definition carries Environment, Application, Component and Version tags", () => {
    const taskDefinition = onlyResource(
      template(),
      "AWS::ECS::TaskDefinition",
      (t) => t.Properties?.Family === name,
    );
    expect(tagsOf(taskDefinition)).toEqual({
      Environment: environment,
      Application: "valmetal",
      Component: component,
      Version: SHA,
    });
  });

  test("the service scales on CPU with target tracking", () => {
    const settings = synthesized.platform.config.environments[environment].components[component];
    template().hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      ScalableDimension: "ecs:service:DesiredCount",
      ServiceNamespace: "ecs",
      MinCapacity: settings.minCapacity,
      MaxCapacity: settings.maxCapacity,
    });
    template().hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyName: `${name}-cpu`,
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
      }),
    });
  });
});

describe.each(ENVIRONMENT_NAMES)("container configuration in %s", (environment) => {
  const containerOf = (component: string) => {
    const taskDefinition = onlyResource(
      synthesized.environments[environment],
      "AWS::ECS::TaskDefinition",
      (t) => t.Properties?.Family === `valmetal-${environment}-${component}`,
    );
    return (taskDefinition.Properties.ContainerDefinitions as Record<string, unknown>[])[0] as {
      Environment: { Name: string; Value: unknown }[];
      Secrets?: { Name: string; ValueFrom: unknown }[];
    };
  };
  const names = (variables: { Name: string }[] | undefined) =>
    (variables ?? []).map((variable) => variable.Name);

  test("the api gets its settings as plain variables and the database password only as an ECS secret", () => {
    const api = containerOf("api");
    expect(names(api.Environment).sort()).toEqual(
      [
        "APP_VERSION",
        "DATABASE_HOST",
        "DATABASE_NAME",
        "DATABASE_PORT",
        "DATABASE_USER",
        "HOST",
        "MQTT_TOPIC",
        "MQTT_URL",
        "PORT",
      ].sort(),
    );
    expect(names(api.Secrets)).toEqual(["DATABASE_PASSWORD"]);
    const value = (name: string) => api.Environment.find((variable) => variable.Name === name)?.Value;
    expect(value("PORT")).toBe("8080");
    expect(value("HOST")).toBe("0.0.0.0");
    expect(value("APP_VERSION")).toBe(SHA);
    expect(value("MQTT_TOPIC")).toBe("valmetal/equipment/+/telemetry");
    expect(value("DATABASE_HOST")).toEqual({ "Fn::GetAtt": [expect.any(String), "Endpoint.Address"] });
    expect(JSON.stringify(api.Secrets)).toContain(":password::");
  });

  test("the web gets the api's URL and no secrets", () => {
    const web = containerOf("web");
    expect(names(web.Environment).sort()).toEqual(["API_URL", "APP_VERSION", "HOST", "PORT"]);
    expect(web.Secrets).toBeUndefined();
    expect(web.Environment.find((variable) => variable.Name === "API_URL")?.Value).toMatch(
      /^https:\/\/api\./,
    );
  });

  test("no container definition holds a password in plain text", () => {
    for (const [, taskDefinition] of resourcesOf(
      synthesized.environments[environment],
      "AWS::ECS::TaskDefinition",
    )) {
      const containers = taskDefinition.Properties?.ContainerDefinitions as {
        Environment: { Name: string }[];
      }[];
      for (const container of containers) {
        expect(names(container.Environment).filter((name) => /PASSWORD|SECRET|TOKEN/.test(name))).toEqual([]);
      }
    }
  });
});
