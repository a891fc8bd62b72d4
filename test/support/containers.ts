import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { runCommand } from "../../src/process/command.ts";

/**
 * Runs an image the way `docker run` would, with buildah (chroot isolation, host network): the image's own
 * entrypoint, command, user and working directory, plus the given environment. For tests of the images themselves;
 * the simulator runs ECS tasks with its own data plane.
 */
export interface RunningContainer {
  /** Runs a command inside the container (as the image's HEALTHCHECK would) and returns its exit code. */
  exec(argv: string[]): Promise<number>;
  /** The image's HEALTHCHECK test command, e.g. ["node", "/app/dist/healthcheck.js"]. */
  healthcheck: string[] | undefined;
  user: string;
  logs: string[];
  exited: Promise<number | null>;
  /** SIGTERM to the process, then removes the container; returns the exit code. */
  stop(): Promise<number | null>;
}

async function buildah(args: string[]): Promise<string> {
  const result = await runCommand("buildah", args);
  if (result.exitCode !== 0) throw new Error(`buildah ${args.join(" ")} failed:\n${result.tail.join("\n")}`);
  return result.stdout.trim();
}

interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Healthcheck?: { Test?: string[] };
}

/** The container's main process: the first process below `buildah run` that is not buildah itself. */
async function mainProcess(runnerPid: number): Promise<number | undefined> {
  const parents = new Map<number, { parent: number; command: string }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const match = /^\d+ \(.*\) \S+ (\d+)/.exec(stat);
    // buildah re-executes itself (comm "exe"), so the command line tells its helpers from the app.
    const command = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (match) parents.set(Number(entry), { parent: Number(match[1]), command });
  }
  const queue = [runnerPid];
  while (queue.length) {
    const pid = queue.shift() as number;
    for (const [child, info] of parents) {
      if (info.parent !== pid) continue;
      if (!info.command.startsWith("buildah")) return child;
      queue.push(child);
    }
  }
  return undefined;
}

export async function startContainer(image: string, env: Record<string, string>): Promise<RunningContainer> {
  const container = await buildah(["from", "--quiet", "--tls-verify=false", image]);
  const config = (JSON.parse(await buildah(["inspect", container])) as { Docker: { config: ImageConfig } })
    .Docker.config;
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const user = config.User || "0";
  const envArgs = Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]);
  const runArgs = (command: string[]) => [
    "run",
    "--isolation",
    "chroot",
    "--user",
    user,
    ...(config.WorkingDir ? ["--workingdir", config.WorkingDir] : []),
    ...envArgs,
    container,
    "--",
    ...command,
  ];
  const logs: string[] = [];
  const child: ChildProcess = spawn("buildah", runArgs(argv), { stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => logs.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  }
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const test = config.Healthcheck?.Test;
  return {
    healthcheck: test && test[0] === "CMD" ? test.slice(1) : undefined,
    user,
    logs,
    exited,
    exec: async (command) => (await runCommand("buildah", runArgs(command))).exitCode,
    stop: async () => {
      // As `docker stop` does: SIGTERM to the container's main process, SIGKILL if it does not exit in time.
      const main = child.pid ? await mainProcess(child.pid) : undefined;
      if (main) process.kill(main, "SIGTERM");
      else child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      await runCommand("buildah", ["rm", container]);
      return code;
    },
  };
}
