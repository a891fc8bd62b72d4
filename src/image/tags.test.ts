import { describe, expect, it } from "vitest";
import { InputError } from "../errors.ts";
import { environmentTag, imageTags, validateEnvironment, validateSha } from "./tags.ts";

const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";

describe("commit SHA validation", () => {
  it.each([
    [sha, sha],
    [sha.toUpperCase(), sha],
    [` ${sha}\n`, sha],
  ])("accepts %j as %s", (input, expected) => {
    expect(validateSha(input)).toBe(expected);
  });

  it.each(["", "abc", sha.slice(0, 7), `${sha}0`, `${sha.slice(0, 39)}g`, "refs/heads/main"])(
    "rejects %j with a message saying what to pass",
    (input) => {
      expect(() => validateSha(input)).toThrow(InputError);
      expect(() => validateSha(input)).toThrow(
        `sha '${input}' is not a 40-character hex commit SHA; pass the full SHA (github.sha)`,
      );
    },
  );
});

describe("tag scheme", () => {
  it("tags an environment's build <environment>-<sha> and sha-<sha>, never latest", () => {
    expect(imageTags("prod", sha)).toEqual({
      primary: `prod-${sha}`,
      immutable: [`prod-${sha}`, `sha-${sha}`],
      extra: [],
    });
    expect(environmentTag("staging", sha)).toBe(`staging-${sha}`);
  });

  it.each([
    [["latest"], ["latest"]],
    [
      ["v1.2.3", "v1.2.3", "latest"],
      ["v1.2.3", "latest"],
    ],
    [[`sha-${sha}`, "edge"], ["edge"]],
  ])("adds extra tags %j as %j, without duplicates", (extra, expected) => {
    expect(imageTags("dev", sha, extra).extra).toEqual(expected);
  });

  it.each(["-bad", "has space", "a".repeat(129), "x:y"])("rejects the extra tag %j", (tag) => {
    expect(() => imageTags("dev", sha, [tag])).toThrow(`extra tag '${tag}' is not a valid image tag`);
  });

  it.each(["dev", "staging", "prod", "qa-2"])("accepts the environment %j", (name) => {
    expect(validateEnvironment(name)).toBe(name);
  });

  it.each(["", "Prod", "2dev", "prod_1", "prod env"])("rejects the environment %j", (name) => {
    expect(() => validateEnvironment(name)).toThrow(`environment '${name}' is not a valid environment name`);
  });
});
