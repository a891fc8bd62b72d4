import { createApplication, createDeploymentConfig, createDeploymentGroup } from "./control/codedeploy.ts";
import { createRepository, pullableImage, repositoryUri } from "./control/ecr.ts";
import { createCluster, registerTaskDefinition } from "./control/ecs.ts";
import { createService } from "./control/ecs-services.ts";
import { createListener, createLoadBalancer, createRule, createTargetGroup } from "./control/elbv2.ts";
import { hex, type Sim } from "./control/state.ts";
import {
  createAlarmsFromTemplate,
  intrinsicContext,
  type ResolveContext,
  resolve,
} from "./provision-intrinsics.ts";

/**
 * Provisioning from a synthesized CloudFormation template (cdk.out/*.template.json): the modelled resource types
 * are created through the same code the APIs use; every other type is accepted and listed as not modelled.
 */

// biome-ignore lint/suspicious/noExplicitAny: template JSON
type Json = any;

export interface ProvisionReport {
  created: Array<{ logicalId: string; type: string; physicalId: string }>;
  unmodelled: Array<{ logicalId: string; type: string }>;
}

/** PascalCase CloudFormation properties → camelCase API fields (free-form maps kept as they are). */
export function camel(value: Json, key = ""): Json {
  if (Array.isArray(value)) return value.map((item) => camel(item));
  if (!value || typeof value !== "object") return value;
  if (["Options", "DockerLabels", "options", "dockerLabels"].includes(key)) return value;
  const special: Record<string, string> = {
    ECSServices: "ecsServices",
    AwsvpcConfiguration: "awsvpcConfiguration",
  };
  return Object.fromEntries(
    Object.entries(value).map(([name, item]) => [
      special[name] ?? name.charAt(0).toLowerCase() + name.slice(1),
      camel(item, name),
    ]),
  );
}

function physicalName(context: ResolveContext, logicalId: string, lower = false): string {
  const name = `${`${context.stackName}-${logicalId}`.slice(0, 24)}-${hex(4)}`;
  return lower ? name.toLowerCase() : name;
}

type Creator = (
  sim: Sim,
  props: Json,
  logicalId: string,
  context: ResolveContext,
) => { ref: string; attributes: Record<string, unknown> };

const creators: Record<string, Creator> = {
  "AWS::ECS::Cluster": (sim, props, logicalId, context) => {
    const cluster = createCluster(
      sim,
      props.ClusterName ?? physicalName(context, logicalId),
      camel(props.Tags ?? []),
      camel(props.ClusterSettings ?? []),
    );
    return { ref: cluster.clusterName, attributes: { Arn: cluster.clusterArn } };
  },
  "AWS::ECS::TaskDefinition": (sim, props, logicalId, context) => {
    const input = camel(props);
    input.family ??= `${context.stackName}${logicalId}`.replace(/[^A-Za-z0-9_-]/g, "");
    for (const container of input.containerDefinitions ?? [])
      if (typeof container.image === "string") container.image = pullableImage(sim, container.image);
    const definition = registerTaskDefinition(sim, input);
    return {
      ref: definition.taskDefinitionArn,
      attributes: { TaskDefinitionArn: definition.taskDefinitionArn },
    };
  },
  "AWS::ECS::Service": (sim, props, logicalId, context) => {
    const input = camel(props);
    input.serviceName ??= physicalName(context, logicalId);
    if (input.deploymentController?.type)
      input.deploymentController = { type: input.deploymentController.type };
    const service = createService(sim, input);
    return {
      ref: service.serviceArn,
      attributes: { Name: service.serviceName, ServiceArn: service.serviceArn },
    };
  },
  "AWS::ElasticLoadBalancingV2::LoadBalancer": (sim, props, logicalId, context) => {
    const lb = createLoadBalancer(sim, { ...props, Name: props.Name ?? physicalName(context, logicalId) });
    const fullName = lb.loadBalancerArn.slice(lb.loadBalancerArn.indexOf(":loadbalancer/") + 14);
    return {
      ref: lb.loadBalancerArn,
      attributes: {
        DNSName: lb.dnsName,
        LoadBalancerFullName: fullName,
        LoadBalancerName: lb.loadBalancerName,
        LoadBalancerArn: lb.loadBalancerArn,
        CanonicalHostedZoneID: "ZQSVJUPU6J1EY",
        SecurityGroups: lb.securityGroups,
      },
    };
  },
  "AWS::ElasticLoadBalancingV2::TargetGroup": (sim, props, logicalId, context) => {
    const group = createTargetGroup(sim, { ...props, Name: props.Name ?? physicalName(context, logicalId) });
    const fullName = group.targetGroupArn.slice(group.targetGroupArn.indexOf(":targetgroup/") + 1);
    return {
      ref: group.targetGroupArn,
      attributes: {
        TargetGroupFullName: fullName,
        TargetGroupName: group.targetGroupName,
        TargetGroupArn: group.targetGroupArn,
        LoadBalancerArns: group.loadBalancerArns,
      },
    };
  },
  "AWS::ElasticLoadBalancingV2::Listener": (sim, props) => {
    const listener = createListener(sim, props);
    return { ref: listener.listenerArn, attributes: { ListenerArn: listener.listenerArn } };
  },
  "AWS::ElasticLoadBalancingV2::ListenerRule": (sim, props) => {
    createRule(sim, props);
    return { ref: `${props.ListenerArn}/rule`, attributes: {} };
  },
  "AWS::CloudWatch::Alarm": (sim, props, logicalId, context) =>
    createAlarmsFromTemplate(sim, "metric", {
      ...props,
      AlarmName: props.AlarmName ?? physicalName(context, logicalId),
    }),
  "AWS::CloudWatch::CompositeAlarm": (sim, props, logicalId, context) =>
    createAlarmsFromTemplate(sim, "composite", {
      ...props,
      AlarmName: props.AlarmName ?? physicalName(context, logicalId),
    }),
  "AWS::CodeDeploy::Application": (sim, props, logicalId, context) => {
    const application = createApplication(
      sim,
      props.ApplicationName ?? physicalName(context, logicalId),
      props.ComputePlatform ?? "Server",
    );
    return { ref: application.applicationName, attributes: {} };
  },
  "AWS::CodeDeploy::DeploymentConfig": (sim, props, logicalId, context) => {
    const config = createDeploymentConfig(sim, {
      ...camel(props),
      deploymentConfigName: props.DeploymentConfigName ?? physicalName(context, logicalId),
    });
    return { ref: config.deploymentConfigName, attributes: {} };
  },
  "AWS::CodeDeploy::DeploymentGroup": (sim, props, logicalId, context) => {
    const input = camel(props);
    input.deploymentGroupName ??= physicalName(context, logicalId);
    const group = createDeploymentGroup(sim, input);
    return { ref: group.deploymentGroupName, attributes: {} };
  },
  "AWS::ECR::Repository": (sim, props, logicalId, context) => {
    const repository = createRepository(sim, {
      ...camel(props),
      repositoryName: props.RepositoryName ?? physicalName(context, logicalId, true),
      tags: props.Tags,
    });
    return {
      ref: repository.repositoryName,
      attributes: {
        Arn: repository.repositoryArn,
        RepositoryUri: repositoryUri(sim, repository.repositoryName),
      },
    };
  },
};

