import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressPool } from "./address-pool.ts";
import { type Clock, createRealTimeClock, setTimeoutWithFloor } from "./clock.ts";
import type { ImageStore, PulledImage } from "./image-store.ts";
import { resolveInRoot, safeComponents } from "./tar-extract.ts";

/**
 * Runs a task's container as a local process: the image's entrypoint and command, chrooted into a per-task
 * overlay of the unpacked image (writable upper layer on a tmpfs), as the image's user, with its own loopback
 * address. Each task lives in its own mount namespace (`unshare --mount`), so its overlay, /proc, /dev and tmpfs
 * mounts exist only for it and disappear with its last process: nothing to unmount, nothing left on the host.
 */

export interface TaskSpec {
  taskId: string;
  imageRef: string;
  containerName: string;
  /** Task definition environment and resolved secrets. */
  environment?: Record<string, string>;
  /** The container port: PORT in the environment, bound on the task's own address. */
  containerPort: number;
  /** Simulated seconds between SIGTERM and SIGKILL. Default 30 (ECS's default). */
  stopTimeoutSeconds?: number;
  /** Overrides the image's Cmd (ECS `command`). */
  command?: string[];
  /** Overrides the image's Entrypoint (ECS `entryPoint`); the image's Cmd is then dropped unless `command`. */
  entryPoint?: string[];
  /** Overrides the image's User: "name", "uid", "uid:gid", "name:group". */
  user?: string;
  /** Overrides the image's WorkingDir. */
  workingDirectory?: string;
  /** Receives each line the container prints. */
  onLog?: (line: LogLine) => void;
  /**
   * Runs on this address instead of allocating one (containers of one task share the task's address, as in
   * awsvpc); the caller then owns the address and releases it.
   */
  address?: string;
}

export interface LogLine {
  /** Simulated epoch milliseconds. */
  timestamp: number;
  stream: "stdout" | "stderr";
  message: string;
}

export interface TaskExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why the task stopped, as given to stop(), or "Essential container in task exited". */
  reason: string;
}

export interface RunningTask {
  readonly taskId: string;
  readonly containerName: string;
  readonly image: PulledImage;
  /** The task's own loopback address (awsvpc-like private IP). */
  readonly address: string;
  readonly port: number;
  /** Host process id of the container's main process. */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** The full environment the container got. */
  readonly environment: Record<string, string>;
  /** Simulated epoch ms at which the process was started. */
  readonly startedAt: number;
  /** Resolves when the main process has exited and the task's resources are released. */
  readonly exited: Promise<TaskExit>;
  /** Undefined while running. */
  exitInfo(): TaskExit | undefined;
  /** The last lines printed (ring buffer). */
  logs(): LogLine[];
  /** SIGTERM, then SIGKILL after the stop timeout. Resolves with the exit. */
  stop(reason?: string): Promise<TaskExit>;
}

export interface TaskRunnerOptions {
  images: ImageStore;
  addresses: AddressPool;
  /** Per-task scratch folders (empty mount points on the host). e.g. `.tmp/sim/tasks` */
  workDir: string;
  clock?: Clock;
  /** Size limit of each task's writable layer (tmpfs), in MiB. Default 512. */
  writableLayerMiB?: number;
  /** Lines kept per task. Default 1000. */
  logLines?: number;
  /** Receives every task's lines (in addition to TaskSpec.onLog). */
  onLog?: (task: RunningTask, line: LogLine) => void;
}

export interface TaskRunner {
  start(spec: TaskSpec): Promise<RunningTask>;
  /** Running tasks by id. */
  tasks(): RunningTask[];
  /** Stops every task (SIGTERM, then SIGKILL after each one's stop timeout). */
  stopAll(reason?: string): Promise<void>;
}

