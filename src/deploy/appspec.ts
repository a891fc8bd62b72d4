import { createHash } from "node:crypto";
import type { Service } from "@aws-sdk/client-ecs";
import { parse as parseYaml } from "yaml";
import { InputError } from "../errors.ts";

export const lifecycleHooks = [
  "BeforeInstall",
  "AfterInstall",
  "AfterAllowTestTraffic",
  "BeforeAllowTraffic",
  "AfterAllowTraffic",
] as const;
export type LifecycleHook = (typeof lifecycleHooks)[number];

export interface AppSpecRevision {
  revisionType: "AppSpecContent";
  appSpecContent: { content: string; sha256: string };
}

type AppSpec = {
  version: string | number;
  Resources: Array<Record<string, { Type: string; Properties: Record<string, unknown> }>>;
  Hooks?: Array<Partial<Record<LifecycleHook, string>>>;
};

/**
 * The AppSpec of an ECS blue/green deployment, generated from the live service: container and port from its load
 * balancer, network configuration, platform version and capacity providers, so nothing is written twice.
 */
export function appSpecFromService(
  service: Service,
  taskDefinitionArn: string,
  hooks: Partial<Record<LifecycleHook, string>> = {},
): AppSpec {
  const loadBalancer = service.loadBalancers?.[0];
  if (!loadBalancer?.containerName || loadBalancer.containerPort === undefined) {
    throw new InputError(
      `service ${service.serviceName} has no load balancer with a container name and port; a blue/green deployment needs one`,
    );
  }
  const vpc = service.networkConfiguration?.awsvpcConfiguration;
  const properties: Record<string, unknown> = {
    TaskDefinition: taskDefinitionArn,
    LoadBalancerInfo: {
      ContainerName: loadBalancer.containerName,
      ContainerPort: loadBalancer.containerPort,
    },
  };
  if (service.platformVersion) properties.PlatformVersion = service.platformVersion;
  if (vpc) {
    properties.NetworkConfiguration = {
      AwsvpcConfiguration: {
        Subnets: vpc.subnets ?? [],
        SecurityGroups: vpc.securityGroups ?? [],
        AssignPublicIp: vpc.assignPublicIp ?? "DISABLED",
      },
    };
  }
  if (service.capacityProviderStrategy?.length) {
    properties.CapacityProviderStrategy = service.capacityProviderStrategy.map((item) => ({
      Base: item.base ?? 0,
      CapacityProvider: item.capacityProvider,
      Weight: item.weight ?? 0,
    }));
  }
  const appSpec: AppSpec = {
    version: "0.0",
    Resources: [{ TargetService: { Type: "AWS::ECS::Service", Properties: properties } }],
  };
  const hookEntries = Object.entries(hooks).filter(([, target]) => target);
  if (hookEntries.length) appSpec.Hooks = hookEntries.map(([event, target]) => ({ [event]: target }));
  return appSpec;
}

function findKey(record: Record<string, unknown>, name: string): string | undefined {
  return Object.keys(record).find((key) => key.toLowerCase() === name.toLowerCase());
}

/** An AppSpec from a file (JSON or YAML, keys matched case-insensitively) with its TaskDefinition filled in. */
export function appSpecFromFile(text: string, source: string, taskDefinitionArn: string): AppSpec {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InputError(`AppSpec ${source} is neither JSON nor YAML (${(error as Error).message})`);
  }
  const root = (document ?? {}) as Record<string, unknown>;
  const resources = root[findKey(root, "Resources") ?? "Resources"];
  const first = Array.isArray(resources) ? (resources[0] as Record<string, unknown> | undefined) : undefined;
  const target = first ? (Object.values(first)[0] as Record<string, unknown> | undefined) : undefined;
  const properties = target
    ? (target[findKey(target, "Properties") ?? "Properties"] as Record<string, unknown>)
    : undefined;
  if (!properties || typeof properties !== "object") {
    throw new InputError(
      `AppSpec ${source} has no Resources[0].<name>.Properties; see the ECS AppSpec reference`,
    );
  }
  properties[findKey(properties, "TaskDefinition") ?? "TaskDefinition"] = taskDefinitionArn;
  const info = properties[findKey(properties, "LoadBalancerInfo") ?? ""] as
    | Record<string, unknown>
    | undefined;
  if (!info || info[findKey(info, "ContainerName") ?? ""] === undefined) {
    throw new InputError(
      `AppSpec ${source} has no LoadBalancerInfo.ContainerName; blue/green needs the container`,
    );
  }
  return root as unknown as AppSpec;
}

/** The CreateDeployment revision: JSON content and its sha256, as CodeDeploy checks it. */
export function appSpecRevision(appSpec: AppSpec): AppSpecRevision {
  const content = JSON.stringify(appSpec);
  return {
    revisionType: "AppSpecContent",
    appSpecContent: { content, sha256: createHash("sha256").update(content).digest("hex") },
  };
}
