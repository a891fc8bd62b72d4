import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/ports.ts";
import { type PostgresInstance, startPostgres } from "../../../test/support/postgres.ts";
import { startBroker } from "../src/broker.ts";
import { databaseEnv, waitFor } from "./harness.ts";

const serverEntry = fileURLToPath(new URL("../src/server.ts", import.meta.url));

let postgres: PostgresInstance;
let broker: Awaited<ReturnType<typeof startBroker>>;
let child: ChildProcess | undefined;

beforeAll(async () => {
  postgres = await startPostgres({ database: "equipment" });
  broker = await startBroker(0);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await broker?.close();
  await postgres?.stop();
});

describe("graceful shutdown", () => {
  it("on SIGTERM stops accepting, completes the in-flight request, and exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logs: string[] = [];
    child = spawn(process.execPath, [serverEntry], {
      env: {
        PATH: process.env.PATH,
        ...databaseEnv(postgres, broker.url),
        APP_VERSION: "shutdown-test",
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        SHUTDOWN_TIMEOUT_MS: "15000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout
      ?.setEncoding("utf8")
      .on("data", (chunk: string) => logs.push(...chunk.split("\n").filter(Boolean)));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => logs.push(chunk));
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;

    await waitFor("the api to be ready", async () => (await fetch(`${base}/ready`)).status === 200, 30_000);

    // Make the equipment list slow for real: hold a lock on the table it reads.
    const locker = new pg.Client({ ...postgres });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE equipment IN ACCESS EXCLUSIVE MODE");
      const slow = fetch(`${base}/api/equipment`).then(async (response) => ({
        status: response.status,
        version: response.headers.get("x-app-version"),
        body: await response.json(),
      }));
      await waitFor("the request to wait on the lock", async () => {
        const { rows } = await locker.query(
          // The extended protocol takes the lock while parsing, before pg_stat_activity shows the query text.
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        );
        return rows[0].waiting > 0;
      });

      child.kill("SIGTERM");
      await waitFor("the listener to close", async () => {
        try {
          await fetch(`${base}/health`);
          return false;
        } catch {
          return true;
        }
      });
      expect(child.exitCode).toBeNull();

      await locker.query("COMMIT");
      const response = await slow;
      expect(response).toEqual({ status: 200, version: "shutdown-test", body: { equipment: [] } });
    } finally {
      await locker.end();
    }

    const [code, signal] = await exited;
    expect({ code, signal, logs: code === 0 ? [] : logs }).toEqual({ code: 0, signal: null, logs: [] });
    const messages = logs.map((line) => JSON.parse(line) as { msg: string; level: string });
    expect(messages.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(["api started", "shutting down", "shutdown complete"]),
    );
    expect(logs.join("\n")).not.toContain(postgres.password);
  });
});
