import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRegistry, startLocalRegistry } from "../../test/support/local-registry.ts";
import { createAddressPool } from "./address-pool.ts";
import { createRealTimeClock } from "./clock.ts";
import { createImageStore } from "./image-store.ts";
import {
  createTaskRunner,
  killOrphanedTasks,
  processesUnder,
  type RunningTask,
  resolveUser,
  runHealthCheckCommand,
  type TaskRunner,
} from "./task-process.ts";
import { ensureBases, nodeServerImage, scratchRoot } from "./test-images.ts";

async function waitHealthy(task: RunningTask, path = "/health", limitMs = 15_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const ok = await fetch(`http://${task.address}:${task.port}${path}`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return performance.now() - started;
    if (task.exitInfo()) throw new Error(`task exited: ${JSON.stringify(task.logs())}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`task ${task.taskId} not healthy: ${JSON.stringify(task.logs())}`);
}

describe("task process", () => {
  let registry: LocalRegistry;
  let reference: string;
  let runner: TaskRunner;
  const cacheDir = join(scratchRoot, `task-images-${process.pid}`);
  const workDir = join(scratchRoot, `tasks-${process.pid}`);

  beforeAll(async () => {
    await ensureBases();
    registry = await startLocalRegistry("sim-data-tasks");
    reference = await nodeServerImage(registry.address, "sim/task-server:v1");
    const images = createImageStore({ cacheDir });
    const started = performance.now();
    await images.pull(reference);
    console.log(`node image pull+unpack: ${(performance.now() - started).toFixed(0)} ms`);
    // Time scale 10: the 10-second stop timeout below takes one real second.
    runner = createTaskRunner({
      images,
      addresses: createAddressPool({ first: "127.21.0.1" }),
      workDir,
      clock: createRealTimeClock({ scale: 10 }),
    });
  });

  afterAll(async () => {
    await runner?.stopAll();
    expect(await processesUnder(workDir)).toEqual([]);
    await registry?.stop();
    await rm(cacheDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it("runs the image's entrypoint as uid 1000 on its own address with HOST, PORT and the task environment", async () => {
    const startedAt = performance.now();
    const task = await runner.start({
      taskId: "task-a",
      imageRef: reference,
      containerName: "api",
      containerPort: 8080,
      environment: { DATABASE_HOST: "db.local", NODE_ENV: "staging" },
    });
    const healthyMs = await waitHealthy(task);
    console.log(
      `task start-to-healthy: ${(performance.now() - startedAt).toFixed(0)} ms (process ${healthyMs.toFixed(0)} ms)`,
    );
    expect(task.address).toBe("127.21.0.1");
    const who = (await (await fetch(`http://${task.address}:8080/whoami`)).json()) as {
      uid: number;
      gid: number;
      groups: number[];
      cwd: string;
      host: string;
      port: string;
      env: Record<string, string>;
    };
    expect(who).toMatchObject({
      uid: 1000,
      gid: 1000,
      groups: [1000],
      cwd: "/app",
      host: "127.21.0.1",
      port: "8080",
    });
    expect(who.env).toMatchObject({
      DATABASE_HOST: "db.local",
      NODE_ENV: "staging", // the task definition wins over the image's ENV
      APP_NAME: "demo",
      HOME: "/home/node",
      PATH: "/usr/local/bin:/usr/bin:/bin",
    });
    expect(who.env.PWD).toBeUndefined();
    // Nothing listens on the other loopback addresses' port: the task is bound to its own address only.
    await expect(fetch("http://127.0.0.1:8080/health")).rejects.toThrow();
    expect(task.logs().map((line) => line.message)).toContain("listening on 127.21.0.1:8080");
    // The image's HEALTHCHECK runs inside the container and passes.
    expect(await runHealthCheckCommand(task)).toEqual({ exitCode: 0, output: "", timedOut: false });
    expect((await runHealthCheckCommand(task, { command: ["CMD-SHELL", "exit 3"] })).exitCode).toBe(3);
    expect(
      (await runHealthCheckCommand(task, { command: ["CMD", "cat", "/proc/self/status"] })).output,
    ).toMatch(/Uid:\s+1000/);

    const exit = await task.stop("Scaling activity initiated by deployment");
    expect(exit).toEqual({ exitCode: 0, signal: null, reason: "Scaling activity initiated by deployment" });
    expect(task.logs().map((line) => line.message)).toContain("SIGTERM received, shutting down");
    expect(await processesUnder(workDir)).toEqual([]);
  });

  it("kills an app that ignores SIGTERM after the stop timeout", async () => {
    const task = await runner.start({
      taskId: "task-stubborn",
      imageRef: reference,
      containerName: "api",
      containerPort: 8080,
      environment: { IGNORE_SIGTERM: "1" },
      stopTimeoutSeconds: 10,
    });
    await waitHealthy(task);
    const stopping = performance.now();
    const exit = await task.stop();
    const tookMs = performance.now() - stopping;
    expect(exit.signal).toBe("SIGKILL");
    expect(task.logs().map((line) => line.message)).toContain("SIGTERM ignored");
    expect(tookMs).toBeGreaterThanOrEqual(900); // 10 simulated seconds at scale 10
    expect(tookMs).toBeLessThan(5000);
  });

  it("runs two tasks of the same image at once on different addresses, each with its own writable layer", async () => {
    const tasks = await Promise.all(
      ["task-1", "task-2"].map((taskId) =>
        runner.start({
          taskId,
          imageRef: reference,
          containerName: "web",
          containerPort: 3000,
          environment: { BODY: taskId },
        }),
      ),
    );
    await Promise.all(tasks.map((task) => waitHealthy(task)));
    const [one, two] = tasks as [RunningTask, RunningTask];
    expect(one.address).not.toBe(two.address);
    expect(await (await fetch(`http://${one.address}:3000/`)).text()).toBe("task-1");
    expect(await (await fetch(`http://${two.address}:3000/`)).text()).toBe("task-2");
    // Writes go to each task's overlay, never to the shared image.
    const write = ["CMD", "node", "-e", "require('fs').writeFileSync('/tmp/mark', process.env.BODY)"];
    expect((await runHealthCheckCommand(one, { command: write })).exitCode).toBe(0);
    const read = ["CMD", "cat", "/tmp/mark"];
    expect((await runHealthCheckCommand(one, { command: read })).output).toBe("task-1");
    expect((await runHealthCheckCommand(two, { command: read })).exitCode).not.toBe(0);
    await expect(readFile(join(one.image.rootfs, "tmp/mark"))).rejects.toThrow(/ENOENT/);
    expect((await processesUnder(workDir)).sort()).toEqual([one.pid, two.pid].sort());
    await runner.stopAll();
    expect(await processesUnder(workDir)).toEqual([]);
  });

  it("reports the exit of a container that dies by itself and releases its address", async () => {
    const addresses = createAddressPool({ first: "127.22.0.1" });
    const local = createTaskRunner({ images: createImageStore({ cacheDir }), addresses, workDir });
    const task = await local.start({
      taskId: "task-crash",
      imageRef: reference,
      containerName: "api",
      containerPort: 8080,
      command: ["-e", "console.error('no database'); process.exit(3)"],
    });
    const exit = await task.exited;
    expect(exit).toEqual({ exitCode: 3, signal: null, reason: "Essential container in task exited" });
    expect(task.logs()).toEqual([expect.objectContaining({ stream: "stderr", message: "no database" })]);
    expect(addresses.inUse()).toEqual([]);
  });

  it("kills its containers when the simulator is terminated, and reaps those of a simulator killed outright", async () => {
    const orphanDir = join(scratchRoot, `orphans-${process.pid}`);
    const script = join(scratchRoot, `simulator-${process.pid}.ts`);
    const here = import.meta.dirname;
    await writeFile(
      script,
      [
        `import { createAddressPool } from ${JSON.stringify(join(here, "address-pool.ts"))};`,
        `import { createImageStore } from ${JSON.stringify(join(here, "image-store.ts"))};`,
        `import { createTaskRunner } from ${JSON.stringify(join(here, "task-process.ts"))};`,
        `const runner = createTaskRunner({ images: createImageStore({ cacheDir: ${JSON.stringify(cacheDir)} }),`,
        `  addresses: createAddressPool({ first: process.argv[2] }), workDir: ${JSON.stringify(orphanDir)} });`,
        `const task = await runner.start({ taskId: "t", imageRef: ${JSON.stringify(reference)}, containerName: "api", containerPort: 8080 });`,
        "console.log(task.pid);",
        "setInterval(() => undefined, 1000);",
      ].join("\n"),
    );
    const children: Array<ReturnType<typeof spawn>> = [];
    const under = async (pid: number) => (await processesUnder(orphanDir)).includes(pid);
    const simulator = async (first: string, signal: NodeJS.Signals) => {
      const child = spawn(process.execPath, [script, first], { stdio: ["ignore", "pipe", "inherit"] });
      children.push(child);
      const pid = await new Promise<number>((resolve, reject) => {
        child.stdout?.once("data", (chunk) => resolve(Number(String(chunk))));
        child.once("exit", () => reject(new Error("simulator exited before starting its task")));
      });
      // The task is under orphanDir once its setup has chrooted (a few ms after start() returns).
      for (let attempt = 0; attempt < 100 && !(await under(pid)); attempt++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await under(pid)).toBe(true);
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await gone;
      return pid;
    };
    try {
      const terminated = await simulator("127.24.0.1", "SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await processesUnder(orphanDir)).not.toContain(terminated);
      const killed = await simulator("127.24.1.1", "SIGKILL");
      expect(await processesUnder(orphanDir)).toContain(killed); // SIGKILL cannot be caught: an orphan...
      expect(await killOrphanedTasks(orphanDir)).toEqual([killed]); // ...that the next run reaps
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await processesUnder(orphanDir)).toEqual([]);
    } finally {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      for (const pid of await processesUnder(orphanDir)) process.kill(pid, "SIGKILL");
      await rm(orphanDir, { recursive: true, force: true });
      await rm(script, { force: true });
    }
  });

  it("resolves users by name, uid and uid:gid through the image's passwd file", async () => {
    const rootfs = (await createImageStore({ cacheDir }).pull(reference)).rootfs;
    expect(await resolveUser(rootfs, "node")).toEqual({ uid: 1000, gid: 1000, home: "/home/node" });
    expect(await resolveUser(rootfs, "")).toEqual({ uid: 0, gid: 0, home: "/root" });
    expect(await resolveUser(rootfs, "1000:0")).toEqual({ uid: 1000, gid: 0, home: "/home/node" });
    expect(await resolveUser(rootfs, "4242")).toEqual({ uid: 4242, gid: 4242, home: "/" });
    await expect(resolveUser(rootfs, "nobody-here")).rejects.toThrow(/unable to find user/);
  });
});
