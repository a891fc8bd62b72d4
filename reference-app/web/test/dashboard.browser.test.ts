import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/ports.ts";
import { type PostgresInstance, startPostgres } from "../../../test/support/postgres.ts";
import { startBroker } from "../../api/src/broker.ts";
import { loadWebConfig, startWebServer, type WebServer } from "../src/server.ts";

const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const apiEntry = fileURLToPath(new URL("../../api/src/server.ts", import.meta.url));

let postgres: PostgresInstance;
let broker: Awaited<ReturnType<typeof startBroker>>;
let api: ChildProcess | undefined;
let apiUrl: string;
let web: WebServer;
let profile: string;
let context: BrowserContext;
let page: Page;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function post(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
}

const reading = (type: string, motorTempC: number, ts = new Date().toISOString()) => ({
  type,
  ts,
  runState: "running",
  rpm: 900,
  motorCurrentA: 10,
  motorTempC,
  hoursMeter: 321.5,
  loadKg: 50,
  faultCodes: [],
  rssi: -60,
  fw: "2.0.1",
});

beforeAll(async () => {
  await access(chromiumPath).catch(() => {
    throw new Error(
      `${chromiumPath} not found: install the Debian package \`chromium\` (or set CHROMIUM_PATH)`,
    );
  });
  postgres = await startPostgres({ database: "equipment" });
  broker = await startBroker(0);
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  api = spawn(process.execPath, [apiEntry], {
    env: {
      PATH: process.env.PATH,
      APP_VERSION: "api-browser-test",
      PORT: String(apiPort),
      HOST: "127.0.0.1",
      DATABASE_HOST: postgres.host,
      DATABASE_PORT: String(postgres.port),
      DATABASE_NAME: postgres.database,
      DATABASE_USER: postgres.user,
      DATABASE_PASSWORD: postgres.password,
      MQTT_URL: broker.url,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await until("the api to be ready", async () => (await fetch(`${apiUrl}/ready`)).status === 200, 30_000);

  await post("/api/equipment", {
    id: "mixer-01",
    farmId: "farm-north",
    type: "feed-mixer",
    name: "North mixer",
  });
  await post("/api/equipment", {
    id: "silo-01",
    farmId: "farm-north",
    type: "silo-unloader",
    name: "North silo",
  });
  await post("/api/equipment", {
    id: "pump-01",
    farmId: "farm-south",
    type: "manure-pump",
    name: "South pump",
  });
  await post("/api/equipment/mixer-01/telemetry", reading("feed-mixer", 61.5));
  await post("/api/equipment/silo-01/telemetry", reading("silo-unloader", 44.0));
  await post("/api/equipment/pump-01/telemetry", reading("manure-pump", 102.5));

  web = await startWebServer(
    loadWebConfig({
      APP_VERSION: "web-browser-test",
      PORT: "0",
      HOST: "127.0.0.1",
      API_URL: apiUrl,
      LOG_LEVEL: "warn",
    }),
  );

  profile = await mkdtemp(join(tmpdir(), "chromium-profile-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await web?.close();
  if (api && api.exitCode === null) {
    const exited = once(api, "exit");
    api.kill("SIGTERM");
    await exited;
  }
  await broker?.close();
  await postgres?.stop();
});

describe("dashboard in a real browser", () => {
  it("loads, lists the machines with their latest telemetry and alerts, and shows a new reading live", async () => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const response = await page.goto(`${web.url}/?refresh=500`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toContain("Farm equipment");

    const rows = page.getByTestId("equipment-row");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(3);
    const text = await page.getByTestId("equipment-table").textContent();
    for (const name of ["North mixer", "North silo", "South pump", "farm-north", "farm-south"]) {
      expect(text).toContain(name);
    }
    const pumpTemp = page.locator('[data-equipment-id="pump-01"] [data-testid="motor-temp"]');
    expect(await pumpTemp.textContent()).toBe("102.5");
    await page.getByTestId("alert").first().waitFor();
    expect(await page.getByTestId("alerts").textContent()).toContain("pump-01: Motor temperature 102.5");
    expect(await page.getByTestId("status").textContent()).toContain("Live");

    // A new reading, sent after the page loaded, appears without reloading.
    await post("/api/equipment/mixer-01/telemetry", reading("feed-mixer", 73.25));
    const mixerTemp = page.locator('[data-equipment-id="mixer-01"] [data-testid="motor-temp"]');
    await until("the new reading on the page", async () => (await mixerTemp.textContent()) === "73.3");

    // Filtering by farm narrows the list.
    await page.getByTestId("farm-filter").selectOption("farm-south");
    await until("the farm filter", async () => (await rows.count()) === 1);
    expect(await rows.first().getAttribute("data-equipment-id")).toBe("pump-01");
    expect(errors).toEqual([]);
  });
});
