import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { contentDigest, contentDigestTag, registerOrReuse, reuseSearchDepth } from "./register.ts";
import type { TaskDefinitionInput } from "./task-definition-file.ts";

const ecs = mockClient(ECSClient);
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const arn = (revision: number, family = "valmetal-dev-api") =>
  `arn:aws:ecs:ca-central-1:222222222222:task-definition/${family}:${revision}`;
const input: TaskDefinitionInput = {
  family: "valmetal-dev-api",
  containerDefinitions: [{ name: "api", image: `r.example.com/api:dev-${sha}` }],
  tags: [{ key: "Version", value: sha }],
};
const client = () => new ECSClient({ region: "ca-central-1" });

describe("one revision per commit", () => {
  beforeEach(() => ecs.reset());

  it("registers with a content digest tag when no revision of the family has this commit", async () => {
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolves({ taskDefinitionArns: [arn(3), arn(2, "valmetal-dev-api-worker")] });
    ecs
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { revision: 3 }, tags: [{ key: "Version", value: "0".repeat(40) }] });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn(4), revision: 4 } });
    expect(await registerOrReuse(client(), input, sha)).toEqual({
      arn: arn(4),
      family: "valmetal-dev-api",
      revision: 4,
      reused: false,
    });
    expect(ecs.commandCalls(ListTaskDefinitionsCommand)[0]?.args[0].input).toEqual({
      familyPrefix: "valmetal-dev-api",
      status: "ACTIVE",
      sort: "DESC",
      maxResults: 100,
    });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
      { taskDefinition: arn(3), include: ["TAGS"] },
    ]);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input.tags).toEqual([
      { key: "Version", value: sha },
      { key: contentDigestTag, value: contentDigest(input) },
    ]);
  });

  it("reuses the revision registered for this commit with the same content: a re-run registers nothing", async () => {
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [arn(5)] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { revision: 5 },
      tags: [
        { key: "Version", value: sha },
        { key: contentDigestTag, value: contentDigest(input) },
      ],
    });
    expect(await registerOrReuse(client(), input, sha)).toMatchObject({
      arn: arn(5),
      revision: 5,
      reused: true,
    });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it("refuses to register other content for a commit that already has a revision, naming it", async () => {
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [arn(5)] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { revision: 5 },
      tags: [
        { key: "Version", value: sha },
        { key: contentDigestTag, value: "f".repeat(64) },
      ],
    });
    await expect(registerOrReuse(client(), input, sha)).rejects.toThrow(
      `${arn(5)} is already registered for commit ${sha} with different content (${contentDigestTag} ${"f".repeat(64)}, now ${contentDigest(input)})`,
    );
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it(`searches at most the ${reuseSearchDepth} newest revisions`, async () => {
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolves({ taskDefinitionArns: Array.from({ length: 30 }, (_, index) => arn(30 - index)) });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ tags: [] });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn(31), revision: 31 } });
    await registerOrReuse(client(), input, sha);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(reuseSearchDepth);
  });

  it("explains a refused registration with the missing permission", async () => {
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
    ecs.on(RegisterTaskDefinitionCommand).rejects(
      Object.assign(new Error("not authorized to perform ecs:TagResource"), {
        name: "AccessDeniedException",
      }),
    );
    await expect(registerOrReuse(client(), input, sha)).rejects.toThrow(
      "RegisterTaskDefinition refused for valmetal-dev-api: AccessDeniedException: not authorized to perform ecs:TagResource — the deploy role needs ecs:TagResource when registering with tags",
    );
  });

  it("digests content independently of key order and tags", () => {
    const reordered = { containerDefinitions: input.containerDefinitions, family: input.family, tags: [] };
    expect(contentDigest(reordered as TaskDefinitionInput)).toBe(contentDigest(input));
    expect(contentDigest({ ...input, cpu: "256" })).not.toBe(contentDigest(input));
  });
});
