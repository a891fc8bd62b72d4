// The README's main job (`npm run pipeline`): the reference pipeline workflow (workflows/reference-pipeline.yml and
// the reusable workflows it calls) run by the local workflow runner (scripts/workflow-runner/) against a local
// registry and the simulator provisioned from infra's templates. It deploys v1 (this commit) dev → staging → prod,
// then a faulty release (a temporary commit in a throwaway clone) that the alarm rolls back, under real traffic.
// How each part maps to GitHub: docs/local-pipeline.md.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BatchGetDeploymentsCommand, ListDeploymentsCommand } from "@aws-sdk/client-codedeploy";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { type LoadRun, type LoadSummary, startLoad } from "../e2e/support/load.ts";
import { brokenEquipmentList } from "../e2e/support/reference-builds.ts";
import type { EnvironmentName } from "../infra/lib/config.ts";
import { repositoryRoot } from "../test/support/run-action.ts";
import { runWorkflow, type WorkflowRun } from "./workflow-runner/engine.ts";
import type { Json } from "./workflow-runner/expressions.ts";
import { localNetworkEnv } from "./workflow-runner/local-network.ts";
import {
  components,
  environments,
  type LocalPlatform,
  resourceName,
  startLocalPlatform,
} from "./workflow-runner/local-platform.ts";
import { formatTimeline } from "./workflow-runner/progress.ts";

export const pipelineWorkflow = join(repositoryRoot, "workflows/reference-pipeline.yml");

export interface LocalPipelineOptions {
  /** Simulated seconds per real second (canaries, bakes, alarm periods). Default 20. */
  timeScale?: number;
  /** Requests per second on each environment's api production listener during the runs. Default 20. */
  loadRate?: number;
  print?: (line: string) => void;
  signal?: AbortSignal;
}

/** What runs a component's service, read back from the account. */
export interface ServiceState {
  taskDefinitionArn: string;
  /** The task definition's Version tag: the commit SHA. */
  version: string;
}

export interface DeploymentRecord {
  environment: EnvironmentName;
  component: string;
  deploymentId: string;
  status: string;
  creator: string;
  /** The deployment that rolled this one back, or the one this rollback undid. */
  rollbackDeploymentId?: string;
  rollbackTriggeringDeploymentId?: string;
  error?: string;
}

export type Snapshot = Record<EnvironmentName, Record<string, ServiceState>>;