export interface HealthCheckResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Sets up the mounts inside the task's mount namespace, then chroots and drops privileges via unshare. */
const SETUP_SCRIPT = `set -e
PATH=/usr/sbin:/usr/bin:/sbin:/bin
lower=$1; scratch=$2; wd=$3; uid=$4; gid=$5; hosts=$6; resolv=$7; size=$8; cpath=$9; shift 9
mount -t tmpfs -o "size=\${size}m,mode=0755" task-layer "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
r=$scratch/root
for p in proc dev tmp etc etc/hosts etc/resolv.conf; do if [ -L "$r/$p" ]; then rm -f "$r/$p"; fi; done
[ -d "$r/tmp" ] || { mkdir -p "$r/tmp"; chmod 1777 "$r/tmp"; }
mkdir -p "$r/proc" "$r/dev" "$r/etc"
mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
mount -t tmpfs -o mode=0755,size=1m,nosuid,noexec task-dev "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -m 1777 "$r/dev/shm"; mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev task-shm "$r/dev/shm"
ln -s /proc/self/fd "$r/dev/fd"; ln -s /proc/self/fd/0 "$r/dev/stdin"
ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
rm -f "$r/etc/hosts" "$r/etc/resolv.conf"
cp "$hosts" "$r/etc/hosts"; cp "$resolv" "$r/etc/resolv.conf"; chmod 644 "$r/etc/hosts" "$r/etc/resolv.conf"
case "$wd" in /*) ;; *) wd=/$wd;; esac
mkdir -p "$r$wd"
unset PWD OLDPWD
export PATH="$cpath"
exec /usr/bin/unshare --root="$r" --wd="$wd" --setgid "$gid" --setuid "$uid" -- "$@"
`;

// ---- process tracking: no container outlives the simulator ----

const liveGroups = new Set<number>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = () => {
      for (const pid of liveGroups) killGroup(pid, "SIGKILL");
      liveGroups.clear();
      // Only our handler: restore the default behaviour (terminate) by re-raising.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}

function track(child: ChildProcess): void {
  if (!child.pid) return;
  const pid = child.pid;
  installExitHooks();
  liveGroups.add(pid);
  child.once("exit", () => {
    // Kill what the process may have left in its group, then forget it.
    killGroup(pid, "SIGKILL");
    liveGroups.delete(pid);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Kills processes left from an earlier simulator run that died without cleaning up (e.g. SIGKILL): processes whose
 * root folder is a task folder under `workDir` whose owning simulator process is gone. Returns the pids it killed.
 */
export async function killOrphanedTasks(workDir: string): Promise<number[]> {
  const killed: number[] = [];
  const owners = new Map<string, boolean>();
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const root = await readlink(`/proc/${entry}/root`).catch(() => "");
    if (!root.startsWith(`${workDir}/`)) continue;
    const folder = root.slice(workDir.length + 1).split("/")[0] as string;
    let orphaned = owners.get(folder);
    if (orphaned === undefined) {
      const owner = Number(await readFile(join(workDir, folder, "owner"), "utf8").catch(() => "0"));
      orphaned = !(owner > 0 && alive(owner));
      owners.set(folder, orphaned);
    }
    if (!orphaned) continue;
    try {
      process.kill(Number(entry), "SIGKILL");
      killed.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** Processes whose root folder is under `workDir` (the running containers' processes). */
export async function processesUnder(workDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const root = await readlink(`/proc/${entry}/root`).catch(() => "");
    if (root.startsWith(`${workDir}/`)) found.push(Number(entry));
  }
  return found;
}

// ---- users ----

interface ResolvedUser {
  uid: number;
  gid: number;
  home: string;
}

async function readRootFile(rootfs: string, path: string): Promise<string> {
  return readFile(await resolveInRoot(rootfs, safeComponents(path), true), "utf8").catch(() => "");
}

/** Resolves a Docker USER value against the image's /etc/passwd and /etc/group. */
export async function resolveUser(rootfs: string, user: string): Promise<ResolvedUser> {
  const [userPart = "", groupPart] = user.split(":");
  const passwd = (await readRootFile(rootfs, "/etc/passwd"))
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 7);
  let entry: string[] | undefined;
  let uid: number;
  if (userPart === "") {
    uid = 0;
    entry = passwd.find((fields) => fields[2] === "0");
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((fields) => fields[2] === userPart);
  } else {
    entry = passwd.find((fields) => fields[0] === userPart);
    if (!entry) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(entry[2]);
  }
  let gid = entry ? Number(entry[3]) : uid === 0 ? 0 : uid;
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = (await readRootFile(rootfs, "/etc/group"))
        .split("\n")
        .map((line) => line.split(":"))
        .find((fields) => fields[0] === groupPart);
      if (!group) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(group[2]);
    }
  }
  return { uid, gid, home: entry?.[5] || "/" };
}

function envList(list: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of list) {
    const equals = item.indexOf("=");
    if (equals > 0) result[item.slice(0, equals)] = item.slice(equals + 1);
  }
  return result;
}

function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line.replace(/\r$/, ""));
      if (pending.length > 64 * 1024) {
        onLine(pending);
        pending = "";
      }
    },
    flush() {
      if (pending) onLine(pending);
      pending = "";
    },
  };
}

