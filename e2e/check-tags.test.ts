import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  type ECSClientConfig,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { memoryRuntime } from "../sim/control/memory-runtime.ts";
import { type Simulator, startSimulator } from "../sim/simulator.ts";
import { registrableTaskDefinition } from "../src/ecs/task-definition-file.ts";
import { type ActionRun, runAction } from "../test/support/run-action.ts";
import { simulatorAccess, startInfraSimulator } from "./support/simulator-access.ts";
import { provisionAccount } from "./support/tag-account.ts";

// check-tags run as the runner runs it, against the simulator provisioned from infra's shared (ECR) and prod
// templates, after a real deploy-ecs run of the bundled deploy-ecs action; then the account is broken the ways real
// accounts break, and each break must be reported with its rule id. The sim's ECR is backed by the e2e registry, where
// the deployed tag is pushed, so the image digest rules read real answers.
const registry = inject("registry");
const region = "ca-central-1";
const service = "valmetal-prod-api";
const repository = "valmetal/api";
const imageOf = (sha: string) => `111111111111.dkr.ecr.${region}.amazonaws.com/${repository}:prod-${sha}`;
const newSha = () => randomBytes(20).toString("hex");

let simulator: Simulator;
let env: Record<string, string>;
let ecs: ECSClient;

/** Pushes a minimal image (one config, one layer) under `tag` through the registry's v2 API; returns its digest. */
async function pushImage(name: string, tag: string, revision: string): Promise<string> {
  const digestOf = (body: string | Buffer) => `sha256:${createHash("sha256").update(body).digest("hex")}`;
  const upload = async (body: string | Buffer) => {
    const started = await fetch(`http://${registry}/v2/${name}/blobs/uploads/`, { method: "POST" });
    const location = new URL(started.headers.get("location") as string, `http://${registry}`);
    location.searchParams.set("digest", digestOf(body));
    const put = await fetch(location, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body,
    });
    if (!put.ok) throw new Error(`blob upload to ${name} answered ${put.status}`);
    return { digest: digestOf(body), size: Buffer.byteLength(body) };
  };
  const config = await upload(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "org.opencontainers.image.revision": revision } },
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  const layer = await upload(randomBytes(64));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  });
  const put = await fetch(`http://${registry}/v2/${name}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  if (!put.ok) throw new Error(`manifest put ${name}:${tag} answered ${put.status}: ${await put.text()}`);
  return digestOf(manifest);
}

interface ReportFinding {
  ruleId: string;
  passed: boolean;
  severity: string;
  detail: string;
  resource: { taskDefinitionArn?: string; taskArn?: string };
}

const check = (inputs: Record<string, string> = {}) =>
  runAction("actions/check-tags", {
    inputs: { clusters: service, environment: "prod", ...inputs },
    env,
    timeoutMs: 120_000,
  });

function findingsOf(run: ActionRun): ReportFinding[] {
  const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
  return report.findings as ReportFinding[];
}

const failedRules = (run: ActionRun) => [
  ...new Set(
    findingsOf(run)
      .filter((finding) => !finding.passed)
      .map((finding) => finding.ruleId),
  ),
];

async function runningTasks(): Promise<{ taskArn?: string; tags?: { key?: string }[] }[]> {
  const listed = await ecs.send(new ListTasksCommand({ cluster: service, desiredStatus: "RUNNING" }));
  if (!listed.taskArns?.length) return [];
  const described = await ecs.send(
    new DescribeTasksCommand({ cluster: service, tasks: listed.taskArns, include: ["TAGS"] }),
  );
  return described.tasks ?? [];
}

/** Waits until the service runs `count` RUNNING tasks, all carrying a Version tag (the reconciler replaced the rest). */
async function untilTaggedTasks(count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await simulator.tick();
    const tasks = await runningTasks();
    const untagged = tasks.filter((task) => !task.tags?.some((tag) => tag.key === "Version"));
    for (const task of untagged) {
      await ecs.send(new StopTaskCommand({ cluster: service, task: task.taskArn, reason: "test cleanup" }));
    }
    if (tasks.length === count && untagged.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`service ${service} never ran ${count} tagged tasks`);
}

/** A revision registered by hand from the deployed one (what someone does in the console), started in the service's group. */
async function runHandMade(
  deployedArn: string,
  change: (input: RegisterTaskDefinitionCommandInput) => RegisterTaskDefinitionCommandInput,
) {
  const deployed = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: deployedArn, include: ["TAGS"] }),
  );
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand(change(registrableTaskDefinition(deployed, deployedArn).input)),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn as string;
  const ran = await ecs.send(
    new RunTaskCommand({
      cluster: service,
      taskDefinition: arn,
      group: `service:${service}`,
      launchType: "FARGATE",
    }),
  );
  await simulator.tick();
  const taskArn = ran.tasks?.[0]?.taskArn as string;
  return {
    arn,
    taskArn,
    undo: async () => {
      await ecs.send(new StopTaskCommand({ cluster: service, task: taskArn, reason: "test cleanup" }));
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
      await simulator.tick();
    },
  };
}

/** The bundled deploy-ecs action deploying `sha` blue/green (canary 10% for 5 sim minutes, a short bake). */
function deploy(sha: string): Promise<ActionRun> {
  return runAction("actions/deploy-ecs", {
    inputs: {
      service,
      cluster: service,
      environment: "prod",
      application: "valmetal",
      component: "api",
      "container-name": "api",
      image: imageOf(sha),
      sha,
      "codedeploy-application": service,
      "codedeploy-deployment-group": service,
      "poll-interval-seconds": "0.5",
      "bake-minutes": "0.05",
    },
    env,
    timeoutMs: 240_000,
  });
}

/** Waits until the service has two task sets that are not DRAINING: a blue/green deployment is under way. */
async function untilTwoTaskSets(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const described = await ecs.send(new DescribeServicesCommand({ cluster: service, services: [service] }));
    const live = described.services?.[0]?.taskSets?.filter((set) => set.status !== "DRAINING") ?? [];
    const running = live.every(
      (set) => (set.runningCount ?? 0) > 0 && set.runningCount === set.computedDesiredCount,
    );
    if (live.length === 2 && running) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the deployment never ran two task sets");
}

describe("check-tags against the simulator after a deploy-ecs deployment", () => {
  const sha = newSha();
  let deployedArn: string;

  beforeAll(async () => {
    let clientConfig: ECSClientConfig;
    ({ simulator, env, clientConfig } = await startInfraSimulator(["shared", "prod"], {
      registry,
      codeDeployAlarmPollSeconds: 600,
    }));
    ecs = new ECSClient(clientConfig);
    await pushImage(repository, `prod-${sha}`, sha);
    const deployed = await deploy(sha);
    expect(deployed.exitCode, deployed.log).toBe(0);
    deployedArn = deployed.outputs["task-definition-arn"] as string;
    await untilTaggedTasks(2);
  });
  afterAll(async () => simulator?.stop());

  it("passes every rule on the freshly deployed service and reports the calls it made", async () => {
    const run = await check({
      sha,
      "allowed-images": `111111111111.dkr.ecr.${region}.amazonaws.com/valmetal`,
    });
    expect(run.exitCode, run.log).toBe(0);
    const failing = findingsOf(run).filter((finding) => !finding.passed);
    expect(failing).toEqual([]);
    expect(run.outputs).toMatchObject({
      result: "passed",
      errors: "0",
      warnings: "0",
      services: "1",
      tasks: "2",
    });
    const ruleIds = new Set(findingsOf(run).map((finding) => finding.ruleId));
    for (const id of ["TAG001", "TAG004", "TAG005", "TAG006", "TAG010", "TAG011", "TAG014", "TAG017"]) {
      expect(ruleIds).toContain(id);
    }
    expect(Number(run.outputs["api-calls"])).toBeGreaterThan(0);
    expect(run.summary).toContain(sha);
    expect(readFileSync(run.outputs.sarif as string, "utf8")).toContain('"version": "2.1.0"');
    console.log(`green check: ${run.outputs["api-calls"]} API calls`);
  });

  it("reports TAG005 when the service runs another commit than the expected sha", async () => {
    const run = await check({ sha: newSha() });
    expect(run.exitCode).toBe(1);
    expect(failedRules(run)).toEqual(["TAG005"]);
    expect(run.outputs.result).toBe("failed");
  });

  describe("a service whose propagateTags was set to NONE, then scaled up", () => {
    beforeAll(async () => {
      await ecs.send(new UpdateServiceCommand({ cluster: service, service, propagateTags: "NONE" }));
      await ecs.send(new UpdateServiceCommand({ cluster: service, service, desiredCount: 3 }));
      const deadline = Date.now() + 30_000;
      while ((await runningTasks()).length < 3 && Date.now() < deadline) {
        await simulator.tick();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    afterAll(async () => {
      await ecs.send(
        new UpdateServiceCommand({
          cluster: service,
          service,
          propagateTags: "TASK_DEFINITION",
          desiredCount: 2,
        }),
      );
      await untilTaggedTasks(2);
    });

    it("fails TAG006 on the service and TAG010 on the task started after the change", async () => {
      const run = await check({ sha });
      expect(run.exitCode).toBe(1);
      expect(failedRules(run)).toEqual(expect.arrayContaining(["TAG006", "TAG010"]));
      const tag010 = findingsOf(run).filter((finding) => finding.ruleId === "TAG010" && !finding.passed);
      expect(tag010).toHaveLength(1);
      expect(run.annotations.some((annotation) => annotation.properties.title?.startsWith("TAG006"))).toBe(
        true,
      );
      expect(run.outputs.result).toBe("failed");
    });

    it("passes with fail-on never, and counts the failures it still reports", async () => {
      const run = await check({ sha, "fail-on": "never" });
      expect(run.exitCode, run.log).toBe(0);
      expect(run.outputs.result).toBe("passed");
      expect(Number(run.outputs.errors)).toBeGreaterThan(0);
    });

    it("fails only from fail-on warning once the rules are downgraded to warnings", async () => {
      const failing = (await check({ sha, "fail-on": "never" })).outputs;
      expect(Number(failing.errors)).toBeGreaterThan(0);
      const rules = ["TAG006", "TAG010"]
        .map((id) => `${id}=warning: propagation is being fixed in infra`)
        .join("\n");
      const onError = await check({ sha, rules });
      expect(onError.exitCode, onError.log).toBe(0);
      expect(onError.outputs).toMatchObject({ result: "passed", errors: "0" });
      expect(Number(onError.outputs.warnings)).toBeGreaterThan(0);
      const onWarning = await check({ sha, rules, "fail-on": "warning" });
      expect(onWarning.exitCode).toBe(1);
      expect(onWarning.outputs.result).toBe("failed");
    });

    it("leaves a disabled rule out and shows why in the summary", async () => {
      const reason = "CHG-1234 propagation fix scheduled for Friday";
      const run = await check({ sha, rules: `TAG006=disable: ${reason}\nTAG010=disable: ${reason}` });
      expect(findingsOf(run).some((finding) => ["TAG006", "TAG010"].includes(finding.ruleId))).toBe(false);
      expect(run.summary).toContain(reason);
      expect(run.exitCode, run.log).toBe(0);
    });
  });

  it("reports TAG001 for a task definition registered by hand without tags and run in the service", async () => {
    const handMade = await runHandMade(deployedArn, (input) => ({ ...input, tags: undefined }));
    try {
      const run = await check({ sha });
      expect(run.exitCode).toBe(1);
      const failing = findingsOf(run).filter((finding) => !finding.passed);
      expect(failing.map((finding) => finding.ruleId)).toContain("TAG001");
      const tag001 = failing.filter((finding) => finding.ruleId === "TAG001");
      expect(tag001.map((finding) => finding.resource.taskDefinitionArn)).toContain(handMade.arn);
    } finally {
      await handMade.undo();
    }
  });

  it("reports TAG004 for an image tag whose sha differs from the Version tag", async () => {
    const other = newSha();
    await pushImage(repository, `prod-${other}`, other);
    const handMade = await runHandMade(deployedArn, (input) => ({
      ...input,
      containerDefinitions: input.containerDefinitions?.map((container) => ({
        ...container,
        image: imageOf(other),
      })),
    }));
    try {
      const run = await check({ sha });
      expect(run.exitCode).toBe(1);
      expect(failedRules(run)).toContain("TAG004");
    } finally {
      await handMade.undo();
    }
  });

  it("reports TAG014 for an image tag that is not in the registry", async () => {
    const handMade = await runHandMade(deployedArn, (input) => ({
      ...input,
      containerDefinitions: input.containerDefinitions?.map((container) => ({
        ...container,
        image: imageOf(newSha()),
      })),
    }));
    try {
      const run = await check({ sha });
      expect(failedRules(run)).toContain("TAG014");
    } finally {
      await handMade.undo();
    }
  });

  it("understands both task sets of a blue/green deployment in progress", async () => {
    const next = newSha();
    await pushImage(repository, `prod-${next}`, next);
    const deploying = deploy(next);
    try {
      await untilTwoTaskSets();
      const run = await check();
      expect(run.exitCode, run.log).toBe(0);
      expect(findingsOf(run).filter((finding) => !finding.passed)).toEqual([]);
      const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
      const row = report.services.find((item: { service: string | null }) => item.service === service);
      expect(row?.inDeployment).toBe(true);
      expect(Number(run.outputs.tasks)).toBeGreaterThan(2);
    } finally {
      expect((await deploying).exitCode).toBe(0);
    }
    const after = await check({ sha: next });
    expect(after.exitCode, after.log).toBe(0);
  });

  it("fails with a clear read error, and no report, when a cluster does not exist", async () => {
    const run = await check({ clusters: "valmetal-prod-nope" });
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    expect(errors.map((annotation) => annotation.message)).toEqual([
      `cluster valmetal-prod-nope not found in region ${region} (DescribeClusters answered MISSING or INACTIVE) — check the clusters input and aws-region`,
    ]);
    expect(run.outputs.report).toBeUndefined();
  });
});

describe("check-tags on a throttled account of 2 clusters, 50 services and 300 tasks", () => {
  let scaled: Simulator;
  afterAll(async () => scaled?.stop());

  it("completes with no more calls than the minimum plus the throttled retries", async () => {
    scaled = await startSimulator({ timeScale: 60, runtime: memoryRuntime({ healthyAfterSeconds: 1 }) });
    const shape = await provisionAccount(scaled, { clusters: 2, services: 50, tasks: 300 });
    await fetch(`${scaled.admin}/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        // The first DescribeTasks is always throttled, then 10% of each operation at random.
        rules: [
          { service: "ecs", operation: "DescribeTasks", kind: "throttle", count: 1 },
          ...["DescribeTasks", "DescribeServices", "ListTasks", "DescribeTaskDefinition"].map(
            (operation) => ({
              service: "ecs",
              operation,
              kind: "throttle",
              rate: 0.1,
            }),
          ),
        ],
      }),
    });
    const run = await runAction("actions/check-tags", {
      inputs: { "fail-on": "never", "max-concurrency": "8" },
      env: simulatorAccess(scaled).env,
      timeoutMs: 240_000,
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ services: "50", tasks: "300" });
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    const statistics = report.statistics as { total: number; minimum: number; throttled: number };
    expect(statistics.total).toBe(Number(run.outputs["api-calls"]));
    expect(statistics.throttled).toBeGreaterThan(0);
    expect(statistics.total).toBeLessThanOrEqual(statistics.minimum + statistics.throttled);
    // The minimum for this shape: 1 ListClusters, 1 DescribeClusters, 2 ListServices, 2×3 DescribeServices (25 per
    // cluster), 2×2 ListTasks and 2×2 DescribeTasks (150 per cluster), 50 DescribeTaskDefinition, 50 ListTaskDefinitions.
    expect(statistics.minimum).toBe(1 + 1 + 2 + 6 + 4 + 4 + 50 + 50);
    expect(shape.tasks).toBe(300);
    console.log(
      `throttled account: ${statistics.total} calls, minimum ${statistics.minimum}, ${statistics.throttled} throttled retries`,
    );
  });
});