export interface LocalPipelineResult {
  wallMs: number;
  v0: string;
  v1: string;
  faulty: string;
  runs: { v1: WorkflowRun; faulty: WorkflowRun };
  afterV1: Snapshot;
  afterFaulty: Snapshot;
  deployments: DeploymentRecord[];
  load: { v1: Record<string, LoadSummary>; faulty: Record<string, LoadSummary> };
  /** Addresses of what the run started (registry, simulator, listeners), all stopped when it returns. */
  endpoints: string[];
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/**
 * A run's checkout, as actions/checkout gives each job on GitHub: a throwaway clone of this repository holding its
 * working tree as it is (uncommitted changes included). The workflow's steps write there (artifacts, reports), never
 * into this repository.
 */
function checkout(folder: string, name: string): string {
  const workspace = join(folder, name);
  execFileSync("git", ["clone", "--quiet", "--shared", repositoryRoot, workspace]);
  const changed = git(repositoryRoot, "ls-files", "-z", "--modified", "--others", "--exclude-standard")
    .split("\0")
    .filter(Boolean);
  for (const file of new Set(changed)) {
    const source = join(repositoryRoot, file);
    if (!existsSync(source)) {
      rmSync(join(workspace, file), { force: true });
      continue;
    }
    if (lstatSync(source).isSymbolicLink()) continue;
    mkdirSync(dirname(join(workspace, file)), { recursive: true });
    cpSync(source, join(workspace, file));
  }
  return workspace;
}

/** The faulty release as a real commit in its own checkout, so the run has its own github.sha. */
function faultyCommit(folder: string): { workspace: string; sha: string } {
  const workspace = checkout(folder, "faulty-clone");
  const file = join(workspace, "reference-app/api", brokenEquipmentList.file);
  const before = readFileSync(file, "utf8");
  const after = brokenEquipmentList.edit(before);
  if (after === before) throw new Error(`the faulty change no longer applies to ${brokenEquipmentList.file}`);
  writeFileSync(file, after);
  git(workspace, "add", "-A");
  git(
    workspace,
    "-c",
    "user.name=local pipeline",
    "-c",
    "user.email=local-pipeline@localhost",
    "commit",
    "--quiet",
    "--no-verify",
    "-m",
    "faulty release: GET /api/equipment throws (local pipeline demo)",
  );
  return { workspace, sha: git(workspace, "rev-parse", "HEAD") };
}

async function snapshot(platform: LocalPlatform): Promise<Snapshot> {
  const result = {} as Snapshot;
  for (const environment of environments) {
    result[environment] = {};
    for (const component of components) {
      const name = resourceName(environment, component);
      const service = (
        await platform.clients.ecs.send(new DescribeServicesCommand({ cluster: name, services: [name] }))
      ).services?.[0];
      const definition = await platform.clients.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: service?.taskDefinition, include: ["TAGS"] }),
      );
      result[environment][component] = {
        taskDefinitionArn: String(service?.taskDefinition),
        version: definition.tags?.find((tag) => tag.key === "Version")?.value ?? "(no Version tag)",
      };
    }
  }
  return result;
}

async function deploymentRecords(platform: LocalPlatform): Promise<DeploymentRecord[]> {
  const records: DeploymentRecord[] = [];
  for (const environment of environments)
    for (const component of components) {
      const name = resourceName(environment, component);
      const ids =
        (
          await platform.clients.codeDeploy.send(
            new ListDeploymentsCommand({ applicationName: name, deploymentGroupName: name }),
          )
        ).deployments ?? [];
      if (!ids.length) continue;
      const infos =
        (await platform.clients.codeDeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: ids })))
          .deploymentsInfo ?? [];
      for (const info of infos.sort((a, b) => Number(a.createTime) - Number(b.createTime)))
        records.push({
          environment,
          component,
          deploymentId: String(info.deploymentId),
          status: String(info.status),
          creator: String(info.creator),
          rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId,
          rollbackTriggeringDeploymentId: info.rollbackInfo?.rollbackTriggeringDeploymentId,
          error: info.errorInformation?.message,
        });
    }
  return records;
}

