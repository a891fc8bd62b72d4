import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLoad } from "./load.ts";

let server: Server;
let url: string;
let served = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    served++;
    const failing = request.url === "/fail" && served % 2 === 0;
    response.writeHead(failing ? 500 : 200, { "x-app-version": failing ? "bad" : "good" });
    response.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("the bounded load generator", () => {
  it("sends rate × duration requests, then stops by itself, recording status and version", async () => {
    const begin = Date.now();
    const run = startLoad({ url: `${url}/fail`, ratePerSecond: 50, durationMs: 400 });
    const summary = await run.finished;
    expect(Date.now() - begin).toBeLessThan(2000);
    expect(summary.total).toBe(20);
    expect(summary.failed).toBe(10);
    expect(summary.byVersion).toEqual({ good: { total: 10, failed: 0 }, bad: { total: 10, failed: 10 } });
    expect(run.samples.every((sample) => sample.endedAt >= sample.startedAt)).toBe(true);
  });

  it("records refused connections as no answer, and stops early on request", async () => {
    const run = startLoad({ url: "http://127.0.0.1:9/", ratePerSecond: 20, durationMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const summary = await run.stop();
    expect(summary.total).toBeGreaterThan(0);
    expect(summary.total).toBeLessThan(20);
    expect(summary.noAnswer).toBe(summary.total);
  });

  it("only targets loopback addresses and bounded rates", () => {
    expect(() => startLoad({ url: "http://10.0.0.1/", ratePerSecond: 1, durationMs: 1000 })).toThrow(
      "is not a loopback address",
    );
    expect(() => startLoad({ url, ratePerSecond: 5000, durationMs: 1000 })).toThrow("must be in (0, 500]");
  });
});
