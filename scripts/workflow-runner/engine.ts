import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { repositoryRoot } from "../../test/support/run-action.ts";
import {
  type ExpressionScope,
  evaluateCondition,
  interpolate,
  interpolateString,
  type Json,
  type StatusScope,
} from "./expressions.ts";
import {
  expandMatrix,
  type JobSpec,
  jobOrder,
  loadWorkflow,
  needsOf,
  resolveWorkflowUses,
  type Workflow,
  workflowCallInputs,
  workflowCallOutputs,
} from "./model.ts";
import type { Annotation } from "./process.ts";
import { type Conclusion, createProgress, type Progress, type TimelineEntry } from "./progress.ts";
import { runStep, type StepRunResult, stepDisplayName } from "./steps.ts";

/**
 * A local runner for GitHub Actions workflows: the event picks the workflow's triggers, jobs run one at a time in
 * `needs` order (matrix combinations one after another), reusable workflows are called with their inputs, secrets
 * and outputs, and every step runs as the GitHub runner runs it (see steps.ts). What differs from GitHub is said in
 * docs/local-pipeline.md.
 */

export interface RunWorkflowOptions {
  workflowFile: string;
  /** The event that triggered the run (`push`, `pull_request`, `workflow_dispatch`) and its payload. */
  event: { name: string; payload?: Record<string, Json> };
  /** The checkout (github.workspace): this clone, or a throwaway clone holding another commit. */
  workspace: string;
  /** This toolkit (where `org/toolkit/...@ref` resolves). Default: this repository. */
  toolkitRoot?: string;
  /** The name workflows use for the toolkit in `uses:`. Default `org/toolkit`. */
  toolkitRepo?: string;
  /** github context values: sha, ref, repository, actor … (others get local defaults). */
  github?: Record<string, Json>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** workflow_dispatch inputs. */
  inputs?: Record<string, Json>;
  /** Base process environment of every step (default: this process's). */
  env?: Record<string, string>;
  /** What aws-actions/configure-aws-credentials exports locally. */
  awsEnv?: Record<string, string>;
  /** Where uploads, step files and the event payload go. */
  outputDir: string;
  /**
   * Inputs forced on called workflows, by file name (`build-scan-push.yml`): what the local run cannot do as
   * GitHub does (e.g. semgrep cannot be installed here), printed at each call with its reason.
   */
  inputOverrides?: Record<string, Record<string, InputOverride>>;
  /** job.workflow_sha of the toolkit's workflows (default github.sha). */
  toolkitSha?: string;
  /** Epoch ms the printed elapsed times count from (default: the start of this run). */
  startedAt?: number;
  /** Each progress line (default console.log). */
  print?: (line: string) => void;
  signal?: AbortSignal;
}

/** A value, or a function of the value the caller gave (undefined when it gave none; undefined keeps it). */
export interface InputOverride {
  value: Json | ((given: Json | undefined) => Json | undefined);
  reason: string;
}

export interface JobRecord {
  /** Display name: `build (api)`, `deploy-prod / deploy`. */
  name: string;
  conclusion: Conclusion;
  outputs: Record<string, string>;
  summary: string;
  environment?: string;
  annotations: Annotation[];
  /** step id (or name) → outcome and outputs. */
  steps: Record<string, { outcome: Conclusion; conclusion: Conclusion; outputs: Record<string, string> }>;
}

export interface WorkflowRun {
  conclusion: Conclusion;
  outputs: Record<string, string>;
  /** Every job that ran or was skipped, in order, with those of called workflows. */
  jobs: JobRecord[];
  timeline: TimelineEntry[];
}

interface RunState {
  options: RunWorkflowOptions;
  progress: Progress;
  jobs: JobRecord[];
  toolkitRoot: string;
  toolkitRepo: string;
  masks: string[];
  base: Record<string, string>;
  stepCounter: number;
}

interface CallFrame {
  workflow: Workflow;
  inputs: Record<string, Json>;
  secrets: Record<string, string>;
  /** Prefix of job display names (`deploy-dev / `). */
  prefix: string;
  /** A workflow of the toolkit (job.workflow_repository is the toolkit's). */
  fromToolkit?: boolean;
}

interface JobResult {
  result: Conclusion;
  outputs: Record<string, string>;
}

const cancelled = (state: RunState) => state.options.signal?.aborted ?? false;

