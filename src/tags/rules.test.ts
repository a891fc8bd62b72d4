import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AccountSnapshot, CheckOptions, Finding, TaskDefinitionSnapshot } from "./model.ts";
import { defaultRequiredTagKeys, evaluate, ruleDefinitions } from "./rules.ts";
import {
  checkOptions,
  cluster,
  deploymentGroup,
  digestOf,
  healthyAccount,
  imageOf,
  otherSha,
  registry,
  revision,
  rollingService,
  service,
  sha,
  snapshot,
  task,
  thirdSha,
} from "./test-snapshots.ts";

const run = (account: AccountSnapshot, options: Partial<CheckOptions> = {}) =>
  evaluate(account, checkOptions(options));
const of = (findings: Finding[], ruleId: string) => findings.filter((finding) => finding.ruleId === ruleId);

/** One revision `api:7` with these changes, its service and one task: the findings of one rule. */
function onRevision(
  ruleId: string,
  change: Parameters<typeof revision>[2],
  options: Partial<CheckOptions> = {},
) {
  const api = revision("api", 7, change);
  return of(
    run(snapshot({ services: [service("api", api)], tasks: [task(api, "api")], revisions: [api] }), options),
    ruleId,
  );
}

describe("rule definitions", () => {
  it("numbers TAG001 to TAG018 once each, with a title, severity, anchor and paragraph", () => {
    expect(ruleDefinitions.map((rule) => rule.id)).toEqual(
      Array.from({ length: 18 }, (_, index) => `TAG${String(index + 1).padStart(3, "0")}`),
    );
    for (const rule of ruleDefinitions) {
      expect(rule.title.length).toBeGreaterThan(10);
      expect(["error", "warning", "notice"]).toContain(rule.severity);
      expect(rule.anchor).not.toBe("");
      expect(rule.description).toMatch(/Fix: /);
    }
  });

  it.each([
    ["TAG009", "warning"],
    ["TAG016", "warning"],
    ["TAG017", "warning"],
    ["TAG010", "error"],
    ["TAG012", "error"],
    ["TAG015", "error"],
  ])("gives %s the default severity %s", (id, severity) => {
    expect(ruleDefinitions.find((rule) => rule.id === id)?.severity).toBe(severity);
  });

  it("are each documented in the action's README under their anchor, with title, severity and paragraph", () => {
    const readme = readFileSync(new URL("../../actions/check-tags/README.md", import.meta.url), "utf8");
    expect(readme).toContain("## Inputs and outputs\n");
    for (const rule of ruleDefinitions) {
      const title = rule.title.replace(/</g, "&lt;").replace(/>/g, "&gt;");
      expect(readme).toContain(
        `### ${rule.id}\n\n**${title}** · severity **${rule.severity}** · anchor: ${rule.anchor}`,
      );
      expect(readme).toContain(rule.description);
      // The table row, whatever padding the Markdown formatter gives its columns.
      const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      expect(readme).toMatch(
        new RegExp(
          `\\| \\[${rule.id}\\]\\(#${rule.id.toLowerCase()}\\) +\\| ${literal(title)} +\\| ${rule.severity} +\\|`,
        ),
      );
    }
  });

  it("requires deploy-ecs's four tags by default", () => {
    expect(defaultRequiredTagKeys).toEqual(["Environment", "Application", "Component", "Version"]);
  });
});

describe("a healthy account", () => {
  it("passes every rule, each at least once", () => {
    const findings = run(healthyAccount(3), { expectedSha: sha, expectedEnvironment: "prod" });
    expect(findings.filter((finding) => !finding.passed)).toEqual([]);
    expect(new Set(findings.map((finding) => finding.ruleId))).toEqual(
      new Set(ruleDefinitions.map((rule) => rule.id)),
    );
  });

  it("gives one finding per rule per resource: per task for task rules, per service, per revision, per image", () => {
    const findings = run(healthyAccount(3), { expectedSha: sha });
    const count = (ruleId: string) => of(findings, ruleId).length;
    expect([count("TAG010"), count("TAG011"), count("TAG012")]).toEqual([3, 3, 3]);
    expect(count("TAG016")).toBe(4); // the service ARN and three task ARNs
    expect([count("TAG001"), count("TAG004"), count("TAG005"), count("TAG009"), count("TAG014")]).toEqual([
      1, 1, 1, 1, 1,
    ]);
  });
});

