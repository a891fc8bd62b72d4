import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { memoryReporter } from "../report/reporter.ts";
import type { PreparedRevision } from "./revision.ts";
import { deployRolling, type RollingOptions } from "./rolling.ts";
import { rollingFailureMessage } from "./rolling-report.ts";

const ecs = mockClient(ECSClient);
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const oldArn = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-worker:7";
const newArn = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-worker:8";
const taskArn = (id: string) => `arn:aws:ecs:ca-central-1:222222222222:task/valmetal-dev/${id}`;

const service: Service = {
  serviceName: "valmetal-dev-worker",
  status: "ACTIVE",
  taskDefinition: oldArn,
  deploymentController: { type: "ECS" },
};
const prepared: PreparedRevision = {
  service,
  previousTaskDefinition: oldArn,
  rendered: {
    family: "valmetal-dev-worker",
    containerDefinitions: [{ name: "worker", image: `repo/worker:dev-${sha}` }],
  },
};

function options(overrides: Partial<RollingOptions> = {}): RollingOptions {
  return {
    cluster: "valmetal-dev",
    service: "valmetal-dev-worker",
    images: { worker: `repo/worker:dev-${sha}` },
    environment: {},
    sha,
    tags: { Environment: "dev", Application: "valmetal", Component: "worker" },
    forceNewDeployment: false,
    wait: true,
    timeoutMs: 600_000,
    pollMs: 5_000,
    rollbackOnStop: true,
    rollbackTimeoutMs: 600_000,
    ...overrides,
  };
}

const deployment = (id: string, fields: Partial<Deployment>): Deployment => ({
  id,
  status: "PRIMARY",
  taskDefinition: newArn,
  desiredCount: 2,
  runningCount: 0,
  pendingCount: 0,
  failedTasks: 0,
  rolloutState: "IN_PROGRESS",
  ...fields,
});
const described = (...deployments: Deployment[]) => ({ services: [{ ...service, deployments }] });

const deps = (clock = new FakeClock()) => ({
  ecs: new ECSClient({ region: "ca-central-1" }),
  clock,
  reporter: memoryReporter(),
});

