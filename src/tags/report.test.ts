import { describe, expect, it } from "vitest";
import type { AccountSnapshot, CheckOptions, Finding, ReadStatistics } from "./model.ts";
import { checkReport, failed, type ReportInput } from "./report.ts";
import { evaluate } from "./rules.ts";
import { summaryMarkdown } from "./summary.ts";
import {
  checkOptions,
  cluster,
  healthyAccount,
  otherSha,
  revision,
  service,
  sha,
  snapshot,
  task,
} from "./test-snapshots.ts";

const statistics: ReadStatistics = {
  calls: { DescribeServices: 2, ListServices: 1, DescribeTasks: 1, ListTasks: 2, DescribeTaskDefinition: 2 },
  total: 8,
  minimum: 7,
  throttled: 1,
  wallMs: 1234,
};
const generatedAt = new Date("2026-03-02T12:00:00Z");

function input(account: AccountSnapshot, options: Partial<CheckOptions> = {}): ReportInput {
  const full = checkOptions(options);
  return { snapshot: account, options: full, findings: evaluate(account, full), statistics, generatedAt };
}

/** `api` healthy; `web` running a task started while propagateTags was NONE; a cluster without Container Insights. */
function brokenAccount(): AccountSnapshot {
  const api = revision("api", 7);
  const web = revision("web", 3, { sha: otherSha });
  return snapshot({
    clusters: [cluster("prod", { containerInsights: "disabled" })],
    services: [service("api", api), service("web", web, { propagateTags: "NONE" })],
    tasks: [
      task(api, "api"),
      task(web, "web", { tags: { "aws:ecs:clusterName": "prod", "aws:ecs:serviceName": "web" } }),
    ],
    revisions: [api, web],
  });
}

const finding = (severity: Finding["severity"], passed: boolean): Finding => ({
  ruleId: "TAG001",
  severity,
  passed,
  resource: { clusterName: "prod" },
  detail: "",
});

describe("the step's verdict", () => {
  it.each([
    [[finding("error", false)], "error", true],
    [[finding("warning", false)], "error", false],
    [[finding("warning", false)], "warning", true],
    [[finding("notice", false)], "warning", false],
    [[finding("error", false)], "never", false],
    [[finding("error", true), finding("warning", true)], "warning", false],
    [[], "error", false],
  ] as const)("%j with fail-on %s fails: %s", (findings, failOn, expected) => {
    expect(failed(findings, failOn)).toBe(expected);
  });
});