describe("task definition tags (TAG001–TAG003)", () => {
  const tags = { Environment: "prod", Application: "valmetal", Component: "api", Version: sha };
  it.each([
    ["all four tags", tags, {}, [true, true, true], ["present", "exact case", sha]],
    [
      "no Version",
      { Environment: "prod", Application: "valmetal", Component: "api" },
      {},
      [false, true, false],
      ["Version missing", "", "no Version tag"],
    ],
    [
      "Version spelled version",
      { Environment: "prod", Application: "valmetal", Component: "api", version: sha },
      {},
      [false, false, false],
      [
        "Version missing ('version' differs only in case: tag keys are case-sensitive)",
        "'version' should be spelled 'Version'",
        "no Version tag",
      ],
    ],
    [
      "an empty Component",
      { ...tags, Component: "" },
      {},
      [true, false, true],
      ["", "Component is empty", ""],
    ],
    [
      "a blank Application",
      { ...tags, Application: "  " },
      {},
      [true, false, true],
      ["", "Application is empty", ""],
    ],
    [
      "an environment outside the allowed set",
      { ...tags, Environment: "qa" },
      {},
      [true, false, true],
      ["", "Environment 'qa' is not one of dev, staging, prod", ""],
    ],
    [
      "another environment than the expected one",
      { ...tags, Environment: "staging" },
      { expectedEnvironment: "prod" },
      [true, false, true],
      ["", "Environment 'staging' is not the expected 'prod'", ""],
    ],
    [
      "a short SHA",
      { ...tags, Version: sha.slice(0, 7) },
      {},
      [true, true, false],
      ["", "", "Version 'ede8f4c' is not a full 40-character hex commit SHA"],
    ],
    [
      "an uppercase SHA",
      { ...tags, Version: sha.toUpperCase() },
      {},
      [true, true, false],
      ["", "", "has uppercase letters; git SHAs are lowercase"],
    ],
    [
      "a semantic version",
      { ...tags, Version: "v1.4.2" },
      {},
      [true, true, false],
      ["", "", "'v1.4.2' is not a full"],
    ],
    [
      "no required keys configured",
      {},
      { requiredTagKeys: [] },
      [true, true, false],
      ["no required tag keys configured", "", "no Version tag"],
    ],
  ])("%s", (_, revisionTags, options, passed, details) => {
    (["TAG001", "TAG002", "TAG003"] as const).forEach((ruleId, index) => {
      const [finding, ...rest] = onRevision(ruleId, { tags: revisionTags }, options);
      expect(rest).toEqual([]);
      expect(finding?.passed, ruleId).toBe(passed[index]);
      expect(finding?.detail, ruleId).toContain(details[index]);
      expect(finding?.resource.taskDefinitionArn).toMatch(/task-definition\/api:7$/);
    });
  });

  it("reports a revision it could not read on TAG001 instead of crashing", () => {
    const api = revision("api", 7);
    const account = snapshot({ services: [service("api", api)], tasks: [task(api, "api")], revisions: [] });
    const [finding] = of(run(account), "TAG001");
    expect(finding).toMatchObject({ passed: false, detail: "task definition api:7 could not be read" });
    expect(of(run(account), "TAG010")[0]?.detail).toBe("task definition api:7 could not be read");
  });
});

describe("image tags match Version and Environment (TAG004)", () => {
  const repository = `${registry}/valmetal/api`;
  it.each([
    ["<env>-<sha>", `${repository}:prod-${sha}`, {}, true, `prod-${sha} matches Environment and Version`],
    [
      "a tag naming another commit",
      `${repository}:prod-${otherSha}`,
      {},
      false,
      "image tag names commit 0c5c1b4b9d0e but Version is ede8f4c9a8fb",
    ],
    [
      "another environment's tag",
      `${repository}:staging-${sha}`,
      {},
      false,
      "image tag prefix 'staging' but Environment is 'prod'",
    ],
    [
      "a release tag",
      `${repository}:v1.2.3`,
      {},
      false,
      "image tag 'v1.2.3' is not <environment>-<40-hex sha>",
    ],
    ["a sha- tag", `${repository}:sha-${sha}`, {}, false, "image tag prefix 'sha' but Environment is 'prod'"],
    [
      "a tag and a digest",
      `${repository}:prod-${sha}@${digestOf("x")}`,
      {},
      true,
      `prod-${sha} matches Environment and Version`,
    ],
    [
      "a digest the registry resolves to the commit's tag",
      `${repository}@${digestOf("x")}`,
      { tag: `prod-${sha}` },
      true,
      "(the registry's tag for this digest) matches",
    ],
    [
      "a digest the registry resolves to another commit",
      `${repository}@${digestOf("x")}`,
      { tag: `prod-${otherSha}` },
      false,
      "(the registry's tag for this digest) names commit 0c5c1b4b9d0e",
    ],
  ])("%s", (_, image, registryView, passed, detail) => {
    const api = revision("api", 7, { images: [image] });
    const account = snapshot({
      services: [service("api", api)],
      tasks: [task(api, "api")],
      revisions: [api],
      images: { [image]: registryView },
    });
    const [finding, ...rest] = of(run(account), "TAG004");
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ passed, severity: "error", resource: { image } });
    expect(finding?.detail).toContain(detail);
  });

  it("warns, rather than errs, on an image pinned by digest alone: there is no tag to compare", () => {
    const image = `${repository}@${digestOf("x")}`;
    const api = revision("api", 7, { images: [image] });
    const [finding] = of(run(snapshot({ services: [service("api", api)], revisions: [api] })), "TAG004");
    expect(finding).toMatchObject({ passed: false, severity: "warning" });
    expect(finding?.detail).toContain(
      "is pinned by digest with no <environment>-<sha> tag to compare with Version",
    );
  });

  it("checks each container of a revision", () => {
    const findings = onRevision("TAG004", {
      images: [imageOf("api", "prod", sha), imageOf("sidecar", "prod", otherSha)],
    });
    expect(findings.map((finding) => finding.passed)).toEqual([true, false]);
  });
});

