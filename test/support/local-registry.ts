import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { repositoryRoot } from "./run-action.ts";

export { freePort };

/** Debian's docker-registry (CNCF distribution) on 127.0.0.1: the real registry the tests push to. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`: prefix of repositories, e.g. `${address}/valmetal/api`. */
  address: string;
  stop(): Promise<void>;
}

export async function startLocalRegistry(name = "registry"): Promise<LocalRegistry> {
  const port = await freePort();
  const folder = join(repositoryRoot, ".tmp", `${name}-${port}`);
  await rm(folder, { recursive: true, force: true });
  await mkdir(join(folder, "data"), { recursive: true });
  const config = join(folder, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: warn }",
      `storage: { filesystem: { rootdirectory: ${join(folder, "data")} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  child.on("error", () => undefined);
  const address = `127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || attempt > 100) {
      child.kill("SIGKILL");
      throw new Error(
        `docker-registry did not start on ${address} (is Debian's docker-registry package installed?): ${stderr}`,
      );
    }
    const ok = await fetch(`http://${address}/v2/`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    address,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      await rm(folder, { recursive: true, force: true });
    },
  };
}
