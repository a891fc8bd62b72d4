import { writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { actionMetadata, node24 } from "../../test/support/run-action.ts";
import { type EquivalentContext, equivalentFor, equivalents } from "./equivalents.ts";
import { type ExpressionScope, interpolateString, type Json } from "./expressions.ts";
import { resolveToolkitAction, type StepSpec } from "./model.ts";
import { type Annotation, runStepProcess, type StepProcessResult } from "./process.ts";

/** One step of a job: `run:` through the shell, a toolkit action's bundle, or a third-party action's equivalent. */

export interface StepEnvironment {
  workspace: string;
  toolkitRoot: string;
  toolkitRepo: string;
  /** Folders standing for others in `uses: ./…` (a toolkit checkout into the toolkit's own workspace). */
  aliases: Record<string, string>;
  /** The job's process environment (base, GITHUB_*, workflow/job env, GITHUB_ENV additions). */
  env: Record<string, string>;
  defaults: { shell?: string; "working-directory"?: string };
  masks: string[];
  tempRoot: string;
  equivalent: Omit<EquivalentContext, "workspace" | "toolkitRoot" | "log">;
  onLine: (line: string) => void;
  signal?: AbortSignal;
}

export interface StepRunResult {
  exitCode: number;
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
  annotations: Annotation[];
  aliases?: Record<string, string>;
  /** A post step to run at the end of the job (node actions with `runs.post`). */
  post?: { name: string; condition: string; run: () => Promise<StepProcessResult> };
}

/** The shells the runner knows, as it invokes them (`{0}` is the script file). */
const shells: Record<string, { args: string[]; extension: string }> = {
  bash: { args: ["--noprofile", "--norc", "-eo", "pipefail", "{0}"], extension: "sh" },
  sh: { args: ["-e", "{0}"], extension: "sh" },
  node: { args: ["{0}"], extension: "mjs" },
  python: { args: ["{0}"], extension: "py" },
};

export function stepDisplayName(step: StepSpec, index: number, scope: ExpressionScope): string {
  if (step.name !== undefined) return interpolateString(step.name, scope);
  if (step.uses) return `Run ${step.uses}`;
  if (step.run) return `Run ${step.run.trim().split("\n")[0]}`;
  return `step ${index + 1}`;
}

async function runScript(
  step: StepSpec,
  scope: ExpressionScope,
  environment: StepEnvironment,
  stepEnv: Record<string, string>,
  timeoutMs: number | undefined,
): Promise<StepRunResult> {
  const shellName = step.shell ?? environment.defaults.shell ?? "bash";
  const shell = shells[shellName];
  if (!shell)
    throw new Error(
      `shell '${shellName}' is not one the local runner knows (${Object.keys(shells).join(", ")})`,
    );
  const script = interpolateString(step.run, scope);
  const file = join(
    environment.tempRoot,
    `script-${Date.now()}-${Math.random().toString(16).slice(2)}.${shell.extension}`,
  );
  await writeFile(file, script);
  const workingDirectory = step["working-directory"] ?? environment.defaults["working-directory"];
  return runStepProcess({
    command: shellName,
    args: shell.args.map((arg) => (arg === "{0}" ? file : arg)),
    cwd: workingDirectory
      ? resolve(environment.workspace, interpolateString(workingDirectory, scope))
      : environment.workspace,
    env: stepEnv,
    masks: environment.masks,
    onLine: environment.onLine,
    signal: environment.signal,
    timeoutMs,
    tempRoot: environment.tempRoot,
  });
}

async function runNodeAction(
  step: StepSpec,
  actionDir: string,
  scope: ExpressionScope,
  environment: StepEnvironment,
  stepEnv: Record<string, string>,
  timeoutMs: number | undefined,
): Promise<StepRunResult> {
  const metadata = (await actionMetadata(actionDir)) as Awaited<ReturnType<typeof actionMetadata>> & {
    runs: { "post-if"?: string };
  };
  if (!/^node\d+$/.test(metadata.runs.using))
    throw new Error(
      `${relative(environment.toolkitRoot, actionDir)}/action.yml runs.using '${metadata.runs.using}': the local runner runs node actions only`,
    );
  const declared = metadata.inputs ?? {};
  const given = step.with ?? {};
  const unexpected = Object.keys(given).filter((name) => !(name in declared));
  if (unexpected.length)
    environment.onLine(
      `warning: unexpected input(s) '${unexpected.join("', '")}'; valid inputs are ${Object.keys(declared).join(", ")}`,
    );
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared))
    inputs[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] =
      name in given ? interpolateString(given[name], scope) : interpolateString(spec.default ?? "", scope);
  const env = { ...stepEnv, ...inputs, GITHUB_ACTION_PATH: actionDir };
  const run = (entry: string, state: Record<string, string>) =>
    runStepProcess({
      command: node24,
      args: [join(actionDir, entry)],
      cwd: environment.workspace,
      env: {
        ...env,
        ...Object.fromEntries(Object.entries(state).map(([key, value]) => [`STATE_${key}`, value])),
      },
      masks: environment.masks,
      onLine: environment.onLine,
      signal: entry === metadata.runs.main ? environment.signal : undefined,
      timeoutMs,
      tempRoot: environment.tempRoot,
    });
  const result = await run(metadata.runs.main, {});
  const post = metadata.runs.post;
  return {
    ...result,
    post: post
      ? {
          name: "Post",
          condition: metadata.runs["post-if"] ?? "always()",
          run: () => run(post, result.state),
        }
      : undefined,
  };
}

