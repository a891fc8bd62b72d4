import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startBroker } from "../reference-app/api/src/broker.ts";
import { ensureBaseImage, nodeBase } from "../test/support/base-images.ts";
import { type RunningContainer, startContainer } from "../test/support/containers.ts";
import { freePort } from "../test/support/ports.ts";
import { type PostgresInstance, startPostgres } from "../test/support/postgres.ts";
import { registryApi } from "../test/support/registry-api.ts";
import { runAction } from "../test/support/run-action.ts";

const registry = inject("registry");
const sha = randomBytes(20).toString("hex");
let baseImage: string;
let postgres: PostgresInstance;
let broker: Awaited<ReturnType<typeof startBroker>>;
const containers: RunningContainer[] = [];

async function buildComponent(component: "api" | "web") {
  const run = await runAction("actions/build-push", {
    inputs: {
      repository: `${registry}/valmetal/${component}`,
      environment: "dev",
      sha,
      context: `reference-app/${component}`,
      builder: "buildah",
      "build-args": `BASE_IMAGE=${baseImage}`,
    },
  });
  expect(run.exitCode, run.log).toBe(0);
  const manifest = await registryApi(`${registry}/valmetal/${component}`).client.getManifest(`dev-${sha}`);
  const layers = (JSON.parse(manifest?.body.toString() ?? "{}") as { layers: Array<{ size: number }> })
    .layers;
  const megabytes = layers.reduce((total, layer) => total + layer.size, 0) / 1024 / 1024;
  console.log(`${component} image: ${layers.length} layers, ${megabytes.toFixed(1)} MiB compressed`);
  return run.outputs.image as string;
}

async function waitUntilOk(url: string, container: RunningContainer): Promise<Response> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok) return response;
    if (Date.now() > deadline)
      throw new Error(`${url} never answered 200; container log:\n${container.logs.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("the reference app's images, built by build-push and run as containers", () => {
  beforeAll(async () => {
    baseImage = await ensureBaseImage(nodeBase);
    postgres = await startPostgres({ database: "equipment" });
    broker = await startBroker(0);
  });
  afterAll(async () => {
    await Promise.all(containers.map((container) => container.stop()));
    await broker?.close();
    await postgres?.stop();
  });

  it("api: starts as the node user, serves /health and /ready with its version, passes its HEALTHCHECK, stops cleanly", async () => {
    const image = await buildComponent("api");
    const port = await freePort();
    const api = await startContainer(image, {
      APP_VERSION: sha,
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_HOST: postgres.host,
      DATABASE_PORT: String(postgres.port),
      DATABASE_NAME: postgres.database,
      DATABASE_USER: postgres.user,
      DATABASE_PASSWORD: postgres.password,
      MQTT_URL: broker.url,
    });
    containers.push(api);
    expect(api.user).toBe("node");
    const health = await waitUntilOk(`http://127.0.0.1:${port}/health`, api);
    expect(health.headers.get("x-app-version")).toBe(sha);
    expect(await health.json()).toMatchObject({ status: "ok", version: sha });
    // Readiness follows liveness: /ready answers 503 until the database and the broker are connected.
    expect((await waitUntilOk(`http://127.0.0.1:${port}/ready`, api)).status).toBe(200);
    expect(api.healthcheck).toEqual(["node", "/app/dist/healthcheck.js"]);
    expect(await api.exec(api.healthcheck as string[])).toBe(0);

    containers.splice(containers.indexOf(api), 1);
    expect(await api.stop()).toBe(0);
    expect(await api.exec(api.healthcheck as string[]).catch(() => 1)).not.toBe(0);
  });

  it("web: starts, serves the dashboard and /health, passes its HEALTHCHECK", async () => {
    const image = await buildComponent("web");
    const port = await freePort();
    const web = await startContainer(image, {
      APP_VERSION: sha,
      HOST: "127.0.0.1",
      PORT: String(port),
      API_URL: "http://127.0.0.1:9",
    });
    containers.push(web);
    expect(web.user).toBe("node");
    const health = await waitUntilOk(`http://127.0.0.1:${port}/health`, web);
    expect(health.headers.get("x-app-version")).toBe(sha);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    expect(await web.exec(web.healthcheck as string[])).toBe(0);
  });
});
