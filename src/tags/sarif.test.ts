import { describe, expect, it } from "vitest";
import type { AccountSnapshot } from "./model.ts";
import { evaluate } from "./rules.ts";
import { artifactPathOf, sarif, sarifSchema } from "./sarif.ts";
import {
  checkOptions,
  cluster,
  healthyAccount,
  otherSha,
  revision,
  service,
  snapshot,
  task,
} from "./test-snapshots.ts";

const readmeUrl = "https://github.com/org/toolkit/blob/v1/actions/check-tags/README.md";

function brokenAccount(): AccountSnapshot {
  const api = revision("api", 7, {
    images: [`123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api:prod-${otherSha}`],
  });
  return snapshot({
    clusters: [cluster("prod", { containerInsights: "disabled" })],
    services: [service("api", api, { propagateTags: "NONE" })],
    tasks: [task(api, "api", { tags: {} })],
    revisions: [api],
  });
}

describe("SARIF", () => {
  const overrides = [{ ruleId: "TAG009", action: "notice" as const, reason: "metrics elsewhere" }];
  const findings = evaluate(brokenAccount(), checkOptions({ overrides }));
  const log = sarif(findings, { readmeUrl, toolVersion: "v1.2.0", overrides });

  it("is a SARIF 2.1.0 log with one run whose driver lists every rule once, with help at its README anchor", () => {
    expect(log.version).toBe("2.1.0");
    expect(log.$schema).toBe(sarifSchema);
    expect(log.runs).toHaveLength(1);
    const { driver } = log.runs[0]?.tool ?? { driver: undefined };
    expect(driver).toMatchObject({ name: "check-tags", version: "v1.2.0", informationUri: readmeUrl });
    const ids = driver?.rules.map((rule) => rule.id) ?? [];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(18);
    expect(driver?.rules[0]).toMatchObject({
      id: "TAG001",
      name: "TaskDefinitionsCarryTheRequiredTags",
      shortDescription: { text: "Task definitions carry the required tags" },
      helpUri: `${readmeUrl}#tag001`,
      defaultConfiguration: { level: "error", enabled: true },
    });
    expect(driver?.rules.find((rule) => rule.id === "TAG009")).toMatchObject({
      defaultConfiguration: { level: "note" },
      properties: { override: "metrics elsewhere" },
    });
  });

  it("reports each failed finding as a result on a rule of the driver, with its level and the resource's ARN", () => {
    const run = log.runs[0];
    const ids = run?.tool.driver.rules.map((rule) => rule.id) ?? [];
    expect(run?.results).toHaveLength(findings.filter((finding) => !finding.passed).length);
    for (const result of run?.results ?? []) {
      expect(ids).toContain(result.ruleId);
      expect(ids[result.ruleIndex]).toBe(result.ruleId);
      expect(["error", "warning", "note"]).toContain(result.level);
      expect(result.message.text.length).toBeGreaterThan(0);
      expect(result.locations[0]?.logicalLocations[0]?.fullyQualifiedName).toMatch(/^arn:aws:ecs:/);
    }
    const byRule = (ruleId: string) => run?.results.filter((result) => result.ruleId === ruleId) ?? [];
    expect(byRule("TAG006")[0]?.locations[0]?.logicalLocations[0]).toEqual({
      name: "api",
      fullyQualifiedName: "arn:aws:ecs:ca-central-1:123456789012:service/prod/api",
      kind: "resource",
    });
    expect(byRule("TAG009")[0]?.level).toBe("note");
    expect(byRule("TAG010")[0]?.locations[0]?.logicalLocations[0]?.fullyQualifiedName).toMatch(
      /:task\/prod\//,
    );
    expect(byRule("TAG004")[0]?.locations[0]?.logicalLocations[0]?.fullyQualifiedName).toMatch(
      /task-definition\/api:7#.*valmetal\/api:prod-/,
    );
    expect(byRule("TAG004")[0]?.message.text).toContain("names commit 0c5c1b4b9d0e");
  });

  it("anchors every result on a relative pseudo-path per service, family or cluster, as code scanning requires", () => {
    const results = log.runs[0]?.results ?? [];
    for (const result of results) {
      const physical = result.locations[0]?.physicalLocation;
      expect(physical?.artifactLocation.uri).toMatch(
        /^ecs\/[A-Za-z0-9_-]+(\/(services|task-definitions)\/[A-Za-z0-9_-]+)?$/,
      );
      expect(physical?.region.startLine).toBe(1);
    }
    const uriOf = (ruleId: string) =>
      results.find((result) => result.ruleId === ruleId)?.locations[0]?.physicalLocation.artifactLocation.uri;
    expect(uriOf("TAG006")).toBe("ecs/prod/services/api");
    expect(uriOf("TAG010")).toBe("ecs/prod/services/api"); // a task of the service: its service's path
    expect(uriOf("TAG009")).toBe("ecs/prod");
  });

  it.each([
    [{ clusterName: "prod", family: "api" }, "ecs/prod/task-definitions/api"],
    [
      {
        clusterName: "prod",
        taskDefinitionArn: "arn:aws:ecs:ca-central-1:123456789012:task-definition/web:12",
      },
      "ecs/prod/task-definitions/web",
    ],
    [
      { clusterName: "prod", taskArn: "arn:aws:ecs:ca-central-1:123456789012:task/prod/0123abcd" },
      "ecs/prod",
    ],
  ])("places a finding on %o at %s", (resource, path) => {
    expect(artifactPathOf({ ruleId: "TAG001", severity: "error", passed: false, resource, detail: "" })).toBe(
      path,
    );
  });

  it("has no results for a healthy account, and marks disabled rules as not enabled", () => {
    const disabled = [{ ruleId: "TAG016", action: "disable" as const, reason: "legacy" }];
    const clean = sarif(evaluate(healthyAccount(), checkOptions({ overrides: disabled })), {
      readmeUrl,
      overrides: disabled,
    });
    expect(clean.runs[0]?.results).toEqual([]);
    expect(
      clean.runs[0]?.tool.driver.rules.find((rule) => rule.id === "TAG016")?.defaultConfiguration.enabled,
    ).toBe(false);
    expect(clean.runs[0]?.tool.driver).not.toHaveProperty("version");
  });

  it("gives each result a fingerprint that is stable across runs and distinct per resource", () => {
    const again = sarif(evaluate(brokenAccount(), checkOptions({ overrides })), { readmeUrl, overrides });
    const prints = (value: typeof log) =>
      value.runs[0]?.results.map((result) => result.partialFingerprints.resourceRule) ?? [];
    expect(new Set(prints(log)).size).toBe(prints(log).length);
    // task ids differ between the two builds, so compare the service- and cluster-level ones
    const stable = (list: string[]) => list.filter((print) => !print.includes(":task/"));
    expect(stable(prints(again))).toEqual(stable(prints(log)));
  });
});