/** `./.toolkit/actions/x` → `<toolkit>/actions/x` when `.toolkit` stands for the toolkit. */
function dealias(uses: string, environment: StepEnvironment): string {
  if (!uses.startsWith("./")) return uses;
  const target = resolve(environment.workspace, uses);
  for (const [alias, folder] of Object.entries(environment.aliases))
    if (target === alias || target.startsWith(`${alias}/`)) return resolve(folder, relative(alias, target));
  return uses;
}

export async function runStep(
  step: StepSpec,
  scope: ExpressionScope,
  environment: StepEnvironment,
): Promise<StepRunResult> {
  const stepEnv = environment.env;
  const minutes =
    step["timeout-minutes"] === undefined
      ? undefined
      : Number(interpolateString(step["timeout-minutes"], scope));
  const timeoutMs = minutes ? minutes * 60_000 : undefined;
  if (step.run !== undefined && step.uses !== undefined) throw new Error("a step has both 'run' and 'uses'");
  if (step.run !== undefined) return runScript(step, scope, environment, stepEnv, timeoutMs);
  if (!step.uses) throw new Error("a step needs 'run' or 'uses'");
  const uses = interpolateString(step.uses, scope);
  if (uses.startsWith("docker://"))
    throw new Error(`step uses '${uses}': container actions have no local equivalent`);
  const actionDir = resolveToolkitAction(
    dealias(uses, environment),
    environment.workspace,
    environment.toolkitRoot,
    environment.toolkitRepo,
  );
  if (actionDir) return runNodeAction(step, actionDir, scope, environment, stepEnv, timeoutMs);
  const found = equivalentFor(uses);
  if (!found)
    throw new Error(
      `step uses '${uses}', a third-party action with no local equivalent; the local runner knows ${Object.keys(equivalents).join(", ")} and this toolkit's actions`,
    );
  const inputs = Object.fromEntries(
    Object.entries(step.with ?? {}).map(([name, value]) => [name, interpolateString(value as Json, scope)]),
  );
  const result = found.equivalent.run(inputs, {
    ...environment.equivalent,
    workspace: environment.workspace,
    toolkitRoot: environment.toolkitRoot,
    log: (line) => environment.onLine(`(local equivalent of ${found.key}) ${line}`),
  });
  return {
    exitCode: 0,
    outputs: result.outputs ?? {},
    env: result.env ?? {},
    path: [],
    summary: "",
    annotations: [],
    aliases: result.aliases,
  };
}
