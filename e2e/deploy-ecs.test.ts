import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  ListDeploymentsCommand,
  UpdateDeploymentGroupCommand,
} from "@aws-sdk/client-codedeploy";
import {
  DescribeServicesCommand,
  ECSClient,
  type ECSClientConfig,
  ListTaskDefinitionsCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../sim/simulator.ts";
import { type ActionRun, runAction } from "../test/support/run-action.ts";
import { startInfraSimulator } from "./support/simulator-access.ts";

// deploy-ecs run as the runner runs it, against the simulator provisioned from infra's prod template (canary 10% for
// 5 minutes, then a 60-minute termination wait). The clock runs 60× (a sim minute per real second); tasks are
// in-memory (healthy 10 sim seconds after start), so these tests are about the deployment logic; the scenario on the
// reference app's real images runs separately. CodeDeploy's own alarm poll is set to 10 sim minutes, far slower than
// the action's, so a rollback seen here was started by the action.
const service = "valmetal-prod-api";
const region = "ca-central-1";
let simulator: Simulator;
let env: Record<string, string>;
let ecs: ECSClient;
let codedeploy: CodeDeployClient;

const newSha = () => randomBytes(20).toString("hex");
const inputs = (sha: string, extra: Record<string, string> = {}) => ({
  service,
  cluster: service,
  environment: "prod",
  application: "valmetal",
  component: "api",
  "container-name": "api",
  image: `111111111111.dkr.ecr.${region}.amazonaws.com/valmetal/api:prod-${sha}`,
  sha,
  "codedeploy-application": service,
  "codedeploy-deployment-group": service,
  "poll-interval-seconds": "0.5",
  "bake-minutes": "0.05",
  ...extra,
});

function deploy(
  sha: string,
  extra: Record<string, string> = {},
  options: Parameters<typeof runAction>[1] = {},
) {
  return runAction("actions/deploy-ecs", { inputs: inputs(sha, extra), env, timeoutMs: 240_000, ...options });
}

const errorsOf = (run: ActionRun) => run.annotations.filter((annotation) => annotation.level === "error");

async function deploymentsOfGroup(): Promise<string[]> {
  const listed = await codedeploy.send(
    new ListDeploymentsCommand({ applicationName: service, deploymentGroupName: service }),
  );
  return listed.deployments ?? [];
}

async function serviceTaskDefinition(): Promise<string | undefined> {
  const described = await ecs.send(new DescribeServicesCommand({ cluster: service, services: [service] }));
  return described.services?.[0]?.taskDefinition;
}

/** Waits until the running deployment has moved some production traffic to green. */
async function untilGreenTakesTraffic(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [deploymentId] = await deploymentsOfGroup();
    const info = deploymentId
      ? (await codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo
      : undefined;
    if (deploymentId && info?.status === "InProgress") {
      const target = await codedeploy
        .send(new GetDeploymentTargetCommand({ deploymentId, targetId: `${service}:${service}` }))
        .catch(() => undefined);
      const green = target?.deploymentTarget?.ecsTarget?.taskSetsInfo?.find(
        (set) => set.taskSetLabel === "Green",
      );
      if ((green?.trafficWeight ?? 0) > 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("green never took production traffic");
}

describe("deploy-ecs against the simulator provisioned from infra's template", () => {
  beforeAll(async () => {
    let clientConfig: ECSClientConfig;
    ({ simulator, env, clientConfig } = await startInfraSimulator(["prod"], {
      codeDeployAlarmPollSeconds: 600,
    }));
    ecs = new ECSClient(clientConfig);
    codedeploy = new CodeDeployClient(clientConfig);
  });
  afterAll(async () => simulator?.stop());

  const v1 = newSha();

  it("deploys a commit blue/green, tags the revision, bakes, and reports the timeline", async () => {
    const run = await deploy(v1);
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ status: "Succeeded", "rolled-back": "false" });
    expect(run.outputs["deployment-id"]).toMatch(/^d-/);
    expect(run.outputs["codedeploy-deployment-id"]).toBe(run.outputs["deployment-id"]);
    expect(await serviceTaskDefinition()).toBe(run.outputs["task-definition-arn"]);
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    expect(report).toMatchObject({ sha: v1, succeeded: true, rolledBack: false });
    expect(report.weights.map((weight: { green: number }) => weight.green)).toEqual([0, 10, 100]);
    expect(report.alarmsWatched).toHaveLength(6);
    console.log(
      `successful canary: ${report.apiCalls} CodeDeploy/CloudWatch calls while watching, ${report.durationMs} ms`,
    );
    expect(run.summary).toContain("succeeded");
    expect(run.summary).toContain("ContinueDeployment(TERMINATION_WAIT)");
  });

  it("registers nothing new when the same commit is deployed again", async () => {
    const before = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: service }));
    const run = await deploy(v1);
    expect(run.exitCode, run.log).toBe(0);
    const after = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: service }));
    expect(after.taskDefinitionArns).toEqual(before.taskDefinitionArns);
    expect(run.log).toContain("Reusing");
  });

  it("rolls back by itself when an alarm fires during the canary, before CodeDeploy's own alarm poll", async () => {
    const blue = await serviceTaskDefinition();
    const running = deploy(newSha());
    await untilGreenTakesTraffic();
    const firedAt = Date.now();
    await fetch(`${simulator.admin}/alarms/state`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        alarmName: "valmetal-prod-api-green-5xx",
        stateValue: "ALARM",
        reason: "Threshold Crossed: 1 datapoint [25.0] was greater than the threshold (5.0).",
        hold: true,
      }),
    });
    const run = await running.finally(() =>
      fetch(`${simulator.admin}/alarms/state`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ alarmName: "valmetal-prod-api-green-5xx", stateValue: "OK", reason: "reset" }),
      }),
    );
    const errors = errorsOf(run);
    expect(run.exitCode).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(
      /^deployment d-\S+ stopped: alarm valmetal-prod-api-green-5xx entered ALARM \(Threshold Crossed: .*\) — rolled back by d-\S+, blue serves 100% again/,
    );
    expect(run.outputs).toMatchObject({ status: "Stopped", "rolled-back": "true" });
    expect(run.outputs["rollback-deployment-id"]).toMatch(/^d-/);
    expect(await serviceTaskDefinition()).toBe(blue);
    const info = (
      await codedeploy.send(new GetDeploymentCommand({ deploymentId: run.outputs["deployment-id"] }))
    ).deploymentInfo;
    // Stopped on the action's request, not by CodeDeploy's alarm check (which would say ALARM_ACTIVE).
    expect(info?.errorInformation?.code).not.toBe("ALARM_ACTIVE");
    const report = JSON.parse(readFileSync(run.outputs.report as string, "utf8"));
    console.log(
      `alarm seen → StopDeployment sent ${report.msToStop} ms, → rollback done ${report.msToRollback} ms; ${report.apiCalls} API calls; ${Date.now() - firedAt} ms after the alarm was set`,
    );
  });

  it("stops before production traffic when the smoke test on the test listener fails", async () => {
    await codedeploy.send(
      new UpdateDeploymentGroupCommand({
        applicationName: service,
        currentDeploymentGroupName: service,
        blueGreenDeploymentConfiguration: {
          deploymentReadyOption: { actionOnTimeout: "STOP_DEPLOYMENT", waitTimeInMinutes: 30 },
          terminateBlueInstancesOnDeploymentSuccess: {
            action: "TERMINATE",
            terminationWaitTimeInMinutes: 60,
          },
        },
      }),
    );
    const blue = await serviceTaskDefinition();
    const unhealthy = await import("node:http").then(
      ({ createServer }) =>
        new Promise<{ url: string; close: () => void }>((resolve) => {
          const server = createServer((_request, response) => response.writeHead(500).end("broken"));
          server.listen(0, "127.0.0.1", () => {
            const address = server.address() as { port: number };
            resolve({ url: `http://127.0.0.1:${address.port}`, close: () => server.close() });
          });
        }),
    );
    try {
      const run = await deploy(newSha(), {
        "smoke-tests": "/health 200",
        "test-listener-url": unhealthy.url,
      });
      expect(run.exitCode).toBe(1);
      expect(errorsOf(run)[0]?.message).toMatch(
        /stopped before production traffic: smoke test failed: GET \/health → 500 \(expected 200\)/,
      );
      expect(run.outputs["rolled-back"]).toBe("true");
      expect(await serviceTaskDefinition()).toBe(blue);
    } finally {
      unhealthy.close();
      await codedeploy.send(
        new UpdateDeploymentGroupCommand({
          applicationName: service,
          currentDeploymentGroupName: service,
          blueGreenDeploymentConfiguration: {
            deploymentReadyOption: { actionOnTimeout: "CONTINUE_DEPLOYMENT", waitTimeInMinutes: 0 },
            terminateBlueInstancesOnDeploymentSuccess: {
              action: "TERMINATE",
              terminationWaitTimeInMinutes: 60,
            },
          },
        }),
      );
    }
  });

  it("stops and rolls back when the workflow is cancelled mid-shift", async () => {
    const blue = await serviceTaskDefinition();
    let pid = 0;
    const running = deploy(newSha(), {}, { onSpawn: (spawned) => (pid = spawned) });
    await untilGreenTakesTraffic();
    process.kill(pid, "SIGINT");
    const run = await running;
    expect(run.exitCode).toBe(1);
    expect(errorsOf(run)[0]?.message).toContain("stopped: the workflow was cancelled — rolled back by");
    expect(await serviceTaskDefinition()).toBe(blue);
    const post = await runAction("actions/deploy-ecs", {
      inputs: inputs(v1),
      env,
      phase: "post",
      state: run.state,
    });
    expect(post.exitCode, post.log).toBe(0);
  });

  it("refuses a service that does not exist and creates no deployment", async () => {
    const before = await deploymentsOfGroup();
    const run = await deploy(newSha(), { service: "valmetal-prod-nope" });
    expect(run.exitCode).toBe(1);
    expect(errorsOf(run)).toEqual([
      expect.objectContaining({
        message: expect.stringContaining("service valmetal-prod-nope not found in cluster valmetal-prod-api"),
      }),
    ]);
    expect(await deploymentsOfGroup()).toEqual(before);
  });
});
