import { createHash } from "node:crypto";
import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandOutput,
  type Tag,
} from "@aws-sdk/client-ecs";
import { ToolkitError } from "../errors.ts";
import type { TaskDefinitionInput } from "./task-definition-file.ts";

/** Tag holding the digest of what was registered, so a re-run can tell "same content" without guessing defaults. */
export const contentDigestTag = "ContentSha256";

/** How many of a family's newest ACTIVE revisions are searched for one of the same commit. */
export const reuseSearchDepth = 10;

export interface TaskDefinitionRevision {
  arn: string;
  family: string;
  revision: number;
  reused: boolean;
}

export class RevisionConflictError extends ToolkitError {}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** sha256 of the task definition without its tags, keys sorted. */
export function contentDigest(input: TaskDefinitionInput): string {
  const { tags: _tags, ...content } = input;
  return createHash("sha256")
    .update(JSON.stringify(canonical(content)))
    .digest("hex");
}

const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((tag) => tag.key === key)?.value;

/**
 * Registers the rendered task definition, or reuses the ACTIVE revision already registered for this commit with the
 * same content: git SHA ↔ revision stays one to one and a re-run registers nothing. The same commit with different
 * content is an error naming both.
 */
export async function registerOrReuse(
  ecs: ECSClient,
  input: TaskDefinitionInput,
  sha: string,
): Promise<TaskDefinitionRevision> {
  const digest = contentDigest(input);
  const family = input.family as string;
  const listed = await ecs.send(
    new ListTaskDefinitionsCommand({ familyPrefix: family, status: "ACTIVE", sort: "DESC", maxResults: 100 }),
  );
  const sameFamily = (listed.taskDefinitionArns ?? []).filter(
    (arn) => arn.split("/").pop()?.split(":")[0] === family,
  );
  for (const arn of sameFamily.slice(0, reuseSearchDepth)) {
    const described = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }),
    );
    if (tagValue(described.tags, "Version") !== sha) continue;
    if (tagValue(described.tags, contentDigestTag) !== digest) {
      throw new RevisionConflictError(
        `${arn} is already registered for commit ${sha} with different content (${contentDigestTag} ${tagValue(described.tags, contentDigestTag) ?? "absent"}, now ${digest}); one commit must map to one revision — deploy a new commit, or deregister ${arn} if it was registered by mistake`,
      );
    }
    return {
      arn,
      family,
      revision: described.taskDefinition?.revision ?? Number(arn.split(":").pop()),
      reused: true,
    };
  }
  const tags = [
    ...(input.tags ?? []).filter((tag) => tag.key !== contentDigestTag),
    { key: contentDigestTag, value: digest },
  ];
  let registered: RegisterTaskDefinitionCommandOutput;
  try {
    registered = await ecs.send(new RegisterTaskDefinitionCommand({ ...input, tags }));
  } catch (error) {
    const name = (error as Error).name;
    const hint =
      name === "AccessDeniedException"
        ? " — the deploy role needs ecs:TagResource when registering with tags"
        : "";
    throw new ToolkitError(
      `RegisterTaskDefinition refused for ${family}: ${name}: ${(error as Error).message}${hint}`,
      {
        cause: error,
      },
    );
  }
  const definition = registered.taskDefinition;
  if (!definition?.taskDefinitionArn)
    throw new ToolkitError(`RegisterTaskDefinition returned no ARN for ${family}`);
  return { arn: definition.taskDefinitionArn, family, revision: definition.revision ?? 0, reused: false };
}
