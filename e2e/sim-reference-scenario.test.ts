import { DescribeAlarmHistoryCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type LoadRun, type LoadSample, startLoad } from "./support/load.ts";
import {
  brokenEquipmentList,
  type DeploymentView,
  type ReferencePlatform,
  randomSha,
  startReferencePlatform,
} from "./support/reference-platform.ts";

/**
 * The reference platform on the simulator, end to end: infra's dev template provisioned with the reference app's
 * real images (built by the build-push bundle), the api deployed through CodeDeploy canary while a bounded load
 * generator hits the production listener, then a faulty release that CodeDeploy itself stops on the group's 5XX
 * alarm (real ELB metrics from real traffic) and rolls back.
 *
 * The api is the component exercised: it has the faulty-release edit point (GET /api/equipment) and real
 * dependencies (PostgreSQL for RDS, an MQTT broker for IoT Core); the web runs at v1 (it only proxies).
 */

const SCALE = 20; // 1 real second = 20 simulated seconds: a 5-minute canary takes 15 s
const RATE = 60; // requests per second on the production listener: ≥ 10 5XX per simulated minute at 10%
const CANARY = "CodeDeployDefault.ECSCanary10Percent5Minutes";

const registry = inject("registry");
const logLines: string[] = [];
let platform: ReferencePlatform;
let productionUrl: string;
const loads: LoadRun[] = [];
const startedAt = Date.now();

interface WeightPoint {
  /** Epoch ms (real) when the test saw it. */
  at: number;
  realSeconds: number;
  simSeconds: number;
  status: string;
  green: number;
}

