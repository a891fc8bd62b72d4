import { readFileSync } from "node:fs";
import { UpdateDeploymentGroupCommand } from "@aws-sdk/client-codedeploy";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runAction } from "../test/support/run-action.ts";
import { type LoadRun, type LoadSummary, startLoad } from "./support/load.ts";
import {
  brokenEquipmentList,
  type ReferencePlatform,
  startReferencePlatform,
} from "./support/reference-platform.ts";

/**
 * The deploy-ecs bundle, run as the GitHub runner runs it, deploying the reference app's real images (built by the
 * build-push bundle) on the simulator provisioned from infra's dev template, with a bounded load generator on the
 * production listener. CodeDeploy's own alarm poll is set to 15 simulated minutes — longer than the whole canary —
 * so a rollback of the faulty release can only come from the action's own alarm watch.
 */
const SCALE = 20; // a 5-minute canary takes 15 real seconds
const RATE = 60; // requests per second: the dev 5XX alarm needs ≥ 10 per simulated minute at a 10% canary
const registry = inject("registry");
let platform: ReferencePlatform;
let productionUrl: string;
const loads: LoadRun[] = [];
let v2: { sha: string; image: string } | undefined;

const deployInputs = (sha: string, image: string, extra: Record<string, string> = {}) => ({
  service: "valmetal-dev-api",
  cluster: "valmetal-dev-api",
  environment: "dev",
  application: "valmetal",
  "container-name": "api",
  image,
  sha,
  "codedeploy-application": "valmetal-dev-api",
  "codedeploy-deployment-group": "valmetal-dev-api",
  "codedeploy-deployment-config": "CodeDeployDefault.ECSCanary10Percent5Minutes",
  "poll-interval-seconds": "0.5",
  "bake-minutes": "0.1",
  ...extra,
});

const describeLoad = (summary: LoadSummary) =>
  `${summary.total} requests, ${summary.failed} failed (${JSON.stringify(summary.byStatus)}), by version ${JSON.stringify(summary.byVersion)}`;