function githubContext(state: RunState, workflow: Workflow, job: string): Record<string, Json> {
  const { options } = state;
  const ref = String(options.github?.ref ?? "refs/heads/main");
  const repository = String(options.github?.repository ?? "valmetal/farm-platform");
  return {
    sha: "0000000000000000000000000000000000000000",
    ref,
    ref_name: ref.replace(/^refs\/(heads|tags)\//, ""),
    ref_type: ref.startsWith("refs/tags/") ? "tag" : "branch",
    event_name: options.event.name,
    event: options.event.payload ?? {},
    repository,
    repository_owner: repository.split("/")[0] ?? "",
    actor: "local",
    triggering_actor: "local",
    workspace: options.workspace,
    run_id: "1",
    run_number: "1",
    run_attempt: "1",
    server_url: "https://github.com",
    api_url: "https://api.github.com",
    graphql_url: "https://api.github.com/graphql",
    workflow: workflow.name ?? workflow.file,
    job,
    action: "",
    head_ref: "",
    base_ref: "",
    token: "local-run-token",
    retention_days: "0",
    ...(options.github ?? {}),
  };
}

function processEnvironment(state: RunState, github: Record<string, Json>): Record<string, string> {
  const text = (value: Json | undefined) => (value === null || value === undefined ? "" : String(value));
  return {
    ...state.base,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_SHA: text(github.sha),
    GITHUB_REF: text(github.ref),
    GITHUB_REF_NAME: text(github.ref_name),
    GITHUB_REF_TYPE: text(github.ref_type),
    GITHUB_EVENT_NAME: text(github.event_name),
    GITHUB_EVENT_PATH: join(state.options.outputDir, "event.json"),
    GITHUB_REPOSITORY: text(github.repository),
    GITHUB_REPOSITORY_OWNER: text(github.repository_owner),
    GITHUB_ACTOR: text(github.actor),
    GITHUB_WORKSPACE: state.options.workspace,
    GITHUB_RUN_ID: text(github.run_id),
    GITHUB_RUN_NUMBER: text(github.run_number),
    GITHUB_RUN_ATTEMPT: text(github.run_attempt),
    GITHUB_SERVER_URL: text(github.server_url),
    GITHUB_API_URL: text(github.api_url),
    GITHUB_WORKFLOW: text(github.workflow),
    GITHUB_JOB: text(github.job),
    GITHUB_HEAD_REF: text(github.head_ref),
    GITHUB_BASE_REF: text(github.base_ref),
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_NAME: "local",
    RUNNER_TEMP: join(state.options.outputDir, "runner-temp"),
  };
}

/** The job's `needs` as the needs context, and the status its `if:` sees. */
function needsScope(spec: JobSpec, results: Map<string, JobResult>) {
  const needs: Record<string, Json> = {};
  let success = true;
  let failure = false;
  for (const need of needsOf(spec)) {
    const result = results.get(need) as JobResult;
    needs[need] = { result: result.result, outputs: result.outputs };
    if (result.result !== "success") success = false;
    if (result.result === "failure" || result.result === "cancelled") failure = true;
  }
  return { needs, success, failure };
}

function matrixLabel(combination: Record<string, Json>): string {
  return Object.values(combination)
    .map((value) => (typeof value === "object" ? JSON.stringify(value) : String(value)))
    .join(", ");
}

async function runWorkflowFrame(
  state: RunState,
  frame: CallFrame,
): Promise<{ result: Conclusion; jobs: Map<string, JobResult> }> {
  const { workflow } = frame;
  const results = new Map<string, JobResult>();
  if (workflow.concurrency !== undefined && frame.prefix === "")
    state.progress.note(workflow.name ?? "workflow", "concurrency ignored (one local run at a time)");
  for (const id of jobOrder(workflow)) {
    const spec = workflow.jobs[id] as JobSpec;
    results.set(id, await runJob(state, frame, id, spec, results));
  }
  const all = [...results.values()].map((result) => result.result);
  const result: Conclusion = all.includes("cancelled")
    ? "cancelled"
    : all.includes("failure")
      ? "failure"
      : "success";
  return { result, jobs: results };
}

async function runJob(
  state: RunState,
  frame: CallFrame,
  id: string,
  spec: JobSpec,
  results: Map<string, JobResult>,
): Promise<JobResult> {
  const { needs, success, failure } = needsScope(spec, results);
  const github = githubContext(state, frame.workflow, id);
  const contexts: Record<string, Json> = {
    github,
    needs,
    vars: state.options.vars ?? {},
    inputs: frame.inputs,
    secrets: frame.secrets,
    env: {},
  };
  const status: StatusScope = { success, failure, cancelled: cancelled(state) };
  const scope: ExpressionScope = { contexts, status, workspace: state.options.workspace };
  const baseName = `${frame.prefix}${spec.name !== undefined && !String(spec.name).includes("matrix.") ? interpolateString(spec.name, scope) : id}`;
  const startMs = state.progress.now();
  const skip = (note: string, conclusion: Conclusion = "skipped"): JobResult => {
    state.progress.jobEnded({ job: baseName, conclusion, startMs, endMs: state.progress.now(), note });
    state.jobs.push({ name: baseName, conclusion, outputs: {}, summary: "", annotations: [], steps: {} });
    return { result: conclusion, outputs: {} };
  };
  let run: boolean;
  try {
    run = evaluateCondition(spec.if, scope);
  } catch (error) {
    return skip(`if: ${(error as Error).message}`, "failure");
  }
  if (!run) return skip(`if: ${spec.if ?? "success()"} is false`, cancelled(state) ? "cancelled" : "skipped");

  const matrixSpec = spec.strategy?.matrix;
  const combinations = matrixSpec === undefined ? [] : expandMatrix(interpolate(matrixSpec, scope));
  const instances = combinations.length ? combinations : [undefined];
  const failFast =
    spec.strategy?.["fail-fast"] === undefined
      ? true
      : interpolate(spec.strategy["fail-fast"], scope) !== false;
  const outputs: Record<string, string> = {};
  const conclusions: Conclusion[] = [];
  for (const [index, matrix] of instances.entries()) {
    const instanceContexts: Record<string, Json> = {
      ...contexts,
      matrix: matrix ?? {},
      strategy: {
        "fail-fast": failFast,
        "job-index": index,
        "job-total": instances.length,
        "max-parallel": 1,
      },
    };
    const instanceScope: ExpressionScope = { ...scope, contexts: instanceContexts };
    const name =
      spec.name !== undefined && String(spec.name).includes("matrix.")
        ? `${frame.prefix}${interpolateString(spec.name, instanceScope)}`
        : matrix
          ? `${baseName} (${matrixLabel(matrix)})`
          : baseName;
    if (cancelled(state)) {
      const now = state.progress.now();
      state.progress.jobEnded({
        job: name,
        conclusion: "cancelled",
        startMs: now,
        endMs: now,
        note: "the run was cancelled",
      });
      conclusions.push("cancelled");
      continue;
    }
    if (failFast && conclusions.includes("failure")) {
      state.progress.jobEnded({
        job: name,
        conclusion: "cancelled",
        startMs: state.progress.now(),
        endMs: state.progress.now(),
        note: "fail-fast: another matrix job failed",
      });
      conclusions.push("cancelled");
      continue;
    }
    const instance = spec.uses
      ? await runCalledWorkflow(state, spec, name, instanceScope)
      : await runStepsJob(state, frame, id, spec, name, instanceScope);
    Object.assign(outputs, instance.outputs);
    conclusions.push(instance.result);
  }
  const result: Conclusion = conclusions.includes("cancelled")
    ? "cancelled"
    : conclusions.includes("failure")
      ? "failure"
      : "success";
  return { result, outputs };
}

async function runCalledWorkflow(
  state: RunState,
  spec: JobSpec,
  name: string,
  scope: ExpressionScope,
): Promise<JobResult> {
  const startMs = state.progress.now();
  let workflow: Workflow;
  let inputs: Record<string, Json>;
  let secrets: Record<string, string>;
  try {
    const file = resolveWorkflowUses(
      interpolateString(spec.uses, scope),
      state.options.workspace,
      state.toolkitRoot,
      state.toolkitRepo,
    );
    workflow = loadWorkflow(file);
    if (!("workflow_call" in workflow.on))
      throw new Error(`${file} has no 'on: workflow_call' trigger: it cannot be called`);
    const overrides = state.options.inputOverrides?.[basename(file)] ?? {};
    const given = (interpolate(spec.with ?? {}, scope) ?? {}) as Record<string, Json>;
    inputs = {};
    const declared = workflowCallInputs(workflow);
    const unknown = Object.keys(given).filter((key) => !(key in declared));
    if (unknown.length)
      throw new Error(
        `${spec.uses}: unknown input(s) ${unknown.join(", ")}; it declares ${Object.keys(declared).join(", ")}`,
      );
    for (const [key, input] of Object.entries(declared)) {
      const value =
        key in given
          ? given[key]
          : input.default === undefined
            ? undefined
            : interpolate(input.default, scope);
      if (value === undefined) {
        if (input.required) throw new Error(`${spec.uses}: required input '${key}' not given`);
        inputs[key] = input.type === "boolean" ? false : input.type === "number" ? 0 : "";
        continue;
      }
      inputs[key] =
        input.type === "boolean"
          ? value === true || value === "true"
          : input.type === "number"
            ? Number(value)
            : (value as Json);
    }
    for (const [key, override] of Object.entries(overrides)) {
      const value = typeof override.value === "function" ? override.value(given[key]) : override.value;
      if (value === undefined) continue;
      inputs[key] = value;
      state.progress.note(name, `local override: ${key}=${JSON.stringify(value)} (${override.reason})`);
    }
    secrets =
      spec.secrets === "inherit"
        ? { ...(scope.contexts.secrets as Record<string, string>) }
        : Object.fromEntries(
            Object.entries(spec.secrets ?? {}).map(([key, value]) => [key, interpolateString(value, scope)]),
          );
  } catch (error) {
    const note = (error as Error).message;
    state.progress.jobEnded({ job: name, conclusion: "failure", startMs, endMs: state.progress.now(), note });
    state.jobs.push({
      name,
      conclusion: "failure",
      outputs: {},
      summary: "",
      annotations: [{ level: "error", message: note }],
      steps: {},
    });
    return { result: "failure", outputs: {} };
  }
  state.progress.jobStarted(name, `calls ${spec.uses}`);
  const called = await runWorkflowFrame(state, {
    workflow,
    inputs,
    secrets,
    prefix: `${name} / `,
    fromToolkit: workflow.file.startsWith(state.toolkitRoot),
  });
  const jobs: Record<string, Json> = Object.fromEntries(
    [...called.jobs.entries()].map(([id, job]) => [id, { result: job.result, outputs: job.outputs }]),
  );
  const outputScope: ExpressionScope = { ...scope, contexts: { ...scope.contexts, jobs, inputs } };
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(workflowCallOutputs(workflow)))
    outputs[key] = interpolateString(output.value, outputScope);
  state.progress.jobEnded({
    job: name,
    conclusion: called.result,
    startMs,
    endMs: state.progress.now(),
    note: Object.keys(outputs).length ? `outputs ${Object.keys(outputs).join(", ")}` : undefined,
  });
  return { result: called.result, outputs };
}