/** Waits until every environment's services answer /health on their production listeners (v0 started). */
async function untilServing(platform: LocalPlatform, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (const environment of environments)
    for (const component of components) {
      const url = `${platform.productionUrl(environment, component)}/health`;
      for (;;) {
        const response = await fetch(url).catch(() => undefined);
        await response?.arrayBuffer();
        if (response?.status === 200) break;
        if (Date.now() > deadline)
          throw new Error(`${resourceName(environment, component)} never answered ${url}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  log(`every service answers on its production listener (v0 ${platform.v0.slice(0, 8)})`);
}

export async function runLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipelineResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const started = Date.now();
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s`;
  const say = (line: string) => print(`${stamp()}  ${line}`);
  const timeScale = options.timeScale ?? 20;
  const loadRate = options.loadRate ?? 20;
  mkdirSync(join(repositoryRoot, ".tmp"), { recursive: true });
  const work = await mkdtemp(join(repositoryRoot, ".tmp", "local-pipeline-"));
  const loads: LoadRun[] = [];
  let platform: LocalPlatform | undefined;
  try {
    say("▶ starting the local AWS side: registry, baseline images, PostgreSQL, broker, simulator");
    // The tasks' own log lines (a faulty release logs every failed request) are shown per task a few at a time.
    const taskLines = new Map<string, number>();
    const platformLog = (line: string) => {
      const task = /^\[([0-9a-f]{32})\/[\w-]+\] /.exec(line)?.[1];
      if (task) {
        const count = (taskLines.get(task) ?? 0) + 1;
        taskLines.set(task, count);
        if (count > 3) {
          if (count === 4) say(`  platform │ [${task}] … further log lines of this task hidden`);
          return;
        }
      }
      say(`  platform │ ${line}`);
    };
    platform = await startLocalPlatform({ timeScale, log: platformLog });
    const ready = platform;
    await untilServing(ready, platformLog);
    const v1 = git(repositoryRoot, "rev-parse", "HEAD");
    const dirty = git(repositoryRoot, "status", "--porcelain").length > 0;
    const network = localNetworkEnv(
      ready.addressMap,
      join(work, "network"),
      process.env.PATH ?? "/usr/bin:/bin",
      process.env.NODE_OPTIONS,
    );
    const baseEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key, value]) => value !== undefined && !key.startsWith("AWS_")),
    ) as Record<string, string>;
    const common = {
      workflowFile: pipelineWorkflow,
      toolkitRoot: repositoryRoot,
      toolkitSha: v1,
      vars: { ECR_REGISTRY: ready.registry, AWS_REGION: ready.awsEnv.AWS_REGION as string },
      secrets: {},
      env: { ...baseEnv, ...network },
      awsEnv: ready.awsEnv,
      inputOverrides: {
        "build-scan-push.yml": {
          sast: { value: false, reason: "semgrep cannot be installed on this machine" },
          "secrets-scan": { value: false, reason: "gitleaks cannot be installed on this machine" },
          "build-args": {
            value: `BASE_IMAGE=${ready.baseImage}`,
            reason: "no public registry here: node:24-slim is a local stand-in image",
          },
        },
        "deploy.yml": {
          "bake-minutes": {
            // The simulator's clock runs timeScale× faster; deploy-ecs bakes on the real clock.
            value: (given: Json | undefined) =>
              given === undefined || Number(given) === 0 ? undefined : Number(given) / timeScale,
            reason: `the same simulated minutes at time scale ${timeScale}: deploy-ecs bakes on the real clock`,
          },
        },
      },
      print,
      startedAt: started,
      signal: options.signal,
    };
    const traffic = () => {
      const runs: Record<string, LoadRun> = {};
      for (const environment of environments) {
        const run = startLoad({
          url: `${ready.productionUrl(environment, "api")}/api/equipment`,
          ratePerSecond: loadRate,
          durationMs: 900_000,
        });
        runs[environment] = run;
        loads.push(run);
      }
      return async () => {
        const summaries: Record<string, LoadSummary> = {};
        for (const [environment, run] of Object.entries(runs)) summaries[environment] = await run.stop();
        return summaries;
      };
    };
    const push = (sha: string, message: string) => ({
      name: "push",
      payload: {
        ref: "refs/heads/main",
        after: sha,
        head_commit: { id: sha, message },
        repository: { full_name: "valmetal/farm-platform" },
      },
    });

    say(`▶ run 1: push of v1 ${v1} (HEAD${dirty ? ", with this clone's uncommitted changes" : ""}) to main`);
    const stopV1Load = traffic();
    const runV1 = await runWorkflow({
      ...common,
      event: push(v1, "v1"),
      workspace: checkout(work, "v1-clone"),
      github: {
        sha: v1,
        ref: "refs/heads/main",
        repository: "valmetal/farm-platform",
        actor: "local",
        run_number: "1",
      },
      outputDir: join(work, "run-1"),
    });
    const loadV1 = await stopV1Load();
    const afterV1 = await snapshot(ready);
    say(`■ run 1: ${runV1.conclusion}`);
    if (options.signal?.aborted) throw new Error("cancelled");

    const faulty = faultyCommit(work);
    say(
      `▶ run 2: push of a faulty release ${faulty.sha} (GET /api/equipment → 500), committed in ${faulty.workspace}`,
    );
    const stopFaultyLoad = traffic();
    const runFaulty = await runWorkflow({
      ...common,
      event: push(faulty.sha, "faulty release"),
      workspace: faulty.workspace,
      github: {
        sha: faulty.sha,
        ref: "refs/heads/main",
        repository: "valmetal/farm-platform",
        actor: "local",
        run_number: "2",
      },
      outputDir: join(work, "run-2"),
    });
    const loadFaulty = await stopFaultyLoad();
    const afterFaulty = await snapshot(ready);
    const deployments = await deploymentRecords(ready);
    say(`■ run 2: ${runFaulty.conclusion}`);

    for (const [title, run] of [
      ["run 1 (v1)", runV1],
      ["run 2 (faulty release)", runFaulty],
    ] as const) {
      print(`\n═══ ${title}: timeline ═══\n${formatTimeline(run.timeline)}`);
      print(`\n═══ ${title}: job summaries ═══`);
      for (const job of run.jobs) if (job.summary.trim()) print(`\n── ${job.name} ──\n${job.summary.trim()}`);
    }
    const describeLoad = (summaries: Record<string, LoadSummary>) =>
      Object.entries(summaries)
        .map(([environment, summary]) => `${environment} ${summary.total} requests, ${summary.failed} failed`)
        .join("; ");
    print("\n═══ what is deployed ═══");
    for (const environment of environments)
      for (const component of components)
        print(
          `${environment.padEnd(8)} ${component.padEnd(4)} after run 1: ${afterV1[environment][component]?.version}  after run 2: ${afterFaulty[environment][component]?.version}`,
        );
    print("\n═══ CodeDeploy deployments ═══");
    for (const record of deployments)
      print(
        `${record.environment.padEnd(8)} ${record.component.padEnd(4)} ${record.deploymentId} ${record.status.padEnd(9)} ${record.creator}${record.rollbackDeploymentId ? ` → rolled back by ${record.rollbackDeploymentId}` : ""}${record.rollbackTriggeringDeploymentId ? ` (rollback of ${record.rollbackTriggeringDeploymentId})` : ""}${record.error ? `: ${record.error}` : ""}`,
      );
    print(`\ntraffic on the api production listeners — run 1: ${describeLoad(loadV1)}`);
    print(`traffic on the api production listeners — run 2: ${describeLoad(loadFaulty)}`);
    const endpoints = ready.endpoints();
    return {
      wallMs: Date.now() - started,
      v0: ready.v0,
      v1,
      faulty: faulty.sha,
      runs: { v1: runV1, faulty: runFaulty },
      afterV1,
      afterFaulty,
      deployments,
      load: { v1: loadV1, faulty: loadFaulty },
      endpoints,
    };
  } finally {
    await Promise.all(loads.map((run) => run.stop()));
    say("▶ stopping everything the run started");
    await platform?.stop();
    rmSync(work, { recursive: true, force: true });
    say("■ stopped");
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  process.on("SIGINT", () => {
    if (controller.signal.aborted) return;
    console.log(
      "\ncancelled: the running step gets SIGINT (a deployment in flight is stopped and rolled back), then everything started is stopped",
    );
    controller.abort();
  });
  try {
    const result = await runLocalPipeline({ signal: controller.signal });
    const ok = result.runs.v1.conclusion === "success";
    console.log(
      `\nlocal pipeline: ${(result.wallMs / 1000).toFixed(0)} s wall time; v1 ${result.v1.slice(0, 8)} ${ok ? "deployed to dev, staging and prod" : `run ${result.runs.v1.conclusion}`}; faulty ${result.faulty.slice(0, 8)} run ${result.runs.faulty.conclusion} (its rollback is listed above)`,
    );
    process.exitCode = ok ? 0 : 1;
  } catch (error) {
    console.error(`local pipeline failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
  // Everything started was stopped above; a timer left behind by a half-started component must not keep us alive.
  process.exit();
}
