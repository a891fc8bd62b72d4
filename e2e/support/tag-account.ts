import { randomBytes } from "node:crypto";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import type { Simulator } from "../../sim/simulator.ts";

/**
 * A simulated account shaped like a real one at scale, for check-tags: `clusters` clusters (tagged, Container
 * Insights on), `services` ECS-controller services spread over them (propagateTags TASK_DEFINITION, managed tags
 * on, tagged), each with its own task definition family tagged Environment/Application/Component/Version, and
 * `tasks` RUNNING tasks spread over the services. Everything goes through the ECS API (CreateService, the sim's
 * reconciler starts the tasks), as a real account is built.
 */
export interface AccountShape {
  clusters: number;
  services: number;
  tasks: number;
}

const environment = "prod";

export async function provisionAccount(
  simulator: Simulator,
  shape: AccountShape,
  options: { concurrency?: number } = {},
): Promise<AccountShape & { sha: string; clusterNames: string[] }> {
  const ecs = new ECSClient({
    endpoint: simulator.endpoint,
    region: simulator.sim.state.settings.region,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    maxAttempts: 1,
  });
  const sha = randomBytes(20).toString("hex");
  const clusterNames = Array.from({ length: shape.clusters }, (_, index) => `scale-${index}`);
  for (const name of clusterNames) {
    await ecs.send(
      new CreateClusterCommand({
        clusterName: name,
        tags: [
          { key: "Environment", value: environment },
          { key: "Application", value: "valmetal" },
          { key: "Component", value: name },
        ],
        settings: [{ name: "containerInsights", value: "enabled" }],
      }),
    );
  }
  const services = Array.from({ length: shape.services }, (_, index) => ({
    cluster: clusterNames[index % shape.clusters] as string,
    name: `svc-${String(index).padStart(5, "0")}`,
    desiredCount: Math.floor(shape.tasks / shape.services) + (index < shape.tasks % shape.services ? 1 : 0),
  }));
  const queue = [...services];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const tags = [
        { key: "Environment", value: environment },
        { key: "Application", value: "valmetal" },
        { key: "Component", value: item.name },
      ];
      const registered = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: item.name,
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [
            { name: "app", image: `ghcr.io/valmetal/${item.name}:${environment}-${sha}`, essential: true },
          ],
          tags: [...tags, { key: "Version", value: sha }],
        }),
      );
      await ecs.send(
        new CreateServiceCommand({
          cluster: item.cluster,
          serviceName: item.name,
          taskDefinition: registered.taskDefinition?.taskDefinitionArn,
          desiredCount: item.desiredCount,
          launchType: "FARGATE",
          propagateTags: "TASK_DEFINITION",
          enableECSManagedTags: true,
          tags,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  await untilRunning(simulator, shape.tasks);
  return { ...shape, sha, clusterNames };
}

async function untilRunning(simulator: Simulator, tasks: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    await simulator.tick();
    const running = Object.values(simulator.sim.state.tasks).filter((task) => task.lastStatus === "RUNNING");
    if (running.length === tasks) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the simulated account never ran ${tasks} tasks`);
}
