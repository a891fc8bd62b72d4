import { lstat, readFile, readlink, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalRegistry, startLocalRegistry } from "../../test/support/local-registry.ts";
import { createImageStore, parseImageReference } from "./image-store.ts";
import { buildAndPush, ensureBases, nodeServerImage, scratchRoot } from "./test-images.ts";

describe("image store", () => {
  let registry: LocalRegistry;
  const cacheDir = join(scratchRoot, `images-${process.pid}`);

  beforeAll(async () => {
    await ensureBases();
    registry = await startLocalRegistry("sim-data-images");
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("parses references with tags, digests and registry ports", () => {
    expect(parseImageReference("127.0.0.1:5000/valmetal/api:v1")).toEqual({
      registry: "127.0.0.1:5000",
      repository: "valmetal/api",
      tag: "v1",
    });
    const digest = `sha256:${"a".repeat(64)}`;
    expect(parseImageReference(`localhost/x@${digest}`)).toEqual({
      registry: "localhost",
      repository: "x",
      digest,
    });
    expect(() => parseImageReference("ubuntu:24.04")).toThrow(/registry host/);
  });

  it("pulls a node image, reads its run config and unpacks it once per digest", async () => {
    const reference = await nodeServerImage(registry.address, "sim/node-server:v1");
    const store = createImageStore({ cacheDir });
    const started = performance.now();
    const [first, concurrent] = await Promise.all([store.pull(reference), store.pull(reference)]);
    const coldMs = performance.now() - started;
    expect(first.manifestDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(concurrent.manifestDigest).toBe(first.manifestDigest);
    expect([first.cached, concurrent.cached].sort()).toEqual([false, true]);
    expect(first.config.entrypoint).toEqual(["node"]);
    expect(first.config.cmd).toEqual(["/app/server.mjs"]);
    expect(first.config.user).toBe("node");
    expect(first.config.workingDir).toBe("/app");
    expect(first.config.env).toEqual(expect.arrayContaining(["APP_NAME=demo", "NODE_ENV=production"]));
    expect(first.config.exposedPorts).toEqual(["8080/tcp"]);
    expect(first.config.healthcheck).toEqual({
      test: ["CMD", "node", "/app/health.mjs"],
      intervalMs: 5000,
      timeoutMs: 3000,
      retries: 2,
    });
    const node = await stat(join(first.rootfs, "usr/local/bin/node"));
    expect(node.mode & 0o111).not.toBe(0);
    expect((await stat(join(first.rootfs, "home/node"))).uid).toBe(1000);
    expect((await lstat(join(first.rootfs, "usr/local/bin/npm"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(first.rootfs, "usr/local/bin/npm"))).toBe(
      "../lib/node_modules/npm/bin/npm-cli.js",
    );
    expect(await readFile(join(first.rootfs, "app/server.mjs"), "utf8")).toContain("createServer");

    const again = performance.now();
    const second = await createImageStore({ cacheDir }).pull(
      `${registry.address}/sim/node-server@${first.manifestDigest}`,
    );
    const warmMs = performance.now() - again;
    expect(second.cached).toBe(true);
    expect(second.rootfs).toBe(first.rootfs);
    console.log(`node image pull+unpack: cold ${coldMs.toFixed(0)} ms, cached ${warmMs.toFixed(0)} ms`);
  });

  it("applies whiteouts, opaque folders, hard links and modes of later layers", async () => {
    const reference = await buildAndPush(registry.address, "sim/whiteout:v1", {
      Dockerfile: [
        "FROM localhost/toolkit-base/node:24",
        "COPY keep.txt gone.txt /data/",
        "COPY keep.txt /opaque/old.txt",
        "COPY keep.txt /data/script.sh",
        "USER 1000:1000",
        "",
      ].join("\n"),
      "keep.txt": "keep\n",
      "gone.txt": "gone\n",
    });
    // Second image on top of the first: deletes a file, replaces a folder, adds a hard link and a setuid mode.
    const script = [
      'fs.rmSync("/data/gone.txt")',
      'fs.rmSync("/opaque", { recursive: true })',
      'fs.mkdirSync("/opaque")',
      'fs.writeFileSync("/opaque/new.txt", "new\\n")',
      'fs.linkSync("/data/keep.txt", "/data/hard.txt")',
      'fs.chmodSync("/data/script.sh", 0o4750)',
    ].join("; ");
    const derived = await buildAndPush(registry.address, "sim/whiteout:v2", {
      Dockerfile: [
        `FROM ${reference}`,
        "USER root",
        `RUN ["node", "-e", ${JSON.stringify(script)}]`,
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo hi"]',
        "",
      ].join("\n"),
    });
    const store = createImageStore({ cacheDir });
    const base = await store.pull(reference);
    await expect(stat(join(base.rootfs, "data/gone.txt"))).resolves.toBeTruthy();
    const image = await store.pull(derived);
    expect(image.layers.length).toBeGreaterThan(base.layers.length);
    await expect(stat(join(image.rootfs, "data/gone.txt"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(image.rootfs, "data/keep.txt"), "utf8")).toBe("keep\n");
    await expect(stat(join(image.rootfs, "opaque/old.txt"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(image.rootfs, "opaque/new.txt"), "utf8")).toBe("new\n");
    expect((await stat(join(image.rootfs, "data/script.sh"))).mode & 0o7777).toBe(0o4750);
    const hard = await stat(join(image.rootfs, "data/hard.txt"));
    expect(hard.ino).toBe((await stat(join(image.rootfs, "data/keep.txt"))).ino);
    expect(hard.nlink).toBe(2);
    expect(image.config.entrypoint).toEqual(["/bin/sh", "-c"]);
    expect(image.config.cmd).toEqual(["echo hi"]);
    expect(image.config.user).toBe("root");
  });

  it("pulls an OCI image", async () => {
    const reference = await buildAndPush(
      registry.address,
      "sim/oci:v1",
      { Dockerfile: 'FROM localhost/toolkit-base/shell:1\nCMD ["/bin/echo","oci"]\n' },
      "oci",
    );
    const image = await createImageStore({ cacheDir }).pull(reference);
    expect(image.layers[0]?.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(image.config.cmd).toEqual(["/bin/echo", "oci"]);
    await expect(stat(join(image.rootfs, "bin/sh"))).resolves.toBeTruthy();
  });
});
