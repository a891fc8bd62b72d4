import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { Faults } from "../protocol/faults.ts";
import { startTestSimulator, type TestSimulator } from "./support.ts";

/** Fault injection seen from the real SDK: retries on throttling, errors after retries, latency, drops. */

let t: TestSimulator;
beforeAll(async () => {
  t = await startTestSimulator();
});
afterAll(async () => {
  await t.stop();
});
beforeEach(async () => {
  await fetch(`${t.simulator.admin}/faults`, { method: "DELETE" });
});

const client = () =>
  new ECSClient({
    endpoint: t.simulator.endpoint,
    region: "ca-central-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    maxAttempts: 3,
  });

describe("fault injection", () => {
  test("throttling twice makes the SDK retry and succeed on the third attempt", async () => {
    await t.admin("/faults", {
      rules: [{ service: "ecs", operation: "ListClusters", kind: "throttle", rate: 1, count: 2 }],
    });
    const response = await client().send(new ListClustersCommand({}));
    expect(response.$metadata.attempts).toBe(3);
    expect((await t.admin("/calls"))["ecs.ListClusters"]).toBe(3);
  });

  test("a 5xx surfaces as the SDK's error after its retries", async () => {
    await t.admin("/faults", {
      rules: [{ service: "ecs", operation: "ListClusters", kind: "error", status: 500 }],
    });
    const error = await client()
      .send(new ListClustersCommand({}))
      .catch((caught) => caught);
    expect(error.name).toBe("ServerException");
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(error.$metadata.attempts).toBe(3);
    await t.admin("/faults", { rules: [{ service: "ecs", kind: "error", status: 503 }] });
    const unavailable = await client()
      .send(new ListClustersCommand({}))
      .catch((caught) => caught);
    expect(unavailable.$metadata.httpStatusCode).toBe(503);
  });

  test("added latency is observed by the caller", async () => {
    await t.admin("/faults", {
      rules: [{ service: "ecs", operation: "ListClusters", kind: "latency", latencyMs: 300 }],
    });
    const started = performance.now();
    await client().send(new ListClustersCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  test("a dropped connection surfaces as a network error", async () => {
    await t.admin("/faults", { rules: [{ service: "ecs", operation: "ListClusters", kind: "drop" }] });
    const error = await client()
      .send(new ListClustersCommand({}))
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(String(error.code ?? error.name)).toMatch(/ECONNRESET|socket hang up|TimeoutError|EPIPE/);
    expect((await t.admin("/calls"))["ecs.ListClusters"]).toBe(3);
  });

  test("a request without a SigV4 Authorization header is refused", async () => {
    const response = await fetch(t.simulator.endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters",
        "content-type": "application/x-amz-json-1.1",
      },
      body: "{}",
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { __type: string }).__type).toBe(
      "MissingAuthenticationTokenException",
    );
  });
});

describe("token-bucket throttling", () => {
  test("throttles only once the burst is spent, per operation, and refills at the sustained rate", () => {
    let now = 0;
    const faults = new Faults(Math.random, () => now);
    faults.set([{ service: "ecs", kind: "throttle", burst: 2, sustained: 4 }]);
    const outcome = (operation: string) => faults.decide("ecs", operation).outcome ?? "ok";
    expect([outcome("DescribeTasks"), outcome("DescribeTasks"), outcome("DescribeTasks")]).toEqual([
      "ok",
      "ok",
      "throttle",
    ]);
    expect(outcome("ListTasks")).toBe("ok");
    now = 250;
    expect([outcome("DescribeTasks"), outcome("DescribeTasks")]).toEqual(["ok", "throttle"]);
    now = 10_000;
    expect([outcome("DescribeTasks"), outcome("DescribeTasks"), outcome("DescribeTasks")]).toEqual([
      "ok",
      "ok",
      "throttle",
    ]);
  });

  test("a bucket is refused on anything but a throttle fault, and without both of its numbers", () => {
    const faults = new Faults();
    expect(() => faults.set([{ kind: "error", burst: 5, sustained: 1 }])).toThrow(/throttle fault/);
    expect(() => faults.set([{ kind: "throttle", burst: 5 }])).toThrow(/burst and sustained go together/);
  });
});
