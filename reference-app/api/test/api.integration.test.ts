import type { AddressInfo } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/ports.ts";
import { type PostgresInstance, startPostgres } from "../../../test/support/postgres.ts";
import { startBroker } from "../src/broker.ts";
import { type Service, startService } from "../src/service.ts";
import { type Json, reading, silentLogger, testConfig, waitFor } from "./harness.ts";

let postgres: PostgresInstance;
let broker: Awaited<ReturnType<typeof startBroker>>;
let service: Service;
let device: MqttClient;
let base: string;

const get = async (path: string) => {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
};
const post = async (path: string, body: unknown) => {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
};

beforeAll(async () => {
  postgres = await startPostgres({ database: "equipment" });
  broker = await startBroker(0);
  service = await startService(testConfig(postgres, broker.url), silentLogger());
  await service.ready;
  base = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  device = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "test-device" });
  await waitFor(
    "the api to subscribe",
    async () => service.subscriber.connected && broker.broker.connectedClients >= 2,
  );
});

afterAll(async () => {
  await device?.endAsync();
  await service?.close();
  await broker?.close();
  await postgres?.stop();
});

describe("api against PostgreSQL and an MQTT broker", () => {
  it("answers /health without dependencies, with the version and uptime", async () => {
    const { status, headers, body } = await get("/health");
    expect(status).toBe(200);
    expect(headers.get("x-app-version")).toBe("test-sha-1234");
    expect(body).toEqual({ status: "ok", version: "test-sha-1234", uptimeSeconds: expect.any(Number) });
  });

  it("is ready when the database and the broker are reachable", async () => {
    const { status, body } = await get("/ready");
    expect(status).toBe(200);
    expect(body.checks).toEqual({ database: { ok: true }, broker: { ok: true } });
  });

  it("answers unknown routes and bad input with JSON errors and the version header", async () => {
    const missing = await get("/nope");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-app-version")).toBe("test-sha-1234");
    expect(missing.body.error).toMatchObject({ status: 404, code: "not_found" });

    const badJson = await post("/api/equipment", "{oops");
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.status).toBe(400);

    const invalid = await post("/api/equipment", { id: "bad id", farmId: "f", type: "tractor", name: "x" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({
      code: "invalid_body",
      message: expect.stringContaining("type:"),
    });

    const badFilter = await get("/api/equipment?type=tractor");
    expect(badFilter.status).toBe(400);

    expect((await get("/api/equipment/unknown-1")).status).toBe(404);
    expect((await get("/api/equipment/unknown-1/telemetry/latest")).status).toBe(404);
  });

  it("registers equipment and lists it filtered by farm and type", async () => {
    const created = await post("/api/equipment", {
      id: "mixer-a1",
      farmId: "farm-a",
      type: "feed-mixer",
      name: "Mixer A1",
      model: "VM-2200",
    });
    expect(created.status).toBe(201);
    expect(created.body.equipment).toMatchObject({ id: "mixer-a1", farmId: "farm-a", type: "feed-mixer" });
    expect(
      (await post("/api/equipment", { id: "mixer-a1", farmId: "farm-a", type: "feed-mixer", name: "A1" }))
        .status,
    ).toBe(200);
    await post("/api/equipment", { id: "silo-a1", farmId: "farm-a", type: "silo-unloader", name: "Silo A1" });
    await post("/api/equipment", { id: "pump-b1", farmId: "farm-b", type: "manure-pump", name: "Pump B1" });

    const ids = async (query: string) =>
      (await get(`/api/equipment${query}`)).body.equipment.map((item: { id: string }) => item.id);
    expect(await ids("?farmId=farm-a")).toEqual(["mixer-a1", "silo-a1"]);
    expect(await ids("?farmId=farm-a&type=silo-unloader")).toEqual(["silo-a1"]);
    expect(await ids("?type=manure-pump")).toEqual(["pump-b1"]);
    expect((await get("/api/equipment/mixer-a1")).body.equipment.name).toBe("A1");
  });

  it("stores an MQTT message and shows it through HTTP (id from the topic)", async () => {
    const sent = reading({ type: "conveyor", motorTempC: 48.25, ts: "2025-03-01T06:30:00.000Z" });
    await device.publishAsync("valmetal/equipment/conv-m1/telemetry", JSON.stringify(sent), { qos: 1 });
    const latest = await waitFor("the reading to be stored", async () => {
      const response = await get("/api/equipment/conv-m1/telemetry/latest");
      return response.status === 200 ? response.body.reading : undefined;
    });
    expect(latest).toMatchObject({
      equipmentId: "conv-m1",
      type: "conveyor",
      ts: "2025-03-01T06:30:00.000Z",
      motorTempC: 48.25,
      runState: "running",
      faultCodes: [],
    });
    // A machine first heard of through telemetry is registered on the fly, not yet assigned to a farm.
    expect((await get("/api/equipment/conv-m1")).body.equipment).toMatchObject({
      type: "conveyor",
      farmId: null,
    });
  });

  it("counts and logs malformed MQTT messages and keeps serving", async () => {
    const before = (await get("/api/ingest/stats")).body.malformed;
    await device.publishAsync("valmetal/equipment/conv-m1/telemetry", "{not json", { qos: 1 });
    await device.publishAsync("valmetal/equipment/conv-m1/telemetry", JSON.stringify({ type: "tractor" }), {
      qos: 0,
    });
    await device.publishAsync("valmetal/equipment/bad id/telemetry", JSON.stringify(reading()), { qos: 1 });
    await waitFor(
      "three malformed messages",
      async () => (await get("/api/ingest/stats")).body.malformed === before + 3,
    );
    // Still ingesting afterwards.
    await device.publishAsync(
      "valmetal/equipment/conv-m1/telemetry",
      JSON.stringify(reading({ type: "conveyor", rpm: 777 })),
    );
    await waitFor(
      "the next reading",
      async () => (await get("/api/equipment/conv-m1/telemetry/latest")).body.reading?.rpm === 777,
    );
  });

  it("ingests over HTTP, raises alerts on threshold breaches, and serves history by range", async () => {
    const times = ["2025-03-02T10:00:00.000Z", "2025-03-02T10:01:00.000Z", "2025-03-02T10:02:00.000Z"];
    for (const [index, ts] of times.entries()) {
      const response = await post(
        "/api/equipment/mixer-a1/telemetry",
        reading({ ts, motorTempC: 70 + index * 20 }),
      );
      expect(response.status).toBe(201);
    }
    const invalid = await post("/api/equipment/mixer-a1/telemetry", reading({ runState: "flying" }));
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain("runState");

    const history = await get(
      "/api/equipment/mixer-a1/telemetry?from=2025-03-02T10:00:30Z&to=2025-03-02T10:05:00Z",
    );
    expect(history.body.readings.map((item: { ts: string }) => item.ts)).toEqual([times[2], times[1]]);
    const limited = await get("/api/equipment/mixer-a1/telemetry?limit=1");
    expect(limited.body.readings).toHaveLength(1);
    expect(limited.body.readings[0].ts).toBe(times[2]);
    expect((await get("/api/equipment/mixer-a1/telemetry?limit=0")).status).toBe(400);

    const alerts = (await get("/api/equipment/mixer-a1/alerts")).body.alerts;
    expect(
      alerts.map((alert: { rule: string; severity: string }) => `${alert.rule}:${alert.severity}`),
    ).toEqual(["motor-temp:critical", "motor-temp:warning"]);
    const listed = (await get("/api/equipment?farmId=farm-a")).body.equipment;
    expect(listed[0]).toMatchObject({ id: "mixer-a1", alertsLast24h: expect.any(Number) });
    expect(listed[0].latest).toMatchObject({ ts: times[2], motorTempC: 110, equipmentId: "mixer-a1" });
    expect(listed[1]).toMatchObject({ id: "silo-a1", latest: null });
    const farmAlerts = (await get("/api/alerts?farmId=farm-a")).body.alerts;
    expect(farmAlerts).toHaveLength(2);
    expect((await get("/api/alerts?farmId=farm-b")).body.alerts).toEqual([]);
  });

  it("reports not ready while the database is down, answers 503, and recovers", async () => {
    await postgres.pause();
    try {
      const down = await waitFor("/ready to fail", async () => {
        const response = await get("/ready");
        return response.status === 503 ? response : undefined;
      });
      expect(down.body.checks.database.ok).toBe(false);
      expect(down.body.checks.broker.ok).toBe(true);
      expect((await get("/health")).status).toBe(200);
      const list = await get("/api/equipment");
      expect(list.status).toBe(503);
      expect(list.body.error.code).toBe("database_unavailable");
    } finally {
      await postgres.resume();
    }
    await waitFor("/ready to recover", async () => (await get("/ready")).status === 200);
    expect((await get("/api/equipment")).status).toBe(200);
  });

  it("reports not ready while the broker is down and reconnects", async () => {
    const port = broker.port;
    await device.endAsync(true);
    await broker.close();
    await waitFor("/ready to fail", async () => (await get("/ready")).status === 503);
    expect((await get("/ready")).body.checks.broker.ok).toBe(false);
    broker = await startBroker(port);
    await waitFor("/ready to recover", async () => (await get("/ready")).status === 200);
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "test-device-2" });
    await waitFor("the api to resubscribe", async () => broker.broker.connectedClients >= 2);
    await device.publishAsync(
      "valmetal/equipment/conv-m1/telemetry",
      JSON.stringify(reading({ type: "conveyor", rpm: 888 })),
      { qos: 1 },
    );
    await waitFor(
      "a reading after the reconnect",
      async () => (await get("/api/equipment/conv-m1/telemetry/latest")).body.reading?.rpm === 888,
    );
  });

  it("listens before its database is reachable: /health answers, /ready and /api report the wait", async () => {
    const nowhere = { ...postgres, port: await freePort() };
    const waiting = await startService(
      testConfig(nowhere, broker.url, { startupTimeoutMs: 0, version: "no-db" }),
      silentLogger(),
    );
    try {
      const url = `http://127.0.0.1:${(waiting.app.server.address() as AddressInfo).port}`;
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as Json).version).toBe("no-db");
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as Json).checks).toMatchObject({
        database: { ok: false },
        migrations: { ok: false, error: "pending" },
        broker: { ok: false },
      });
      const list = await fetch(`${url}/api/equipment`);
      expect(list.status).toBe(503);
      expect(((await list.json()) as Json).error.code).toBe("starting");
    } finally {
      const started = Date.now();
      await waiting.close();
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});
