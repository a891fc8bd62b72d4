import { describe, expect, it } from "vitest";
import { fakeRegistry, storeImage } from "../../test/support/fake-registry.ts";
import { FakeClock } from "../clock.ts";
import type { CommandRunner } from "../process/command.ts";
import { memoryReporter } from "../report/reporter.ts";
import { type BuildPushOptions, buildPush } from "./build-push.ts";
import { parseRepository } from "./repository.ts";

const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const revision = { "org.opencontainers.image.revision": sha };

function setup(overrides: Partial<BuildPushOptions> = {}) {
  const registry = fakeRegistry();
  const commands: string[][] = [];
  const run: CommandRunner = async (program, args) => {
    commands.push([program, ...args]);
    return { exitCode: 0, stdout: "", tail: [] };
  };
  const options: BuildPushOptions = {
    repository: parseRepository("registry.example.com/valmetal/api"),
    environment: "prod",
    sha,
    context: "e2e/fixtures/hello",
    buildArgs: {},
    labels: {},
    builder: "buildah",
    push: true,
    extraTags: [],
    sourceUrl: "https://github.com/valmetal/farm-platform",
    workDir: "/tmp",
    ...overrides,
  };
  const deps = {
    clock: new FakeClock(),
    reporter: memoryReporter(),
    run,
    login: { kind: "anonymous" as const },
    builderEnv: {},
    overlayAvailable: true,
    fetch: registry.fetch,
  };
  return { registry, commands, go: () => buildPush(options, deps) };
}

describe("build-push decisions", () => {
  it("reuses the sha-<sha> image built for another environment and only adds this environment's tag", async () => {
    const { registry, commands, go } = setup();
    const digest = storeImage(registry, "valmetal/api", `sha-${sha}`, revision);
    const result = await go();
    expect(result).toMatchObject({ outcome: "reused", digest, pushed: true });
    expect(commands.filter(([, first]) => first === "build")).toEqual([]);
    expect(registry.manifests.has(`valmetal/api:prod-${sha}`)).toBe(true);
    expect(
      registry.requests.filter((request) => request.method === "PUT").map((request) => request.url),
    ).toEqual([`https://registry.example.com/v2/valmetal/api/manifests/prod-${sha}`]);
  });

  it("refuses when the two sha tags hold different builds of the same commit", async () => {
    const { registry, go } = setup();
    const first = storeImage(registry, "valmetal/api", `prod-${sha}`, revision);
    const second = storeImage(registry, "valmetal/api", `sha-${sha}`, { ...revision, rebuilt: "yes" });
    await expect(go()).rejects.toThrow(
      `tags prod-${sha} and sha-${sha} of registry.example.com/valmetal/api hold different images of the same commit: ${first} and ${second}`,
    );
  });

  it("refuses an existing tag without revision label", async () => {
    const { registry, go } = setup();
    const digest = storeImage(registry, "valmetal/api", `prod-${sha}`, {});
    await expect(go()).rejects.toThrow(`already holds ${digest} (org.opencontainers.image.revision=unset)`);
  });

  it.each([
    [{ promoteFrom: "prod" }, "promote-from 'prod' equals environment; promote from another environment"],
    [
      { promoteFrom: "staging", push: false },
      "promote-from copies a tag in the registry and needs push: true",
    ],
  ])("rejects %j before touching the registry", async (overrides, message) => {
    const { registry, go } = setup(overrides);
    await expect(go()).rejects.toThrow(message);
    expect(registry.requests).toEqual([]);
  });

  it("refuses to promote onto a target tag that holds another image", async () => {
    const { registry, go } = setup({ promoteFrom: "staging" });
    const source = storeImage(registry, "valmetal/api", `staging-${sha}`, revision);
    const target = storeImage(registry, "valmetal/api", `prod-${sha}`, { ...revision, other: "1" });
    await expect(go()).rejects.toThrow(
      `cannot promote to registry.example.com/valmetal/api:prod-${sha}: it already holds ${target} (org.opencontainers.image.revision=${sha}), while staging-${sha} holds ${source}`,
    );
  });

  it("refuses to promote an image whose revision label is another commit", async () => {
    const { registry, go } = setup({ promoteFrom: "staging" });
    storeImage(registry, "valmetal/api", `staging-${sha}`, {
      "org.opencontainers.image.revision": "0".repeat(40),
    });
    await expect(go()).rejects.toThrow(`not a build of ${sha}`);
  });
});
