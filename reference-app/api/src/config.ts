/** Settings read from the environment, as the ECS task definition (or a local shell) provides them. */
export interface Config {
  version: string;
  port: number;
  host: string;
  logLevel: string;
  database: {
    host: string;
    port: number;
    database: string;
    user: string;
    /** The secret: never logged. */
    password: string;
    ssl: boolean;
  };
  mqtt: {
    url: string;
    username: string | undefined;
    password: string | undefined;
    topic: string;
  };
  /** How long shutdown may take before the process gives up and exits non-zero. */
  shutdownTimeoutMs: number;
  /** How long start-up waits for the database before giving up. */
  startupTimeoutMs: number;
}

export const defaultTopic = "valmetal/equipment/+/telemetry";

function integer(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    version: env.APP_VERSION || "dev",
    port: integer(env.PORT, 8080, "PORT"),
    host: env.HOST || "0.0.0.0",
    logLevel: env.LOG_LEVEL || "info",
    database: {
      host: env.DATABASE_HOST || "127.0.0.1",
      port: integer(env.DATABASE_PORT, 5432, "DATABASE_PORT"),
      database: env.DATABASE_NAME || "equipment",
      user: env.DATABASE_USER || "postgres",
      password: env.DATABASE_PASSWORD ?? "",
      ssl: env.DATABASE_SSL === "true",
    },
    mqtt: {
      url: env.MQTT_URL || "mqtt://127.0.0.1:1883",
      username: env.MQTT_USERNAME || undefined,
      password: env.MQTT_PASSWORD || undefined,
      topic: env.MQTT_TOPIC || defaultTopic,
    },
    shutdownTimeoutMs: integer(env.SHUTDOWN_TIMEOUT_MS, 20_000, "SHUTDOWN_TIMEOUT_MS"),
    startupTimeoutMs: integer(env.STARTUP_TIMEOUT_MS, 60_000, "STARTUP_TIMEOUT_MS"),
  };
}