describe("the PRIMARY revision runs the expected commit (TAG005)", () => {
  it("is not checked without expected-sha", () => {
    expect(of(run(healthyAccount()), "TAG005")).toEqual([]);
  });

  it.each([
    [sha, true, "PRIMARY revision api:7 runs ede8f4c9a8fb"],
    [otherSha, false, "PRIMARY revision api:7 runs ede8f4c9a8fb, expected 0c5c1b4b9d0e"],
  ])("expected %s: passed %s", (expectedSha, passed, detail) => {
    expect(of(run(healthyAccount(), { expectedSha }), "TAG005")).toMatchObject([{ passed, detail }]);
  });

  it("fails mid-deployment while the expected commit is still the replacement task set", () => {
    const blue = revision("api", 7);
    const green = revision("api", 8, { sha: otherSha });
    const api = service("api", blue, {
      deploymentInProgress: true,
      taskSets: [
        { id: "ecs-svc/blue", arn: "ts-blue", status: "PRIMARY", taskDefinitionArn: blue.arn },
        { id: "ecs-svc/green", arn: "ts-green", status: "ACTIVE", taskDefinitionArn: green.arn },
      ],
    });
    const findings = run(snapshot({ services: [api], revisions: [blue, green] }), { expectedSha: otherSha });
    expect(of(findings, "TAG005")).toMatchObject([
      { passed: false, resource: { taskDefinitionArn: blue.arn } },
    ]);
  });

  it("reads the PRIMARY deployment of an ECS-controller service", () => {
    const api = revision("api", 7);
    const findings = run(snapshot({ services: [rollingService("api", api)], revisions: [api] }), {
      expectedSha: sha,
    });
    expect(of(findings, "TAG005")).toMatchObject([{ passed: true }]);
  });
});

describe("service settings (TAG006–TAG008)", () => {
  const api = revision("api", 7);
  it.each([
    ["TAG006", { propagateTags: "NONE" }, "propagateTags NONE: tasks get no tags from their task definition"],
    ["TAG006", { propagateTags: "" }, "propagateTags NONE"],
    ["TAG006", { propagateTags: "SERVICE" }, "propagateTags SERVICE: tasks get the service's tags"],
    ["TAG007", { enableECSManagedTags: false }, "enableECSManagedTags false"],
    ["TAG008", { tags: {} }, "Environment missing; Application missing; Component missing"],
    [
      "TAG008",
      { tags: { Environment: "prod", application: "valmetal", Component: "api" } },
      "Application missing ('application' differs only in case",
    ],
  ])("%s fails on %j", (ruleId, overrides, detail) => {
    const account = snapshot({ services: [service("api", api, overrides)], revisions: [api] });
    const [finding, ...rest] = of(run(account), ruleId);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      passed: false,
      resource: { serviceName: "api", arn: api.arn.replace(/task-definition.*/, "service/prod/api") },
    });
    expect(finding?.detail).toContain(detail);
  });

  it("does not ask services for Version, which changes with every commit", () => {
    const account = snapshot({ services: [service("api", api)], revisions: [api] });
    expect(of(run(account), "TAG008")).toMatchObject([
      { passed: true, detail: "Environment, Application, Component present" },
    ]);
  });
});

