import { describe, expect, it } from "vitest";
import { parseStandIns, standInEnvironment } from "./stand-ins.ts";

const api = { containerName: "api", family: "valmetal-dev-api", clusterName: "valmetal-dev-api" };

describe("stand-ins for unmodelled services", () => {
  it("sets every container's values, then the container's own, then the computed ones", () => {
    const standIns = {
      byContainer: {
        "*": { LOG_LEVEL: "warn", MQTT_URL: "mqtt://all" },
        api: { MQTT_URL: "mqtt://127.0.0.1:1883" },
      },
      resolve: (container: { containerName: string }) =>
        container.containerName === "api" ? { DATABASE_HOST: "127.0.0.1" } : undefined,
    };
    expect(standInEnvironment(standIns, api)).toEqual({
      LOG_LEVEL: "warn",
      MQTT_URL: "mqtt://127.0.0.1:1883",
      DATABASE_HOST: "127.0.0.1",
    });
    expect(standInEnvironment(standIns, { ...api, containerName: "web" })).toEqual({
      LOG_LEVEL: "warn",
      MQTT_URL: "mqtt://all",
    });
    expect(standInEnvironment(undefined, api)).toEqual({});
  });

  it("parses the --stand-in flags of sim start, values may hold '=' and ':'", () => {
    expect(
      parseStandIns([
        "api:DATABASE_HOST=127.0.0.1",
        "LOG_LEVEL=warn",
        "api:DATABASE_URL=postgres://u:p@h/db?a=b",
      ]),
    ).toEqual({
      byContainer: {
        api: { DATABASE_HOST: "127.0.0.1", DATABASE_URL: "postgres://u:p@h/db?a=b" },
        "*": { LOG_LEVEL: "warn" },
      },
    });
    expect(() => parseStandIns(["api:=x"])).toThrow(
      "stand-in 'api:=x' is not [container:]NAME=VALUE; pass e.g. api:DATABASE_HOST=127.0.0.1",
    );
  });
});
