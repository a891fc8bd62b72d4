import {
  CreateClusterCommand,
  CreateServiceCommand,
  type Deployment,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { circuitBreakerThreshold } from "../control/ecs-circuit-breaker.ts";
import { startTestSimulator, type TestSimulator } from "./support.ts";

/** Rolling deployments of the ECS controller and the deployment circuit breaker, through the real SDK client. */

let t: TestSimulator;
const revisions: string[] = [];
beforeAll(async () => {
  t = await startTestSimulator();
  await t.ecs.send(new CreateClusterCommand({ clusterName: "rolling" }));
  for (const version of ["1", "2", "3", "4"]) {
    const registered = await t.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "worker",
        containerDefinitions: [
          { name: "worker", image: `registry.local/worker:v${version}`, essential: true },
        ],
      }),
    );
    revisions.push(registered.taskDefinition?.taskDefinitionArn as string);
  }
});
afterAll(async () => {
  await t.stop();
});

async function describe1(service: string) {
  const described = await t.ecs.send(
    new DescribeServicesCommand({ cluster: "rolling", services: [service] }),
  );
  return described.services?.[0];
}

async function stoppedTasksOf(service: string, taskDefinition: string) {
  const listed = await t.ecs.send(
    new ListTasksCommand({ cluster: "rolling", serviceName: service, desiredStatus: "STOPPED" }),
  );
  if (!listed.taskArns?.length) return [];
  const described = await t.ecs.send(
    new DescribeTasksCommand({ cluster: "rolling", tasks: listed.taskArns }),
  );
  return (described.tasks ?? []).filter((task) => task.taskDefinitionArn === taskDefinition);
}

const byStatus = (deployments: Deployment[] | undefined, status: string) =>
  deployments?.find((deployment) => deployment.status === status);