describe("clusters (TAG009)", () => {
  it.each([
    [{}, true, "2 tags, Container Insights enabled"],
    [{ containerInsights: "enhanced" }, true, "Container Insights enhanced"],
    [{ containerInsights: "disabled" }, false, "Container Insights disabled"],
    [{ containerInsights: undefined }, false, "Container Insights not set"],
    [{ tags: {} }, false, "no tags"],
    [{ tags: { "aws:cloudformation:stack-name": "x" } }, false, "no tags"],
    [{ tags: { Team: "iot" } }, false, "Environment missing"],
    [{ tags: { environment: "prod" } }, false, "'environment' differs only in case"],
  ])("%j: passed %s", (overrides, passed, detail) => {
    const account = snapshot({ clusters: [cluster("prod", overrides)], revisions: [] });
    const [finding] = of(run(account), "TAG009");
    expect(finding).toMatchObject({ passed, severity: "warning", resource: { clusterName: "prod" } });
    expect(finding?.detail).toContain(detail);
  });
});

describe("running tasks carry their task definition's tags (TAG010)", () => {
  const api = revision("api", 7);
  const managed = { "aws:ecs:clusterName": "prod", "aws:ecs:serviceName": "api" };
  it.each([
    ["all tags", { ...api.tags, ...managed }, true, "4 tags of api:7 present"],
    [
      "a task started while propagateTags was NONE",
      managed,
      false,
      "Environment missing; Application missing; Component missing; Version missing (started 2026-03-02T10:00:00.000Z)",
    ],
    [
      "a version tag instead of Version",
      { ...api.tags, Version: undefined, version: sha, ...managed },
      false,
      "Version missing: the task has 'version' (tag keys are case-sensitive) (started 2026-03-02T10:00:00.000Z)",
    ],
    [
      "another Version value",
      { ...api.tags, Version: otherSha, ...managed },
      false,
      `Version is '${otherSha}', the task definition says '${sha}' (started 2026-03-02T10:00:00.000Z)`,
    ],
  ])("%s", (_, tags, passed, detail) => {
    const clean = Object.fromEntries(
      Object.entries(tags).filter(([, value]) => value !== undefined),
    ) as Record<string, string>;
    const account = snapshot({
      services: [service("api", api)],
      tasks: [task(api, "api", { tags: clean })],
      revisions: [api],
    });
    const [finding] = of(run(account), "TAG010");
    expect(finding).toMatchObject({
      passed,
      detail,
      resource: { serviceName: "api", taskDefinitionArn: api.arn },
    });
    expect(finding?.resource.taskArn).toMatch(/:task\/prod\//);
  });

  it("ignores the task definition's aws: tags and extra tags on the task", () => {
    const withAws = { ...api, tags: { ...api.tags, "aws:cloudformation:stack-name": "valmetal-prod" } };
    const account = snapshot({
      services: [service("api", withAws)],
      tasks: [task(api, "api", { tags: { ...api.tags, ...managed, Owner: "iot" } })],
      revisions: [withAws],
    });
    expect(of(run(account), "TAG010")).toMatchObject([{ passed: true }]);
  });
});

describe("managed tags name the real cluster and service (TAG011)", () => {
  const api = revision("api", 7);
  it.each([
    ["both right", { "aws:ecs:clusterName": "prod", "aws:ecs:serviceName": "api" }, true, "match"],
    ["none (managed tags off)", {}, false, "aws:ecs:clusterName missing; aws:ecs:serviceName missing"],
    [
      "another service's name",
      { "aws:ecs:clusterName": "prod", "aws:ecs:serviceName": "web" },
      false,
      "aws:ecs:serviceName is 'web', the task runs in 'api'",
    ],
    [
      "another cluster's name",
      { "aws:ecs:clusterName": "staging", "aws:ecs:serviceName": "api" },
      false,
      "aws:ecs:clusterName is 'staging', the task runs in 'prod'",
    ],
  ])("%s", (_, managed, passed, detail) => {
    const account = snapshot({
      services: [service("api", api)],
      tasks: [task(api, "api", { tags: { ...api.tags, ...managed } })],
      revisions: [api],
    });
    const [finding] = of(run(account), "TAG011");
    expect(finding?.passed).toBe(passed);
    expect(finding?.detail).toContain(detail);
  });
});

describe("no stale revisions (TAG012), task sets and deployments", () => {
  const blue = revision("api", 7);
  const green = revision("api", 8, { sha: otherSha });
  const old = revision("api", 6, { sha: thirdSha });
  const taskSets = (...sets: [string, TaskDefinitionSnapshot][]) =>
    sets.map(([status, item]) => ({
      id: `ecs-svc/${item.revision}`,
      arn: `ts-${item.revision}`,
      status,
      taskDefinitionArn: item.arn,
    }));
  const startedBy = (item: TaskDefinitionSnapshot) => ({ startedBy: `ecs-svc/${item.revision}` });

  it.each([
    ["a task of the PRIMARY task set", [["PRIMARY", blue]], blue, true, "runs api:7"],
    [
      "a task of an older revision",
      [["PRIMARY", blue]],
      old,
      false,
      "stale: runs api:6, the service deploys api:7",
    ],
    [
      "a task of the replacement task set mid-deployment",
      [
        ["PRIMARY", blue],
        ["ACTIVE", green],
      ],
      green,
      true,
      "runs api:8",
    ],
    [
      "a task of a DRAINING task set",
      [
        ["PRIMARY", green],
        ["DRAINING", blue],
      ],
      blue,
      true,
      "runs api:7 of a DRAINING task set (tolerated while it drains)",
    ],
  ] as [string, [string, TaskDefinitionSnapshot][], TaskDefinitionSnapshot, boolean, string][])(
    "%s",
    (_, sets, runs, passed, detail) => {
      const api = service("api", blue, { taskSets: taskSets(...sets) });
      const account = snapshot({
        services: [api],
        tasks: [task(runs, "api", startedBy(runs))],
        revisions: [blue, green, old],
      });
      expect(of(run(account), "TAG012")).toMatchObject([{ passed, detail }]);
    },
  );

  it("reports an INACTIVE revision still running, stale or still deployed", () => {
    const inactiveOld = { ...old, status: "INACTIVE" };
    const inactiveBlue = { ...blue, status: "INACTIVE" };
    const api = service("api", inactiveBlue);
    const account = snapshot({
      services: [api],
      tasks: [task(inactiveOld, "api"), task(inactiveBlue, "api")],
      revisions: [inactiveOld, inactiveBlue],
    });
    expect(of(run(account), "TAG012").map((finding) => [finding.passed, finding.detail])).toEqual([
      [false, "stale: runs api:6 (INACTIVE: deregistered), the service deploys api:7"],
      [
        false,
        "runs api:7, which is INACTIVE (deregistered) yet still deployed by the service; redeploy an ACTIVE revision",
      ],
    ]);
  });

  it("accepts the PRIMARY and ACTIVE deployments of an ECS-controller service", () => {
    const api = rollingService("api", green, {
      deployments: [
        { id: "ecs-svc/d2", status: "PRIMARY", taskDefinitionArn: green.arn, rolloutState: "IN_PROGRESS" },
        { id: "ecs-svc/d1", status: "ACTIVE", taskDefinitionArn: blue.arn, rolloutState: "COMPLETED" },
      ],
    });
    const account = snapshot({
      services: [api],
      tasks: [task(blue, "api"), task(green, "api"), task(old, "api")],
      revisions: [blue, green, old],
    });
    const findings = run(account);
    expect(of(findings, "TAG012").map((finding) => finding.passed)).toEqual([true, true, false]);
    expect(of(findings, "TAG015")).toMatchObject([{ passed: false }]);
    expect(of(findings, "TAG015")[0]?.detail).toContain("3 commits running");
  });
});

describe("one commit per service (TAG015)", () => {
  const blue = revision("api", 7);
  const green = revision("api", 8, { sha: otherSha });
  const third = revision("api", 9, { sha: thirdSha });
  const sets = (...items: [string, TaskDefinitionSnapshot][]) =>
    items.map(([status, item]) => ({
      id: `ecs-svc/${item.revision}`,
      arn: `ts-${item.revision}`,
      status,
      taskDefinitionArn: item.arn,
    }));

  it.each([
    [
      "one commit, no deployment",
      [["PRIMARY", blue]],
      false,
      [blue, blue],
      true,
      "1 commit running: ede8f4c9a8fb (2 tasks) (no deployment in progress, 1 allowed)",
    ],
    ["two commits, no deployment", [["PRIMARY", blue]], false, [blue, green], false, "2 commits running"],
    [
      "two commits, two live task sets",
      [
        ["PRIMARY", blue],
        ["ACTIVE", green],
      ],
      false,
      [blue, green],
      true,
      "during a deployment, at most 2 allowed",
    ],
    [
      "two commits, deployment in progress",
      [["PRIMARY", blue]],
      true,
      [blue, green],
      true,
      "2 commits running",
    ],
    [
      "three commits mid-deployment",
      [
        ["PRIMARY", blue],
        ["ACTIVE", green],
      ],
      true,
      [blue, green, third],
      false,
      "3 commits running",
    ],
    [
      "a draining task set's commit is not counted",
      [
        ["PRIMARY", green],
        ["DRAINING", blue],
      ],
      false,
      [green, blue],
      true,
      "1 commit running: 0c5c1b4b9d0e (1 task) (no deployment in progress, 1 allowed); 1 draining task not counted",
    ],
    ["no running tasks", [["PRIMARY", blue]], false, [], true, "no running tasks"],
  ] as [string, [string, TaskDefinitionSnapshot][], boolean, TaskDefinitionSnapshot[], boolean, string][])(
    "%s",
    (_, taskSets, deploymentInProgress, runs, passed, detail) => {
      const api = service("api", blue, { taskSets: sets(...taskSets), deploymentInProgress });
      const tasks = runs.map((item) => task(item, "api", { startedBy: `ecs-svc/${item.revision}` }));
      const [finding, ...rest] = of(
        run(snapshot({ services: [api], tasks, revisions: [blue, green, third] })),
        "TAG015",
      );
      expect(rest).toEqual([]);
      expect(finding?.passed).toBe(passed);
      expect(finding?.detail).toContain(detail);
    },
  );

  it("fails when a running revision has no Version at all", () => {
    const untagged = revision("api", 7, { tags: {} });
    const account = snapshot({
      services: [service("api", untagged)],
      tasks: [task(untagged, "api")],
      revisions: [untagged],
    });
    expect(of(run(account), "TAG015")).toMatchObject([
      { passed: false, detail: expect.stringContaining("(no Version) (1 task)") },
    ]);
  });
});

describe("one ACTIVE revision per commit (TAG013)", () => {
  it.each([
    [
      "another commit in the previous revision",
      otherSha,
      "ACTIVE",
      true,
      "2 ACTIVE revisions of api read, one per Version",
    ],
    [
      "the same commit registered twice",
      sha,
      "ACTIVE",
      false,
      "Version ede8f4c9a8fb is registered as api:6 and api:7",
    ],
    [
      "the same commit in a deregistered revision",
      sha,
      "INACTIVE",
      true,
      "1 ACTIVE revision of api read, one per Version",
    ],
  ])("%s", (_, previousSha, status, passed, detail) => {
    const api = revision("api", 7);
    const previous = revision("api", 6, { sha: previousSha, status });
    const account = snapshot({ services: [service("api", api)], revisions: [api, previous] });
    expect(of(run(account), "TAG013")).toMatchObject([{ passed, detail, resource: { family: "api" } }]);
  });
});

describe("immutable tags and digests (TAG014)", () => {
  const image = imageOf("api", "prod", sha);
  it.each([
    [
      "the registry's digest",
      {},
      undefined,
      true,
      "error",
      "IMMUTABLE; 1 container runs the registry's digest",
    ],
    [
      "an exclusion-based immutable repository",
      { tagMutability: "IMMUTABLE_WITH_EXCLUSION" },
      undefined,
      true,
      "error",
      "IMMUTABLE (IMMUTABLE_WITH_EXCLUSION)",
    ],
    [
      "a MUTABLE repository",
      { tagMutability: "MUTABLE" },
      undefined,
      false,
      "error",
      "repository valmetal/api is MUTABLE: tags can be moved to other images",
    ],
    [
      "a tag moved to another image since the task started",
      { digest: digestOf("rebuilt") },
      undefined,
      false,
      "error",
      `1 of 1 containers run ${digestOf(image)}, the registry holds ${digestOf("rebuilt")}`,
    ],
    [
      "a tag deleted from the registry",
      { digest: undefined },
      undefined,
      false,
      "error",
      "no longer exists in the registry",
    ],
    [
      "an image the registry would not show",
      { unreadable: "not an ECR image: its registry is not read" },
      undefined,
      false,
      "warning",
      "registry not verified: not an ECR image: its registry is not read",
    ],
    [
      "an image not read at all",
      null,
      undefined,
      false,
      "warning",
      "registry not verified: not read from the registry",
    ],
  ])("%s", (_, registryView, __, passed, severity, detail) => {
    const api = revision("api", 7);
    const account = snapshot({
      services: [service("api", api)],
      tasks: [task(api, "api")],
      revisions: [api],
      ...(registryView ? { images: { [image]: registryView } } : {}),
    });
    if (registryView === null) delete account.images[image];
    const [finding, ...rest] = of(run(account), "TAG014");
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ passed, severity, resource: { image, serviceName: "api" } });
    expect(finding?.detail).toContain(detail);
  });

  it("fails when one image tag was registered with two Versions", () => {
    const api = revision("api", 7);
    const forged = revision("api", 8, { sha: otherSha, images: [image] });
    const account = snapshot({
      services: [service("api", api)],
      tasks: [task(api, "api")],
      revisions: [api, forged],
    });
    const [finding] = of(run(account), "TAG014");
    expect(finding?.passed).toBe(false);
    expect(finding?.detail).toContain(`tag prod-${sha} is used with 2 Versions (ede8f4c9a8fb, 0c5c1b4b9d0e)`);
  });

  it("takes the pinned digest as the truth for an image referenced by digest", () => {
    const pinned = `${registry}/valmetal/api@${digestOf("pinned")}`;
    const api = revision("api", 7, { images: [pinned] });
    const running = task(api, "api", {
      containers: [{ name: "api", image: pinned, imageDigest: digestOf("pinned") }],
    });
    const account = snapshot({
      services: [service("api", api)],
      tasks: [running],
      revisions: [api],
      images: { [pinned]: { tagMutability: "MUTABLE" } },
    });
    expect(of(run(account), "TAG014")).toMatchObject([
      { passed: true, detail: expect.stringContaining("pinned by digest") },
    ]);
  });
});

