import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../test/support/ports.ts";
import { registryApi } from "../test/support/registry-api.ts";
import { runAction } from "../test/support/run-action.ts";

const registry = inject("registry");
const newSha = () => randomBytes(20).toString("hex");
const newRepository = (name: string) => `${registry}/e2e/${name}-${randomBytes(3).toString("hex")}`;
const hello = { context: "e2e/fixtures/hello", builder: "buildah" };
const closedPort = await freePort();

describe("build-push, bundled and run as the runner runs it, against a real registry and buildah", () => {
  it("builds once, pushes <env>-<sha> and sha-<sha> with OCI labels, and reuses the image on a re-run", async () => {
    const repository = newRepository("hello");
    const sha = newSha();
    const first = await runAction("actions/build-push", {
      inputs: {
        ...hello,
        repository,
        environment: "dev",
        sha,
        "build-args": "GREETING=hi",
        labels: "team=farm",
      },
    });
    expect(first.exitCode, first.log).toBe(0);
    const api = registryApi(repository);
    const digest = await api.digestOf(`dev-${sha}`);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await api.digestOf(`sha-${sha}`)).toBe(digest);
    expect(await api.tags()).toEqual([`dev-${sha}`, `sha-${sha}`]);
    expect(first.outputs).toMatchObject({
      image: `${repository}:dev-${sha}`,
      digest,
      "image-ref": `${repository}@${digest}`,
      tags: `${repository}:dev-${sha}\n${repository}:sha-${sha}`,
      built: "true",
      outcome: "built",
    });
    const labels = await api.labelsOf(`dev-${sha}`);
    expect(labels).toMatchObject({
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.version": sha,
      "org.opencontainers.image.source": "https://github.com/valmetal/farm-platform",
      team: "farm",
    });
    expect(Date.parse(labels["org.opencontainers.image.created"] as string)).toBeGreaterThan(
      Date.now() - 600_000,
    );
    expect(first.summary).toContain(`dev-${sha}`);
    expect(first.summary).toContain(digest);

    const second = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "dev", sha },
    });
    expect(second.exitCode, second.log).toBe(0);
    expect(second.outputs).toMatchObject({ digest, built: "false", outcome: "reused" });
    expect(second.log).not.toContain("buildah build");
    expect(second.log).toContain("skipping the build");
    expect(await api.digestOf(`dev-${sha}`)).toBe(digest);
  });

  it("promotes staging to prod by copying the manifest: same digest, no rebuild", async () => {
    const repository = newRepository("promote");
    const sha = newSha();
    const staging = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "staging", sha },
    });
    expect(staging.exitCode, staging.log).toBe(0);

    const prod = await runAction("actions/build-push", {
      inputs: { repository, environment: "prod", sha, "promote-from": "staging" },
    });
    expect(prod.exitCode, prod.log).toBe(0);
    expect(prod.outputs).toMatchObject({
      image: `${repository}:prod-${sha}`,
      digest: staging.outputs.digest,
      built: "false",
      outcome: "promoted",
    });
    expect(await registryApi(repository).digestOf(`prod-${sha}`)).toBe(staging.outputs.digest);
    expect(prod.summary).toContain("promoted");

    const again = await runAction("actions/build-push", {
      inputs: { repository, environment: "prod", sha, "promote-from": "staging" },
    });
    expect(again.exitCode, again.log).toBe(0);
    expect(again.outputs.digest).toBe(staging.outputs.digest);
  });

  it("fails clearly when the promotion source is missing", async () => {
    const repository = newRepository("nosource");
    const sha = newSha();
    const run = await runAction("actions/build-push", {
      inputs: { repository, environment: "prod", sha, "promote-from": "staging" },
    });
    expect(run.exitCode).toBe(1);
    expect(run.annotations).toEqual([
      expect.objectContaining({
        level: "error",
        message: `cannot promote: ${repository}:staging-${sha} does not exist; build and push it first (build-push with environment: staging)`,
      }),
    ]);
    expect(await registryApi(repository).tags()).toEqual([]);
  });

  it("refuses a tag that holds another commit's build, naming both, and pushes nothing", async () => {
    const repository = newRepository("conflict");
    const shaA = newSha();
    const shaB = newSha();
    const built = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "dev", sha: shaA },
    });
    expect(built.exitCode, built.log).toBe(0);
    // Someone pushed commit A's image under commit B's tag.
    const api = registryApi(repository);
    const manifest = await api.client.getManifest(`dev-${shaA}`);
    await api.client.putManifest(`dev-${shaB}`, manifest as NonNullable<typeof manifest>);

    const run = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "dev", sha: shaB },
    });
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain(`${repository}:dev-${shaB} already holds ${built.outputs.digest}`);
    expect(errors[0]?.message).toContain(`org.opencontainers.image.revision=${shaA}`);
    expect(errors[0]?.message).toContain(shaB);
    expect(run.log).not.toContain("buildah build");
    expect(await api.tags()).toEqual([`dev-${shaA}`, `dev-${shaB}`, `sha-${shaA}`].sort());
  });

  it("reports a build failure with the builder's last lines and pushes nothing", async () => {
    const repository = newRepository("broken");
    const run = await runAction("actions/build-push", {
      inputs: {
        context: "e2e/fixtures/broken",
        builder: "buildah",
        repository,
        environment: "dev",
        sha: newSha(),
      },
    });
    expect(run.exitCode).toBe(1);
    const error = run.annotations.find((annotation) => annotation.level === "error");
    expect(error?.message).toMatch(/^buildah build failed \(exit code \d+\); last lines:/);
    expect(error?.message).toContain("about to fail");
    expect(await registryApi(repository).tags()).toEqual([]);
  });

  it.each([
    [
      "a short sha",
      { sha: "abc123" },
      "sha 'abc123' is not a 40-character hex commit SHA; pass the full SHA (github.sha)",
    ],
    [
      "a missing context",
      { context: "e2e/fixtures/nowhere" },
      "is not a folder; pass the folder to build (context input)",
    ],
    [
      "a missing Dockerfile",
      { dockerfile: "e2e/fixtures/hello/Nope" },
      "does not exist; pass its path (dockerfile input)",
    ],
    [
      "an unknown builder",
      { builder: "kaniko" },
      "input builder is 'kaniko'; use one of auto, docker, buildah",
    ],
    ["a repository without registry", { repository: "valmetal/api" }, "does not start with a registry host"],
    [
      "an unreachable registry",
      { repository: `127.0.0.1:${closedPort}/e2e/down` },
      `cannot reach registry 127.0.0.1:${closedPort} (ECONNREFUSED)`,
    ],
  ])("fails with one clear error on %s", async (_case, inputs, message) => {
    const repository = newRepository("bad");
    const run = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "dev", sha: newSha(), ...inputs },
    });
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain(message);
    expect(errors[0]?.message).not.toMatch(/\n\s+at /);
    expect(await registryApi(repository).tags()).toEqual([]);
  });

  it("builds without pushing when push is false, without touching the registry", async () => {
    const repository = `127.0.0.1:${closedPort}/e2e/local-only`;
    const sha = newSha();
    const run = await runAction("actions/build-push", {
      inputs: { ...hello, repository, environment: "dev", sha, push: "false" },
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ image: `${repository}:dev-${sha}`, digest: "", built: "true" });
  });
});
