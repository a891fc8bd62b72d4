import { createHash } from "node:crypto";
import type { Service } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { appSpecFromFile, appSpecFromService, appSpecRevision } from "./appspec.ts";

const taskDefinitionArn = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-api:8";
const service: Service = {
  serviceName: "valmetal-dev-api",
  loadBalancers: [{ containerName: "api", containerPort: 8080, targetGroupArn: "arn:tg/blue" }],
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: ["subnet-a", "subnet-b"],
      securityGroups: ["sg-1"],
      assignPublicIp: "DISABLED",
    },
  },
  platformVersion: "LATEST",
  capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 1 }],
};

describe("AppSpec", () => {
  it("is generated from the live service: container, port, network, platform version, capacity providers", () => {
    expect(appSpecFromService(service, taskDefinitionArn, { AfterAllowTestTraffic: "smoke-lambda" })).toEqual(
      {
        version: "0.0",
        Resources: [
          {
            TargetService: {
              Type: "AWS::ECS::Service",
              Properties: {
                TaskDefinition: taskDefinitionArn,
                LoadBalancerInfo: { ContainerName: "api", ContainerPort: 8080 },
                PlatformVersion: "LATEST",
                NetworkConfiguration: {
                  AwsvpcConfiguration: {
                    Subnets: ["subnet-a", "subnet-b"],
                    SecurityGroups: ["sg-1"],
                    AssignPublicIp: "DISABLED",
                  },
                },
                CapacityProviderStrategy: [{ Base: 1, CapacityProvider: "FARGATE", Weight: 1 }],
              },
            },
          },
        ],
        Hooks: [{ AfterAllowTestTraffic: "smoke-lambda" }],
      },
    );
  });

  it("refuses a service without a load balancer", () => {
    expect(() => appSpecFromService({ serviceName: "worker" }, taskDefinitionArn)).toThrow(
      "service worker has no load balancer with a container name and port",
    );
  });

  it("takes a YAML file with keys in any case and fills in the task definition", () => {
    const yaml = [
      "version: 0.0",
      "resources:",
      "  - TargetService:",
      "      type: AWS::ECS::Service",
      "      properties:",
      "        taskDefinition: placeholder",
      "        loadBalancerInfo:",
      "          containerName: api",
      "          containerPort: 8080",
    ].join("\n");
    const appSpec = appSpecFromFile(yaml, "appspec.yaml", taskDefinitionArn) as unknown as {
      resources: Array<{ TargetService: { properties: Record<string, unknown> } }>;
    };
    expect(appSpec.resources[0]?.TargetService.properties.taskDefinition).toBe(taskDefinitionArn);
  });

  it("rejects a file without load balancer info", () => {
    const json = JSON.stringify({
      version: 0,
      Resources: [{ T: { Type: "AWS::ECS::Service", Properties: {} } }],
    });
    expect(() => appSpecFromFile(json, "a.json", taskDefinitionArn)).toThrow(
      "has no LoadBalancerInfo.ContainerName",
    );
  });

  it("is sent as JSON with the sha256 CodeDeploy checks", () => {
    const revision = appSpecRevision(appSpecFromService(service, taskDefinitionArn));
    expect(revision.revisionType).toBe("AppSpecContent");
    expect(
      JSON.parse(revision.appSpecContent.content).Resources[0].TargetService.Properties.TaskDefinition,
    ).toBe(taskDefinitionArn);
    expect(revision.appSpecContent.sha256).toBe(
      createHash("sha256").update(revision.appSpecContent.content).digest("hex"),
    );
  });
});
