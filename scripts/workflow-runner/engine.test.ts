import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunWorkflowOptions, runWorkflow, type WorkflowRun } from "./engine.ts";
import { formatTimeline } from "./progress.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const toolkit = join(fixtures, "toolkit");
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

async function execute(
  file: string,
  options: Partial<RunWorkflowOptions> = {},
): Promise<{ run: WorkflowRun; log: string[] }> {
  const outputDir = mkdtempSync(join(tmpdir(), "workflow-runner-"));
  folders.push(outputDir);
  const log: string[] = [];
  const result = await runWorkflow({
    workflowFile: join(fixtures, file),
    event: { name: "push" },
    workspace: toolkit,
    toolkitRoot: toolkit,
    github: { sha, actor: "octocat" },
    outputDir,
    print: (line) => log.push(line),
    ...options,
  });
  return { run: result, log };
}

const job = (run: WorkflowRun, name: string) => {
  const found = run.jobs.find((candidate) => candidate.name === name);
  if (!found)
    throw new Error(`no job '${name}' in ${run.jobs.map((candidate) => candidate.name).join(", ")}`);
  return found;
};
const lines = (log: string[], job: string) =>
  log
    .filter((line) => line.includes(`│   ${job} │ `))
    .map((line) => line.slice(line.indexOf(`│   ${job} │ `) + job.length + 7));