const taskInternals = new WeakMap<RunningTask, { clock: Clock }>();

export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  const clock = options.clock ?? createRealTimeClock();
  const keepLines = options.logLines ?? 1000;
  const layerMiB = options.writableLayerMiB ?? 512;
  const running = new Map<string, RunningTask>();
  const orphansSwept = mkdir(options.workDir, { recursive: true }).then(() =>
    killOrphanedTasks(options.workDir),
  );

  async function start(spec: TaskSpec): Promise<RunningTask> {
    await orphansSwept;
    if (running.has(spec.taskId)) throw new Error(`task ${spec.taskId} is already running`);
    const image = await options.images.pull(spec.imageRef);
    const config = image.config;
    const user = await resolveUser(image.rootfs, spec.user ?? config.user);
    const entrypoint = spec.entryPoint ?? config.entrypoint;
    const cmd = spec.command ?? (spec.entryPoint ? [] : config.cmd);
    const argv = [...entrypoint, ...cmd];
    if (argv.length === 0) throw new Error(`image ${spec.imageRef} has no entrypoint or command to run`);
    const workingDir = spec.workingDirectory ?? (config.workingDir || "/");

    const ownsAddress = spec.address === undefined;
    const address = spec.address ?? options.addresses.allocate();
    const release = () => {
      if (ownsAddress) options.addresses.release(address);
    };
    const folder = join(
      options.workDir,
      `${spec.taskId.replace(/[^\w.-]/g, "_")}-${randomBytes(3).toString("hex")}`,
    );
    try {
      const hostname = `ip-${address.replace(/\./g, "-")}`;
      const environment: Record<string, string> = {
        PATH: DEFAULT_PATH,
        HOSTNAME: hostname,
        HOME: user.home,
        ...envList(config.env),
        ...(spec.environment ?? {}),
        HOST: address,
        PORT: String(spec.containerPort),
      };
      await mkdir(join(folder, "layer"), { recursive: true });
      await writeFile(join(folder, "owner"), String(process.pid));
      await writeFile(
        join(folder, "hosts"),
        `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${address}\t${hostname}\n`,
      );
      await writeFile(join(folder, "resolv.conf"), "nameserver 127.0.0.53\noptions ndots:0\n");
      const child = spawn(
        "/usr/bin/unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "--",
          "/bin/sh",
          "-c",
          SETUP_SCRIPT,
          "task-setup",
          image.rootfs,
          join(folder, "layer"),
          workingDir,
          String(user.uid),
          String(user.gid),
          join(folder, "hosts"),
          join(folder, "resolv.conf"),
          String(layerMiB),
          environment.PATH ?? DEFAULT_PATH,
          ...argv,
        ],
        { env: environment, detached: true, stdio: ["ignore", "pipe", "pipe"] },
      );
      if (!child.pid) {
        const error = await new Promise<Error>((resolve) => child.once("error", resolve));
        throw error;
      }
      track(child);
      const pid = child.pid;
      const lines: LogLine[] = [];
      let exit: TaskExit | undefined;
      let stopReason: string | undefined;
      let killTimer: (() => void) | undefined;

      const task: RunningTask = {
        taskId: spec.taskId,
        containerName: spec.containerName,
        image,
        address,
        port: spec.containerPort,
        pid,
        uid: user.uid,
        gid: user.gid,
        environment,
        startedAt: clock.now(),
        exited: undefined as unknown as Promise<TaskExit>,
        exitInfo: () => exit,
        logs: () => [...lines],
        stop: async (reason = "Task stopped by user") => {
          if (!exit && !stopReason) {
            stopReason = reason;
            killGroup(pid, "SIGTERM");
            killTimer = clock.setTimer((spec.stopTimeoutSeconds ?? 30) * 1000, () =>
              killGroup(pid, "SIGKILL"),
            );
          }
          return task.exited;
        },
      };
      const record = (stream: LogLine["stream"]) =>
        lineSplitter((message) => {
          const line = { timestamp: clock.now(), stream, message };
          lines.push(line);
          if (lines.length > keepLines) lines.shift();
          spec.onLog?.(line);
          options.onLog?.(task, line);
        });
      const out = record("stdout");
      const err = record("stderr");
      child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
      (task as { exited: Promise<TaskExit> }).exited = new Promise<TaskExit>((resolve) => {
        child.once("close", async (code, signal) => {
          out.flush();
          err.flush();
          killTimer?.();
          exit = {
            exitCode: code,
            signal,
            reason: stopReason ?? "Essential container in task exited",
          };
          running.delete(spec.taskId);
          release();
          await rm(folder, { recursive: true, force: true }).catch(() => undefined);
          resolve(exit);
        });
      });
      taskInternals.set(task, { clock });
      running.set(spec.taskId, task);
      return task;
    } catch (error) {
      release();
      await rm(folder, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  return {
    start,
    tasks: () => [...running.values()],
    stopAll: async (reason = "Simulator stopped") => {
      await Promise.all([...running.values()].map((task) => task.stop(reason)));
    },
  };
}

export interface HealthCheckCommandOptions {
  /** Overrides the image's HEALTHCHECK test (ECS container healthCheck.command). */
  command?: string[];
  /** Simulated timeout; default the image's Timeout or 30 s. */
  timeoutMs?: number;
  /** The timeout never fires before this many real milliseconds. Default 5000. */
  realFloorMs?: number;
}

/**
 * Runs the image's HEALTHCHECK (or `command`) inside the task: same mount namespace, root folder, working
 * folder, user and environment. `["CMD", ...]` runs directly, `["CMD-SHELL", "..."]` through /bin/sh -c.
 * Exit code 0 is healthy. Throws when there is no health check to run.
 */
export async function runHealthCheckCommand(
  task: RunningTask,
  options: HealthCheckCommandOptions = {},
): Promise<HealthCheckResult> {
  const test = options.command ?? task.image.config.healthcheck?.test;
  if (!test || test.length === 0 || test[0] === "NONE")
    throw new Error(`task ${task.taskId} has no health check`);
  const [kind, ...rest] = test;
  const argv = kind === "CMD-SHELL" ? ["/bin/sh", "-c", rest.join(" ")] : kind === "CMD" ? rest : test;
  if (task.exitInfo()) return { exitCode: 1, output: "task is not running", timedOut: false };
  const clock = taskInternals.get(task)?.clock ?? createRealTimeClock();
  const child = spawn(
    "/usr/bin/nsenter",
    [
      `--target=${task.pid}`,
      "--mount",
      "--root",
      "--wd",
      `--setgid=${task.gid}`,
      `--setuid=${task.uid}`,
      "--",
      ...argv,
    ],
    { env: task.environment, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  track(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4096);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let timedOut = false;
  const cancel = setTimeoutWithFloor(
    clock,
    options.timeoutMs ?? task.image.config.healthcheck?.timeoutMs ?? 30_000,
    options.realFloorMs ?? 5000,
    () => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, "SIGKILL");
    },
  );
  return new Promise((resolve) => {
    child.once("error", (error) => {
      cancel();
      resolve({ exitCode: 127, output: String(error), timedOut: false });
    });
    child.once("close", (code) => {
      cancel();
      resolve({ exitCode: timedOut ? 1 : (code ?? 1), output, timedOut });
    });
  });
}
