import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  type ECSClientConfig,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Simulator } from "../sim/simulator.ts";
import { registryApi } from "../test/support/registry-api.ts";
import { type ActionRun, runAction } from "../test/support/run-action.ts";
import { startInfraSimulator } from "./support/simulator-access.ts";

// The one-step action (root action.yml, `uses: org/toolkit@v1`) run as the runner runs it: a real build with buildah
// pushed into the registry behind the simulator's ECR (provisioned from infra's shared and dev templates), the
// pushed digest gated on the simulator's ECR scan, a blue/green deployment through the simulated CodeDeploy (in-memory
// tasks), and the tag check of the running tasks. The source gates (semgrep, gitleaks) have their own e2e in
// e2e/scan.test.ts; they are off here because neither scanner can be installed on this machine.
const registry = inject("registry");
const service = "valmetal-dev-api";
const repositoryName = "valmetal/api";

let simulator: Simulator;
let env: Record<string, string>;
let ecs: ECSClient;

const newSha = () => randomBytes(20).toString("hex");
const inputs = (sha: string, extra: Record<string, string> = {}) => ({
  repository: `${registry}/${repositoryName}`,
  environment: "dev",
  sha,
  context: "e2e/fixtures/hello",
  builder: "buildah",
  sast: "false",
  secrets: "false",
  service,
  cluster: service,
  application: "valmetal",
  component: "api",
  "container-name": "api",
  "codedeploy-application": service,
  "codedeploy-deployment-group": service,
  "poll-interval-seconds": "0.5",
  ...extra,
});

const ship = (sha: string, extra: Record<string, string> = {}) =>
  runAction(".", { inputs: inputs(sha, extra), env, timeoutMs: 240_000 });
const errors = (run: ActionRun) => run.annotations.filter((annotation) => annotation.level === "error");

beforeAll(async () => {
  let clientConfig: ECSClientConfig;
  ({ simulator, env, clientConfig } = await startInfraSimulator(["shared", "dev"], {
    registry,
    codeDeployAlarmPollSeconds: 600,
  }));
  ecs = new ECSClient(clientConfig);
});

afterAll(async () => {
  ecs?.destroy();
  await simulator?.stop();
});

async function runningTaskDefinition() {
  const described = await ecs.send(new DescribeServicesCommand({ cluster: service, services: [service] }));
  const primary = described.services?.[0]?.taskSets?.find((set) => set.status === "PRIMARY");
  const definition = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: primary?.taskDefinition, include: ["TAGS"] }),
  );
  return definition;
}

describe("ship: build → scan → push → deploy → check tags in one step", () => {
  const sha = newSha();

  it("ships a commit: image built and pushed, digest gated, deployed blue/green, running tasks traced to the sha", async () => {
    const run = await ship(sha);
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({
      result: "passed",
      built: "true",
      image: `${registry}/${repositoryName}:dev-${sha}`,
      status: "Succeeded",
      "rolled-back": "false",
      "tags-result": "passed",
    });
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const definition = await runningTaskDefinition();
    expect(definition.taskDefinition?.taskDefinitionArn).toBe(run.outputs["task-definition-arn"]);
    expect(definition.taskDefinition?.containerDefinitions?.[0]?.image).toBe(run.outputs.image);
    expect(Object.fromEntries((definition.tags ?? []).map((tag) => [tag.key, tag.value]))).toMatchObject({
      Environment: "dev",
      Application: "valmetal",
      Component: "api",
      Version: sha,
    });
    const scanReport = JSON.parse(readFileSync(run.outputs["scan-report"] as string, "utf8"));
    expect(scanReport.gates.image).toMatchObject({ status: "passed" });
    const tagReport = JSON.parse(readFileSync(run.outputs["tags-report"] as string, "utf8"));
    const failing = tagReport.findings.filter((finding: { passed: boolean }) => !finding.passed);
    // The simulator's ECR serves repositories from a loopback registry, whose host is not an ECR host: the digest
    // rule says it cannot read it (a warning); nothing else fails.
    expect(
      failing.map((finding: { ruleId: string; severity: string }) => [finding.ruleId, finding.severity]),
    ).toEqual(failing.map(() => ["TAG014", "warning"]));
    for (const heading of [
      "build-push",
      "scan",
      `deploy-ecs: api to dev`,
      `ship: api ${sha.slice(0, 12)} to dev`,
    ])
      expect(run.summary).toContain(heading);
    expect(run.summary).toMatch(/check-tags[\s\S]*✅ passed/);
    expect(errors(run)).toEqual([]);
  });

  it("stops at the image gate when the pushed digest has a CRITICAL finding: nothing deployed, the summary says where it stopped", async () => {
    const before = (await runningTaskDefinition()).taskDefinition?.taskDefinitionArn;
    const digest = await registryApi(`${registry}/${repositoryName}`).digestOf(`dev-${sha}`);
    const response = await fetch(`${simulator.admin}/scan-findings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        repositoryName,
        imageDigest: digest,
        findings: [
          {
            name: "CVE-2026-4242",
            severity: "CRITICAL",
            uri: "https://security-tracker.debian.org/tracker/CVE-2026-4242",
            attributes: [
              { key: "package_name", value: "openssl" },
              { key: "package_version", value: "3.0.11-1" },
            ],
          },
        ],
      }),
    });
    expect(response.status).toBe(200);

    const run = await ship(sha);
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ result: "failed", built: "false" });
    expect(run.outputs["deployment-id"]).toBeUndefined();
    expect(errors(run).at(-1)?.message).toMatch(/scan failed — image: .*CRITICAL/);
    expect(run.summary).toContain("CVE-2026-4242");
    expect(run.summary).toMatch(/scan image<\/td><td>❌ failed/);
    expect(run.summary).toMatch(/deploy-ecs<\/td><td>⏹️ not run/);
    expect((await runningTaskDefinition()).taskDefinition?.taskDefinitionArn).toBe(before);
  });

  it("refuses bad input of any stage before building anything", async () => {
    const fresh = newSha();
    const run = await ship(fresh, { "tags-fail-on": "sometimes" });
    expect(run.exitCode).toBe(1);
    expect(errors(run).map((error) => error.message)).toEqual([
      "input tags-fail-on is 'sometimes'; use one of error, warning, never",
    ]);
    expect(run.log).not.toContain("buildah");
    expect(await registryApi(`${registry}/${repositoryName}`).digestOf(`dev-${fresh}`)).toBeUndefined();
  });
});