export const modelledTypes = Object.keys(creators);

/**
 * A name for a resource the simulator does not model. IAM roles get a real-looking ARN, since task definitions carry
 * their roles' ARNs and the deploy action checks them.
 */
function unmodelledIdentity(resource: Json, logicalId: string, accountId: string) {
  if (resource.Type === "AWS::IAM::Role") {
    const declared = resource.Properties?.RoleName;
    const name = typeof declared === "string" ? declared : `${logicalId}-${hex(4)}`;
    return {
      ref: name,
      attributes: { Arn: `arn:aws:iam::${accountId}:role/${name}`, RoleId: `AROA${hex(8).toUpperCase()}` },
    };
  }
  return { ref: `${logicalId}-${hex(4)}`, attributes: {} };
}

export function provisionTemplate(
  sim: Sim,
  template: Json,
  options: { name: string; parameters?: Record<string, string> },
): ProvisionReport {
  const stackName = (options.name.split("/").pop() ?? options.name)
    .replace(/\.template\.json$/, "")
    .replace(/\.json$/, "");
  const context = intrinsicContext(sim, template, stackName, options.parameters ?? {});
  const report: ProvisionReport = { created: [], unmodelled: [] };
  const pending: Array<[string, Json]> = [];
  for (const [logicalId, resource] of Object.entries<Json>(template.Resources ?? {})) {
    if (resource.Condition && !context.condition(resource.Condition)) continue;
    if (creators[resource.Type]) pending.push([logicalId, resource]);
    else {
      const identity = unmodelledIdentity(resource, logicalId, sim.state.settings.accountId);
      context.refs[logicalId] = identity.ref;
      context.attributes[logicalId] = identity.attributes;
      report.unmodelled.push({ logicalId, type: resource.Type });
      sim.state.unmodelled.push({ logicalId, type: resource.Type, template: stackName });
    }
  }
  while (pending.length) {
    let progressed = false;
    for (const entry of [...pending]) {
      const [logicalId, resource] = entry;
      const dependsOn: string[] = [resource.DependsOn ?? []].flat();
      if (dependsOn.some((id) => pending.some(([other]) => other === id))) continue;
      let props: Json;
      try {
        props = resolve(context, resource.Properties ?? {});
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("pending:")) continue;
        throw error;
      }
      const creator = creators[resource.Type] as Creator;
      try {
        const { ref, attributes } = creator(sim, props, logicalId, context);
        context.refs[logicalId] = ref;
        context.attributes[logicalId] = attributes;
        report.created.push({ logicalId, type: resource.Type, physicalId: ref });
      } catch (error) {
        throw new Error(
          `${stackName}: cannot create ${logicalId} (${resource.Type}): ${error instanceof Error ? error.message : error}`,
        );
      }
      pending.splice(pending.indexOf(entry), 1);
      progressed = true;
    }
    if (!progressed)
      throw new Error(
        `${stackName}: cannot resolve the references of ${pending.map(([id]) => id).join(", ")}`,
      );
  }
  sim.wake();
  return report;
}