async function untilServing(url: string, version: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const response = await fetch(url).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200 && response.headers.get("x-app-version") === version) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} never served ${version}`);
}

/** After a faulty release its 5XX alarm stays in ALARM for a few evaluation periods; the next deploy waits. */
async function untilAlarmsQuiet(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const alarms = await platform.alarms("api");
    if (alarms.every((alarm) => alarm.StateValue !== "ALARM")) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error("the api's alarms did not leave ALARM");
}

function load(durationMs: number): LoadRun {
  const run = startLoad({ url: `${productionUrl}/api/equipment`, ratePerSecond: RATE, durationMs });
  loads.push(run);
  return run;
}

describe("deploy-ecs on the reference platform's real images, under load", () => {
  beforeAll(async () => {
    platform = await startReferencePlatform({
      registry,
      timeScale: SCALE,
      settings: { codeDeployAlarmPollSeconds: 900 },
    });
    productionUrl = await platform.listenerUrl("api");
    await untilServing(`${productionUrl}/api/equipment`, platform.v1.api?.sha as string);
  });
  afterAll(async () => {
    await Promise.all(loads.map((run) => run.stop()));
    await platform?.stop();
  });

  it("ships v2 through a canary with no failed request on the production listener", async () => {
    const release = await platform.build("api");
    v2 = release;
    const traffic = load(240_000);
    const run = await runAction("actions/deploy-ecs", {
      inputs: deployInputs(release.sha, release.image),
      env: platform.actionEnv,
      timeoutMs: 240_000,
    });
    const summary = await traffic.stop();
    console.log(`v2 canary: ${describeLoad(summary)}`);
    expect(run.exitCode, run.log).toBe(0);
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    console.log(`v2 weights: ${report.weights.map((weight: { green: number }) => weight.green).join(" → ")}`);
    expect(report.weights.map((weight: { green: number }) => weight.green)).toEqual([0, 10, 100]);
    expect(summary.failed).toBe(0);
    expect(summary.byVersion[release.sha]?.total).toBeGreaterThan(0);
    console.log(`v2: ${report.apiCalls} API calls while watching`);
    await untilServing(`${productionUrl}/api/equipment`, release.sha);
  });

  it("re-deploys the same commit without registering a new revision", async () => {
    const release = v2 as { sha: string; image: string };
    const traffic = load(240_000);
    const run = await runAction("actions/deploy-ecs", {
      inputs: deployInputs(release.sha, release.image),
      env: platform.actionEnv,
      timeoutMs: 240_000,
    });
    const summary = await traffic.stop();
    console.log(`re-run of v2: ${describeLoad(summary)}`);
    expect(run.exitCode, run.log).toBe(0);
    expect(run.log).toContain("Reusing");
    expect(summary.failed).toBe(0);
  });

  it("rolls a faulty v3 back on its own alarm watch, naming the alarm; blue serves all traffic again", async () => {
    const blue = await fetch(`${productionUrl}/health`).then((response) =>
      response.headers.get("x-app-version"),
    );
    const v3 = await platform.build("api", { edits: [brokenEquipmentList] });
    const traffic = load(240_000);
    const run = await runAction("actions/deploy-ecs", {
      inputs: deployInputs(v3.sha, v3.image),
      env: platform.actionEnv,
      timeoutMs: 240_000,
    });
    await untilServing(`${productionUrl}/api/equipment`, blue as string);
    const after = await fetch(`${productionUrl}/api/equipment`);
    expect(after.status).toBe(200);
    const summary = await traffic.stop();
    console.log(`faulty v3: ${describeLoad(summary)}`);
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(
      /^deployment d-\S+ stopped: alarm valmetal-dev-api-\w+-5xx entered ALARM \(.+\) — rolled back by d-\S+, blue serves 100% again/,
    );
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    expect(report).toMatchObject({ stopReason: "alarm", rolledBack: true });
    console.log(
      `faulty v3: alarm seen → StopDeployment ${report.msToStop} ms, → rollback done ${report.msToRollback} ms (real, scale ${SCALE}); ${report.apiCalls} API calls`,
    );
    // Every failed request was answered by the faulty release, within its canary share.
    expect(summary.byVersion[v3.sha]?.failed ?? 0).toBe(summary.failed);
    expect(summary.failed).toBeGreaterThan(0);
  });

  it("stops a faulty release before production traffic when the smoke test on the test listener fails", async () => {
    const readyWait = (action: "STOP_DEPLOYMENT" | "CONTINUE_DEPLOYMENT", minutes: number) =>
      platform.clients.codeDeploy.send(
        new UpdateDeploymentGroupCommand({
          applicationName: "valmetal-dev-api",
          currentDeploymentGroupName: "valmetal-dev-api",
          blueGreenDeploymentConfiguration: {
            deploymentReadyOption: { actionOnTimeout: action, waitTimeInMinutes: minutes },
            terminateBlueInstancesOnDeploymentSuccess: {
              action: "TERMINATE",
              terminationWaitTimeInMinutes: 5,
            },
          },
        }),
      );
    await readyWait("STOP_DEPLOYMENT", 30);
    await untilAlarmsQuiet();
    try {
      const blue = await fetch(`${productionUrl}/health`).then((response) =>
        response.headers.get("x-app-version"),
      );
      const v4 = await platform.build("api", { edits: [brokenEquipmentList] });
      const traffic = load(240_000);
      const run = await runAction("actions/deploy-ecs", {
        inputs: deployInputs(v4.sha, v4.image, {
          "smoke-tests": '/health 200 "status":"ok"\n/api/equipment 200',
          "test-listener-url": await platform.listenerUrl("api", "test"),
        }),
        env: platform.actionEnv,
        timeoutMs: 240_000,
      });
      const summary = await traffic.stop();
      console.log(`smoke-gated v4: ${describeLoad(summary)}`);
      expect(run.exitCode).toBe(1);
      expect(run.annotations.find((annotation) => annotation.level === "error")?.message).toMatch(
        /stopped before production traffic: smoke test failed: GET \/api\/equipment → 500 \(expected 200\)/,
      );
      expect(summary.failed).toBe(0);
      expect(summary.byVersion[v4.sha]).toBeUndefined();
      await untilServing(`${productionUrl}/api/equipment`, blue as string);
    } finally {
      await readyWait("CONTINUE_DEPLOYMENT", 0);
    }
  });
  it("stops and rolls back when the workflow is cancelled mid-shift", async () => {
    const blue = await fetch(`${productionUrl}/health`).then((response) =>
      response.headers.get("x-app-version"),
    );
    const v5 = await platform.build("api");
    await untilAlarmsQuiet();
    const traffic = load(240_000);
    let pid = 0;
    let cancelled = false;
    const running = runAction("actions/deploy-ecs", {
      inputs: deployInputs(v5.sha, v5.image),
      env: platform.actionEnv,
      timeoutMs: 240_000,
      onSpawn: (spawned) => {
        pid = spawned;
      },
      onLine: (line) => {
        if (!cancelled && line.includes("traffic: green 10%")) {
          cancelled = true;
          process.kill(pid, "SIGINT");
        }
      },
    });
    const run = await running;
    await untilServing(`${productionUrl}/api/equipment`, blue as string);
    const summary = await traffic.stop();
    console.log(`cancelled v5: ${describeLoad(summary)}`);
    expect(cancelled).toBe(true);
    expect(run.exitCode).toBe(1);
    expect(run.annotations.find((annotation) => annotation.level === "error")?.message).toContain(
      "stopped: the workflow was cancelled — rolled back by",
    );
    expect(summary.failed).toBe(0);
  });
});
