// Prints what check-tags costs on a large simulated account: API calls per operation against the theoretical minimum,
// throttled retries, wall time and peak RSS, for readAccount + evaluate in this process and for one run of the bundled
// action as the runner runs it. ECS throttling is injected through the sim's fault API, either the way ECS throttles
// (a token bucket per operation: burst/sustained, default 50/20, the figures ECS documents for DescribeClusters,
// applied to every read here) or as a fixed share of calls whatever the rate (e.g. 0.05).
// Usage: node bench/check-tags.ts [clusters] [services] [tasks] [throttling]   (default 10 1000 10000 50/20)
import { CodeDeployClient } from "@aws-sdk/client-codedeploy";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { provisionAccount } from "../e2e/support/tag-account.ts";
import { memoryRuntime } from "../sim/control/memory-runtime.ts";
import { startSimulator } from "../sim/simulator.ts";
import { readAccount } from "../src/tags/account.ts";
import { defaultRequiredTagKeys, evaluate } from "../src/tags/rules.ts";
import { runAction } from "../test/support/run-action.ts";

const argument = (index: number, fallback: number) => Number(process.argv[index] ?? fallback);
const [clusters, services, tasks] = [argument(2, 10), argument(3, 1000), argument(4, 10_000)];
const throttling = process.argv[5] ?? "50/20";
const bucket = /^(\d+)\/(\d+)$/.exec(throttling);
const throttle = bucket
  ? { burst: Number(bucket[1]), sustained: Number(bucket[2]) }
  : { rate: Number(throttling) };
const region = "ca-central-1";

const simulator = await startSimulator({ timeScale: 60, runtime: memoryRuntime({ healthyAfterSeconds: 1 }) });
try {
  let started = performance.now();
  await provisionAccount(simulator, { clusters, services, tasks }, { concurrency: 16 });
  console.log(
    `provisioned ${clusters} clusters, ${services} services, ${tasks} RUNNING tasks in ${Math.round(performance.now() - started)} ms`,
  );
  // Posting the rules again before the bundled run gives it full buckets and fresh call counts.
  const injectThrottling = () =>
    fetch(`${simulator.admin}/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [{ service: "ecs", kind: "throttle", ...throttle }] }),
    });
  await injectThrottling();
  const how = bucket
    ? `with a token bucket per operation (burst ${throttle.burst}, sustained ${throttle.sustained}/s)`
    : `${Math.round(Number(throttling) * 100)}% of calls`;
  console.log(`throttling every ecs operation ${how}`);

  const config = {
    endpoint: simulator.endpoint,
    region,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    retryMode: "adaptive",
    maxAttempts: 6,
  };
  started = performance.now();
  const { snapshot, statistics } = await readAccount({
    ecs: new ECSClient(config),
    ecr: new ECRClient(config),
    codedeploy: new CodeDeployClient(config),
    clusters: [],
    services: [],
    concurrency: 8,
    revisionHistory: 5,
  });
  const readMs = performance.now() - started;
  started = performance.now();
  const findings = evaluate(snapshot, {
    expectedEnvironment: "prod",
    requiredTagKeys: defaultRequiredTagKeys,
    allowedEnvironments: ["dev", "staging", "prod"],
    allowedImages: [],
    overrides: [],
  });
  const evaluateMs = performance.now() - started;
  console.log(
    `\nin process: ${snapshot.services.length} services, ${snapshot.tasks.length} tasks read in ${Math.round(readMs)} ms; ${findings.length} findings (${findings.filter((finding) => !finding.passed).length} failed) evaluated in ${Math.round(evaluateMs)} ms`,
  );
  console.log("operation                 calls");
  for (const [operation, count] of Object.entries(statistics.calls)) {
    console.log(`${operation.padEnd(25)} ${String(count).padStart(6)}`);
  }
  console.log(
    `total ${statistics.total}, theoretical minimum ${statistics.minimum}, throttled retries ${statistics.throttled}, overhead ${statistics.total - statistics.minimum - statistics.throttled}`,
  );
  console.log(
    `peak RSS of this process (sim + reader): ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  );

  await injectThrottling();
  started = performance.now();
  const run = await runAction("actions/check-tags", {
    inputs: { "fail-on": "never", environment: "prod" },
    env: {
      AWS_ENDPOINT_URL: simulator.endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      RUNNER_TEMP: process.env.TMPDIR || "/tmp",
    },
    timeoutMs: 600_000,
  });
  const actionMs = performance.now() - started;
  if (run.exitCode !== 0) throw new Error(`the bundled action failed:\n${run.log.slice(-3000)}`);
  const peak = /peak RSS (\d+) MiB/.exec(run.log)?.[1];
  console.log(
    `\nbundled action: ${run.outputs.services} services, ${run.outputs.tasks} tasks, ${run.outputs["api-calls"]} API calls, ${Math.round(actionMs)} ms wall (process start to exit)${peak ? `, peak RSS ${peak} MiB` : ""}`,
  );
  console.log(run.log.split("\n").find((line) => line.includes("API calls (theoretical minimum")) ?? "");
} finally {
  await simulator.stop();
}
