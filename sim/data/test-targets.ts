import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Test helper: an in-process HTTP target on its own loopback address, with switchable health. */
export interface TestTarget {
  address: string;
  port: number;
  hits: number;
  setHealthy(healthy: boolean): void;
  close(): Promise<void>;
}

export async function startTarget(address: string, body: string, port = 0): Promise<TestTarget> {
  let healthy = true;
  const state = { hits: 0 };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://target");
    if (url.pathname === "/health") {
      response.writeHead(healthy ? 200 : 503);
      response.end(healthy ? "ok" : "sick");
      return;
    }
    state.hits++;
    if (url.pathname.startsWith("/fail")) {
      response.writeHead(500);
      response.end("boom");
      return;
    }
    if (url.pathname === "/slow") {
      setTimeout(() => response.end(body), Number(url.searchParams.get("ms") ?? 500));
      return;
    }
    if (url.pathname === "/echo") {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () =>
        response.end(
          JSON.stringify({
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        ),
      );
      return;
    }
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return {
    address,
    port: (server.address() as AddressInfo).port,
    get hits() {
      return state.hits;
    },
    set hits(value: number) {
      state.hits = value;
    },
    setHealthy: (value) => {
      healthy = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Polls `predicate` every 20 real ms until it holds or `limitMs` passes. */
export async function waitFor(predicate: () => boolean, limitMs = 10_000, what = "condition"): Promise<void> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `count` GET requests with `concurrency` in flight; returns the bodies (or "<status>" for non-200). */
export async function load(url: string, count: number, concurrency = 10): Promise<string[]> {
  const results: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const response = await fetch(url);
        const text = await response.text();
        results.push(response.status === 200 ? text : `<${response.status}>`);
      }
    }),
  );
  return results;
}
