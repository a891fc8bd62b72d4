import { describe, expect, it } from "vitest";
import { fakeRegistry, storeImage } from "../../test/support/fake-registry.ts";
import { FakeClock } from "../clock.ts";
import {
  manifestDigest,
  RegistryAuthError,
  RegistryClient,
  RegistryUnreachableError,
} from "./registry-client.ts";
import { parseRepository } from "./repository.ts";

const repository = parseRepository("registry.example.com/valmetal/api");

function client(
  registry: ReturnType<typeof fakeRegistry>,
  credentials?: { username: string; password: string },
) {
  const clock = new FakeClock();
  return {
    clock,
    client: new RegistryClient({
      repository,
      clock,
      fetch: registry.fetch,
      ...(credentials ? { credentials } : {}),
    }),
  };
}

describe("registry client", () => {
  it("computes a manifest's digest from its exact bytes", () => {
    expect(manifestDigest(Buffer.from("{}"))).toBe(
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
  });

  it("reads a manifest by tag over HTTPS with every manifest media type accepted", async () => {
    const registry = fakeRegistry();
    const digest = storeImage(registry, "valmetal/api", "dev-1", { a: "b" });
    const manifest = await client(registry).client.getManifest("dev-1");
    expect(manifest?.digest).toBe(digest);
    expect(manifest?.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(registry.requests[0]?.url).toBe("https://registry.example.com/v2/valmetal/api/manifests/dev-1");
  });

  it("returns undefined for a tag the registry does not have", async () => {
    expect(await client(fakeRegistry()).client.getManifest("nope")).toBeUndefined();
  });

  it("puts the same bytes under another tag, so the digest is unchanged", async () => {
    const registry = fakeRegistry();
    storeImage(registry, "valmetal/api", "staging-1", {});
    const { client: registryClient } = client(registry);
    const source = await registryClient.getManifest("staging-1");
    const digest = await registryClient.putManifest("prod-1", source as NonNullable<typeof source>);
    expect(digest).toBe(source?.digest);
    expect((await registryClient.getManifest("prod-1"))?.digest).toBe(source?.digest);
  });

  it("reads the image labels from the config blob", async () => {
    const registry = fakeRegistry();
    storeImage(registry, "valmetal/api", "t", { "org.opencontainers.image.revision": "abc" });
    const { client: registryClient } = client(registry);
    const manifest = await registryClient.getManifest("t");
    expect(await registryClient.labels(manifest as NonNullable<typeof manifest>)).toEqual({
      "org.opencontainers.image.revision": "abc",
    });
  });

  it("answers a Basic challenge with the credentials (as ECR asks)", async () => {
    const registry = fakeRegistry({ auth: "basic:AWS:token" });
    storeImage(registry, "valmetal/api", "t", {});
    expect(
      await client(registry, { username: "AWS", password: "token" }).client.getManifest("t"),
    ).toBeDefined();
    expect(registry.requests.map((request) => request.authorization)).toEqual([
      undefined,
      "Basic QVdTOnRva2Vu",
    ]);
  });

  it("answers a Bearer challenge by fetching a token with the credentials", async () => {
    const registry = fakeRegistry({ auth: "bearer:user:pw" });
    storeImage(registry, "valmetal/api", "t", {});
    expect(
      await client(registry, { username: "user", password: "pw" }).client.getManifest("t"),
    ).toBeDefined();
    expect(registry.requests[1]?.url).toBe(
      "https://registry.example.com/token?service=fake&scope=repository%3Ax%3Apull",
    );
    expect(registry.requests[2]?.authorization).toBe("Bearer token-123");
  });

  it.each([
    [undefined, "requires authentication (HTTP 401); pass username and password"],
    [{ username: "AWS", password: "wrong" }, "refused the credentials (HTTP 401)"],
  ])("fails clearly when credentials are %j", async (credentials, message) => {
    const registry = fakeRegistry({ auth: "basic:AWS:token" });
    const promise = client(registry, credentials).client.getManifest("t");
    await expect(promise).rejects.toThrow(RegistryAuthError);
    await expect(client(registry, credentials).client.getManifest("t")).rejects.toThrow(message);
  });

  it("retries network errors, 429 and 5xx with back-off, then succeeds", async () => {
    const registry = fakeRegistry();
    storeImage(registry, "valmetal/api", "t", {});
    registry.failures.push("network", 503);
    const { client: registryClient, clock } = client(registry);
    expect(await registryClient.getManifest("t")).toBeDefined();
    expect(clock.sleeps).toEqual([1000, 2000]);
  });

  it("reports an unreachable registry after its attempts, with the cause", async () => {
    const registry = fakeRegistry();
    registry.failures.push("network", "network", "network");
    await expect(client(registry).client.getManifest("t")).rejects.toThrow(
      new RegistryUnreachableError(
        "cannot reach registry registry.example.com (ECONNRESET); check the repository input and that the registry is up",
      ),
    );
  });
});
