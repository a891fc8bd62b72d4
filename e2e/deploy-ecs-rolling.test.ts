import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  type ECSClientConfig,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemoryRuntime } from "../sim/control/memory-runtime.ts";
import type { Simulator } from "../sim/simulator.ts";
import { type ActionRun, runAction } from "../test/support/run-action.ts";
import { startInfraSimulator } from "./support/simulator-access.ts";

// deploy-ecs in rolling mode, run as the runner runs it, against the simulator on an ECS-controller service created
// through the SDK (circuit breaker with rollback, tags propagated from the task definition, managed tags). The clock
// runs 60× (a sim minute per real second); tasks are in-memory, and the memory runtime makes a release's tasks fail
// to pull their image when a test says so.
const region = "ca-central-1";
const cluster = "valmetal-dev";
const service = "valmetal-dev-worker";
const repository = `111111111111.dkr.ecr.${region}.amazonaws.com/valmetal/worker`;
let simulator: Simulator;
let env: Record<string, string>;
let ecs: ECSClient;
let firstRevision: string;

const newSha = () => randomBytes(20).toString("hex");
const inputs = (sha: string, extra: Record<string, string> = {}) => ({
  service,
  cluster,
  environment: "dev",
  application: "valmetal",
  component: "worker",
  "container-name": "worker",
  image: `${repository}:dev-${sha}`,
  sha,
  "poll-interval-seconds": "0.2",
  ...extra,
});
const deploy = (sha: string, extra: Record<string, string> = {}) =>
  runAction("actions/deploy-ecs", { inputs: inputs(sha, extra), env, timeoutMs: 120_000 });
const errorsOf = (run: ActionRun) => run.annotations.filter((annotation) => annotation.level === "error");

async function liveService() {
  const described = await ecs.send(
    new DescribeServicesCommand({ cluster, services: [service], include: ["TAGS"] }),
  );
  return described.services?.[0];
}

async function runningTasks() {
  const listed = await ecs.send(new ListTasksCommand({ cluster, serviceName: service }));
  if (!listed.taskArns?.length) return [];
  const described = await ecs.send(
    new DescribeTasksCommand({ cluster, tasks: listed.taskArns, include: ["TAGS"] }),
  );
  return (described.tasks ?? []).filter((task) => task.lastStatus === "RUNNING");
}

