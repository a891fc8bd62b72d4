import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/ports.ts";
import { loadWebConfig, startWebServer, type WebServer } from "../src/server.ts";

let fakeApi: Server;
let web: WebServer;
let webWithoutApi: WebServer;
const seen: string[] = [];

beforeAll(async () => {
  fakeApi = createServer((request, response) => {
    seen.push(request.url ?? "");
    response.writeHead(request.url?.startsWith("/api/equipment") ? 200 : 404, {
      "content-type": "application/json",
      "x-app-version": "api-sha",
    });
    response.end(JSON.stringify({ equipment: [{ id: "m1" }] }));
  });
  await new Promise<void>((done) => fakeApi.listen(0, "127.0.0.1", done));
  const apiUrl = `http://127.0.0.1:${(fakeApi.address() as AddressInfo).port}`;
  const env = { APP_VERSION: "web-sha", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent" };
  web = await startWebServer(loadWebConfig({ ...env, API_URL: apiUrl }));
  webWithoutApi = await startWebServer(
    loadWebConfig({ ...env, API_URL: `http://127.0.0.1:${await freePort()}` }),
  );
});

afterAll(async () => {
  await web?.close();
  await webWithoutApi?.close();
  await new Promise((done) => fakeApi?.close(done));
});

describe("web server", () => {
  it("answers /health without the api, with its version and uptime", async () => {
    const response = await fetch(`${webWithoutApi.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-app-version")).toBe("web-sha");
    expect(await response.json()).toEqual({
      status: "ok",
      version: "web-sha",
      uptimeSeconds: expect.any(Number),
    });
  });

  it("serves the dashboard and its assets with a strict content security policy", async () => {
    const page = await fetch(`${web.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-app-version")).toBe("web-sha");
    expect(await page.text()).toContain("Farm equipment");
    const script = await fetch(`${web.url}/app.js`);
    expect(script.headers.get("content-type")).toContain("text/javascript");
  });

  it("proxies the api calls with their query, keeping the api's status and version", async () => {
    const response = await fetch(`${web.url}/api/equipment?farmId=farm-1`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-app-version")).toBe("web-sha");
    expect(response.headers.get("x-api-version")).toBe("api-sha");
    expect(await response.json()).toEqual({ equipment: [{ id: "m1" }] });
    expect(seen).toContain("/api/equipment?farmId=farm-1");
    expect((await fetch(`${web.url}/api/other`)).status).toBe(404);
  });

  it("answers 502 in JSON when the api is unreachable", async () => {
    const response = await fetch(`${webWithoutApi.url}/api/equipment`);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { code: "api_unreachable" } });
  });

  it("refuses writes and unknown pages with JSON errors", async () => {
    expect((await fetch(`${web.url}/api/equipment`, { method: "POST", body: "{}" })).status).toBe(405);
    const missing = await fetch(`${web.url}/../../etc/passwd`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-app-version")).toBe("web-sha");
  });
});
