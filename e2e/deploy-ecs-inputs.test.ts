import { describe, expect, it } from "vitest";
import { freePort } from "../test/support/ports.ts";
import { runAction } from "../test/support/run-action.ts";

// No AWS endpoint answers here: each case must fail on its input before any AWS call.
const closedEndpoint = `http://127.0.0.1:${await freePort()}`;
const env = {
  AWS_ENDPOINT_URL: closedEndpoint,
  AWS_REGION: "ca-central-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_MAX_ATTEMPTS: "1",
};
const base = {
  service: "valmetal-dev-api",
  cluster: "valmetal-dev",
  environment: "dev",
  application: "valmetal",
  "container-name": "api",
  image: "127.0.0.1:5000/valmetal/api:dev-ede8f4c9a8fba49e904614fc80efd8936c9e41cc",
  sha: "ede8f4c9a8fba49e904614fc80efd8936c9e41cc",
};

describe("deploy-ecs refuses bad inputs before calling AWS", () => {
  it.each([
    ["a short sha", { sha: "abc" }, "sha 'abc' is not a 40-character hex commit SHA"],
    [
      "a missing task definition file",
      { "task-definition": "nope.json" },
      "task-definition file nope.json not found",
    ],
    ["an image without container", { "container-name": "" }, "image needs container-name"],
    [
      "an unknown INSUFFICIENT_DATA policy",
      { "insufficient-data": "maybe" },
      "input insufficient-data is 'maybe'; use one of ignore, fail",
    ],
    [
      "a malformed smoke test",
      { "smoke-tests": "health 200" },
      "smoke test 'health 200' is not '<path> <status> [expected text]'",
    ],
    ["a bad environment", { environment: "Prod" }, "environment 'Prod' is not a valid environment name"],
    ["a negative bake", { "bake-minutes": "-1" }, "input bake-minutes is '-1'; use a number of minutes"],
    ["a missing service", { service: "" }, "input service is required; set it in the step's with:"],
    ["an unknown mode", { mode: "canary" }, "input mode is 'canary'; use one of auto, blue-green, rolling"],
    ["a desired count that is not a number", { "desired-count": "two" }, "input desired-count is 'two'"],
    ["an unknown tag propagation", { "propagate-tags": "ALL" }, "input propagate-tags is 'ALL'"],
  ])("%s", async (_case, inputs, message) => {
    const run = await runAction("actions/deploy-ecs", { inputs: { ...base, ...inputs }, env });
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain(message);
    expect(run.outputs["deployment-id"]).toBeUndefined();
    expect(run.log).not.toContain("ECONNREFUSED");
  });

  it("has nothing to stop in its post step when no deployment was created", async () => {
    const run = await runAction("actions/deploy-ecs", { inputs: base, env, phase: "post", state: {} });
    expect(run.exitCode).toBe(0);
    expect(run.annotations).toEqual([]);
  });
});