async function sleep(ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls the deployment (GetDeployment + GetDeploymentTarget) until `done`, recording each change of weights. */
async function watch(
  deploymentId: string,
  done: (view: DeploymentView) => boolean,
  timeoutMs: number,
): Promise<{ view: DeploymentView; points: WeightPoint[]; doneAt: number }> {
  const begin = Date.now();
  const simBegin = platform.simulator.clock.now();
  const points: WeightPoint[] = [];
  for (;;) {
    const view = await platform.deploymentStatus(deploymentId);
    const green = view.weights.Green ?? 0;
    const last = points.at(-1);
    if (!last || last.green !== green || last.status !== view.status) {
      points.push({
        at: Date.now(),
        realSeconds: (Date.now() - begin) / 1000,
        simSeconds: (platform.simulator.clock.now() - simBegin) / 1000,
        status: view.status,
        green,
      });
    }
    if (done(view)) return { view, points, doneAt: Date.now() };
    if (Date.now() - begin > timeoutMs)
      throw new Error(
        `deployment ${deploymentId} still ${view.status} after ${timeoutMs} ms: ${JSON.stringify(view)}\n${logLines.slice(-40).join("\n")}`,
      );
    await sleep(200);
  }
}

async function get(path: string): Promise<{ status: number; version: string | null }> {
  const response = await fetch(`${productionUrl}${path}`);
  await response.arrayBuffer();
  return { status: response.status, version: response.headers.get("x-app-version") };
}

function describeWeights(points: WeightPoint[]): string {
  return points
    .map(
      (point) =>
        `${point.realSeconds.toFixed(1)}s/${point.simSeconds.toFixed(0)}s-sim ${point.status} green=${point.green}%`,
    )
    .join(" → ");
}

describe("the reference platform on the simulator: CodeDeploy canary and alarm rollback on real images", () => {
  beforeAll(async () => {
    platform = await startReferencePlatform({
      registry,
      timeScale: SCALE,
      log: (line) => {
        logLines.push(line);
        if (logLines.length > 2000) logLines.splice(0, 1000);
      },
    });
  });
  afterAll(async () => {
    await Promise.all(loads.map((load) => load.stop()));
    await platform?.stop();
    console.log(
      `scenario wall time: ${((Date.now() - startedAt) / 1000).toFixed(1)} s at time scale ${SCALE}`,
    );
  });

  it("provisions infra's dev template and serves v1 (the template's own task definition) on the production listener", async () => {
    productionUrl = await platform.listenerUrl("api");
    const v1 = platform.v1.api?.sha as string;
    const deadline = Date.now() + 90_000;
    let last = { status: 0, version: null as string | null };
    while (Date.now() < deadline) {
      last = await get("/api/equipment").catch(() => ({ status: 0, version: null }));
      if (last.status === 200) break;
      await sleep(250);
    }
    expect(last, logLines.slice(-40).join("\n")).toEqual({ status: 200, version: v1 });
    console.log(
      `v1 ${v1.slice(0, 8)} serves on ${productionUrl} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );

    // The web (its API_URL stood in by the api's production listener) proxies the dashboard's calls to the api.
    const web = await platform.listenerUrl("web");
    let proxied: Response | undefined;
    while (Date.now() < deadline) {
      proxied = await fetch(`${web}/api/equipment`).catch(() => undefined);
      if (proxied?.status === 200) break;
      await sleep(250);
    }
    expect(proxied?.status, logLines.slice(-40).join("\n")).toBe(200);
    expect(await proxied?.json()).toEqual({ equipment: [] });
    expect(proxied?.headers.get("x-app-version")).toBe(platform.v1.web?.sha);
  });

  it("deploys v2 through a CodeDeploy canary: weights move 10% then 100%, the load sees v1 and v2 and no failure", async () => {
    const v1 = platform.v1.api?.sha as string;
    const v2 = await platform.build("api", { sha: randomSha() });
    const taskDefinition = await platform.registerRelease(v2);
    const load = startLoad({
      url: `${productionUrl}/api/equipment`,
      ratePerSecond: RATE,
      durationMs: 180_000,
    });
    loads.push(load);
    const deploymentId = await platform.deploy("api", taskDefinition, { deploymentConfigName: CANARY });
    const { view, points } = await watch(
      deploymentId,
      (current) => ["Succeeded", "Failed", "Stopped"].includes(current.status),
      150_000,
    );
    await sleep(1000);
    const summary = await load.stop();
    console.log(`v2 weights: ${describeWeights(points)}`);
    console.log(`v2 load: ${JSON.stringify(summary)}`);

    const canaryFrom = points.find((point) => point.green === 10)?.at ?? 0;
    const canaryTo = points.find((point) => point.green === 100)?.at ?? 0;
    const canary = load.summary((sample) => sample.startedAt > canaryFrom + 500 && sample.endedAt < canaryTo);
    const canaryShare = (canary.byVersion[v2.sha]?.total ?? 0) / canary.total;
    console.log(
      `v2 share of the answers while green was at 10%: ${(canaryShare * 100).toFixed(1)}% of ${canary.total}`,
    );

    expect(view.status, logLines.slice(-40).join("\n")).toBe("Succeeded");
    expect(canaryShare).toBeGreaterThan(0.03);
    expect(canaryShare).toBeLessThan(0.2);
    const greens = points.map((point) => point.green);
    expect(greens).toContain(10);
    expect(greens.indexOf(10)).toBeLessThan(greens.indexOf(100));
    expect(summary.failed).toBe(0);
    expect(summary.byVersion[v1]?.total).toBeGreaterThan(0);
    expect(summary.byVersion[v2.sha]?.total).toBeGreaterThan(0);
    expect((await get("/health")).version).toBe(v2.sha);
  });

  it("a faulty v3 trips the green 5XX alarm: CodeDeploy stops it and rolls back to v2, errors only from the canary", async () => {
    const v2 = (await get("/health")).version as string;
    const v3 = await platform.build("api", {
      sha: randomSha(),
      edits: [brokenEquipmentList],
    });
    const taskDefinition = await platform.registerRelease(v3);
    const load = startLoad({
      url: `${productionUrl}/api/equipment`,
      ratePerSecond: RATE,
      durationMs: 180_000,
    });
    loads.push(load);
    const deploymentId = await platform.deploy("api", taskDefinition, { deploymentConfigName: CANARY });
    const stopped = await watch(
      deploymentId,
      (current) => ["Succeeded", "Failed", "Stopped"].includes(current.status),
      150_000,
    );
    const rollbackId = stopped.view.rollbackDeploymentId;
    const rollback = rollbackId
      ? await watch(
          rollbackId,
          (current) => ["Succeeded", "Failed", "Stopped"].includes(current.status),
          60_000,
        )
      : undefined;
    const rolledBackAt = rollback?.doneAt ?? Date.now();
    await sleep(3000);
    const summary = await load.stop();
    const failed = load.samples.filter((sample) => sample.status < 200 || sample.status >= 400);
    const firstError = Math.min(...failed.map((sample) => sample.startedAt));
    const fromV3 = (sample: LoadSample) => sample.version === v3.sha;
    const firstV3 = Math.min(...load.samples.filter(fromV3).map((sample) => sample.startedAt));
    const window = load.summary(
      (sample) => sample.startedAt >= firstV3 && sample.startedAt <= stopped.doneAt,
    );
    const after = load.summary((sample) => sample.startedAt > rolledBackAt);
    // Real time of a sample → sim time (the clock runs at SCALE since the scenario started).
    const simNow = platform.simulator.clock.now();
    const simAt = (realMs: number) => simNow - (Date.now() - realMs) * SCALE;
    const greenGroup = stopped.view.taskSets.find((set) => set.label === "Green")?.targetGroup;
    const alarmName = `${greenGroup}-5xx`;
    const history =
      (
        await platform.clients.cloudWatch.send(
          new DescribeAlarmHistoryCommand({ AlarmName: alarmName, HistoryItemType: "StateUpdate" }),
        )
      ).AlarmHistoryItems ?? [];
    const alarmAt = history
      .filter((item) => item.HistorySummary?.includes("to ALARM"))
      .map((item) => item.Timestamp?.getTime() ?? 0)
      .sort()[0];
    const completeAt = stopped.view.completeTime?.getTime();
    const simSeconds = (ms: number | undefined) =>
      ms === undefined ? "?" : ((ms - simAt(firstError)) / 1000).toFixed(0);
    console.log(`v3 weights: ${describeWeights(stopped.points)}`);
    if (rollback) console.log(`rollback weights: ${describeWeights(rollback.points)}`);
    console.log(`v3 load: ${JSON.stringify(summary)}`);
    console.log(`v3 canary window (first v3 answer → stop seen): ${JSON.stringify(window)}`);
    console.log(`after the rollback: ${JSON.stringify(after)}`);
    console.log(
      `after the first 5XX: ${alarmName} in ALARM at +${simSeconds(alarmAt)} s sim, deployment stopped at +${simSeconds(completeAt)} s sim, stop seen by the test after ${((stopped.doneAt - firstError) / 1000).toFixed(1)} s real; ${stopped.view.errorMessage}`,
    );

    expect(stopped.view.status, logLines.slice(-40).join("\n")).toBe("Stopped");
    expect(stopped.view.errorCode).toBe("ALARM_ACTIVE");
    expect(rollback?.view.status).toBe("Succeeded");
    expect(Math.max(...stopped.points.map((point) => point.green))).toBe(10);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every(fromV3), JSON.stringify(failed.filter((sample) => !fromV3(sample)).slice(0, 5))).toBe(
      true,
    );
    expect(failed.every((sample) => sample.startedAt >= firstV3 && sample.startedAt <= rolledBackAt)).toBe(
      true,
    );
    expect(summary.noAnswer).toBe(0);
    expect(window.failed / window.total).toBeLessThan(0.2);
    expect(after.failed).toBe(0);
    expect(Object.keys(after.byVersion)).toEqual([v2]);
    expect(stopped.view.errorMessage).toContain(`<${alarmName}>`);
    expect(alarmAt).toBeLessThanOrEqual(completeAt ?? 0);
    expect((await get("/health")).version).toBe(v2);
  });
});
