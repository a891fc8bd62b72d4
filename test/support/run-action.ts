import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";

/**
 * Runs a committed action bundle exactly as the GitHub runner does: `node <action>/dist/index.js` with INPUT_*
 * variables (defaults filled from action.yml), the GITHUB_* files and variables, RUNNER_TEMP; then reads back what
 * the runner would: outputs, job summary, annotations, masked values and the exit code.
 */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Node 24, the runtime of `runs.using: node24`, from the `node` devDependency. */
export const node24 = join(repositoryRoot, "node_modules/.bin/node");

export interface Annotation {
  level: "error" | "warning" | "notice";
  message: string;
  properties: Record<string, string>;
}

export interface ActionRun {
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  /** Values the action registered with add-mask. */
  masks: string[];
  /** The step log as the runner shows it: workflow commands removed, masked values replaced by ***. */
  log: string;
  /** The raw standard output and error, before masking (what a careless runner would print). */
  rawOutput: string;
  /** State saved for the post step (GITHUB_STATE). */
  state: Record<string, string>;
}

export interface RunActionOptions {
  /** Inputs by their action.yml names; values are strings, as in a workflow. */
  inputs?: Record<string, string>;
  /** Extra environment (AWS_ENDPOINT_URL, GITHUB_SHA overrides …). */
  env?: Record<string, string>;
  /** Which entry of action.yml to run. */
  phase?: "main" | "post";
  /** State from the main step, for the post step. */
  state?: Record<string, string>;
  /** Called with each line of the log as it is printed (progress in long tests). */
  onLine?: (line: string) => void;
  /** Lets a test send signals to the running step (cancellation). */
  onSpawn?: (pid: number) => void;
  timeoutMs?: number;
}

interface ActionMetadata {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  runs: { using: string; main: string; post?: string };
}

export async function actionMetadata(actionDir: string): Promise<ActionMetadata> {
  return parseYaml(await readFile(join(actionDir, "action.yml"), "utf8")) as ActionMetadata;
}

const unescapeData = (value: string) =>
  value.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
const unescapeProperty = (value: string) => unescapeData(value).replace(/%3A/g, ":").replace(/%2C/g, ",");

/** Parses the `name<<DELIMITER … DELIMITER` blocks (and legacy `name=value` lines) of GITHUB_OUTPUT/GITHUB_STATE. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (index++; index < lines.length && lines[index] !== delimiter; index++)
        value.push(lines[index] as string);
      values[name] = value.join("\n");
    } else if (line.includes("=")) {
      const equals = line.indexOf("=");
      values[line.slice(0, equals)] = line.slice(equals + 1);
    }
  }
  return values;
}

/** `action` is a folder under the repository root (`actions/build-push`, or `.` for the root action). */
export async function runAction(action: string, options: RunActionOptions = {}): Promise<ActionRun> {
  const actionDir = resolve(repositoryRoot, action);
  const metadata = await actionMetadata(actionDir);
  if (metadata.runs.using !== "node24")
    throw new Error(`${action}/action.yml runs.using is ${metadata.runs.using}`);
  const declared = metadata.inputs ?? {};
  const unexpected = Object.keys(options.inputs ?? {}).filter((name) => !(name in declared));
  if (unexpected.length) {
    throw new Error(
      `Unexpected input(s) '${unexpected.join("', '")}' for ${action}; valid inputs are ${Object.keys(declared).join(", ")}`,
    );
  }
  const phase = options.phase ?? "main";
  const entry = phase === "main" ? metadata.runs.main : metadata.runs.post;
  if (!entry) throw new Error(`${action} has no ${phase} entry`);

  const home = await mkdtemp(join(tmpdir(), "runner-"));
  const files = {
    GITHUB_OUTPUT: join(home, "output"),
    GITHUB_STEP_SUMMARY: join(home, "summary.md"),
    GITHUB_STATE: join(home, "state"),
    GITHUB_ENV: join(home, "env"),
    GITHUB_PATH: join(home, "path"),
    GITHUB_EVENT_PATH: join(home, "event.json"),
  };
  for (const file of Object.values(files)) await writeFile(file, "");
  await writeFile(
    files.GITHUB_EVENT_PATH,
    JSON.stringify({ repository: { full_name: "valmetal/farm-platform" } }),
  );
  const runnerTemp = join(home, "temp");
  await mkdir(runnerTemp);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? home,
    LANG: "C.UTF-8",
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "valmetal/farm-platform",
    GITHUB_REPOSITORY_OWNER: "valmetal",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_API_URL: "https://api.github.com",
    GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
    GITHUB_REF: "refs/heads/main",
    GITHUB_RUN_ID: "4242",
    GITHUB_RUN_NUMBER: "7",
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_WORKFLOW: "pipeline",
    GITHUB_JOB: "deploy",
    GITHUB_ACTOR: "octocat",
    GITHUB_EVENT_NAME: "push",
    GITHUB_WORKSPACE: repositoryRoot,
    GITHUB_ACTION: "__run",
    GITHUB_ACTION_PATH: actionDir,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    ...files,
  };
  for (const [name, spec] of Object.entries(declared)) {
    env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] =
      options.inputs?.[name] ?? String(spec.default ?? "");
  }
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  Object.assign(env, options.env);

  const child = spawn(node24, [join(actionDir, entry)], {
    cwd: repositoryRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid) options.onSpawn?.(child.pid);
  let rawOutput = "";
  const annotations: Annotation[] = [];
  const masks: string[] = [];
  const logLines: string[] = [];
  let pending = "";
  const mask = (line: string) =>
    masks.reduce((text, secret) => (secret ? text.split(secret).join("***") : text), line);
  const onLine = (line: string) => {
    const command = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (command) {
      const [, name, props, data] = command as unknown as [string, string, string | undefined, string];
      if (name === "add-mask") {
        masks.push(unescapeData(data));
        return;
      }
      if (name === "error" || name === "warning" || name === "notice") {
        const properties: Record<string, string> = {};
        for (const pair of (props ?? "").split(",").filter(Boolean)) {
          const equals = pair.indexOf("=");
          properties[pair.slice(0, equals)] = unescapeProperty(pair.slice(equals + 1));
        }
        annotations.push({ level: name, message: mask(unescapeData(data)), properties });
      }
      const shown = name === "group" ? `▶ ${data}` : name === "endgroup" ? "" : `${name}: ${data}`;
      if (shown) logLines.push(mask(shown));
      options.onLine?.(mask(shown));
      return;
    }
    logLines.push(mask(line));
    options.onLine?.(mask(line));
  };
  const collect = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    rawOutput += text;
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const timeout = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
  const exitCode = await new Promise<number>((done) => child.on("close", (code) => done(code ?? 1)));
  clearTimeout(timeout);
  if (pending) onLine(pending);

  return {
    exitCode,
    outputs: parseCommandFile(await readFile(files.GITHUB_OUTPUT, "utf8")),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, "utf8"),
    annotations,
    masks,
    log: logLines.join("\n"),
    rawOutput,
    state: parseCommandFile(await readFile(files.GITHUB_STATE, "utf8")),
  };
}
