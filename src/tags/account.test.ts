import {
  BatchGetDeploymentGroupsCommand,
  CodeDeployClient,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
} from "@aws-sdk/client-codedeploy";
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type ReadAccountOptions, readAccount } from "./account.ts";
import { AccountReadError } from "./calls.ts";

const region = "ca-central-1";
const account = "123456789012";
const clusterArn = (name: string) => `arn:aws:ecs:${region}:${account}:cluster/${name}`;
const serviceArn = (cluster: string, name: string) =>
  `arn:aws:ecs:${region}:${account}:service/${cluster}/${name}`;
const taskArn = (cluster: string, id: string) => `arn:aws:ecs:${region}:${account}:task/${cluster}/${id}`;
const revisionArn = (family: string, revision: number) =>
  `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;
const sha = "a".repeat(40);
const image = (repository: string, tag: string) =>
  `${account}.dkr.ecr.${region}.amazonaws.com/${repository}:${tag}`;

const ecs = mockClient(ECSClient);
const ecr = mockClient(ECRClient);
const codedeploy = mockClient(CodeDeployClient);

const clients = () => ({
  ecs: new ECSClient({ region, credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
  ecr: new ECRClient({ region, credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
  codedeploy: new CodeDeployClient({ region, credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
});

const read = (options: Partial<ReadAccountOptions> = {}) =>
  readAccount({ ...clients(), clusters: [], services: [], concurrency: 4, revisionHistory: 5, ...options });

/** An account of `services` ECS-controller services in one cluster, each with `tasksPer` tasks of family svc-N:1. */
function fakeAccount(cluster: string, services: number, tasksPer: number) {
  const names = Array.from({ length: services }, (_, index) => `svc-${index}`);
  ecs.on(ListClustersCommand).resolves({ clusterArns: [clusterArn(cluster)] });
  ecs.on(DescribeClustersCommand).callsFake((input) => ({
    clusters: input.clusters.map((ref: string) => ({
      clusterArn: clusterArn(ref.split("/").pop() as string),
      clusterName: ref.split("/").pop(),
      status: "ACTIVE",
      tags: [{ key: "Environment", value: "prod" }],
      settings: [{ name: "containerInsights", value: "enabled" }],
    })),
  }));
  ecs.on(ListServicesCommand).callsFake((input) => {
    const start = Number(input.nextToken ?? 0);
    const page = names
      .slice(start, start + (input.maxResults ?? 10))
      .map((name) => serviceArn(cluster, name));
    const next = start + page.length;
    return { serviceArns: page, nextToken: next < names.length ? String(next) : undefined };
  });
  ecs.on(DescribeServicesCommand).callsFake((input) => ({
    services: input.services.map((ref: string) => {
      const name = ref.split("/").pop() as string;
      return {
        serviceArn: serviceArn(cluster, name),
        serviceName: name,
        clusterArn: clusterArn(cluster),
        status: "ACTIVE",
        taskDefinition: revisionArn(name, 1),
        deployments: [{ id: `ecs-svc/${name}`, status: "PRIMARY", taskDefinition: revisionArn(name, 1) }],
        deploymentController: { type: "ECS" },
        propagateTags: "TASK_DEFINITION",
        enableECSManagedTags: true,
        tags: [{ key: "Environment", value: "prod" }],
      };
    }),
    failures: [],
  }));
  const tasks = names.flatMap((name) =>
    Array.from({ length: tasksPer }, (_, index) => ({ name, arn: taskArn(cluster, `${name}-${index}`) })),
  );
  ecs.on(ListTasksCommand).callsFake((input) => {
    const listed = tasks.filter((task) => !input.serviceName || task.name === input.serviceName);
    const start = Number(input.nextToken ?? 0);
    const page = listed.slice(start, start + (input.maxResults ?? 100)).map((task) => task.arn);
    const next = start + page.length;
    return { taskArns: page, nextToken: next < listed.length ? String(next) : undefined };
  });
  ecs.on(DescribeTasksCommand).callsFake((input) => ({
    tasks: input.tasks.map((arn: string) => {
      const task = tasks.find((item) => item.arn === arn) as { name: string };
      return {
        taskArn: arn,
        clusterArn: clusterArn(cluster),
        taskDefinitionArn: revisionArn(task.name, 1),
        group: `service:${task.name}`,
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        tags: [{ key: "Version", value: sha }],
        containers: [
          { name: "app", image: image(`app/${task.name}`, `prod-${sha}`), imageDigest: "sha256:1" },
        ],
      };
    }),
    failures: [],
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
    const [family, revision] = (input.taskDefinition.split("/").pop() as string).split(":");
    return {
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition,
        family,
        revision: Number(revision),
        status: "ACTIVE",
        containerDefinitions: [{ name: "app", image: image(`app/${family}`, `prod-${sha}`) }],
      },
      tags: [{ key: "Version", value: sha }],
    };
  });
  ecs.on(ListTaskDefinitionsCommand).callsFake((input) => ({
    taskDefinitionArns: [revisionArn(input.familyPrefix, 1)],
  }));
  ecr.on(DescribeRepositoriesCommand).callsFake((input) => ({
    repositories: input.repositoryNames.map((name: string) => ({
      repositoryName: name,
      imageTagMutability: "IMMUTABLE",
    })),
  }));
  ecr.on(DescribeImagesCommand).callsFake((input) => ({
    imageDetails: input.imageIds.map((id: { imageTag: string }) => ({
      imageDigest: "sha256:1",
      imageTags: [id.imageTag],
    })),
  }));
  return { names, tasks };
}

const callsOf = (
  client: typeof ecs | typeof ecr | typeof codedeploy,
  command: Parameters<typeof ecs.commandCalls>[0],
) => client.commandCalls(command).map((call) => call.args[0].input);

describe("readAccount", () => {
  beforeEach(() => {
    ecs.reset();
    ecr.reset();
    codedeploy.reset();
  });

  it("describes 25 services in batches of 10, 10 and 5 with their tags", async () => {
    fakeAccount("prod", 25, 1);
    const { snapshot, statistics } = await read();
    const batches = callsOf(ecs, DescribeServicesCommand);
    expect(batches.map((input) => input.services?.length)).toEqual([10, 10, 5]);
    expect(
      batches.every((input) => input.include?.includes("TAGS") && input.cluster === clusterArn("prod")),
    ).toBe(true);
    expect(snapshot.services).toHaveLength(25);
    expect(snapshot.services[0]).toMatchObject({
      name: "svc-0",
      clusterName: "prod",
      propagateTags: "TASK_DEFINITION",
      enableECSManagedTags: true,
      tags: { Environment: "prod" },
      deploymentInProgress: false,
    });
    expect(statistics.calls.DescribeServices).toBe(3);
  });

  it("asks for clusters with tags and settings, and services and tasks at the largest page", async () => {
    fakeAccount("prod", 150, 1);
    const { snapshot } = await read();
    expect(callsOf(ecs, ListClustersCommand)).toEqual([{ maxResults: 100 }]);
    expect(callsOf(ecs, DescribeClustersCommand)).toEqual([
      { clusters: [clusterArn("prod")], include: ["TAGS", "SETTINGS"] },
    ]);
    expect(snapshot.clusters).toEqual([
      { arn: clusterArn("prod"), name: "prod", tags: { Environment: "prod" }, containerInsights: "enabled" },
    ]);
    const listServices = callsOf(ecs, ListServicesCommand);
    expect(listServices.map((input) => [input.maxResults, input.nextToken])).toEqual([
      [100, undefined],
      [100, "100"],
    ]);
    const listTasks = callsOf(ecs, ListTasksCommand);
    expect(listTasks.map((input) => [input.desiredStatus, input.maxResults, input.nextToken])).toEqual([
      ["RUNNING", 100, undefined],
      ["RUNNING", 100, "100"],
    ]);
    const describeTasks = callsOf(ecs, DescribeTasksCommand);
    expect(describeTasks.map((input) => input.tasks?.length)).toEqual([100, 50]);
    expect(describeTasks[0]?.include).toEqual(["TAGS"]);
  });

  it("reads each task definition revision once, with its top-level tags, however many tasks run it", async () => {
    fakeAccount("prod", 3, 40);
    const { snapshot } = await read();
    const described = callsOf(ecs, DescribeTaskDefinitionCommand);
    expect(described.map((input) => input.taskDefinition).sort()).toEqual([
      revisionArn("svc-0", 1),
      revisionArn("svc-1", 1),
      revisionArn("svc-2", 1),
    ]);
    expect(described.every((input) => input.include?.includes("TAGS"))).toBe(true);
    expect(snapshot.tasks).toHaveLength(120);
    expect(snapshot.tasks[0]).toMatchObject({ serviceName: "svc-0", tags: { Version: sha } });
    expect(snapshot.taskDefinitions[revisionArn("svc-0", 1)]).toMatchObject({
      family: "svc-0",
      revision: 1,
      tags: { Version: sha },
    });
    expect(callsOf(ecs, ListTaskDefinitionsCommand)[0]).toEqual({
      familyPrefix: "svc-0",
      status: "ACTIVE",
      sort: "DESC",
      maxResults: 5,
    });
    expect(snapshot.familyRevisions["svc-0"]).toEqual([revisionArn("svc-0", 1)]);
  });

  it("makes exactly the theoretical minimum of calls and counts them per operation", async () => {
    fakeAccount("prod", 25, 4);
    const { statistics } = await read();
    // 1 ListClusters + 1 DescribeClusters + 1 ListServices + 3 DescribeServices + 1 ListTasks + 1 DescribeTasks
    // + 25 DescribeTaskDefinition + 25 ListTaskDefinitions + 1 DescribeRepositories + 25 DescribeImages.
    expect(statistics.calls).toEqual({
      ListClusters: 1,
      DescribeClusters: 1,
      ListServices: 1,
      DescribeServices: 3,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 25,
      ListTaskDefinitions: 25,
      DescribeRepositories: 1,
      DescribeImages: 25,
    });
    expect(statistics.total).toBe(84);
    expect(statistics.minimum).toBe(84);
    expect(statistics.throttled).toBe(0);
  });

  it("reads past other families whose names extend the family (familyPrefix is a prefix)", async () => {
    fakeAccount("prod", 1, 1);
    const others = Array.from({ length: 7 }, (_, index) => revisionArn("svc-0-worker", 7 - index));
    const own = [3, 2, 1].map((revision) => revisionArn("svc-0", revision));
    ecs.on(ListTaskDefinitionsCommand).callsFake((input) => {
      const all = [...others, ...own];
      const start = Number(input.nextToken ?? 0);
      const page = all.slice(start, start + input.maxResults);
      const next = start + page.length;
      return { taskDefinitionArns: page, nextToken: next < all.length ? String(next) : undefined };
    });
    const { snapshot, statistics } = await read({ revisionHistory: 2 });
    expect(snapshot.familyRevisions["svc-0"]).toEqual([revisionArn("svc-0", 3), revisionArn("svc-0", 2)]);
    expect(callsOf(ecs, ListTaskDefinitionsCommand).map((input) => input.maxResults)).toEqual([2, 100]);
    // The history's revisions are described too (the one-to-one rule compares their Version tags), once each.
    expect(callsOf(ecs, DescribeTaskDefinitionCommand).map((input) => input.taskDefinition)).toEqual([
      revisionArn("svc-0", 1),
      revisionArn("svc-0", 3),
      revisionArn("svc-0", 2),
    ]);
    expect(Object.keys(snapshot.taskDefinitions)).toHaveLength(3);
    expect(statistics.minimum).toBe(statistics.total - 1);
  });

  it("lists tasks per service when services are named, and reads only those", async () => {
    fakeAccount("prod", 5, 2);
    const { snapshot, statistics } = await read({
      clusters: ["prod"],
      services: ["svc-1", serviceArn("prod", "svc-3")],
    });
    expect(callsOf(ecs, ListClustersCommand)).toEqual([]);
    expect(callsOf(ecs, ListServicesCommand)).toEqual([]);
    expect(callsOf(ecs, ListTasksCommand).map((input) => input.serviceName)).toEqual(["svc-1", "svc-3"]);
    expect(snapshot.services.map((service) => service.name)).toEqual(["svc-1", "svc-3"]);
    expect(snapshot.tasks).toHaveLength(4);
    expect(statistics.total).toBe(statistics.minimum);
  });

  it("keeps at most max-concurrency calls in flight", async () => {
    fakeAccount("prod", 60, 1);
    let inFlight = 0;
    let peak = 0;
    ecs.on(DescribeTaskDefinitionCommand).callsFake(async (input) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      const family = (input.taskDefinition.split("/").pop() as string).split(":")[0];
      return {
        taskDefinition: {
          taskDefinitionArn: input.taskDefinition,
          family,
          revision: 1,
          containerDefinitions: [],
        },
      };
    });
    await read({ concurrency: 3 });
    expect(peak).toBe(3);
  });

  it("understands a blue/green service with two task sets and finds its deployment group", async () => {
    fakeAccount("prod", 1, 1);
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceArn: serviceArn("prod", "api"),
          serviceName: "api",
          status: "ACTIVE",
          deploymentController: { type: "CODE_DEPLOY" },
          taskDefinition: revisionArn("api", 2),
          taskSets: [
            { id: "ecs-svc/1", taskSetArn: "ts1", status: "PRIMARY", taskDefinition: revisionArn("api", 2) },
            { id: "ecs-svc/2", taskSetArn: "ts2", status: "ACTIVE", taskDefinition: revisionArn("api", 3) },
          ],
        },
      ],
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolves({ taskDefinitionArns: [revisionArn("api", 3), revisionArn("api", 2)] });
    codedeploy.on(ListApplicationsCommand).resolves({ applications: ["other", "valmetal-prod-api"] });
    codedeploy.on(ListDeploymentGroupsCommand).callsFake((input) => ({
      deploymentGroups: [input.applicationName],
    }));
    codedeploy.on(BatchGetDeploymentGroupsCommand).callsFake((input) => ({
      deploymentGroupsInfo: [
        {
          deploymentGroupName: input.deploymentGroupNames[0],
          computePlatform: "ECS",
          ecsServices: input.applicationName === "other" ? [] : [{ clusterName: "prod", serviceName: "api" }],
          autoRollbackConfiguration: {
            enabled: true,
            events: ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
          },
          alarmConfiguration: { enabled: true, alarms: [{ name: "api-5xx" }] },
        },
      ],
    }));
    const { snapshot } = await read();
    const [service] = snapshot.services;
    expect(service).toMatchObject({ deploymentController: "CODE_DEPLOY", deploymentInProgress: true });
    expect(service?.taskSets.map((set) => set.status)).toEqual(["PRIMARY", "ACTIVE"]);
    expect(service?.deploymentGroup).toEqual({
      applicationName: "valmetal-prod-api",
      deploymentGroupName: "valmetal-prod-api",
      autoRollbackEnabled: true,
      autoRollbackEvents: ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
      alarmsEnabled: true,
      alarmNames: ["api-5xx"],
    });
    expect(Object.keys(snapshot.taskDefinitions).sort()).toEqual([
      revisionArn("api", 2),
      revisionArn("api", 3),
    ]);
  });

  it("reads each repository's mutability and the digest of every tag, splitting a batch when an image is gone", async () => {
    fakeAccount("prod", 2, 1);
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
      const family = (input.taskDefinition.split("/").pop() as string).split(":")[0];
      return {
        taskDefinition: {
          taskDefinitionArn: input.taskDefinition,
          family,
          revision: 1,
          containerDefinitions: [
            { name: "app", image: image("app/shared", family === "svc-0" ? "prod-one" : "prod-gone") },
            { name: "proxy", image: "public.ecr.aws/nginx/nginx:1.27" },
          ],
        },
      };
    });
    ecr.on(DescribeImagesCommand).callsFake((input) => {
      if (input.imageIds.some((id: { imageTag: string }) => id.imageTag === "prod-gone")) {
        throw Object.assign(new Error("The image with imageId … does not exist"), {
          name: "ImageNotFoundException",
        });
      }
      return { imageDetails: [{ imageDigest: "sha256:one", imageTags: ["prod-one"] }] };
    });
    const { snapshot, statistics } = await read();
    expect(callsOf(ecr, DescribeRepositoriesCommand)).toEqual([
      { registryId: account, repositoryNames: ["app/shared"] },
    ]);
    expect(callsOf(ecr, DescribeImagesCommand).map((input) => input.imageIds?.length)).toEqual([2, 1, 1]);
    expect(snapshot.images[image("app/shared", "prod-one")]).toEqual({
      reference: image("app/shared", "prod-one"),
      repositoryName: "app/shared",
      tag: "prod-one",
      digest: "sha256:one",
      tagMutability: "IMMUTABLE",
    });
    expect(snapshot.images[image("app/shared", "prod-gone")]?.digest).toBeUndefined();
    expect(snapshot.images["public.ecr.aws/nginx/nginx:1.27"]?.unreadable).toMatch(/not an ECR image/);
    expect(statistics.total).toBe(statistics.minimum + 2);
  });

  it("marks images of a missing repository unreadable instead of failing", async () => {
    fakeAccount("prod", 1, 1);
    ecr.on(DescribeRepositoriesCommand).rejects(
      Object.assign(new Error("The repository with name 'app/svc-0' does not exist"), {
        name: "RepositoryNotFoundException",
      }),
    );
    const { snapshot } = await read();
    expect(snapshot.images[image("app/svc-0", `prod-${sha}`)]?.unreadable).toBe(
      `repository app/svc-0 does not exist in registry ${account}`,
    );
    expect(callsOf(ecr, DescribeImagesCommand)).toEqual([]);
  });

  it("says which cluster is missing and what to check", async () => {
    fakeAccount("prod", 1, 1);
    ecs.on(DescribeClustersCommand).resolves({
      clusters: [],
      failures: [{ arn: clusterArn("nope"), reason: "MISSING" }],
    });
    const error = await read({ clusters: ["nope"] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccountReadError);
    expect((error as Error).message).toBe(
      `cluster nope not found in region ${region} (DescribeClusters answered MISSING or INACTIVE) — check the clusters input and aws-region`,
    );
  });

  it("names the IAM action a refused call needs", async () => {
    fakeAccount("prod", 1, 1);
    ecs.on(DescribeTasksCommand).rejects(
      Object.assign(
        new Error("User: arn:aws:sts::1:assumed-role/check is not authorized to perform: ecs:DescribeTasks"),
        {
          name: "AccessDeniedException",
          $metadata: { httpStatusCode: 400, attempts: 1 },
        },
      ),
    );
    await expect(read()).rejects.toThrow(
      /^DescribeTasks on tasks of cluster prod failed: AccessDeniedException: User: .* — the role running the check needs ecs:DescribeTasks/,
    );
  });

  it.each([
    [
      "an endpoint that cannot be reached",
      Object.assign(new Error("getaddrinfo ENOTFOUND ecs.xx-nowhere-1.amazonaws.com"), { name: "Error" }),
      "— the ecs endpoint could not be reached; check the region (aws-region) and network",
    ],
    [
      "throttling the SDK's retries did not outlast",
      Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400, attempts: 6 },
      }),
      "— still throttled after the SDK's retries; lower max-concurrency or run the check later",
    ],
  ])("turns %s into one read error with a hint", async (_, failure, hint) => {
    fakeAccount("prod", 1, 1);
    ecs.on(ListClustersCommand).rejects(failure);
    const error = (await read().catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(AccountReadError);
    expect(error.message).toBe(
      `ListClusters on the account failed: ${failure.name}: ${failure.message} ${hint}`,
    );
  });

  it("says which named service was not found", async () => {
    fakeAccount("prod", 2, 1);
    ecs.on(DescribeServicesCommand).resolves({
      services: [],
      failures: [{ arn: serviceArn("prod", "ghost"), reason: "MISSING" }],
    });
    await expect(read({ clusters: ["prod"], services: ["ghost"] })).rejects.toThrow(
      "service ghost not found (or not ACTIVE) in cluster prod — check the services and clusters inputs",
    );
  });

  it("counts retries the SDK made after throttling", async () => {
    fakeAccount("prod", 1, 1);
    ecs.on(DescribeServicesCommand).callsFake((input) => ({
      $metadata: { attempts: 3 },
      services: input.services.map((ref: string) => ({
        serviceArn: serviceArn("prod", ref.split("/").pop() as string),
        serviceName: ref.split("/").pop(),
        status: "ACTIVE",
        taskDefinition: revisionArn("svc-0", 1),
      })),
    }));
    const { statistics } = await read();
    expect(statistics.calls.DescribeServices).toBe(3);
    expect(statistics.throttled).toBe(2);
    expect(statistics.total).toBe(statistics.minimum + statistics.throttled);
  });

  it("stops when the signal is aborted", async () => {
    fakeAccount("prod", 30, 1);
    const controller = new AbortController();
    ecs.on(DescribeServicesCommand).callsFake(() => {
      controller.abort();
      return { services: [] };
    });
    await expect(read({ signal: controller.signal })).rejects.toThrow("the tag check was cancelled");
    expect(callsOf(ecs, DescribeTasksCommand)).toEqual([]);
  });
});