describe("rolling deployment of an ECS-controller service", () => {
  beforeEach(() => {
    ecs.reset();
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [oldArn] });
    ecs
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: oldArn }, tags: [] });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: newArn, revision: 8 } });
    ecs.on(UpdateServiceCommand).resolves({
      service: {
        ...service,
        deployments: [
          deployment("ecs-svc/NEW", {}),
          deployment("ecs-svc/OLD", { status: "ACTIVE", taskDefinition: oldArn }),
        ],
      },
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  });

  it("updates the service with the compatible inputs and succeeds only once the rollout is COMPLETED", async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce(described(deployment("ecs-svc/NEW", { runningCount: 1 })))
      .resolvesOnce(described(deployment("ecs-svc/NEW", { runningCount: 2 })))
      .resolves(described(deployment("ecs-svc/NEW", { runningCount: 2, rolloutState: "COMPLETED" })));
    const clock = new FakeClock();
    const created: string[] = [];
    const result = await deployRolling(
      options({ desiredCount: 2, propagateTags: "TASK_DEFINITION", enableECSManagedTags: true }),
      prepared,
      { ...deps(clock), onDeploymentCreated: (id) => created.push(id) },
    );
    expect(created).toEqual(["ecs-svc/NEW"]);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: "valmetal-dev",
      service: "valmetal-dev-worker",
      taskDefinition: newArn,
      forceNewDeployment: false,
      desiredCount: 2,
      propagateTags: "TASK_DEFINITION",
      enableECSManagedTags: true,
    });
    expect(result.outcome).toMatchObject({
      deploymentId: "ecs-svc/NEW",
      status: "COMPLETED",
      succeeded: true,
      rolledBack: false,
      apiCalls: 4,
    });
    expect(clock.sleeps).toEqual([5_000, 5_000]);
    expect(result.outcome.timeline.entries.map((entry) => entry.text)).toContain("rollout COMPLETED");
  });

  it("fails when the circuit breaker rolls it back, with the rollout reason and the stopped tasks' reasons", async () => {
    const pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found";
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce(described(deployment("ecs-svc/NEW", { failedTasks: 2 })))
      .resolvesOnce(
        described(
          deployment("ecs-svc/BACK", {
            taskDefinition: oldArn,
            rolloutStateReason: "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/OLD.",
          }),
          deployment("ecs-svc/NEW", {
            status: "ACTIVE",
            failedTasks: 3,
            rolloutState: "FAILED",
            rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
          }),
        ),
      )
      .resolves(described(deployment("ecs-svc/BACK", { taskDefinition: oldArn, rolloutState: "COMPLETED" })));
    ecs
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: [taskArn("a"), taskArn("b"), taskArn("old")] })
      .resolves({ taskArns: [taskArn("a"), taskArn("b"), taskArn("old"), taskArn("c")] });
    const stopped = (id: string, task: string = newArn) => ({
      taskArn: taskArn(id),
      taskDefinitionArn: task,
      stopCode: "TaskFailedToStart" as const,
      stoppedReason: pull,
      containers: [{ name: "worker", reason: pull }],
    });
    ecs
      .on(DescribeTasksCommand)
      .resolvesOnce({
        tasks: [
          stopped("a"),
          stopped("b"),
          {
            taskArn: taskArn("old"),
            taskDefinitionArn: newArn,
            stopCode: "ServiceSchedulerInitiated",
            stoppedReason: "Scaling activity initiated by (deployment ecs-svc/NEW)",
          },
        ],
      })
      .resolves({ tasks: [stopped("c")] });
    const result = await deployRolling(options(), prepared, deps());
    expect(result.outcome).toMatchObject({
      status: "FAILED",
      succeeded: false,
      rolledBack: true,
      rolledBackBy: "ecs",
      stopReason: "rolled-back",
      rollbackDeploymentId: "ecs-svc/BACK",
      rollbackStatus: "COMPLETED",
      rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
      failedTasks: 3,
      stoppedTasks: [{ reason: pull, count: 3, taskArn: taskArn("a") }],
    });
    expect(ecs.commandCalls(DescribeTasksCommand)[1]?.args[0].input.tasks).toEqual([taskArn("c")]);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(rollingFailureMessage(result)).toBe(
      `deployment ecs-svc/NEW of valmetal-dev-worker:8 failed and ECS rolled it back (ECS deployment circuit breaker: tasks failed to start.); tasks stopped: ${pull} (×3) — the service runs valmetal-dev-worker:7 again (ecs-svc/BACK COMPLETED)`,
    );
  });

  it("explains a container that exits with its exit code", async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce(described(deployment("ecs-svc/NEW", { failedTasks: 1 })))
      .resolves(
        described(
          deployment("ecs-svc/NEW", {
            failedTasks: 3,
            rolloutState: "FAILED",
            rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
          }),
        ),
      );
    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn("a")] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: taskArn("a"),
          taskDefinitionArn: newArn,
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [{ name: "worker", exitCode: 137 }],
        },
      ],
    });
    const result = await deployRolling(options(), prepared, deps());
    expect(result.outcome).toMatchObject({ status: "FAILED", rolledBack: false, stopReason: "failed" });
    expect(result.outcome.stoppedTasks[0]?.reason).toBe(
      "Essential container in task exited (worker: exit code 137)",
    );
    expect(rollingFailureMessage(result)).toContain("it was not rolled back");
  });

  it("on timeout puts the previous revision back and follows that rollout to COMPLETED", async () => {
    const back = { ...service, deployments: [deployment("ecs-svc/RESTORE", { taskDefinition: oldArn })] };
    ecs
      .on(UpdateServiceCommand)
      .resolvesOnce({ service: { ...service, deployments: [deployment("ecs-svc/NEW", {})] } })
      .resolves({ service: back });
    let restored = false;
    ecs
      .on(DescribeServicesCommand)
      .callsFake(() =>
        restored
          ? described(deployment("ecs-svc/RESTORE", { taskDefinition: oldArn, rolloutState: "COMPLETED" }))
          : described(deployment("ecs-svc/NEW", {})),
      );
    ecs.on(UpdateServiceCommand, { taskDefinition: oldArn }).callsFake(async () => {
      restored = true;
      return { service: back };
    });
    const clock = new FakeClock();
    const result = await deployRolling(options({ timeoutMs: 60_000 }), prepared, deps(clock));
    expect(result.outcome).toMatchObject({
      status: "IN_PROGRESS",
      succeeded: false,
      rolledBack: true,
      rolledBackBy: "action",
      stopReason: "timeout",
      rollbackDeploymentId: "ecs-svc/RESTORE",
      rollbackStatus: "COMPLETED",
    });
    expect(ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input.taskDefinition)).toEqual([
      newArn,
      oldArn,
    ]);
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(60_000);
    expect(rollingFailureMessage(result)).toMatch(
      /did not complete within the timeout .* runs valmetal-dev-worker:7 again/,
    );
  });

  it("on cancellation without rollback-on-cancel leaves the rollout running", async () => {
    ecs.on(DescribeServicesCommand).resolves(described(deployment("ecs-svc/NEW", {})));
    const controller = new AbortController();
    const clock = new FakeClock();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      if (clock.sleeps.length === 2) controller.abort(new Error("cancelled"));
      return sleep(ms, signal);
    };
    const result = await deployRolling(
      options({ rollbackOnStop: false, signal: controller.signal }),
      prepared,
      deps(clock),
    );
    expect(result.outcome).toMatchObject({ stopReason: "cancelled", rolledBack: false, succeeded: false });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(rollingFailureMessage(result)).toContain("left running (rollback-on-cancel: false)");
  });

  it("fails when another deployment of another revision replaced it", async () => {
    const other = "arn:aws:ecs:ca-central-1:222222222222:task-definition/valmetal-dev-worker:9";
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce(described(deployment("ecs-svc/NEW", {})))
      .resolves(
        described(
          deployment("ecs-svc/OTHER", { taskDefinition: other }),
          deployment("ecs-svc/NEW", { status: "ACTIVE" }),
        ),
      );
    const result = await deployRolling(options(), prepared, deps());
    expect(result.outcome).toMatchObject({
      stopReason: "superseded",
      rolledBack: false,
      supersededBy: { deploymentId: "ecs-svc/OTHER", taskDefinition: other },
    });
    expect(rollingFailureMessage(result)).toContain("was replaced by ecs-svc/OTHER");
  });

  it("returns after UpdateService when not waiting", async () => {
    const result = await deployRolling(options({ wait: false }), prepared, deps());
    expect(result.outcome).toMatchObject({
      status: "IN_PROGRESS",
      succeeded: true,
      waited: false,
      apiCalls: 1,
    });
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(0);
  });

  it("refuses a CODE_DEPLOY service before registering anything", async () => {
    await expect(
      deployRolling(
        options(),
        { ...prepared, service: { ...service, deploymentController: { type: "CODE_DEPLOY" } } },
        deps(),
      ),
    ).rejects.toThrow(
      "service valmetal-dev-worker uses the CODE_DEPLOY deployment controller; rolling mode needs ECS (deploy it with mode: blue-green)",
    );
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });
});
