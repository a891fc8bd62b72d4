import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "../../src/process/command.ts";
import { ensureBaseImage, nodeBase, shellBase } from "../../test/support/base-images.ts";

/** Test helper: builds small images with buildah and pushes them to a local registry. */

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const scratchRoot = join(repositoryRoot, ".tmp", "sim-data-tests");

export async function buildah(args: string[]): Promise<string> {
  const result = await runCommand("buildah", args, { tailLines: 60 });
  if (result.exitCode !== 0) throw new Error(`buildah ${args.join(" ")} failed:\n${result.tail.join("\n")}`);
  return result.stdout.trim();
}

export async function ensureBases(): Promise<void> {
  await ensureBaseImage(shellBase);
  await ensureBaseImage(nodeBase);
}

/** Builds `files` (with a `Dockerfile`) and pushes to `<registry>/<name>`. Returns the pushed reference. */
export async function buildAndPush(
  registry: string,
  name: string,
  files: Record<string, string>,
  format: "docker" | "oci" = "docker",
): Promise<string> {
  const folder = join(scratchRoot, "build", `${name.replace(/[/:]/g, "_")}-${process.pid}`);
  await rm(folder, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), content);
  }
  const reference = `${registry}/${name}`;
  await buildah([
    "build",
    "--isolation",
    "chroot",
    "--tls-verify=false",
    "--format",
    format,
    "--layers=false",
    "-t",
    reference,
    folder,
  ]);
  await buildah(["push", "--tls-verify=false", reference, `docker://${reference}`]);
  // No `buildah rmi` here: removing an image while another test's build reads the shared layer store can pull a
  // cached layer from under it ("layer not known"). The tagged image is small and reused by the next run.
  await rm(folder, { recursive: true, force: true });
  return reference;
}

/** A Node HTTP server like the reference app's: HOST/PORT, GET /health, logs SIGTERM and exits 0. */
export const serverScript = `
import { createServer } from "node:http";
const body = process.env.BODY ?? "v1";
let healthy = true;
const server = createServer((request, response) => {
  const url = new URL(request.url, "http://x");
  if (url.pathname === "/health") {
    response.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" });
    return response.end(healthy ? "ok" : "sick");
  }
  if (url.pathname === "/sick") { healthy = false; return response.end("now sick"); }
  if (url.pathname === "/well") { healthy = true; return response.end("now well"); }
  if (url.pathname === "/fail") { response.writeHead(500); return response.end("boom"); }
  if (url.pathname === "/slow") { return setTimeout(() => response.end(body), Number(url.searchParams.get("ms") ?? 500)); }
  if (url.pathname === "/whoami") {
    return response.end(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), cwd: process.cwd(),
      host: process.env.HOST, port: process.env.PORT, env: process.env, pid: process.pid }));
  }
  if (url.pathname === "/echo") {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    return request.on("end", () => response.end(JSON.stringify({ method: request.method, headers: request.headers,
      body: Buffer.concat(chunks).toString() })));
  }
  response.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "0.0.0.0", () => {
  console.log("listening on " + process.env.HOST + ":" + process.env.PORT);
});
process.on("SIGTERM", () => {
  if (process.env.IGNORE_SIGTERM) { console.log("SIGTERM ignored"); return; }
  console.log("SIGTERM received, shutting down");
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
`;

export const healthScript = `
const port = process.env.PORT ?? 8080;
fetch("http://" + (process.env.HOST ?? "127.0.0.1") + ":" + port + "/health")
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
`;

export function nodeServerImage(registry: string, name: string): Promise<string> {
  return buildAndPush(registry, name, {
    Dockerfile: [
      "FROM localhost/toolkit-base/node:24",
      "WORKDIR /app",
      "COPY server.mjs health.mjs /app/",
      "ENV APP_NAME=demo NODE_ENV=production",
      "EXPOSE 8080",
      'HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD ["node", "/app/health.mjs"]',
      "USER node",
      'ENTRYPOINT ["node"]',
      'CMD ["/app/server.mjs"]',
      "",
    ].join("\n"),
    "server.mjs": serverScript,
    "health.mjs": healthScript,
  });
}
