import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  type Tag,
} from "@aws-sdk/client-ecs";
import type { AwsCalls } from "./calls.ts";
import type { Tags, TaskDefinitionSnapshot } from "./model.ts";

/** Task definition revisions as check-tags reads them: each once, with its tags, and each family's recent history. */

/** ECS tags as a record keyed by exact key. */
export const tagMap = (list: Tag[] | undefined): Tags =>
  Object.fromEntries((list ?? []).map((tag) => [tag.key ?? "", tag.value ?? ""]));

export const lastSegment = (reference: string) => reference.slice(reference.lastIndexOf("/") + 1);

export async function describeTaskDefinition(
  calls: AwsCalls,
  ecs: ECSClient,
  arn: string,
): Promise<TaskDefinitionSnapshot> {
  const response = await calls.send<{
    taskDefinition?: {
      taskDefinitionArn?: string;
      family?: string;
      revision?: number;
      status?: string;
      containerDefinitions?: { name?: string; image?: string }[];
    };
    tags?: Tag[];
  }>(ecs, new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }), {
    service: "ecs",
    resource: `task definition ${lastSegment(arn)}`,
  });
  const definition = response.taskDefinition ?? {};
  return {
    arn: definition.taskDefinitionArn ?? arn,
    family: definition.family ?? "",
    revision: definition.revision ?? 0,
    status: definition.status ?? "",
    tags: tagMap(response.tags),
    containers: (definition.containerDefinitions ?? []).map((container) => ({
      name: container.name ?? "",
      image: container.image ?? "",
    })),
  };
}

/**
 * The newest `history` ACTIVE revisions of a family: one ListTaskDefinitions call (DESC, maxResults = history). Its
 * familyPrefix is a prefix, and DESC lists other families whose names extend this one first (`api-worker` before
 * `api`), so when such revisions crowd the first page the next pages are read 100 at a time until the family's own.
 */
export async function familyHistory(
  calls: AwsCalls,
  ecs: ECSClient,
  family: string,
  history: number,
): Promise<string[]> {
  const revisions: string[] = [];
  let nextToken: string | undefined;
  let maxResults = history;
  do {
    const page = await calls.send<{ taskDefinitionArns?: string[]; nextToken?: string }>(
      ecs,
      new ListTaskDefinitionsCommand({
        familyPrefix: family,
        status: "ACTIVE",
        sort: "DESC",
        maxResults,
        nextToken,
      }),
      { service: "ecs", resource: `task definition family ${family}` },
    );
    for (const arn of page.taskDefinitionArns ?? []) {
      const isFamily = lastSegment(arn).replace(/:\d+$/, "") === family;
      if (isFamily) revisions.push(arn);
      else if (revisions.length) return revisions;
      if (revisions.length === history) return revisions;
    }
    nextToken = page.nextToken;
    maxResults = 100;
  } while (nextToken);
  return revisions;
}
