import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateFargateSize } from "./fargate.ts";
import { renderTaskDefinition, validateImage } from "./render.ts";
import { parseTaskDefinition } from "./task-definition-file.ts";

const describeOutput = readFileSync(
  new URL("./testdata/describe-task-definition.json", import.meta.url),
  "utf8",
);
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const image = `111111111111.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api:dev-${sha}`;
const tags = { Environment: "dev", Application: "valmetal", Component: "api" };

describe("task definition files", () => {
  it("reads describe-task-definition output, dropping describe-only attributes and nulls, keeping tags", () => {
    const { input, unknownKeys } = parseTaskDefinition(describeOutput, "td.json");
    expect(unknownKeys).toEqual([]);
    for (const key of [
      "taskDefinitionArn",
      "revision",
      "status",
      "requiresAttributes",
      "compatibilities",
      "registeredAt",
      "registeredBy",
    ]) {
      expect(input).not.toHaveProperty(key);
    }
    expect(input.family).toBe("valmetal-dev-api");
    expect(input.containerDefinitions?.[0]).not.toHaveProperty("healthCheck");
    expect(input.tags).toContainEqual({ key: "Owner", value: "farm-team" });
  });

  it("reads a bare register-task-definition document and reports keys it does not know", () => {
    const { input, unknownKeys } = parseTaskDefinition(
      JSON.stringify({ family: "f", containerDefinitions: [{ name: "a" }], brandNewKey: 1 }),
      "td.json",
    );
    expect(input.family).toBe("f");
    expect(unknownKeys).toEqual(["brandNewKey"]);
  });

  it.each([
    ["{", "task definition td.json is not valid JSON"],
    ["[]", "task definition td.json is not a JSON object"],
    [
      '{"containerDefinitions":[{"name":"a"}]}',
      'task definition td.json has no family; add "family": "<name>"',
    ],
    ['{"family":"f","containerDefinitions":[]}', "task definition td.json has no containerDefinitions"],
  ])("rejects %s", (json, message) => {
    expect(() => parseTaskDefinition(json, "td.json")).toThrow(message);
  });
});

describe("rendering", () => {
  const base = parseTaskDefinition(describeOutput, "td.json").input;

  it("sets the image, APP_VERSION and the traceability tags, keeping the other containers and tags", () => {
    const rendered = renderTaskDefinition(base, {
      images: { api: image },
      environment: { LOG_LEVEL: "info" },
      sha,
      tags,
    });
    const [api, router] = rendered.containerDefinitions ?? [];
    expect(api?.image).toBe(image);
    expect(api?.environment).toEqual([
      { name: "PORT", value: "8080" },
      { name: "LOG_LEVEL", value: "info" },
      { name: "APP_VERSION", value: sha },
    ]);
    expect(router).toEqual(base.containerDefinitions?.[1]);
    expect(rendered.tags).toEqual([
      { key: "Owner", value: "farm-team" },
      { key: "Environment", value: "dev" },
      { key: "Application", value: "valmetal" },
      { key: "Component", value: "api" },
      { key: "Version", value: sha },
    ]);
    expect(base.containerDefinitions?.[0]?.image).not.toBe(image);
  });

  it("renders images into several containers at once", () => {
    const rendered = renderTaskDefinition(base, {
      images: { api: image, "log-router": `registry.example.com/fluent-bit@sha256:${"a".repeat(64)}` },
      environment: {},
      sha,
      tags,
    });
    expect(rendered.containerDefinitions?.map((container) => container.image)).toEqual([
      image,
      `registry.example.com/fluent-bit@sha256:${"a".repeat(64)}`,
    ]);
  });

  it("names the containers when asked for one the task definition does not have", () => {
    expect(() => renderTaskDefinition(base, { images: { web: image }, environment: {}, sha, tags })).toThrow(
      "container 'web' is not in task definition valmetal-dev-api; its containers are api, log-router",
    );
  });

  it.each([
    ["valmetal/api", "is not a full image reference with a tag or digest"],
    ["registry.example.com/valmetal/api", "is not a full image reference with a tag or digest"],
    ["registry.example.com/valmetal/api:latest", "uses the moving tag latest"],
    [
      `registry.example.com/valmetal/api:dev-${"0".repeat(40)}`,
      `is tagged with commit ${"0".repeat(40)} but the deployment is for ${sha}`,
    ],
  ])("rejects the image %s", (reference, message) => {
    expect(() => validateImage(reference, sha)).toThrow(message);
  });

  it.each([
    image,
    `127.0.0.1:5000/valmetal/api:prod-${sha}`,
    `registry.example.com/x@sha256:${"b".repeat(64)}`,
    "ghcr.io/a/b:v1.2.3",
  ])("accepts the image %s", (reference) => {
    expect(() => validateImage(reference, sha)).not.toThrow();
  });
});

describe("Fargate task sizes", () => {
  it.each([
    ["256", "512"],
    ["256", "2048"],
    ["512", "1024"],
    ["1 vCPU", "2 GB"],
    ["4096", "30720"],
    ["16384", "122880"],
  ])("accepts cpu %s with memory %s", (cpu, memory) => {
    expect(() => validateFargateSize(cpu, memory, "f")).not.toThrow();
  });

  it.each([
    ["256", "4096", "with cpu 256 use 512–2048 MiB in steps of 512"],
    ["512", "1536", "with cpu 512 use 1024–4096 MiB in steps of 1024"],
    ["300", "1024", "cpu '300', which Fargate does not offer"],
    [undefined, "1024", "needs task-level cpu and memory for Fargate"],
  ])("rejects cpu %s with memory %s", (cpu, memory, message) => {
    expect(() => validateFargateSize(cpu, memory, "f")).toThrow(message);
  });
});
