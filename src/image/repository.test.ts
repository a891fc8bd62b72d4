import { describe, expect, it } from "vitest";
import { isLoopbackRegistry, parseRepository } from "./repository.ts";

describe("image repository input", () => {
  it.each([
    [
      "123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api",
      {
        registry: "123456789012.dkr.ecr.ca-central-1.amazonaws.com",
        path: "valmetal/api",
        ecr: { accountId: "123456789012", region: "ca-central-1" },
      },
    ],
    [
      "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app",
      {
        registry: "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        path: "app",
        ecr: { accountId: "123456789012", region: "us-gov-west-1" },
      },
    ],
    ["127.0.0.1:5000/valmetal/web", { registry: "127.0.0.1:5000", path: "valmetal/web" }],
    ["localhost:5000/a", { registry: "localhost:5000", path: "a" }],
    ["ghcr.io/valmetal/farm-platform/api", { registry: "ghcr.io", path: "valmetal/farm-platform/api" }],
    ["registry:5000/team/app_1", { registry: "registry:5000", path: "team/app_1" }],
  ])("parses %s", (input, expected) => {
    const repository = parseRepository(input);
    expect(repository).toMatchObject({ name: input, ...expected });
    if (!("ecr" in expected)) expect(repository.ecr).toBeUndefined();
  });

  it.each([
    ["", "repository is empty"],
    ["valmetal/api", "does not start with a registry host"],
    ["api", "does not start with a registry host"],
    ["ghcr.io/valmetal/API", "has an invalid path 'valmetal/API'"],
    ["ghcr.io/valmetal/api:prod", "contains a tag or digest"],
    ["ghcr.io/valmetal/api@sha256:abc", "contains a tag or digest"],
  ])("rejects %j: %s", (input, message) => {
    expect(() => parseRepository(input)).toThrow(message);
  });

  it.each([
    ["127.0.0.1:5000", true],
    ["127.1.2.3:80", true],
    ["localhost:5000", true],
    ["[::1]:5000", true],
    ["ghcr.io", false],
    ["10.0.0.1:5000", false],
  ])("treats %s as loopback: %s", (registry, expected) => {
    expect(isLoopbackRegistry(registry)).toBe(expected);
  });
});