describe("ECS rolling deployments and the circuit breaker", () => {
  test.each([
    [0, 3],
    [2, 3],
    [6, 3],
    [7, 4],
    [10, 5],
    [400, 200],
    [1000, 200],
  ])("the circuit breaker's threshold for a desired count of %i is %i", (desired, threshold) => {
    expect(circuitBreakerThreshold(desired)).toBe(threshold);
  });

  test("a rolling deployment is IN_PROGRESS, then COMPLETED once steady, and the old one goes away", async () => {
    await t.ecs.send(
      new CreateServiceCommand({
        cluster: "rolling",
        serviceName: "steady",
        taskDefinition: revisions[0],
        desiredCount: 2,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    await t.advance(5);
    expect((await describe1("steady"))?.deployments?.[0]).toMatchObject({
      status: "PRIMARY",
      rolloutState: "COMPLETED",
      failedTasks: 0,
    });
    const updated = await t.ecs.send(
      new UpdateServiceCommand({ cluster: "rolling", service: "steady", taskDefinition: revisions[1] }),
    );
    const primary = byStatus(updated.service?.deployments, "PRIMARY");
    expect(primary).toMatchObject({ taskDefinition: revisions[1], rolloutState: "IN_PROGRESS" });
    expect(primary?.rolloutStateReason).toMatch(/in progress/);
    expect(updated.service?.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({
      enable: true,
      rollback: true,
    });
    await t.advance(10);
    const after = await describe1("steady");
    expect(after?.deployments).toHaveLength(1);
    expect(after?.deployments?.[0]).toMatchObject({
      id: primary?.id,
      rolloutState: "COMPLETED",
      runningCount: 2,
    });
    expect(after?.taskDefinition).toBe(revisions[1]);
  });

  test("tasks that cannot pull their image trip the circuit breaker, which rolls back to the last COMPLETED revision", async () => {
    await t.ecs.send(
      new CreateServiceCommand({
        cluster: "rolling",
        serviceName: "breaker",
        taskDefinition: revisions[0],
        desiredCount: 2,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    await t.advance(5);
    await t.admin("/tasks/fail", { image: "worker:v3" });
    const updated = await t.ecs.send(
      new UpdateServiceCommand({ cluster: "rolling", service: "breaker", taskDefinition: revisions[2] }),
    );
    const failedId = byStatus(updated.service?.deployments, "PRIMARY")?.id;
    await t.advance(0);
    const tripped = await describe1("breaker");
    const failed = tripped?.deployments?.find((deployment) => deployment.id === failedId);
    expect(failed).toMatchObject({
      status: "ACTIVE",
      rolloutState: "FAILED",
      rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
    });
    expect(failed?.failedTasks).toBeGreaterThanOrEqual(3);
    const rollback = byStatus(tripped?.deployments, "PRIMARY");
    expect(rollback).toMatchObject({ taskDefinition: revisions[0], rolloutState: "IN_PROGRESS" });
    expect(rollback?.rolloutStateReason).toMatch(
      /^ECS deployment circuit breaker: rolling back to deploymentId ecs-svc\//,
    );
    expect(tripped?.events?.map((event) => event.message)).toContainEqual(
      expect.stringContaining(`(deployment ${failedId}) deployment failed: tasks failed to start.`),
    );
    await t.advance(10);
    const restored = await describe1("breaker");
    expect(restored?.taskDefinition).toBe(revisions[0]);
    expect(restored?.deployments).toHaveLength(1);
    expect(restored?.deployments?.[0]).toMatchObject({
      id: rollback?.id,
      rolloutState: "COMPLETED",
      runningCount: 2,
    });
    const stopped = await stoppedTasksOf("breaker", revisions[2] as string);
    expect(stopped.length).toBeGreaterThanOrEqual(failed?.failedTasks ?? 3);
    expect(stopped[0]).toMatchObject({ stopCode: "TaskFailedToStart", lastStatus: "STOPPED" });
    expect(stopped[0]?.stoppedReason).toMatch(/^CannotPullContainerError: .*worker:v3: not found$/);
    expect(stopped[0]?.containers?.[0]?.reason).toBe(stopped[0]?.stoppedReason);
    await fetch(`${t.simulator.admin}/tasks/fail`, { method: "DELETE" });
  });

  test("without rollback a failed deployment stays PRIMARY and FAILED; exiting containers count too", async () => {
    await fetch(`${t.simulator.admin}/tasks/fail`, { method: "DELETE" });
    await t.ecs.send(
      new CreateServiceCommand({
        cluster: "rolling",
        serviceName: "no-rollback",
        taskDefinition: revisions[0],
        desiredCount: 1,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
      }),
    );
    await t.advance(5);
    await t.admin("/tasks/fail", { taskDefinition: "worker:4", mode: "exit" });
    await t.ecs.send(
      new UpdateServiceCommand({ cluster: "rolling", service: "no-rollback", taskDefinition: revisions[3] }),
    );
    for (let tick = 0; tick < 5; tick++) await t.advance(2);
    const service = await describe1("no-rollback");
    const primary = byStatus(service?.deployments, "PRIMARY");
    expect(primary).toMatchObject({ taskDefinition: revisions[3], rolloutState: "FAILED" });
    expect(service?.deployments?.some((deployment) => deployment.taskDefinition === revisions[0])).toBe(true);
    const stopped = await stoppedTasksOf("no-rollback", revisions[3] as string);
    expect(stopped[0]).toMatchObject({
      stopCode: "EssentialContainerExited",
      stoppedReason: "Essential container in task exited",
    });
    expect(stopped[0]?.containers?.[0]?.exitCode).toBe(1);
    await fetch(`${t.simulator.admin}/tasks/fail`, { method: "DELETE" });
  });

  test("without a circuit breaker failed tasks are counted and the deployment stays IN_PROGRESS", async () => {
    await t.ecs.send(
      new CreateServiceCommand({
        cluster: "rolling",
        serviceName: "no-breaker",
        taskDefinition: revisions[0],
        desiredCount: 1,
      }),
    );
    await t.advance(5);
    await t.admin("/tasks/fail", { image: "worker:v2", reason: "CannotPullContainerError: access denied" });
    await t.ecs.send(
      new UpdateServiceCommand({ cluster: "rolling", service: "no-breaker", taskDefinition: revisions[1] }),
    );
    for (let tick = 0; tick < 5; tick++) await t.advance(2);
    const primary = byStatus((await describe1("no-breaker"))?.deployments, "PRIMARY");
    expect(primary).toMatchObject({ taskDefinition: revisions[1], rolloutState: "IN_PROGRESS" });
    expect(primary?.failedTasks).toBeGreaterThanOrEqual(4);
    const stopped = await stoppedTasksOf("no-breaker", revisions[1] as string);
    expect(stopped[0]?.stoppedReason).toBe("CannotPullContainerError: access denied");
    await fetch(`${t.simulator.admin}/tasks/fail`, { method: "DELETE" });
  });

  test("the admin route refuses a failure that matches nothing", async () => {
    await expect(t.admin("/tasks/fail", { mode: "pull" })).rejects.toThrow(/give taskDefinition or image/);
  });
});
