import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CommandRunner } from "../process/command.ts";
import { CommandNotFoundError } from "../process/command.ts";
import {
  type BuildRequest,
  buildahBuildArgs,
  buildahGlobalArgs,
  buildahPushArgs,
  buildxBuildArgs,
  readBuildxDigest,
  selectBuilder,
} from "./builders.ts";

const request: BuildRequest = {
  context: "/src/app",
  dockerfile: "/src/app/Dockerfile",
  reference: "127.0.0.1:5000/valmetal/api:dev-abc",
  registry: "127.0.0.1:5000",
  buildArgs: { NODE_ENV: "production" },
  labels: { "org.opencontainers.image.revision": "abc" },
  target: "runtime",
  push: true,
  insecure: true,
  workDir: "/tmp/runner",
};

describe("builder command lines (argument arrays, never a shell string)", () => {
  it("builds with buildah in chroot isolation and Docker format, so HEALTHCHECK survives", () => {
    expect(buildahBuildArgs(request, {})).toEqual([
      "build",
      "--isolation",
      "chroot",
      "--format",
      "docker",
      "--layers",
      "--file",
      "/src/app/Dockerfile",
      "--tag",
      "127.0.0.1:5000/valmetal/api:dev-abc",
      "--build-arg",
      "NODE_ENV=production",
      "--label",
      "org.opencontainers.image.revision=abc",
      "--target",
      "runtime",
      "/src/app",
    ]);
  });

  it("honours BUILDAH_ISOLATION", () => {
    expect(buildahBuildArgs(request, { BUILDAH_ISOLATION: "oci" }).slice(1, 3)).toEqual([
      "--isolation",
      "oci",
    ]);
  });

  it.each([
    [{}, true, []],
    [{}, false, ["--storage-driver", "vfs"]],
    [{ STORAGE_DRIVER: "overlay" }, false, []],
  ])("picks buildah's storage driver from env %j and overlay support %s", (env, overlay, expected) => {
    expect(buildahGlobalArgs(env, overlay)).toEqual(expected);
  });

  it("pushes with buildah to a plain-HTTP loopback registry, with a digest file and an auth file", () => {
    expect(buildahPushArgs(request, "/tmp/d", "/tmp/auth.json")).toEqual([
      "push",
      "--digestfile",
      "/tmp/d",
      "--tls-verify=false",
      "--authfile",
      "/tmp/auth.json",
      "127.0.0.1:5000/valmetal/api:dev-abc",
      "docker://127.0.0.1:5000/valmetal/api:dev-abc",
    ]);
    expect(buildahPushArgs({ ...request, insecure: false }, "/tmp/d")).not.toContain("--tls-verify=false");
  });

  it("builds with buildx without provenance or SBOM, so the pushed artifact is one image manifest", () => {
    const args = buildxBuildArgs(request, "/tmp/meta.json");
    expect(args.slice(0, 2)).toEqual(["buildx", "build"]);
    expect(args).toContain("--provenance=false");
    expect(args).toContain("--sbom=false");
    expect(args.slice(-2)).toEqual(["--push", "/src/app"]);
    expect(args[args.indexOf("--metadata-file") + 1]).toBe("/tmp/meta.json");
    expect(buildxBuildArgs({ ...request, push: false }, "/m").slice(-2)).toEqual(["--load", "/src/app"]);
  });

  it("reads the pushed digest from buildx's real metadata file", () => {
    const metadata = readFileSync(
      new URL("../../test/fixtures/buildx/buildx-metadata-build.json", import.meta.url),
      "utf8",
    );
    expect(readBuildxDigest(metadata)).toBe(JSON.parse(metadata)["containerimage.digest"]);
    expect(() => readBuildxDigest("{}")).toThrow("docker buildx wrote no containerimage.digest");
  });
});

describe("builder selection", () => {
  const runner = (available: Record<string, boolean>): CommandRunner => {
    return async (program, args) => {
      const key = `${program} ${args[0]}`;
      if (!(key in available)) throw new CommandNotFoundError(program);
      return { exitCode: available[key] ? 0 : 1, stdout: "", tail: [] };
    };
  };
  const environment = (available: Record<string, boolean>) => ({
    run: runner(available),
    env: {},
    overlayAvailable: true,
  });
  const everything = { "docker buildx": true, "docker info": true, "buildah version": true };

  it.each([
    ["auto", everything, "docker"],
    ["auto", { "docker buildx": true, "docker info": false, "buildah version": true }, "buildah"],
    ["auto", { "buildah version": true }, "buildah"],
    ["buildah", everything, "buildah"],
    ["docker", everything, "docker"],
  ] as const)("%s with %j picks %s", async (choice, available, expected) => {
    expect(await selectBuilder(choice, environment(available))).toBe(expected);
  });

  it.each([
    ["auto", {}, "no image builder found: install docker with buildx"],
    [
      "docker",
      { "docker buildx": true, "docker info": false },
      "builder 'docker' needs docker buildx and a running Docker engine",
    ],
    ["buildah", {}, "builder 'buildah' was not found; install it (apt-get install buildah)"],
  ] as const)("%s with %j fails: %s", async (choice, available, message) => {
    await expect(selectBuilder(choice, environment(available))).rejects.toThrow(message);
  });
});
