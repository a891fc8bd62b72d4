import {
  ClusterNotFoundException,
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTaskSetsCommand,
  DescribeTasksCommand,
  InvalidParameterException,
  ListClustersCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  ServiceNotFoundException,
  StopTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestSimulator, type TestSimulator } from "./support.ts";

/** ECS through the real SDK client over HTTP. */

let t: TestSimulator;
let taskDefinitionArn: string;
beforeAll(async () => {
  t = await startTestSimulator();
  await t.ecs.send(new CreateClusterCommand({ clusterName: "main", tags: [{ key: "Team", value: "iot" }] }));
  const registered = await t.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      containerDefinitions: [{ name: "web", image: "nginx:1", portMappings: [{ containerPort: 80 }] }],
      tags: [
        { key: "Environment", value: "dev" },
        { key: "Version", value: "a".repeat(40) },
      ],
    }),
  );
  taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn as string;
});
afterAll(async () => {
  await t.stop();
});

describe("ECS conformance", () => {
  test("clusters are created, described with tags, listed, and a missing one is a failure", async () => {
    const described = await t.ecs.send(
      new DescribeClustersCommand({ clusters: ["main", "ghost"], include: ["TAGS"] }),
    );
    expect(described.clusters?.[0]).toMatchObject({
      clusterName: "main",
      status: "ACTIVE",
      tags: [{ key: "Team", value: "iot" }],
    });
    expect(described.failures?.[0]).toMatchObject({ reason: "MISSING" });
    expect((await t.ecs.send(new ListClustersCommand({}))).clusterArns).toEqual([
      "arn:aws:ecs:ca-central-1:123456789012:cluster/main",
    ]);
  });

  test("task definitions get revisions and return their tags at the top level with include TAGS", async () => {
    const second = await t.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "web",
        containerDefinitions: [{ name: "web", image: "nginx:2" }],
      }),
    );
    expect(second.taskDefinition).toMatchObject({ family: "web", revision: 2, status: "ACTIVE" });
    const withTags = await t.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "web:1", include: ["TAGS"] }),
    );
    expect(withTags.tags).toEqual([
      { key: "Environment", value: "dev" },
      { key: "Version", value: "a".repeat(40) },
    ]);
    expect(withTags.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    expect(
      (await t.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web:1" }))).tags,
    ).toBeUndefined();
    expect(
      (await t.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web" }))).taskDefinition
        ?.revision,
    ).toBe(2);
    await t.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "web:2" }));
    expect(
      (await t.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "web" }))).taskDefinitionArns,
    ).toEqual([taskDefinitionArn]);
    expect(
      (await t.ecs.send(new ListTaskDefinitionsCommand({ status: "INACTIVE" }))).taskDefinitionArns,
    ).toHaveLength(1);
    expect((await t.ecs.send(new ListTaskDefinitionFamiliesCommand({}))).families).toEqual(["web"]);
  });

  test("services start tasks tagged by the propagation rules, with the managed tags", async () => {
    await t.ecs.send(
      new TagResourceCommand({ resourceArn: taskDefinitionArn, tags: [{ key: "Component", value: "web" }] }),
    );
    const created = await t.ecs.send(
      new CreateServiceCommand({
        cluster: "main",
        serviceName: "web",
        taskDefinition: taskDefinitionArn,
        desiredCount: 2,
        propagateTags: "TASK_DEFINITION",
        enableECSManagedTags: true,
      }),
    );
    expect(created.service).toMatchObject({
      serviceName: "web",
      desiredCount: 2,
      deploymentController: { type: "ECS" },
      propagateTags: "TASK_DEFINITION",
    });
    await t.advance(5);
    const listed = await t.ecs.send(new ListTasksCommand({ cluster: "main", serviceName: "web" }));
    expect(listed.taskArns).toHaveLength(2);
    expect(listed.taskArns?.[0]).toMatch(/^arn:aws:ecs:ca-central-1:123456789012:task\/main\/[0-9a-f]{32}$/);
    const tasks = await t.ecs.send(
      new DescribeTasksCommand({ cluster: "main", tasks: listed.taskArns, include: ["TAGS"] }),
    );
    expect(tasks.tasks?.[0]).toMatchObject({
      lastStatus: "RUNNING",
      group: "service:web",
      taskDefinitionArn,
    });
    expect(tasks.tasks?.[0]?.tags).toEqual(
      expect.arrayContaining([
        { key: "Environment", value: "dev" },
        { key: "Component", value: "web" },
        { key: "aws:ecs:clusterName", value: "main" },
        { key: "aws:ecs:serviceName", value: "web" },
      ]),
    );
    const listedTags = await t.ecs.send(new ListTagsForResourceCommand({ resourceArn: taskDefinitionArn }));
    expect(listedTags.tags?.map((tag) => tag.key)).toContain("Component");
    await t.ecs.send(new UntagResourceCommand({ resourceArn: taskDefinitionArn, tagKeys: ["Component"] }));
    expect(
      (await t.ecs.send(new ListTagsForResourceCommand({ resourceArn: taskDefinitionArn }))).tags?.map(
        (tag) => tag.key,
      ),
    ).not.toContain("Component");
  });

  test("a rolling update replaces the tasks; tags are copied only when a task is created", async () => {
    const before =
      (await t.ecs.send(new ListTasksCommand({ cluster: "main", serviceName: "web" }))).taskArns ?? [];
    await t.ecs.send(
      new UpdateServiceCommand({
        cluster: "main",
        service: "web",
        propagateTags: "NONE",
        forceNewDeployment: true,
      }),
    );
    await t.advance(30);
    const after =
      (await t.ecs.send(new ListTasksCommand({ cluster: "main", serviceName: "web" }))).taskArns ?? [];
    expect(after).toHaveLength(2);
    expect(after.some((arn) => before.includes(arn))).toBe(false);
    const tasks = await t.ecs.send(
      new DescribeTasksCommand({ cluster: "main", tasks: after, include: ["TAGS"] }),
    );
    expect(tasks.tasks?.[0]?.tags?.map((tag) => tag.key)).toEqual([
      "aws:ecs:clusterName",
      "aws:ecs:serviceName",
    ]);
    const stopped = await t.ecs.send(new ListTasksCommand({ cluster: "main", desiredStatus: "STOPPED" }));
    expect(stopped.taskArns).toEqual(expect.arrayContaining(before));
  });

  test("describe limits: 11 services or 101 tasks are refused with InvalidParameterException", async () => {
    const names = Array.from({ length: 11 }, (_, index) => `s${index}`);
    await expect(
      t.ecs.send(new DescribeServicesCommand({ cluster: "main", services: names })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    const tasks = Array.from({ length: 101 }, (_, index) => `t${index}`);
    await expect(t.ecs.send(new DescribeTasksCommand({ cluster: "main", tasks }))).rejects.toBeInstanceOf(
      InvalidParameterException,
    );
  });

  test("ListServices paginates with nextToken (default page of 10)", async () => {
    for (let index = 0; index < 12; index++) {
      await t.ecs.send(
        new CreateServiceCommand({
          cluster: "main",
          serviceName: `svc-${index}`,
          taskDefinition: taskDefinitionArn,
          desiredCount: 0,
        }),
      );
    }
    const first = await t.ecs.send(new ListServicesCommand({ cluster: "main" }));
    expect(first.serviceArns).toHaveLength(10);
    const second = await t.ecs.send(new ListServicesCommand({ cluster: "main", nextToken: first.nextToken }));
    expect(second.serviceArns).toHaveLength(3);
    expect(second.nextToken).toBeUndefined();
  });

  test("errors carry the real exception classes", async () => {
    await expect(t.ecs.send(new ListServicesCommand({ cluster: "ghost" }))).rejects.toBeInstanceOf(
      ClusterNotFoundException,
    );
    await expect(
      t.ecs.send(new UpdateServiceCommand({ cluster: "main", service: "ghost", desiredCount: 1 })),
    ).rejects.toBeInstanceOf(ServiceNotFoundException);
    await expect(
      t.ecs.send(new DeleteServiceCommand({ cluster: "main", service: "web" })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  test("RunTask and StopTask, DescribeTaskSets and DeleteService", async () => {
    const run = await t.ecs.send(
      new RunTaskCommand({
        cluster: "main",
        taskDefinition: "web:1",
        count: 1,
        startedBy: "me",
        propagateTags: "TASK_DEFINITION",
        enableECSManagedTags: true,
      }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;
    expect(run.tasks?.[0]?.tags).toEqual(
      expect.arrayContaining([{ key: "aws:ecs:clusterName", value: "main" }]),
    );
    await t.advance(1);
    const stopped = await t.ecs.send(new StopTaskCommand({ cluster: "main", task: taskArn, reason: "done" }));
    expect(stopped.task?.desiredStatus).toBe("STOPPED");
    await t.advance(1);
    expect(
      (await t.ecs.send(new DescribeTasksCommand({ cluster: "main", tasks: [taskArn] }))).tasks?.[0],
    ).toMatchObject({ lastStatus: "STOPPED", stoppedReason: "done", stopCode: "UserInitiated" });
    const sets = await t.ecs.send(new DescribeTaskSetsCommand({ cluster: "main", service: "web" }));
    expect(sets.taskSets?.[0]?.status).toBe("PRIMARY");
    await t.ecs.send(new DeleteServiceCommand({ cluster: "main", service: "web", force: true }));
    await t.advance(5);
    expect(
      (await t.ecs.send(new DescribeServicesCommand({ cluster: "main", services: ["web"] }))).services?.[0]
        ?.status,
    ).toBe("INACTIVE");
  });

  test("a task pulls an ECR image of any account from the registry behind ECR; the task definition keeps the URI", async () => {
    const local = await startTestSimulator({ settings: { registry: "127.0.0.1:5999" } });
    try {
      const image = `111111111111.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api:dev-${"b".repeat(40)}`;
      await local.ecs.send(new CreateClusterCommand({ clusterName: "main" }));
      await local.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "api",
          containerDefinitions: [
            { name: "api", image, portMappings: [{ containerPort: 8080 }] },
            { name: "sidecar", image: "public.ecr.aws/docker/library/busybox:1" },
          ],
        }),
      );
      const run = await local.ecs.send(new RunTaskCommand({ cluster: "main", taskDefinition: "api" }));
      const launch = local.runtime.started.get(run.tasks?.[0]?.taskArn as string);
      expect(
        launch?.taskDefinition.containerDefinitions.map((container: { image: string }) => container.image),
      ).toEqual([
        `127.0.0.1:5999/valmetal/api:dev-${"b".repeat(40)}`,
        "public.ecr.aws/docker/library/busybox:1",
      ]);
      const described = await local.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "api" }));
      expect(described.taskDefinition?.containerDefinitions?.[0]?.image).toBe(image);
    } finally {
      await local.stop();
    }
  });
});