describe("long ARN formats (TAG016)", () => {
  const api = revision("api", 7);
  it.each([
    [
      "a short service ARN",
      { arn: "arn:aws:ecs:ca-central-1:123456789012:service/api" },
      {},
      "service",
      "is in the short ARN format",
    ],
    [
      "a short task ARN",
      {},
      { arn: "arn:aws:ecs:ca-central-1:123456789012:task/0123456789abcdef" },
      "task",
      "it cannot carry tags",
    ],
  ])("%s fails", (_, serviceOverrides, taskOverrides, kind, detail) => {
    const account = snapshot({
      services: [service("api", api, serviceOverrides)],
      tasks: [task(api, "api", taskOverrides)],
      revisions: [api],
    });
    const findings = of(run(account), "TAG016");
    const failed = findings.filter((finding) => !finding.passed);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.severity).toBe("warning");
    expect(failed[0]?.detail).toContain(detail);
    expect(failed[0]?.resource.taskArn === undefined).toBe(kind === "service");
  });

  it("accepts the long formats of other partitions", () => {
    const account = snapshot({
      services: [service("api", api, { arn: "arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/api" })],
      revisions: [api],
    });
    expect(of(run(account), "TAG016")).toMatchObject([{ passed: true }]);
  });
});

describe("rollback on alarm (TAG017)", () => {
  const api = revision("api", 7);
  const group = deploymentGroup({ deploymentGroupName: "api" });
  it.each([
    [
      "rollback on alarm with alarms",
      {},
      true,
      "valmetal-prod/api: rollback on DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, 2 alarms",
    ],
    [
      "rollback on deployment failure only",
      { deploymentGroup: { ...group, autoRollbackEvents: ["DEPLOYMENT_FAILURE"] } },
      true,
      "rollback on DEPLOYMENT_FAILURE",
    ],
    [
      "the ECS controller",
      { deploymentController: "ECS", deploymentGroup: undefined },
      false,
      "deploymentController ECS, not CODE_DEPLOY; no CodeDeploy deployment group deploys this service",
    ],
    [
      "no deployment group",
      { deploymentGroup: undefined },
      false,
      "no CodeDeploy deployment group deploys this service",
    ],
    [
      "automatic rollback off",
      { deploymentGroup: { ...group, autoRollbackEnabled: false } },
      false,
      "valmetal-prod/api: automatic rollback is off",
    ],
    [
      "rollback on no event",
      { deploymentGroup: { ...group, autoRollbackEvents: [] } },
      false,
      "rollback events (none) include neither DEPLOYMENT_STOP_ON_ALARM nor DEPLOYMENT_FAILURE",
    ],
    [
      "alarm monitoring off",
      { deploymentGroup: { ...group, alarmsEnabled: false } },
      false,
      "alarm monitoring is off",
    ],
    ["no alarms", { deploymentGroup: { ...group, alarmNames: [] } }, false, "alarm monitoring has no alarms"],
  ])("%s", (_, overrides, passed, detail) => {
    const account = snapshot({ services: [service("api", api, overrides)], revisions: [api] });
    const [finding] = of(run(account), "TAG017");
    expect(finding?.passed).toBe(passed);
    expect(finding?.detail).toContain(detail);
  });
});

