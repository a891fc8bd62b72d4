// Checks of workflow files that GitHub's parser does not make: that every step using one of this toolkit's actions
// passes inputs its action.yml declares (and all the required ones) and reads outputs it declares; that every call
// of a reusable workflow passes declared inputs and secrets of the right type, grants the permissions its jobs ask
// for and reads outputs it declares; that every third-party action is pinned by commit SHA with a version comment;
// and that no `${{ }}` of untrusted input (inputs, github.event, head_ref) is expanded inside a `run:` script.
// Used by scripts/workflows.test.ts; plain YAML and @actions/expressions, so it also loads outside vitest.
import { Lexer, Parser } from "@actions/expressions";
import type { Expr } from "@actions/expressions/ast";
import { parse as parseYaml } from "yaml";

/** The placeholder owner/name of this repository in `uses:` (README: `org/toolkit/actions/<name>@v1`). */
export const TOOLKIT_REPOSITORY = "org/toolkit";

export interface ActionMetadata {
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown } | null>;
  outputs?: Record<string, { description?: string } | null>;
  runs?: { using?: string; main?: string; post?: string };
}

export interface CallableWorkflow {
  on?: {
    workflow_call?: {
      inputs?: Record<string, { type?: string; required?: boolean; default?: unknown }>;
      secrets?: Record<string, { required?: boolean } | null>;
      outputs?: Record<string, unknown>;
    } | null;
  };
  permissions?: Permissions;
  jobs?: Record<string, Job>;
}

type Permissions = string | Record<string, string> | undefined;

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | "inherit";
  permissions?: Permissions;
  steps?: Step[];
  [key: string]: unknown;
}

/** How a `uses:` resolves: one of this toolkit's actions or workflows, a third-party reference, or unknown. */
export type UsesTarget =
  | { kind: "toolkit-action"; action: string }
  | { kind: "toolkit-workflow"; file: string }
  | { kind: "third-party"; pinned: boolean }
  | { kind: "docker" }
  | { kind: "unknown-local" };

/** Resolves `uses:` values: `./actions/x`, `./.toolkit/actions/x` (the toolkit checked out at the workflow's own
 * commit), `org/toolkit/actions/x@ref`, `./` or `org/toolkit@ref` (root action), `./.github/workflows/x.yml`,
 * `org/toolkit/.github/workflows/x.yml@ref`; anything else with `@` is third party. */
export function resolveUses(uses: string): UsesTarget {
  if (uses.startsWith("docker://")) return { kind: "docker" };
  const local = /^\.\/(?:\.toolkit\/)?(?:actions\/([a-z0-9-]+))?\/?$/.exec(uses);
  if (local) return { kind: "toolkit-action", action: local[1] ?? "" };
  const localWorkflow = /^\.\/\.github\/workflows\/([^/@]+\.ya?ml)$/.exec(uses);
  if (localWorkflow) return { kind: "toolkit-workflow", file: localWorkflow[1] as string };
  if (uses.startsWith("./")) return { kind: "unknown-local" };
  const [path = "", ref = ""] = uses.split("@");
  if (path === TOOLKIT_REPOSITORY) return { kind: "toolkit-action", action: "" };
  if (path.startsWith(`${TOOLKIT_REPOSITORY}/actions/`))
    return { kind: "toolkit-action", action: path.slice(`${TOOLKIT_REPOSITORY}/actions/`.length) };
  if (path.startsWith(`${TOOLKIT_REPOSITORY}/.github/workflows/`))
    return { kind: "toolkit-workflow", file: path.slice(`${TOOLKIT_REPOSITORY}/.github/workflows/`.length) };
  return { kind: "third-party", pinned: /^[0-9a-f]{40}$/.test(ref) };
}

/** The `${{ … }}` expressions of a string, in order. String literals ('…', with '' escapes) may hold `}}`. */
export function expressionsIn(text: string): string[] {
  const found: string[] = [];
  let start = text.indexOf("${{");
  while (start >= 0) {
    let index = start + 3;
    let inString = false;
    for (; index < text.length; index++) {
      if (text[index] === "'") inString = !inString;
      else if (!inString && text.startsWith("}}", index)) break;
    }
    found.push(text.slice(start + 3, index).trim());
    start = text.indexOf("${{", index + 2);
  }
  return found;
}

const CONTEXTS = [
  "github",
  "inputs",
  "vars",
  "needs",
  "strategy",
  "matrix",
  "secrets",
  "steps",
  "job",
  "runner",
  "env",
];
const FUNCTIONS = ["success", "failure", "always", "cancelled", "hashFiles"].map((name) => ({
  name,
  minArgs: 0,
  maxArgs: 255,
}));

