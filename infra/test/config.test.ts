import { describe, expect, test } from "vitest";
import { BOOTSTRAP_VERSION, imageVersion, resolveConfig } from "../lib/config.ts";

const context = (values: Record<string, unknown>) => (key: string) => values[key];
const SHA = "89abcdef0123456789abcdef0123456789abcdef";

describe("typed configuration", () => {
  test("defaults to placeholder accounts, one per role, in ca-central-1", () => {
    const config = resolveConfig();
    expect(config.region).toBe("ca-central-1");
    expect(config.sharedAccount).toBe("111111111111");
    expect(
      [config.environments.dev, config.environments.staging, config.environments.prod].map((e) => e.account),
    ).toEqual(["222222222222", "333333333333", "444444444444"]);
    expect(config.githubRepository).toBe("valmetal/farm-platform");
  });

  test("takes real account ids from context first, then from VALMETAL_* variables", () => {
    const config = resolveConfig(context({ devAccount: "123456789012" }), {
      VALMETAL_DEV_ACCOUNT: "999999999999",
      VALMETAL_PROD_ACCOUNT: "210987654321",
      VALMETAL_GITHUB_REPOSITORY: "acme/farm",
    });
    expect(config.environments.dev.account).toBe("123456789012");
    expect(config.environments.prod.account).toBe("210987654321");
    expect(config.environments.prod.certificateArn).toContain(":210987654321:");
    expect(config.githubRepository).toBe("acme/farm");
  });

  test.each([
    [{ devAccount: "12345" }, /devAccount '12345' is not a 12-digit AWS account id/],
    [{ githubRepository: "farm" }, /githubRepository 'farm' is not owner\/repo/],
    [{ stagingAccount: "222222222222" }, /are not distinct/],
  ])("refuses %o", (values, message) => {
    expect(() => resolveConfig(context(values))).toThrow(message);
  });
});

describe("bootstrap image version", () => {
  test("defaults to a 40-hex placeholder tagged per environment", () => {
    expect(imageVersion("dev", context({}))).toEqual({
      version: BOOTSTRAP_VERSION,
      imageTag: `dev-${BOOTSTRAP_VERSION}`,
    });
  });

  test("takes the SHA from context version or from an <env>-<sha> imageTag", () => {
    expect(imageVersion("prod", context({ version: SHA }))).toEqual({
      version: SHA,
      imageTag: `prod-${SHA}`,
    });
    expect(imageVersion("staging", context({ imageTag: `dev-${SHA}` }))).toEqual({
      version: SHA,
      imageTag: `staging-${SHA}`,
    });
  });

  test("refuses a short SHA with a hint", () => {
    expect(() => imageVersion("dev", context({ version: "abc" }))).toThrow(
      /not a 40-character hex commit SHA/,
    );
  });
});