describe("the JSON report", () => {
  it("carries scope, totals, per-service results with their commits, findings, overrides and read statistics", () => {
    const overrides = [{ ruleId: "TAG016", action: "disable" as const, reason: "legacy account" }];
    const report = checkReport(input(brokenAccount(), { expectedSha: sha, overrides }));
    expect(report).toMatchObject({
      version: 1,
      generatedAt: "2026-03-02T12:00:00.000Z",
      scope: {
        clusters: ["prod"],
        services: 2,
        tasks: 2,
        taskDefinitions: 2,
        images: 2,
        expectedSha: sha,
        expectedEnvironment: null,
      },
      overrides,
      statistics,
    });
    expect(report.totals.failed).toBe(report.findings.filter((item) => !item.passed).length);
    expect(report.totals.passed + report.totals.failed).toBe(report.totals.findings);
    expect(report.totals.failedBySeverity).toEqual({ error: 3, warning: 1, notice: 0 });
    expect(report.rules.find((rule) => rule.id === "TAG016")).toMatchObject({
      disabled: true,
      checked: 0,
      override: overrides[0],
    });
    expect(report.rules.find((rule) => rule.id === "TAG009")).toMatchObject({
      severity: "warning",
      checked: 1,
      failed: 1,
    });

    const [web, cluster, api] = report.services;
    expect(web).toMatchObject({
      cluster: "prod",
      service: "web",
      passed: false,
      failed: { error: 3, warning: 0, notice: 0 },
      deploymentController: "CODE_DEPLOY",
      inDeployment: false,
      commits: [{ sha: otherSha, tasks: 1, primary: true, draining: false }],
    });
    expect(web?.results.filter((result) => !result.passed).map((result) => result.ruleId)).toEqual([
      "TAG005",
      "TAG006",
      "TAG010",
    ]);
    expect(web?.results.find((result) => result.ruleId === "TAG010")?.detail).toContain(
      "Environment missing",
    );
    expect(cluster).toMatchObject({
      service: null,
      passed: false,
      failed: { warning: 1 },
      results: [{ ruleId: "TAG009" }],
    });
    expect(api).toMatchObject({ service: "api", passed: true, commits: [{ sha, tasks: 1, primary: true }] });
  });

  it("folds a rule's findings on many tasks into one result per service", () => {
    const account = healthyAccount(5);
    account.tasks[1] = { ...(account.tasks[1] as AccountSnapshot["tasks"][number]), tags: {} };
    account.tasks[3] = { ...(account.tasks[3] as AccountSnapshot["tasks"][number]), tags: {} };
    const [api] = checkReport(input(account)).services;
    const tag010 = api?.results.find((result) => result.ruleId === "TAG010");
    expect(tag010).toMatchObject({ passed: false, checked: 5, failed: 2, severity: "error" });
    expect(tag010?.detail).toMatch(/^2 of 5 failed: task [0-9a-f]+: Environment missing/);
    expect(api?.results.find((result) => result.ruleId === "TAG011")?.detail).toMatch(/^2 of 5 failed/);
    expect(api?.results.find((result) => result.ruleId === "TAG012")).toMatchObject({
      passed: true,
      detail: "5 checked: runs api:7",
    });
  });

  it("lists both commits of a blue/green deployment and the draining one after it", () => {
    const blue = revision("api", 7);
    const green = revision("api", 8, { sha: otherSha });
    const taskSets = [
      { id: "ecs-svc/blue", arn: "ts-blue", status: "PRIMARY", taskDefinitionArn: blue.arn },
      { id: "ecs-svc/green", arn: "ts-green", status: "ACTIVE", taskDefinitionArn: green.arn },
    ];
    const tasks = [
      task(blue, "api", { startedBy: "ecs-svc/blue" }),
      task(blue, "api", { startedBy: "ecs-svc/blue" }),
      task(green, "api", { startedBy: "ecs-svc/green" }),
    ];
    const during = checkReport(
      input(
        snapshot({
          services: [service("api", blue, { taskSets, deploymentInProgress: true })],
          tasks,
          revisions: [blue, green],
        }),
      ),
    );
    expect(during.services.find((item) => item.service === "api")).toMatchObject({
      passed: true,
      inDeployment: true,
      commits: [
        { sha, tasks: 2, primary: true, draining: false },
        { sha: otherSha, tasks: 1, primary: false, draining: false },
      ],
    });
    expect(summaryMarkdown(during)).toContain(
      `runs \`${sha.slice(0, 12)}\` (2 tasks, PRIMARY) · \`${otherSha.slice(0, 12)}\` (1 task)`,
    );

    const after = [
      { ...taskSets[1], status: "PRIMARY" } as (typeof taskSets)[number],
      { ...taskSets[0], status: "DRAINING" } as (typeof taskSets)[number],
    ];
    const done = checkReport(
      input(
        snapshot({ services: [service("api", green, { taskSets: after })], tasks, revisions: [blue, green] }),
      ),
    );
    expect(done.services.find((item) => item.service === "api")).toMatchObject({
      passed: true,
      inDeployment: false,
      commits: [
        { sha: otherSha, tasks: 1, primary: true, draining: false },
        { sha, tasks: 2, primary: false, draining: true },
      ],
    });
  });

  it("serializes to JSON and back unchanged", () => {
    const report = checkReport(input(brokenAccount()));
    expect(JSON.parse(JSON.stringify(report))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(Object.keys(report)).toEqual([
      "version",
      "generatedAt",
      "scope",
      "totals",
      "rules",
      "services",
      "findings",
      "overrides",
      "statistics",
    ]);
  });
});

describe("the job summary", () => {
  it("puts totals first, a table per failing service, a line per green one, overrides and API calls", () => {
    const overrides = [
      { ruleId: "TAG009", action: "notice" as const, reason: "we use enhanced observability elsewhere" },
    ];
    const report = checkReport(input(brokenAccount(), { overrides }));
    const markdown = summaryMarkdown(report, {
      commitUrl: (commit) => `https://github.com/org/app/commit/${commit}`,
    });
    const lines = markdown.split("\n");
    expect(lines[0]).toBe("## Tag check");
    expect(lines[2]).toBe("**❌ 2 errors, ⚠️ 0 warnings, ℹ️ 1 notice; 32 of 35 checks passed**");
    expect(markdown).toContain("1 cluster, 2 services (1 with failures), 2 running tasks");
    expect(markdown).toContain("#### ❌ prod/web");
    expect(markdown).toContain(
      `Runs [\`${otherSha.slice(0, 12)}\`](https://github.com/org/app/commit/${otherSha}) (1 task, PRIMARY)`,
    );
    expect(markdown).toContain(
      "| TAG006 Services propagate the task definition's tags | ❌ | propagateTags NONE",
    );
    expect(markdown).toContain("| TAG001 Task definitions carry the required tags | ✅ |");
    expect(markdown).toContain("#### ℹ️ cluster prod");
    expect(markdown).toContain(`- ✅ prod/api: 16 rules, 17 checks passed; runs [\`${sha.slice(0, 12)}\`]`);
    expect(markdown).toContain(
      "| TAG009 Clusters are tagged and run Container Insights | severity notice | we use enhanced observability elsewhere |",
    );
    expect(markdown).toContain(
      "8 calls, minimum 7 for what was read (14% above); 1 throttled and retried; read in 1.2 s.",
    );
    expect(markdown.indexOf("## Tag check")).toBeLessThan(markdown.indexOf("### Services with failures"));
    expect(markdown.indexOf("### Passing services")).toBeLessThan(markdown.indexOf("### Overrides"));
    expect(markdown).not.toContain("not shown");
  });

  it("escapes table cells and shows commits as text without a URL function", () => {
    const api = revision("api", 7, {
      tags: { Environment: "prod", Application: "a|b", Component: "<api>", Version: "v1|2" },
    });
    const markdown = summaryMarkdown(
      checkReport(
        input(snapshot({ services: [service("api", api)], tasks: [task(api, "api")], revisions: [api] })),
      ),
    );
    expect(markdown).toContain("Runs `v1\\|2` (1 task, PRIMARY)");
    expect(markdown).not.toContain("<api>");
    expect(summaryMarkdown(checkReport(input(healthyAccount())))).toContain(
      `runs \`${sha.slice(0, 12)}\` (2 tasks, PRIMARY)`,
    );
  });

  it("stays under the byte limit at 1,000 failing services and says what it left out", () => {
    const revisions = [];
    const services = [];
    const tasks = [];
    for (let index = 0; index < 1000; index += 1) {
      const clusterName = `cluster-${index % 10}`;
      const item = revision(`svc-${index}`, 1);
      revisions.push(item);
      services.push(
        service(`svc-${index}`, item, { propagateTags: index % 2 ? "NONE" : "TASK_DEFINITION" }, clusterName),
      );
      for (let copy = 0; copy < 10; copy += 1) tasks.push(task(item, `svc-${index}`, {}, clusterName));
    }
    const account = snapshot({
      clusters: Array.from({ length: 10 }, (_, index) => cluster(`cluster-${index}`)),
      services,
      tasks,
      revisions,
    });
    const report = checkReport(input(account));
    expect(report.services).toHaveLength(1010);
    const markdown = summaryMarkdown(report);
    expect(Buffer.byteLength(markdown)).toBeLessThanOrEqual(1_000_000);
    const small = summaryMarkdown(report, { maxBytes: 50_000 });
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(50_000);
    const shownFailing = small.match(/^#### ❌/gm)?.length ?? 0;
    expect(shownFailing).toBeGreaterThan(0);
    expect(small).toContain(
      `**${1010 - shownFailing} services not shown** (${500 - shownFailing} with failures, 510 passing)`,
    );
    expect(small).toContain("### API calls");
    // green services collapse into one line each: all 510 fit in the default budget
    expect(markdown.match(/^- ✅ /gm)?.length ?? 0).toBe(510);
  });
});