function envValues(
  values: Record<string, unknown> | undefined,
  scope: ExpressionScope,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    env[key] = interpolateString(value, {
      ...scope,
      contexts: { ...scope.contexts, env: { ...(scope.contexts.env as object), ...env } },
    });
  }
  return env;
}

async function runStepsJob(
  state: RunState,
  frame: CallFrame,
  id: string,
  spec: JobSpec,
  name: string,
  scope: ExpressionScope,
): Promise<JobResult> {
  const startMs = state.progress.now();
  const github: Record<string, Json> = { ...(scope.contexts.github as Record<string, Json>), job: id };
  const record: JobRecord = {
    name,
    conclusion: "success",
    outputs: {},
    summary: "",
    annotations: [],
    steps: {},
  };
  const notes: string[] = [];
  let environmentName: string | undefined;
  try {
    if (spec.environment !== undefined) {
      const environment = interpolate(spec.environment, scope);
      environmentName =
        typeof environment === "string" ? environment : String((environment as { name?: Json })?.name ?? "");
      record.environment = environmentName;
      notes.push(`environment ${environmentName}: approval: auto (local run)`);
    }
  } catch (error) {
    record.conclusion = "failure";
    record.annotations.push({ level: "error", message: (error as Error).message });
  }
  state.progress.jobStarted(name, notes.join("; ") || undefined);
  if (spec.concurrency !== undefined)
    state.progress.note(name, "concurrency ignored (one local run at a time)");

  // env: workflow, then job; GITHUB_ENV additions on top for later steps.
  let jobEnv: Record<string, string> = {};
  try {
    const workflowEnv = envValues(frame.workflow.env, scope);
    jobEnv = {
      ...workflowEnv,
      ...envValues(spec.env, { ...scope, contexts: { ...scope.contexts, env: workflowEnv } }),
    };
  } catch (error) {
    record.conclusion = "failure";
    record.annotations.push({ level: "error", message: (error as Error).message });
  }
  const defaults = { ...(frame.workflow.defaults?.run ?? {}), ...(spec.defaults?.run ?? {}) };
  const stepsContext: Record<string, Json> = {};
  const posts: NonNullable<StepRunResult["post"]>[] = [];
  const paths: string[] = [];
  const aliases: Record<string, string> = {};
  let failed = record.conclusion === "failure";
  // Each job has its own runner (RUNNER_TEMP), as on GitHub.
  const tempRoot = join(
    state.options.outputDir,
    "runner-temp",
    `${++state.stepCounter}-${name.replace(/[^\w.-]+/g, "-")}`,
  );
  mkdirSync(tempRoot, { recursive: true });
  const processEnv = () => {
    const env: Record<string, string> = {
      ...processEnvironment(state, github),
      RUNNER_TEMP: tempRoot,
      ...jobEnv,
    };
    if (paths.length) env.PATH = [...paths, env.PATH ?? ""].join(":");
    return env;
  };
  const stepScope = (extraEnv: Record<string, string> = {}): ExpressionScope => ({
    ...scope,
    contexts: {
      ...scope.contexts,
      github,
      env: { ...jobEnv, ...extraEnv },
      steps: stepsContext,
      job: {
        status: failed ? "failure" : "success",
        workflow_repository: frame.fromToolkit ? state.toolkitRepo : String(github.repository),
        workflow_sha: frame.fromToolkit
          ? (state.options.toolkitSha ?? String(github.sha))
          : String(github.sha),
        workflow_file_path: relative(
          frame.fromToolkit ? state.toolkitRoot : state.options.workspace,
          frame.workflow.file,
        ),
      },
      runner: { os: "Linux", arch: "X64", name: "local", temp: tempRoot },
    },
    status: { success: !failed, failure: failed, cancelled: cancelled(state) },
  });

  const runOne = async (title: string, execute: () => Promise<StepRunResult>, continueOnError: boolean) => {
    const stepStart = state.progress.now();
    state.progress.stepStarted(name, title);
    let result: StepRunResult;
    try {
      result = await execute();
    } catch (error) {
      const message = (error as Error).message;
      state.progress.line(name, `error: ${message}`);
      result = {
        exitCode: 1,
        outputs: {},
        env: {},
        path: [],
        summary: "",
        annotations: [{ level: "error", message }],
      };
    }
    const outcome: Conclusion =
      cancelled(state) && result.exitCode !== 0 ? "cancelled" : result.exitCode === 0 ? "success" : "failure";
    const errors = result.annotations.filter((annotation) => annotation.level === "error");
    state.progress.stepEnded({
      job: name,
      step: title,
      conclusion: outcome === "failure" && continueOnError ? "success" : outcome,
      startMs: stepStart,
      endMs: state.progress.now(),
      note:
        outcome === "failure"
          ? (errors.at(-1)?.message ?? `exit code ${result.exitCode}`) +
            (continueOnError ? " (continue-on-error)" : "")
          : undefined,
    });
    record.annotations.push(...result.annotations);
    if (result.summary)
      record.summary += result.summary.endsWith("\n") ? result.summary : `${result.summary}\n`;
    Object.assign(jobEnv, result.env);
    Object.assign(aliases, result.aliases ?? {});
    paths.unshift(...result.path.reverse());
    return { result, outcome };
  };

  for (const [index, step] of (spec.steps ?? []).entries()) {
    const key = step.id ?? `__step${index}`;
    let title = `step ${index + 1}`;
    let run = false;
    let stepEnv: Record<string, string> = {};
    try {
      title = stepDisplayName(step, index, stepScope());
      stepEnv = envValues(step.env, stepScope());
      run = evaluateCondition(step.if, stepScope(stepEnv));
    } catch (error) {
      state.progress.line(name, `error: ${(error as Error).message}`);
      record.annotations.push({ level: "error", message: (error as Error).message });
      failed = true;
      stepsContext[key] = { outcome: "failure", conclusion: "failure", outputs: {} };
      continue;
    }
    if (!run) {
      const now = state.progress.now();
      state.progress.stepEnded({ job: name, step: title, conclusion: "skipped", startMs: now, endMs: now });
      stepsContext[key] = { outcome: "skipped", conclusion: "skipped", outputs: {} };
      record.steps[step.id ?? title] = { outcome: "skipped", conclusion: "skipped", outputs: {} };
      continue;
    }
    const continueOnError =
      step["continue-on-error"] !== undefined && interpolate(step["continue-on-error"], stepScope()) === true;
    const scopeForStep = stepScope(stepEnv);
    const { result, outcome } = await runOne(
      title,
      () =>
        runStep(step, scopeForStep, {
          workspace: state.options.workspace,
          toolkitRoot: state.toolkitRoot,
          toolkitRepo: state.toolkitRepo,
          env: { ...processEnv(), ...stepEnv },
          defaults,
          aliases,
          masks: state.masks,
          tempRoot,
          equivalent: {
            outputDir: state.options.outputDir,
            awsEnv: state.options.awsEnv ?? {},
            toolkitRepo: state.toolkitRepo,
          },
          onLine: (line) => state.progress.line(name, line),
          // A step that starts after the cancellation (`if: always()`, `cancelled()`) runs to its end, as on GitHub.
          signal: cancelled(state) ? undefined : state.options.signal,
        }),
      continueOnError,
    );
    if (result.post) posts.unshift(result.post);
    const conclusion: Conclusion = outcome === "failure" && continueOnError ? "success" : outcome;
    stepsContext[key] = { outcome, conclusion, outputs: result.outputs };
    record.steps[step.id ?? title] = { outcome, conclusion, outputs: result.outputs };
    if (conclusion !== "success") failed = true;
  }
  for (const post of posts) {
    if (!evaluateCondition(post.condition, stepScope())) continue;
    await runOne(`${post.name} (${post.condition})`, async () => ({ ...(await post.run()), path: [] }), true);
  }

  const outputScope = stepScope();
  for (const [key, value] of Object.entries(spec.outputs ?? {})) {
    try {
      record.outputs[key] = interpolateString(value, outputScope);
    } catch (error) {
      record.annotations.push({ level: "error", message: `output ${key}: ${(error as Error).message}` });
    }
  }
  record.conclusion = cancelled(state) ? "cancelled" : failed ? "failure" : "success";
  state.progress.jobEnded({
    job: name,
    conclusion: record.conclusion,
    startMs,
    endMs: state.progress.now(),
    note: environmentName ? `environment ${environmentName}` : undefined,
  });
  state.jobs.push(record);
  return { result: record.conclusion, outputs: record.outputs };
}

