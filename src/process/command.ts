import { spawn } from "node:child_process";

/** What a finished command left behind: its exit code and the last lines it printed (for error messages). */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  tail: string[];
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input, then closed. */
  input?: string;
  /** Each line the command prints (stdout and stderr), as it prints it. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** How many trailing lines to keep for error messages. */
  tailLines?: number;
}

/** Runs a program with an argument array (never through a shell). Injected into core modules so tests can fake it. */
export type CommandRunner = (
  program: string,
  args: readonly string[],
  options?: CommandOptions,
) => Promise<CommandResult>;

export class CommandNotFoundError extends Error {
  readonly program: string;
  constructor(program: string) {
    super(`'${program}' was not found on PATH`);
    this.name = "CommandNotFoundError";
    this.program = program;
  }
}

export const runCommand: CommandRunner = (program, args, options = {}) =>
  new Promise((resolve, reject) => {
    const keep = options.tailLines ?? 30;
    const tail: string[] = [];
    const stdoutChunks: Buffer[] = [];
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: options.signal,
    });
    const flushers: Array<() => void> = [];
    const lineSplitter = () => {
      let pending = "";
      flushers.push(() => pending && record(pending));
      return (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) record(line);
      };
    };
    const record = (line: string) => {
      const clean = line.replace(/\r$/, "");
      tail.push(clean);
      if (tail.length > keep) tail.shift();
      options.onLine?.(clean);
    };
    const onStdout = lineSplitter();
    child.stdout?.on("data", (chunk: Buffer) => {
      stdoutChunks.push(chunk);
      onStdout(chunk);
    });
    child.stderr?.on("data", lineSplitter());
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? new CommandNotFoundError(program) : error);
    });
    child.on("close", (code, signal) => {
      for (const flush of flushers) flush();
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdoutChunks).toString("utf8"),
        tail,
      });
    });
  });