/** Every context path an expression reads, as dotted names (`github.event.pull_request.title`, `inputs.x`), parsed
 * with GitHub's expression library, so `github['head_ref']` is `github.head_ref` too. */
export function contextPaths(expression: string): string[] {
  const lexed = new Lexer(expression).lex();
  const tree = new Parser(lexed.tokens, CONTEXTS, FUNCTIONS).parse();
  const paths: string[] = [];
  const pathOf = (node: Expr): string | undefined => {
    const n = node as unknown as Record<string, unknown>;
    if (n.name && typeof n.name === "object" && !("args" in n))
      return String((n.name as { lexeme: string }).lexeme);
    if (n.expr && n.index) {
      const base = pathOf(n.expr as Expr);
      const index = n.index as { literal?: { value?: unknown } };
      const key = index.literal?.value;
      if (base === undefined) return undefined;
      return typeof key === "string" || typeof key === "number" ? `${base}.${key}` : `${base}.*`;
    }
    return undefined;
  };
  const visit = (node: Expr | undefined, parentIsAccess: boolean): void => {
    if (!node) return;
    const n = node as unknown as Record<string, unknown>;
    const isAccess = Boolean((n.expr && n.index) || (n.name && typeof n.name === "object" && !("args" in n)));
    if (isAccess && !parentIsAccess) {
      const path = pathOf(node);
      if (path) paths.push(path);
    }
    if (n.expr && n.index) {
      visit(n.expr as Expr, true);
      visit(n.index as Expr, false);
      return;
    }
    for (const child of [n.expr, n.left, n.right, n.group, ...((n.args as Expr[] | undefined) ?? [])])
      if (child && typeof child === "object") visit(child as Expr, false);
  };
  visit(tree, false);
  return paths.map((path) => path.toLowerCase());
}

/** Context paths whose values an outsider (or a caller) controls: never expanded into a shell script. */
export function isUntrusted(path: string): boolean {
  return (
    path === "inputs" ||
    path.startsWith("inputs.") ||
    path === "github.event" ||
    path.startsWith("github.event.") ||
    path === "github.head_ref" ||
    path.startsWith("github.head_ref.")
  );
}

/** The untrusted paths a `run:` script expands with `${{ }}` (pass them through `env:` instead). */
export function untrustedInRun(script: string): string[] {
  return expressionsIn(script).flatMap((expression) => contextPaths(expression).filter(isUntrusted));
}

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };
const SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
];

function permissionLevels(permissions: Permissions): Record<string, number> | undefined {
  if (permissions === undefined) return undefined;
  if (permissions === "read-all" || permissions === "write-all") {
    const level = permissions === "read-all" ? 1 : 2;
    return Object.fromEntries(
      SCOPES.map((scope) => [scope, scope === "id-token" && level === 1 ? 0 : level]),
    );
  }
  if (typeof permissions === "string") return {};
  return Object.fromEntries(
    Object.entries(permissions ?? {}).map(([scope, level]) => [scope, LEVEL[level] ?? 0]),
  );
}

function walkStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const item of value) walkStrings(item, visit);
  else if (value && typeof value === "object")
    for (const item of Object.values(value)) walkStrings(item, visit);
}

function isExpression(value: unknown): boolean {
  return typeof value === "string" && value.includes("${{");
}

export interface CheckSources {
  /** action.yml of one of this toolkit's actions by folder name ("" = the root action), or undefined. */
  action(name: string): ActionMetadata | undefined;
  /** A reusable workflow of this toolkit by file name, or undefined. */
  workflow(file: string): CallableWorkflow | undefined;
}

