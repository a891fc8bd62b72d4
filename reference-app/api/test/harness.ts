import type { Config } from "../src/config.ts";
import { createLogger } from "../src/log.ts";

/** Waits until `check` returns a value (not undefined/false), polling; fails with the last error after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

export interface DatabaseSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function testConfig(
  database: DatabaseSettings,
  mqttUrl: string,
  overrides: Partial<Config> = {},
): Config {
  return {
    version: "test-sha-1234",
    port: 0,
    host: "127.0.0.1",
    logLevel: process.env.TEST_LOG_LEVEL || "silent",
    database: { ...database, ssl: false },
    mqtt: { url: mqttUrl, username: undefined, password: undefined, topic: "valmetal/equipment/+/telemetry" },
    shutdownTimeoutMs: 10_000,
    startupTimeoutMs: 10_000,
    ...overrides,
  };
}

export function databaseEnv(database: DatabaseSettings, mqttUrl: string): Record<string, string> {
  return {
    DATABASE_HOST: database.host,
    DATABASE_PORT: String(database.port),
    DATABASE_NAME: database.database,
    DATABASE_USER: database.user,
    DATABASE_PASSWORD: database.password,
    MQTT_URL: mqttUrl,
  };
}

export const silentLogger = () => createLogger(process.env.TEST_LOG_LEVEL || "silent", "test");

export function reading(overrides: Record<string, unknown> = {}) {
  return {
    type: "feed-mixer",
    ts: new Date().toISOString(),
    runState: "running",
    rpm: 38,
    motorCurrentA: 40,
    motorTempC: 70,
    hoursMeter: 1200.5,
    loadKg: 5200,
    faultCodes: [],
    rssi: -62,
    fw: "2.1.0",
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions that read them
export type Json = any;
