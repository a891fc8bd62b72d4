import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CodeDeployClient } from "@aws-sdk/client-codedeploy";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CloudWatchClient as CloudWatchQueryClient } from "cloudwatch-query-client";
import type { MemoryRuntime } from "../control/memory-runtime.ts";
import { memoryRuntime } from "../control/memory-runtime.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../simulator.ts";

/** A simulator on the manual clock with the real SDK clients pointed at it. */
export async function startTestSimulator(options: SimulatorOptions & { healthyAfterSeconds?: number } = {}) {
  const simulator = await startSimulator({
    timeScale: 0,
    startTime: Date.parse("2026-03-01T12:00:00Z"),
    runtime: memoryRuntime({ healthyAfterSeconds: options.healthyAfterSeconds ?? 10 }),
    ...options,
  });
  const config = {
    endpoint: simulator.endpoint,
    region: "ca-central-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    maxAttempts: 3,
  };
  const admin = async (path: string, body?: unknown) => {
    const response = await fetch(`${simulator.admin}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`admin ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  return {
    simulator,
    runtime: simulator.runtime as MemoryRuntime,
    ecs: new ECSClient(config),
    codedeploy: new CodeDeployClient(config),
    cloudwatch: new CloudWatchClient(config),
    cloudwatchQuery: new CloudWatchQueryClient(config),
    ecr: new ECRClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    admin,
    /** Moves the sim clock by `seconds`, firing every timer on the way. */
    advance: (seconds: number) => admin("/clock", { advanceSeconds: seconds }),
    stop: (): Promise<void> => simulator.stop(),
  };
}

export type TestSimulator = Awaited<ReturnType<typeof startTestSimulator>>;
export type { Simulator };