/** Runs a workflow file for an event, as GitHub would on that trigger. */
export async function runWorkflow(options: RunWorkflowOptions): Promise<WorkflowRun> {
  const workflow = loadWorkflow(options.workflowFile);
  if (!(options.event.name in workflow.on))
    throw new Error(
      `${options.workflowFile} does not run on '${options.event.name}' (its triggers: ${Object.keys(workflow.on).join(", ")})`,
    );
  mkdirSync(options.outputDir, { recursive: true });
  writeFileSync(join(options.outputDir, "event.json"), JSON.stringify(options.event.payload ?? {}));
  const state: RunState = {
    options,
    progress: createProgress(options.print ?? ((line) => console.log(line)), Date.now, options.startedAt),
    jobs: [],
    toolkitRoot: options.toolkitRoot ?? repositoryRoot,
    toolkitRepo: options.toolkitRepo ?? "org/toolkit",
    masks: Object.values(options.secrets ?? {}).filter((secret) => secret.length > 2),
    base:
      options.env ??
      (Object.fromEntries(Object.entries(process.env).filter(([, value]) => value !== undefined)) as Record<
        string,
        string
      >),
    stepCounter: 0,
  };
  const dispatchInputs = options.inputs ?? {};
  const result = await runWorkflowFrame(state, {
    workflow,
    inputs: dispatchInputs,
    secrets: options.secrets ?? {},
    prefix: "",
  });
  const outputs: Record<string, string> = {};
  for (const [id, job] of result.jobs)
    for (const [key, value] of Object.entries(job.outputs)) outputs[`${id}.${key}`] = value;
  return { conclusion: result.result, outputs, jobs: state.jobs, timeline: state.progress.timeline() };
}
