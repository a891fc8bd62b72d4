import { describe, expect, it } from "vitest";
import { imageLabels, parseKeyValueLines } from "./labels.ts";

const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const context = {
  sha,
  sourceUrl: "https://github.com/valmetal/farm-platform",
  created: new Date("2026-11-24T10:00:00Z"),
  title: "valmetal/api",
};

describe("image labels", () => {
  it("sets the OCI revision, source, url, created, version and title", () => {
    expect(imageLabels(context)).toEqual({
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.source": "https://github.com/valmetal/farm-platform",
      "org.opencontainers.image.url": "https://github.com/valmetal/farm-platform",
      "org.opencontainers.image.created": "2026-11-24T10:00:00.000Z",
      "org.opencontainers.image.version": sha,
      "org.opencontainers.image.title": "valmetal/api",
    });
  });

  it("keeps the user's labels, which may override the descriptive ones", () => {
    const labels = imageLabels(context, { team: "farm", "org.opencontainers.image.title": "API" });
    expect(labels.team).toBe("farm");
    expect(labels["org.opencontainers.image.title"]).toBe("API");
  });

  it("refuses a user label that would change the revision", () => {
    expect(() => imageLabels(context, { "org.opencontainers.image.revision": "other" })).toThrow(
      "label org.opencontainers.image.revision is set by the action to the sha and cannot be overridden",
    );
  });
});

describe("KEY=value inputs", () => {
  it.each([
    ["", {}],
    ["A=1\nB=two words\n", { A: "1", B: "two words" }],
    [
      "# comment\n\n  NODE_ENV=production  \r\nURL=http://x/?a=b",
      { NODE_ENV: "production", URL: "http://x/?a=b" },
    ],
    ["EMPTY=", { EMPTY: "" }],
  ])("parses %j", (text, expected) => {
    expect(parseKeyValueLines(text, "build-args")).toEqual(expected);
  });

  it.each(["novalue", "=x"])("rejects the line %j", (line) => {
    expect(() => parseKeyValueLines(line, "build-args")).toThrow(
      `build-args line '${line}' is not KEY=value; write one KEY=value per line`,
    );
  });
});
