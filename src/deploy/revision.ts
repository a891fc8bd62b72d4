import { DescribeTaskDefinitionCommand, type ECSClient, type Service } from "@aws-sdk/client-ecs";
import { renderTaskDefinition, type TraceabilityTags } from "../ecs/render.ts";
import { registrableTaskDefinition, type TaskDefinitionInput } from "../ecs/task-definition-file.ts";
import { describeService, validateForService } from "./deployment-target.ts";

/** What is deployed: a commit's images into a service's task definition. */
export interface RevisionOptions {
  cluster: string;
  service: string;
  /** The task definition to render; when absent, the service's current revision. */
  taskDefinition?: TaskDefinitionInput;
  images: Record<string, string>;
  environment: Record<string, string>;
  sha: string;
  tags: TraceabilityTags;
}

export interface PreparedRevision {
  service: Service;
  /** The revision the service runs now: what a rollback returns to. */
  previousTaskDefinition: string;
  rendered: TaskDefinitionInput;
}

/** Reads the live service and renders the new revision against it, validated, before anything changes. */
export async function prepareRevision(options: RevisionOptions, ecs: ECSClient): Promise<PreparedRevision> {
  const service = await describeService(ecs, options.cluster, options.service);
  const previousTaskDefinition = service.taskDefinition as string;
  let base = options.taskDefinition;
  if (!base) {
    const described = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: previousTaskDefinition, include: ["TAGS"] }),
    );
    base = registrableTaskDefinition(described, previousTaskDefinition).input;
  }
  const rendered = renderTaskDefinition(base, options);
  validateForService(rendered, service);
  return { service, previousTaskDefinition, rendered };
}
