import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { parseSmokeChecks, runSmokeChecks } from "./smoke.ts";

let baseUrl: string;
let healthCalls = 0;
const server = createServer((request, response) => {
  if (request.url === "/health") {
    healthCalls++;
    response.writeHead(healthCalls < 3 ? 503 : 200).end('{"status":"ok"}');
  } else if (request.url === "/broken") {
    response.writeHead(500).end("boom");
  } else {
    response.writeHead(200).end("hello");
  }
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("smoke checks on the test listener", () => {
  it.each([
    ["/health 200", [{ path: "/health", status: 200 }]],
    [
      '/health 200 "status":"ok"\n# comment\n/api/equipment 200',
      [
        { path: "/health", status: 200, contains: '"status":"ok"' },
        { path: "/api/equipment", status: 200 },
      ],
    ],
  ])("parses %j", (text, expected) => {
    expect(parseSmokeChecks(text)).toEqual(expected);
  });

  it.each(["health 200", "/health", "/health OK"])("rejects %j", (line) => {
    expect(() => parseSmokeChecks(line)).toThrow(
      `smoke test '${line}' is not '<path> <status> [expected text]'`,
    );
  });

  it("retries a check while green warms up, then passes", async () => {
    const clock = new FakeClock();
    const result = await runSmokeChecks({
      baseUrl,
      checks: parseSmokeChecks('/health 200 "status":"ok"\n/ 200 hello'),
      attempts: 5,
      clock,
    });
    expect(result).toEqual({ ok: true, detail: "GET /health 200, GET / 200" });
    expect(clock.sleeps).toEqual([2_000, 4_000]);
  });

  it("fails with what it saw", async () => {
    const result = await runSmokeChecks({
      baseUrl,
      checks: parseSmokeChecks("/broken 200"),
      attempts: 2,
      clock: new FakeClock(),
    });
    expect(result).toEqual({ ok: false, detail: "GET /broken → 500 (expected 200)" });
  });
});
