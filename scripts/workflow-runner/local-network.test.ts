import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { node24 } from "../../test/support/run-action.ts";
import { localNetworkEnv } from "./local-network.ts";

// The listener lives in this process: the commands run asynchronously so that it can answer.
const run = async (command: string, args: string[], env: Record<string, string>) =>
  (await promisify(execFile)(command, args, { env, encoding: "utf8" })).stdout;
let server: Server;
let local: string;
const folder = mkdtempSync(join(tmpdir(), "local-network-"));

beforeAll(async () => {
  server = createServer((request, response) => response.end(`local listener got ${request.url}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  local = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(folder, { recursive: true, force: true });
});

describe("the address map of the local run", () => {
  it("sends a step's curl and an action's fetch of a cloud URL to the simulated listener, path and query kept", async () => {
    const env = {
      ...(process.env as Record<string, string>),
      ...localNetworkEnv(
        {
          "https://api.dev.valmetal.example.com": local,
          "https://lb-1a2b.ca-central-1.elb.amazonaws.com:8443": local,
        },
        folder,
        process.env.PATH ?? "/usr/bin:/bin",
      ),
    };
    const curl = await run(
      "curl",
      ["--silent", "--fail", "https://api.dev.valmetal.example.com/health?x=1"],
      env,
    );
    expect(curl).toBe("local listener got /health?x=1");
    const fetched = await run(
      node24,
      [
        "-e",
        "fetch('https://lb-1a2b.ca-central-1.elb.amazonaws.com:8443/api/equipment').then((r) => r.text()).then(console.log)",
      ],
      env,
    );
    expect(fetched.trim()).toBe("local listener got /api/equipment");
  });

  it("leaves other URLs alone", async () => {
    const env = {
      ...(process.env as Record<string, string>),
      ...localNetworkEnv(
        { "https://api.dev.valmetal.example.com": "http://127.0.0.1:9" },
        folder,
        process.env.PATH ?? "",
      ),
    };
    const curl = await run("curl", ["--silent", `${local}/direct`], env);
    expect(curl).toBe("local listener got /direct");
  });
});
