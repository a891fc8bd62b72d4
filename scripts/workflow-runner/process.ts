import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCommandFile } from "../../test/support/run-action.ts";

/**
 * One step's process as the runner runs it: fresh GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY /
 * GITHUB_STATE files, workflow commands on stdout (`::add-mask::`, `::error::`, `::group::` …) read and removed
 * from the log, masked values replaced by ***, and on cancellation SIGINT then SIGTERM after 7.5 s, as the
 * runner signals a cancelled step.
 */

export interface Annotation {
  level: "error" | "warning" | "notice";
  message: string;
}

export interface StepProcessResult {
  exitCode: number;
  outputs: Record<string, string>;
  /** GITHUB_ENV lines: variables for the job's later steps. */
  env: Record<string, string>;
  /** GITHUB_PATH lines: folders prepended to PATH for later steps. */
  path: string[];
  summary: string;
  state: Record<string, string>;
  annotations: Annotation[];
}

export interface StepProcessOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Values to mask (secrets); `::add-mask::` adds to it, and the addition lasts for the rest of the run. */
  masks: string[];
  /** Each log line, masked. */
  onLine: (line: string) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Folder for the command files. */
  tempRoot: string;
}

const unescapeData = (value: string) =>
  value.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");

export function maskText(text: string, masks: readonly string[]): string {
  return masks.reduce((masked, secret) => (secret ? masked.split(secret).join("***") : masked), text);
}

export async function runStepProcess(options: StepProcessOptions): Promise<StepProcessResult> {
  await mkdir(options.tempRoot, { recursive: true });
  const home = await mkdtemp(join(options.tempRoot, "step-"));
  const files = {
    GITHUB_OUTPUT: join(home, "output"),
    GITHUB_ENV: join(home, "env"),
    GITHUB_PATH: join(home, "path"),
    GITHUB_STEP_SUMMARY: join(home, "summary.md"),
    GITHUB_STATE: join(home, "state"),
  };
  for (const file of Object.values(files)) await writeFile(file, "");
  const annotations: Annotation[] = [];
  const mask = (line: string) => maskText(line, options.masks);
  const onLine = (line: string) => {
    const command = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!command) return options.onLine(mask(line));
    const [, name, , data] = command as unknown as [string, string, string | undefined, string];
    const value = unescapeData(data);
    if (name === "add-mask") {
      if (value) options.masks.push(value);
      return;
    }
    if (name === "error" || name === "warning" || name === "notice") {
      annotations.push({ level: name, message: mask(value) });
      return options.onLine(mask(`${name}: ${value}`));
    }
    if (name === "group") return options.onLine(mask(`▶ ${value}`));
    if (name === "endgroup" || name === "debug") return;
    options.onLine(mask(`${name}: ${value}`));
  };

  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...options.env, ...files },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let pending = { stdout: "", stderr: "" };
  const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const lines = (pending[stream] + chunk.toString("utf8")).split("\n");
    pending = { ...pending, [stream]: lines.pop() ?? "" };
    for (const line of lines) onLine(line);
  };
  child.stdout.on("data", collect("stdout"));
  child.stderr.on("data", collect("stderr"));
  let escalation: NodeJS.Timeout | undefined;
  const cancel = () => {
    signalGroup("SIGINT");
    escalation = setTimeout(() => signalGroup("SIGTERM"), 7_500);
  };
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener("abort", cancel, { once: true });
  const timeout = options.timeoutMs ? setTimeout(cancel, options.timeoutMs) : undefined;
  const exitCode = await new Promise<number>((done) => {
    child.on("error", (error) => {
      onLine(`could not start ${options.command}: ${error.message}`);
      done(127);
    });
    // The step ends with its process: what it left running in the background (a `sleep &` ignores SIGINT in a
    // non-interactive shell) would otherwise hold the output pipes open and delay 'close'.
    child.on("exit", () => signalGroup("SIGKILL"));
    child.on("close", (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
  clearTimeout(timeout);
  clearTimeout(escalation);
  options.signal?.removeEventListener("abort", cancel);
  for (const rest of Object.values(pending)) if (rest) onLine(rest);

  const read = (file: string) => readFile(file, "utf8");
  return {
    exitCode,
    outputs: parseCommandFile(await read(files.GITHUB_OUTPUT)),
    env: parseCommandFile(await read(files.GITHUB_ENV)),
    path: (await read(files.GITHUB_PATH)).split("\n").filter(Boolean),
    summary: await read(files.GITHUB_STEP_SUMMARY),
    state: parseCommandFile(await read(files.GITHUB_STATE)),
    annotations,
  };
}