describe("deploy-ecs rolling mode against the simulator", () => {
  beforeAll(async () => {
    let clientConfig: ECSClientConfig;
    ({ simulator, env, clientConfig } = await startInfraSimulator([]));
    ecs = new ECSClient(clientConfig);
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: service,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          { name: "worker", image: `${repository}:dev-${"0".repeat(40)}`, essential: true },
        ],
        tags: [{ key: "Environment", value: "dev" }],
      }),
    );
    firstRevision = registered.taskDefinition?.taskDefinitionArn as string;
    await ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: service,
        taskDefinition: firstRevision,
        desiredCount: 2,
        launchType: "FARGATE",
        deploymentController: { type: "ECS" },
        deploymentConfiguration: {
          maximumPercent: 200,
          minimumHealthyPercent: 100,
          deploymentCircuitBreaker: { enable: true, rollback: true },
        },
        propagateTags: "TASK_DEFINITION",
        enableECSManagedTags: true,
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"] } },
      }),
    );
    const deadline = Date.now() + 10_000;
    while ((await liveService())?.deployments?.[0]?.rolloutState !== "COMPLETED") {
      if (Date.now() > deadline) throw new Error("the first deployment never completed");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => simulator?.stop());

  const v1 = newSha();

  it("rolls a commit out until the deployment is COMPLETED; new tasks carry the revision's tags", async () => {
    const run = await deploy(v1);
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ status: "COMPLETED", "rolled-back": "false" });
    expect(run.outputs["deployment-id"]).toMatch(/^ecs-svc\//);
    const live = await liveService();
    expect(live?.taskDefinition).toBe(run.outputs["task-definition-arn"]);
    expect(live?.deployments).toHaveLength(1);
    const tasks = await runningTasks();
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect(task.taskDefinitionArn).toBe(run.outputs["task-definition-arn"]);
      expect(task.tags).toEqual(
        expect.arrayContaining([
          { key: "Version", value: v1 },
          { key: "Environment", value: "dev" },
          { key: "Component", value: "worker" },
          { key: "aws:ecs:clusterName", value: cluster },
          { key: "aws:ecs:serviceName", value: service },
        ]),
      );
    }
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    expect(report).toMatchObject({ mode: "rolling", sha: v1, succeeded: true, status: "COMPLETED" });
    console.log(
      `successful rolling deployment: ${report.apiCalls} ECS calls (UpdateService and the watch), ${report.durationMs} ms`,
    );
    expect(run.summary).toContain("COMPLETED");
  });

  it("fails when the circuit breaker rolls a release back, naming the rollout reason and why the tasks stopped", async () => {
    const sha = newSha();
    (simulator.runtime as MemoryRuntime).failTasks({ image: `dev-${sha}` });
    const before = (await liveService())?.taskDefinition;
    const started = Date.now();
    const run = await deploy(sha);
    const elapsed = Date.now() - started;
    (simulator.runtime as MemoryRuntime).clearFailures();
    expect(run.exitCode, run.log).toBe(1);
    const errors = errorsOf(run);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain("ECS rolled it back");
    // Seen FAILED while the watch polled, or (when the rollback completed between two polls) from the service event.
    expect(errors[0]?.message).toMatch(
      /ECS deployment circuit breaker: tasks failed to start|service event: deployment failed: tasks failed to start/,
    );
    expect(errors[0]?.message).toContain(
      `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${repository}:dev-${sha}: not found`,
    );
    expect(errors[0]?.message).toContain("the service runs");
    expect(run.outputs).toMatchObject({ "rolled-back": "true", status: "FAILED" });
    expect((await liveService())?.taskDefinition).toBe(before);
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    expect(report).toMatchObject({ rolledBack: true, rolledBackBy: "ecs", stopReason: "rolled-back" });
    expect(report.stoppedTasks[0].reason).toMatch(/^CannotPullContainerError/);
    expect(run.summary).toContain("Why tasks stopped");
    console.log(
      `circuit breaker rollback: ${report.apiCalls} ECS calls; first failed task seen → end of the watch ${report.msFromFirstFailure} ms real (${((report.msFromFirstFailure * 60) / 1000).toFixed(0)} sim s at 60×); whole step ${elapsed} ms real`,
    );
  });

  it("refuses a mode that does not match the service's deployment controller, before changing anything", async () => {
    const before = await liveService();
    const run = await deploy(newSha(), { mode: "blue-green" });
    expect(run.exitCode).toBe(1);
    expect(errorsOf(run)[0]?.message).toBe(
      `mode is blue-green but service ${service} uses the ECS deployment controller; set mode: rolling (or auto)`,
    );
    expect((await liveService())?.deployments?.map((item) => item.id)).toEqual(
      before?.deployments?.map((item) => item.id),
    );
  });

  it("passes the inputs of aws-actions/amazon-ecs-deploy-task-definition to UpdateService", async () => {
    const run = await deploy(v1, {
      "desired-count": "3",
      "force-new-deployment": "true",
      "propagate-tags": "SERVICE",
      "enable-ecs-managed-tags": "false",
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.log).toContain("Reusing");
    const live = await liveService();
    expect(live).toMatchObject({ desiredCount: 3, propagateTags: "SERVICE", enableECSManagedTags: false });
    const tasks = await runningTasks();
    expect(tasks).toHaveLength(3);
    expect(tasks[0]?.tags?.map((tag) => tag.key)).not.toContain("aws:ecs:clusterName");
  });

  it("returns right after UpdateService with wait-for-service-stability: false", async () => {
    const run = await deploy(newSha(), { "wait-for-service-stability": "false" });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ status: "IN_PROGRESS", "rolled-back": "false" });
    expect(run.summary).toContain("not waited for");
  });
});
