import { beforeAll, describe, expect, it } from "vitest";
import { type LocalPipelineResult, runLocalPipeline } from "../scripts/local-pipeline.ts";
import { components, environments } from "../scripts/workflow-runner/local-platform.ts";

/**
 * `npm run pipeline` end to end: the reference pipeline workflow file, run by the local workflow runner against a
 * local registry and the simulator provisioned from infra's templates running the reference app's real images.
 * v1 (this commit) goes dev → staging → prod; a faulty release (a temporary commit) is rolled back by the alarm,
 * from real traffic. Then everything the run started is stopped.
 */
const TIME_SCALE = 20;
let result: LocalPipelineResult;
const printed: string[] = [];

describe("the local pipeline (npm run pipeline)", () => {
  beforeAll(async () => {
    result = await runLocalPipeline({
      timeScale: TIME_SCALE,
      print: (line) => {
        printed.push(line);
        // Job and step boundaries only: the full log would drown the test output.
        if (!line.includes("│   ")) console.log(line);
      },
    });
    console.log(
      `local pipeline wall time: ${(result.wallMs / 1000).toFixed(0)} s at time scale ${TIME_SCALE}`,
    );
  }, 1_500_000);

  it("runs the workflow file's jobs for a push: pull-request jobs skipped, build once, dev → staging → prod", () => {
    const names = result.runs.v1.jobs.map((job) => `${job.name}: ${job.conclusion}`);
    expect(result.runs.v1.conclusion, names.join("\n")).toBe("success");
    expect(names).toContain("lint, type check, tests: skipped");
    expect(names).toContain("scan and build (no push): skipped");
    expect(names).toContain("build once / build, push and scan api: success");
    expect(names).toContain("prod (after approval) / deploy web to prod: success");
    expect(printed.some((line) => line.includes("environment prod: approval: auto (local run)"))).toBe(true);
    expect(printed.some((line) => line.includes("local override: sast=false"))).toBe(true);
  });

  it("deploys v1 to every environment: each service's task definition carries Version=v1", () => {
    for (const environment of environments)
      for (const component of components) {
        expect(result.afterV1[environment][component]?.version, `${environment} ${component}`).toBe(
          result.v1,
        );
      }
    const v1Deployments = result.deployments.filter(
      (record) => record.creator === "user" && record.status === "Succeeded",
    );
    expect(v1Deployments.length).toBeGreaterThanOrEqual(environments.length * components.length);
    expect(result.load.v1.prod?.total).toBeGreaterThan(0);
  });

  it("rolls the faulty release back in dev on the alarm, and never promotes it", () => {
    const jobs = Object.fromEntries(result.runs.faulty.jobs.map((job) => [job.name, job]));
    expect(result.runs.faulty.conclusion).toBe("failure");
    expect(jobs["dev / deploy api to dev"]?.conclusion).toBe("failure");
    expect(
      jobs["dev / deploy api to dev"]?.annotations.map((annotation) => annotation.message).join("\n"),
    ).toMatch(
      // Stopped by CodeDeploy's own alarm poll (ALARM_ACTIVE) or by the action's alarm watch, whichever saw it first.
      /deployment d-\S+ (Stopped: ALARM_ACTIVE .*<valmetal-dev-api-\S+-5xx>|stopped: alarm valmetal-dev-api-\S+-5xx entered ALARM).* — rolled back by d-/,
    );
    expect(jobs.staging?.conclusion).toBe("skipped");
    expect(jobs["prod (after approval)"]?.conclusion).toBe("skipped");

    const stopped = result.deployments.filter(
      (record) => record.environment === "dev" && record.component === "api" && record.status === "Stopped",
    );
    expect(stopped).toHaveLength(1);
    const rollback = result.deployments.find(
      (record) => record.deploymentId === stopped[0]?.rollbackDeploymentId,
    );
    expect(rollback).toMatchObject({ status: "Succeeded", creator: "codeDeployRollback" });
    // The api serves v1 again everywhere; the faulty requests came from its short time in dev.
    for (const environment of environments)
      expect(result.afterFaulty[environment].api?.version).toBe(result.v1);
    // The web component of the same commit is healthy: it deployed to dev, and went no further.
    expect(result.afterFaulty.dev.web?.version).toBe(result.faulty);
    expect(result.afterFaulty.staging.web?.version).toBe(result.v1);
    expect(result.load.faulty.dev?.failed).toBeGreaterThan(0);
    expect(result.load.faulty.staging?.failed).toBe(0);
    expect(result.load.faulty.prod?.failed).toBe(0);
  });

  it("stops everything it started: registry, simulator and every listener refuse connections", async () => {
    expect(result.endpoints.length).toBeGreaterThan(3);
    for (const endpoint of result.endpoints) {
      const answered = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) }).then(
        () => true,
        () => false,
      );
      expect(answered, endpoint).toBe(false);
    }
  });
});