describe("no latest, allowed sources (TAG018)", () => {
  const ecr = `${registry}/valmetal`;
  it.each([
    [`${ecr}/api:prod-${sha}`, [], true, "pinned by tag or digest"],
    [`${ecr}/api:latest`, [], false, "uses the moving tag latest"],
    [`${ecr}/api`, [], false, "has no tag, so it means latest"],
    ["nginx", [], false, "nginx has no tag, so it means latest"],
    [`${ecr}/api@${digestOf("x")}`, [], true, "pinned by tag or digest"],
    [`${ecr}/api:prod-${sha}`, [registry], true, "pinned"],
    [`${ecr}/api:prod-${sha}`, [ecr], true, "pinned"],
    [`${ecr}-other/api:prod-${sha}`, [ecr], false, "is not among the allowed images"],
    ["nginx:1.27", [registry], false, "docker.io/library/nginx is not among the allowed images"],
    ["ghcr.io/org/app:prod-x", ["ghcr.io/org"], true, "pinned"],
  ])("%s with allowed %j", (image, allowedImages, passed, detail) => {
    const [finding] = onRevision("TAG018", { images: [image] }, { allowedImages });
    expect(finding?.passed).toBe(passed);
    expect(finding?.detail).toContain(detail);
  });
});

describe("edge cases", () => {
  it("ignores stopped and stopping tasks", () => {
    const api = revision("api", 7);
    const untagged = { tags: {} };
    const account = snapshot({
      services: [service("api", api)],
      tasks: [
        task(api, "api"),
        task(api, "api", { ...untagged, lastStatus: "STOPPED", desiredStatus: "STOPPED" }),
        task(api, "api", { ...untagged, lastStatus: "RUNNING", desiredStatus: "STOPPED" }),
      ],
      revisions: [api],
    });
    const findings = run(account);
    expect(of(findings, "TAG010")).toMatchObject([{ passed: true }]);
    expect(findings.filter((finding) => !finding.passed)).toEqual([]);
  });

  it("checks a service with no tasks on its settings and PRIMARY revision only", () => {
    const findings = run(healthyAccount(0));
    expect(findings.filter((finding) => finding.resource.taskArn)).toEqual([]);
    expect(of(findings, "TAG015")).toMatchObject([{ passed: true, detail: "no running tasks" }]);
    expect(of(findings, "TAG001")).toMatchObject([{ passed: true }]);
  });

  it("checks a standalone task (RunTask) on its revision, tags, image and ARN, not on service rules", () => {
    const job = revision("migrate", 3);
    const standalone = task(job, undefined, { startedBy: "github-actions" });
    const findings = run(snapshot({ tasks: [standalone], revisions: [job] }), { expectedSha: sha });
    expect([...new Set(findings.map((finding) => finding.ruleId))].sort()).toEqual([
      "TAG001",
      "TAG002",
      "TAG003",
      "TAG004",
      "TAG009",
      "TAG010",
      "TAG011",
      "TAG013",
      "TAG014",
      "TAG016",
      "TAG018",
    ]);
    expect(findings.filter((finding) => !finding.passed)).toEqual([]);
    expect(of(findings, "TAG011")).toMatchObject([
      { detail: "aws:ecs:clusterName matches (standalone task)" },
    ]);
  });

  it("fails a standalone task that claims a service", () => {
    const job = revision("migrate", 3);
    const standalone = task(job, undefined);
    standalone.tags["aws:ecs:serviceName"] = "api";
    const [finding] = of(run(snapshot({ tasks: [standalone], revisions: [job] })), "TAG011");
    expect(finding).toMatchObject({
      passed: false,
      detail: "aws:ecs:serviceName is 'api' on a task of no service",
    });
  });

  it("finds the cluster each finding belongs to across clusters", () => {
    const api = revision("api", 7);
    const account = snapshot({
      clusters: [cluster("prod"), cluster("edge")],
      services: [service("api", api), service("api", api, {}, "edge")],
      tasks: [task(api, "api"), task(api, "api", {}, "edge")],
      revisions: [api],
    });
    const tag011 = of(run(account), "TAG011");
    expect(tag011.map((finding) => [finding.resource.clusterName, finding.passed])).toEqual([
      ["prod", true],
      ["edge", true],
    ]);
  });
});

describe("overrides", () => {
  it("drops a disabled rule's findings and re-grades a downgraded one", () => {
    const account = healthyAccount();
    account.clusters[0] = cluster("prod", { containerInsights: "disabled" });
    const findings = run(account, {
      overrides: [
        { ruleId: "TAG016", action: "disable", reason: "legacy account" },
        { ruleId: "TAG009", action: "notice", reason: "we use enhanced observability elsewhere" },
      ],
    });
    expect(of(findings, "TAG016")).toEqual([]);
    expect(of(findings, "TAG009")).toMatchObject([{ passed: false, severity: "notice" }]);
  });

  it("lets an override raise a per-finding warning back to error", () => {
    const image = `${registry}/valmetal/api@${digestOf("x")}`;
    const findings = onRevision(
      "TAG004",
      { images: [image] },
      {
        overrides: [{ ruleId: "TAG004", action: "error", reason: "we never pin by digest" }],
      },
    );
    expect(findings).toMatchObject([{ passed: false, severity: "error" }]);
  });
});