/** Every problem of one workflow file, one sentence each, prefixed by where it is. */
export function checkWorkflow(source: string, sources: CheckSources): string[] {
  const workflow = parseYaml(source) as CallableWorkflow;
  const problems: string[] = [];
  const lines = source.split("\n");
  const checkPin = (where: string, uses: string) => {
    const target = resolveUses(uses);
    if (target.kind !== "third-party") return;
    if (!target.pinned) {
      problems.push(`${where}: ${uses} is not pinned by a full 40-hex commit SHA`);
      return;
    }
    const line = lines.find((text) => text.includes(uses));
    if (!line || !/#\s*v\d+(\.\d+)*\b/.test(line))
      problems.push(`${where}: ${uses} has no "# vX.Y.Z" comment saying which release the SHA is`);
  };

  for (const [jobId, job] of Object.entries(workflow.jobs ?? {})) {
    if (job.uses) {
      checkPin(`job ${jobId}`, job.uses);
      const target = resolveUses(job.uses);
      if (target.kind === "toolkit-workflow")
        problems.push(...checkCall(jobId, job, target.file, workflow, sources));
      if (target.kind === "unknown-local")
        problems.push(`job ${jobId}: ${job.uses} is not a reusable workflow here`);
    }
    const outputsOfStep = new Map<string, ActionMetadata>();
    for (const [index, step] of (job.steps ?? []).entries()) {
      const where = `job ${jobId} step ${step.id ?? index + 1}`;
      if (typeof step.run === "string") {
        for (const path of untrustedInRun(step.run))
          problems.push(
            `${where}: run expands \${{ ${path} }} (untrusted input): pass it through env: instead`,
          );
      }
      if (!step.uses) continue;
      checkPin(where, step.uses);
      const target = resolveUses(step.uses);
      if (target.kind === "unknown-local")
        problems.push(`${where}: ${step.uses} is not one of the toolkit's actions`);
      if (target.kind !== "toolkit-action") continue;
      const metadata = sources.action(target.action);
      if (!metadata) {
        problems.push(`${where}: ${step.uses} has no action.yml`);
        continue;
      }
      if (step.id) outputsOfStep.set(step.id, metadata);
      const declared = metadata.inputs ?? {};
      for (const name of Object.keys(step.with ?? {}))
        if (!(name in declared)) problems.push(`${where}: ${step.uses} has no input '${name}'`);
      for (const [name, input] of Object.entries(declared))
        if (input?.required && !(name in (step.with ?? {})))
          problems.push(`${where}: ${step.uses} needs its required input '${name}'`);
    }
    walkStrings(job, (text) => {
      for (const expression of expressionsIn(text))
        for (const path of contextPaths(expression)) {
          const match = /^steps\.([^.]+)\.outputs\.([^.]+)/.exec(path);
          const metadata = match && outputsOfStep.get(match[1] as string);
          if (match && metadata && !((match[2] as string) in (metadata.outputs ?? {})))
            problems.push(
              `job ${jobId}: reads steps.${match[1]}.outputs.${match[2]}, which that action does not output`,
            );
          const need = /^needs\.([^.]+)\.outputs\.([^.]+)/.exec(path);
          const needed = need && workflow.jobs?.[need[1] as string];
          if (need && needed?.uses) {
            const target = resolveUses(needed.uses);
            const callee = target.kind === "toolkit-workflow" ? sources.workflow(target.file) : undefined;
            const outputs = callee?.on?.workflow_call?.outputs ?? {};
            if (callee && !((need[2] as string) in outputs))
              problems.push(
                `job ${jobId}: reads needs.${need[1]}.outputs.${need[2]}, which ${target.kind === "toolkit-workflow" ? target.file : ""} does not output`,
              );
          }
        }
    });
  }
  return problems;
}

function checkCall(
  jobId: string,
  job: Job,
  file: string,
  caller: CallableWorkflow,
  sources: CheckSources,
): string[] {
  const where = `job ${jobId}`;
  const callee = sources.workflow(file);
  const call = callee?.on?.workflow_call;
  if (!callee || call === undefined)
    return [`${where}: ${job.uses} is not a reusable workflow (on: workflow_call)`];
  const problems: string[] = [];
  const inputs = call?.inputs ?? {};
  for (const [name, value] of Object.entries(job.with ?? {})) {
    const input = inputs[name];
    if (!input) {
      problems.push(`${where}: ${file} has no input '${name}'`);
      continue;
    }
    if (input.type === "boolean" && typeof value !== "boolean" && !isExpression(value))
      problems.push(`${where}: input '${name}' of ${file} is a boolean, not ${JSON.stringify(value)}`);
    if (input.type === "number" && typeof value !== "number" && !isExpression(value))
      problems.push(`${where}: input '${name}' of ${file} is a number, not ${JSON.stringify(value)}`);
  }
  for (const [name, input] of Object.entries(inputs))
    if (input.required && !(name in (job.with ?? {})))
      problems.push(`${where}: ${file} needs its input '${name}'`);
  if (job.secrets !== "inherit") {
    const secrets = call?.secrets ?? {};
    for (const name of Object.keys(job.secrets ?? {}))
      if (!(name in secrets)) problems.push(`${where}: ${file} has no secret '${name}'`);
    for (const [name, secret] of Object.entries(secrets))
      if (secret?.required && !(name in (job.secrets ?? {})))
        problems.push(`${where}: ${file} needs its secret '${name}'`);
  }
  const granted = permissionLevels(job.permissions ?? caller.permissions);
  if (granted) {
    for (const [calleeJobId, calleeJob] of Object.entries(callee.jobs ?? {})) {
      const asked = permissionLevels(calleeJob.permissions ?? callee.permissions) ?? {};
      for (const [scope, level] of Object.entries(asked))
        if (level > (granted[scope] ?? 0))
          problems.push(
            `${where}: ${file} job ${calleeJobId} asks for ${scope}: ${level === 2 ? "write" : "read"}, which this job does not grant`,
          );
    }
  }
  return problems;
}
