import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

/**
 * A throwaway PostgreSQL cluster for tests: the Debian `postgresql` package's server binaries, a data folder in
 * a temporary directory, listening on 127.0.0.1 at a free port with password authentication, stopped and removed
 * by `stop()`. `pause()` stops the server and `resume()` starts it again on the same port with the same data, to
 * show how a service behaves while its database is down.
 */
export interface PostgresInstance {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string;
  /** Runs SQL through psql as the superuser, on the instance's database unless another one is named. */
  sql(statement: string, database?: string): Promise<string>;
  /** Stops the server, keeping its data: connections are refused until `resume()`. */
  pause(): Promise<void>;
  /** Starts the server again on the same port. */
  resume(): Promise<void>;
  /** Stops the server and deletes its data. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Name of the database to create (default `app`). */
  database?: string;
  /** Folder for the temporary cluster (default the OS temporary folder). */
  parent?: string;
}

const versionsFolder = "/usr/lib/postgresql";
const superuser = "postgres";

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Finds the newest installed PostgreSQL server (`/usr/lib/postgresql/<major>/bin`), or explains what is missing. */
export async function findPostgresBinaries(): Promise<string> {
  const fromEnvironment = process.env.POSTGRES_BIN;
  const candidates = fromEnvironment ? [fromEnvironment] : [];
  try {
    const { readdir } = await import("node:fs/promises");
    const majors = (await readdir(versionsFolder)).filter((name) => /^\d+$/.test(name));
    majors.sort((a, b) => Number(b) - Number(a));
    for (const major of majors) candidates.push(join(versionsFolder, major, "bin"));
  } catch {
    // No PostgreSQL installed under /usr/lib/postgresql.
  }
  for (const folder of candidates) {
    if ((await exists(join(folder, "initdb"))) && (await exists(join(folder, "pg_ctl")))) return folder;
  }
  throw new Error(
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found under /usr/lib/postgresql/<version>/bin. " +
      "Install the Debian package `postgresql` (apt-get install -y postgresql) or set POSTGRES_BIN to their folder.",
  );
}

interface Runner {
  run(command: string, args: string[], input?: string): Promise<string>;
  runSync(command: string, args: string[]): void;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user through runuser. */
function runner(): Runner {
  const asRoot = process.getuid?.() === 0;
  const argv = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", superuser, "--", command, ...args]] : [command, args];
  return {
    run(command, args) {
      const [file, fullArgs] = argv(command, args);
      return new Promise((resolveRun, reject) => {
        execFile(file, fullArgs, { timeout: 60_000, cwd: "/" }, (error, stdout, stderr) => {
          if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
          else resolveRun(stdout);
        });
      });
    },
    runSync(command, args) {
      const [file, fullArgs] = argv(command, args);
      execFileSync(file, fullArgs, { stdio: "ignore", timeout: 30_000, cwd: "/" });
    },
  };
}

async function osUserIds(name: string): Promise<{ uid: number; gid: number }> {
  const { readFile } = await import("node:fs/promises");
  const line = (await readFile("/etc/passwd", "utf8"))
    .split("\n")
    .find((entry) => entry.startsWith(`${name}:`));
  const fields = line?.split(":");
  if (!fields) throw new Error(`OS user ${name} not found: install the Debian package \`postgresql\``);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Starts a new PostgreSQL cluster and creates one database in it. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresInstance> {
  const bin = await findPostgresBinaries();
  const database = options.database ?? "app";
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`invalid database name: ${database}`);
  const run = runner();
  const folder = await mkdtemp(join(options.parent ?? tmpdir(), "pg-"));
  const dataFolder = join(folder, "data");
  const passwordFile = join(folder, "password");
  const logFile = join(folder, "server.log");
  const password = randomBytes(12).toString("hex");
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = await osUserIds(superuser);
    await chown(folder, uid, gid);
    await chown(passwordFile, uid, gid);
  }
  await chmod(folder, 0o700);

  await run.run(join(bin, "initdb"), [
    "-D",
    dataFolder,
    "-U",
    superuser,
    "--pwfile",
    passwordFile,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--no-instructions",
  ]);

  const port = await freePort();
  const serverOptions = `-k ${folder} -h 127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () =>
    run.run(join(bin, "pg_ctl"), [
      "-D",
      dataFolder,
      "-l",
      logFile,
      "-o",
      serverOptions,
      "-w",
      "-t",
      "30",
      "start",
    ]);
  const stopServer = () => run.run(join(bin, "pg_ctl"), ["-D", dataFolder, "-m", "fast", "-w", "stop"]);

  // If the test process ends without calling stop(), do not leave a server running.
  let running = false;
  const onExit = () => {
    if (!running) return;
    try {
      run.runSync(join(bin, "pg_ctl"), ["-D", dataFolder, "-m", "immediate", "-w", "stop"]);
    } catch {
      // Best effort while exiting.
    }
  };
  process.on("exit", onExit);

  try {
    await start();
    running = true;
  } catch (error) {
    process.off("exit", onExit);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }

  const psqlPath = (await exists(join(bin, "psql"))) ? join(bin, "psql") : "psql";
  const sql = (statement: string, target = database) =>
    run
      .run(psqlPath, [
        "-h",
        folder,
        "-p",
        String(port),
        "-U",
        superuser,
        "-d",
        target,
        "-v",
        "ON_ERROR_STOP=1",
        "-Atq",
        "-c",
        statement,
      ])
      .then((output) => output.trim());

  let stopped = false;
  const instance: PostgresInstance = {
    host: "127.0.0.1",
    port,
    database,
    user: superuser,
    password,
    url: `postgres://${superuser}:${password}@127.0.0.1:${port}/${database}`,
    sql,
    async pause() {
      if (!running) return;
      await stopServer();
      running = false;
    },
    async resume() {
      if (running || stopped) return;
      await start();
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running) {
        await stopServer().catch(() =>
          run.run(join(bin, "pg_ctl"), ["-D", dataFolder, "-m", "immediate", "stop"]),
        );
        running = false;
      }
      process.off("exit", onExit);
      await rm(folder, { recursive: true, force: true });
    },
  };

  try {
    await sql(`CREATE DATABASE ${database}`, "postgres");
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return instance;
}
