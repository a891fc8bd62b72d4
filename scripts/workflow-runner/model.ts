import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Json } from "./expressions.ts";

/** The parts of GitHub's workflow syntax the local runner reads. */

export interface StepSpec {
  id?: string;
  name?: string;
  if?: unknown;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  shell?: string;
  "working-directory"?: string;
  "continue-on-error"?: unknown;
  "timeout-minutes"?: unknown;
}

export interface RunDefaults {
  shell?: string;
  "working-directory"?: string;
}

export interface JobSpec {
  name?: string;
  needs?: string | string[];
  if?: unknown;
  "runs-on"?: unknown;
  environment?: string | { name: string; url?: string };
  strategy?: { matrix?: unknown; "fail-fast"?: unknown; "max-parallel"?: unknown };
  env?: Record<string, unknown>;
  defaults?: { run?: RunDefaults };
  outputs?: Record<string, string>;
  steps?: StepSpec[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | "inherit";
  concurrency?: unknown;
  permissions?: unknown;
  "continue-on-error"?: unknown;
  "timeout-minutes"?: unknown;
}

export interface WorkflowCallInput {
  type?: "string" | "boolean" | "number";
  default?: unknown;
  required?: boolean;
  description?: string;
}

export interface Workflow {
  /** Absolute path of the file. */
  file: string;
  name?: string;
  on: Record<string, unknown>;
  env?: Record<string, unknown>;
  defaults?: { run?: RunDefaults };
  concurrency?: unknown;
  permissions?: unknown;
  jobs: Record<string, JobSpec>;
}

/** `on:` as a map, whatever form the file used (`on: push`, `on: [push, pull_request]`, `on: {push: …}`). */
function triggers(on: unknown): Record<string, unknown> {
  if (typeof on === "string") return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.map((event) => [String(event), null]));
  return (on ?? {}) as Record<string, unknown>;
}

export function loadWorkflow(file: string): Workflow {
  let document: Record<string, unknown>;
  try {
    document = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file}: not a readable workflow: ${(error as Error).message}`);
  }
  if (!document || typeof document !== "object" || !document.jobs || typeof document.jobs !== "object")
    throw new Error(`${file}: a workflow needs a 'jobs' map`);
  // YAML 1.1 readers turn `on` into true; the `yaml` package (1.2) keeps it, but accept both.
  const on = triggers(document.on ?? document.true);
  return { ...(document as Omit<Workflow, "file" | "on">), file, on };
}

export function workflowCallInputs(workflow: Workflow): Record<string, WorkflowCallInput> {
  const call = workflow.on.workflow_call as { inputs?: Record<string, WorkflowCallInput> } | null;
  return call?.inputs ?? {};
}

export function workflowCallOutputs(workflow: Workflow): Record<string, { value: string }> {
  const call = workflow.on.workflow_call as { outputs?: Record<string, { value: string }> } | null;
  return call?.outputs ?? {};
}

export function needsOf(job: JobSpec): string[] {
  if (job.needs === undefined) return [];
  return Array.isArray(job.needs) ? job.needs.map(String) : [String(job.needs)];
}

/** Job ids in an order where every job comes after its needs; an unknown need or a cycle is an error. */
export function jobOrder(workflow: Workflow): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting")
      throw new Error(`${workflow.file}: jobs need each other in a cycle: ${[...path, id].join(" → ")}`);
    const job = workflow.jobs[id];
    if (!job) throw new Error(`${workflow.file}: job '${path.at(-1)}' needs '${id}', which is not a job`);
    state.set(id, "visiting");
    for (const need of needsOf(job)) visit(need, [...path, id]);
    state.set(id, "done");
    order.push(id);
  };
  for (const id of Object.keys(workflow.jobs)) visit(id, []);
  return order;
}

const matches = (combination: Record<string, Json>, entry: Record<string, Json>) =>
  Object.entries(entry).every(
    ([key, value]) => !(key in combination) || JSON.stringify(combination[key]) === JSON.stringify(value),
  );

/**
 * `strategy.matrix` expanded as GitHub does: the cartesian product of the keys, minus `exclude`, then each
 * `include` entry extends the combinations whose original values it matches without overwriting them, or is
 * added as a combination of its own. An evaluated empty matrix means one job without a matrix.
 */
export function expandMatrix(matrix: Json): Array<Record<string, Json>> {
  if (matrix === null || matrix === undefined) return [];
  if (typeof matrix !== "object" || Array.isArray(matrix))
    throw new Error(`strategy.matrix must be a map, got ${JSON.stringify(matrix)}`);
  const { include, exclude, ...axes } = matrix;
  let combinations: Array<Record<string, Json>> = [{}];
  for (const [key, values] of Object.entries(axes)) {
    if (!Array.isArray(values))
      throw new Error(`strategy.matrix.${key} must be a list, got ${JSON.stringify(values)}`);
    combinations = combinations.flatMap((combination) =>
      values.map((value) => ({ ...combination, [key]: value })),
    );
  }
  if (Object.keys(axes).length === 0) combinations = [];
  for (const entry of (exclude as Array<Record<string, Json>> | undefined) ?? [])
    combinations = combinations.filter(
      (combination) => !Object.entries(entry).every(([key, value]) => matches(combination, { [key]: value })),
    );
  const originalKeys = Object.keys(axes);
  for (const entry of (include as Array<Record<string, Json>> | undefined) ?? []) {
    const original = Object.fromEntries(Object.entries(entry).filter(([key]) => originalKeys.includes(key)));
    let extended = false;
    combinations = combinations.map((combination) => {
      if (!originalKeys.length || !matches(combination, original)) return combination;
      extended = true;
      const added = Object.fromEntries(Object.entries(entry).filter(([key]) => !originalKeys.includes(key)));
      return { ...combination, ...added };
    });
    if (!extended) combinations.push({ ...entry });
  }
  return combinations;
}

/** Where a reusable workflow `uses:` points, in this repository. */
export function resolveWorkflowUses(
  uses: string,
  workspace: string,
  toolkitRoot: string,
  toolkitRepo: string,
) {
  if (uses.startsWith("./")) return resolve(workspace, uses);
  const match = /^([^/@]+\/[^/@]+)\/(\.github\/workflows\/[^@]+)@(.+)$/.exec(uses);
  if (match && match[1]?.toLowerCase() === toolkitRepo.toLowerCase())
    return join(toolkitRoot, match[2] as string);
  throw new Error(
    `reusable workflow '${uses}' is not in this repository (./.github/workflows/… or ${toolkitRepo}/.github/workflows/…@ref): the local runner has no copy of it`,
  );
}

/** Where a step's `uses:` action of this toolkit lives, or undefined for a third-party action. */
export function resolveToolkitAction(
  uses: string,
  workspace: string,
  toolkitRoot: string,
  toolkitRepo: string,
): string | undefined {
  if (uses.startsWith("./") || isAbsolute(uses)) {
    const folder = resolve(workspace, uses);
    if (!existsSync(join(folder, "action.yml")))
      throw new Error(`step uses '${uses}' but ${folder}/action.yml does not exist`);
    return folder;
  }
  const match = /^([^/@]+\/[^/@]+)(\/[^@]*)?@(.+)$/.exec(uses);
  if (!match || match[1]?.toLowerCase() !== toolkitRepo.toLowerCase()) return undefined;
  const folder = join(toolkitRoot, match[2] ?? "");
  if (!existsSync(join(folder, "action.yml")))
    throw new Error(
      `step uses '${uses}' but this toolkit has no ${relative(toolkitRoot, folder) || "."}/action.yml`,
    );
  return folder;
}