describe("the local workflow runner", () => {
  it("runs jobs in needs order with env at each level, GITHUB_OUTPUT/ENV/PATH/STEP_SUMMARY and step conditions", async () => {
    const { run, log } = await execute("basic.yml");
    expect(run.conclusion).toBe("failure");
    expect(lines(log, "first")).toEqual([
      `phrase=hello world who=octocat sha=${sha}`,
      "later=set-by-github-env tool-on-path step-env=hello-main",
    ]);
    expect(job(run, "first")).toMatchObject({
      conclusion: "success",
      outputs: { word: "hello-main", lines: "one\ntwo" },
      summary: "## first job\n",
    });
    expect(job(run, "first").steps["skipped on push"]?.outcome).toBe("skipped");
    expect(log.join("\n")).not.toContain("must not run");
  });

  it("expands a matrix from an expression with exclude and include, one job per combination", async () => {
    const { run, log } = await execute("basic.yml");
    const matrixJobs = run.jobs.filter((candidate) => candidate.name.startsWith("matrix ("));
    expect(matrixJobs.map((candidate) => candidate.name)).toEqual([
      "matrix (api, dev, 8080)",
      "matrix (api, prod, 8080)",
      "matrix (web, dev)",
      "matrix (worker, dev)",
    ]);
    expect(lines(log, "matrix (web, dev)")).toEqual(["seen=web/dev/none in /tmp"]);
    // A matrix job's outputs: the last combination to finish wins, as on GitHub.
    expect(run.outputs["matrix.seen"]).toBe("worker/dev/none in /tmp");
  });

  it("stops a job at its failing step, runs failure() and always() steps, skips jobs whose needs failed", async () => {
    const { run, log } = await execute("basic.yml");
    expect(lines(log, "fails")).toEqual([
      "about to fail",
      "cleanup after failure",
      "always runs, job status failure",
    ]);
    expect(job(run, "fails").conclusion).toBe("failure");
    expect(job(run, "tolerant").conclusion).toBe("success");
    expect(lines(log, "tolerant")).toEqual(["soft outcome=failure conclusion=success"]);
    expect(job(run, "after-fails").conclusion).toBe("skipped");
    expect(lines(log, "report")).toEqual([
      // The expression is replaced before bash reads the script: toJSON's quotes become bash's.
      "fails=failure matrix=success contains=true json={",
      "  seen: worker/dev/none in /tmp",
      "}",
    ]);
  });

  it("picks the event: a step conditioned on workflow_dispatch runs only for it; an untriggered event is refused", async () => {
    const { run } = await execute("basic.yml", { event: { name: "workflow_dispatch" } });
    expect(job(run, "first").steps["skipped on push"]?.outcome).toBe("success");
    await expect(execute("basic.yml", { event: { name: "pull_request" } })).rejects.toThrow(
      "does not run on 'pull_request' (its triggers: push, workflow_dispatch)",
    );
  });

  it("calls reusable workflows (relative and org/toolkit@ref) with typed inputs, secrets and outputs; runs toolkit actions with defaults, state and post-if", async () => {
    const { run, log } = await execute("caller.yml", { secrets: { DEPLOY_TOKEN: "s3cr3t-token" } });
    expect(lines(log, "build / work")).toEqual(["component=api replicas=2 env=dev token=*** deploy-token="]);
    expect(lines(log, "deploy-prod / work")).toEqual([
      "component=img-api replicas=1 env=prod token= deploy-token=***",
    ]);
    expect(log.some((line) => line.includes("environment prod: approval: auto (local run)"))).toBe(true);
    expect(log.some((line) => line.includes("concurrency ignored"))).toBe(true);
    expect(job(run, "deploy-prod / work").environment).toBe("prod");
    expect(run.outputs["deploy-prod.image"]).toBe("img-img-api");
    const echo = lines(log, "echo");
    expect(echo[0]).toBe(`message: deployed img-img-api (sha ${sha}, in ${toolkit})`);
    expect(echo[1]).toBe(`message: relative DEPLOYED IMG-IMG-API (sha ${sha}, in ${toolkit})`);
    expect(echo).toContain("error: asked to fail");
    // post-if: failure() — the post step of each echo runs because the job failed, last step first.
    expect(echo.slice(-2)).toEqual([
      "post: the main step said 'relative DEPLOYED IMG-IMG-API'",
      "post: the main step said 'deployed img-img-api'",
    ]);
    expect(job(run, "echo")).toMatchObject({
      conclusion: "failure",
      summary: "echo: deployed img-img-api\necho: relative DEPLOYED IMG-IMG-API\n",
      annotations: [{ level: "error", message: "asked to fail" }],
    });
    expect(log.join("\n")).not.toContain("s3cr3t-token");
  });

  it("forces a called workflow's input when the local run cannot do what GitHub does, and says why", async () => {
    const { log } = await execute("caller.yml", {
      inputOverrides: {
        "reusable.yml": {
          replicas: {
            value: (given) => (given === undefined ? undefined : Number(given) * 10),
            reason: "scaled",
          },
          environment: { value: "local", reason: "one account here" },
        },
      },
    });
    expect(lines(log, "build / work")[0]).toMatch(/^component=api replicas=20 env=local /);
    // Not given by the caller: the function keeps the workflow's default.
    expect(lines(log, "deploy-prod / work")[0]).toMatch(/^component=img-api replicas=1 env=local /);
    expect(log.some((line) => line.endsWith("build: local override: replicas=20 (scaled)"))).toBe(true);
  });

  it("gives third-party actions their local equivalents and names the one it does not know", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "workspace-"));
    folders.push(workspace);
    const { run, log } = await execute("third-party.yml", {
      workspace,
      awsEnv: {
        AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
        AWS_ACCESS_KEY_ID: "sim",
        AWS_SECRET_ACCESS_KEY: "sim",
      },
    });
    const output = lines(log, "aws");
    expect(output).toContain("endpoint=http://127.0.0.1:4566 region=ca-central-1 account=222222222222");
    expect(output).toContain("toolkit linked");
    const sarif = join(
      run.jobs[0] ? (log.find((line) => line.includes("SARIF"))?.split("→ ")[1] ?? "") : "",
      "results.sarif",
    );
    expect(existsSync(sarif) && readFileSync(sarif, "utf8")).toBe('{"runs":[]}\n');
    expect(job(run, "aws").annotations.at(-1)?.message).toMatch(
      /^step uses 'some-org\/unknown-action@v1', a third-party action with no local equivalent; the local runner knows actions\/checkout, aws-actions\/configure-aws-credentials/,
    );
    expect(run.conclusion).toBe("failure");
  });

  it("on cancellation sends SIGINT to the running step, runs always() steps to their end, starts nothing else", async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const { run } = await execute("cancel.yml", {
      signal: controller.signal,
      print: (line) => {
        log.push(line);
        if (line.endsWith("│ waiting")) controller.abort();
      },
    });
    expect(run.conclusion).toBe("cancelled");
    expect(lines(log, "long (one)")).toEqual([
      "waiting",
      "got SIGINT, cleaning up",
      "always runs after a cancel, cancelled()=true",
    ]);
    expect(log.join("\n")).not.toContain("must not run");
    // The other matrix combination and the dependent job never start.
    expect(log.some((line) => line.includes("job long (two): cancelled"))).toBe(true);
    expect(run.jobs.map((job) => `${job.name}: ${job.conclusion}`)).toEqual([
      "long (one): cancelled",
      "later: cancelled",
    ]);
  });

  it("prints a timeline of jobs and their steps", async () => {
    const { run } = await execute("caller.yml");
    const timeline = formatTimeline(run.timeline);
    expect(timeline.split("\n")[0]).toContain("job / step");
    expect(timeline).toMatch(/success\s+build \/ work {2}\(environment dev\)\n.*success\s+ {2}Run echo /);
    expect(timeline).toMatch(/failure\s+echo\n/);
  });
});
