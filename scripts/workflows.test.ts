// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are GitHub workflow text, where ${{ }} is an expression.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { convertActionTemplate, parseAction } from "@actions/workflow-parser/actions/index";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { repositoryRoot } from "../test/support/run-action.ts";
import {
  type ActionMetadata,
  type CallableWorkflow,
  type CheckSources,
  checkWorkflow,
  contextPaths,
  expressionsIn,
  resolveUses,
  untrustedInRun,
} from "./workflow-checks.ts";

// Every workflow (this repository's reusable and own workflows, and the reference app's callers in workflows/) and
// every action.yml, validated with GitHub's own parser, then with the checks of scripts/workflow-checks.ts against
// the action.yml and reusable workflow files they use.

const read = (path: string) => readFileSync(join(repositoryRoot, path), "utf8");
const yamlFiles = (folder: string) =>
  existsSync(join(repositoryRoot, folder))
    ? readdirSync(join(repositoryRoot, folder))
        .filter((file) => /\.ya?ml$/.test(file))
        .sort()
        .map((file) => `${folder}/${file}`)
    : [];

const workflowFiles = [...yamlFiles(".github/workflows"), ...yamlFiles("workflows")];
const actionFiles = [
  ...readdirSync(join(repositoryRoot, "actions"))
    .filter((name) => existsSync(join(repositoryRoot, "actions", name, "action.yml")))
    .sort()
    .map((name) => `actions/${name}/action.yml`),
  ...(existsSync(join(repositoryRoot, "action.yml")) ? ["action.yml"] : []),
];

const repositorySources: CheckSources = {
  action: (name) => {
    const path = name ? `actions/${name}/action.yml` : "action.yml";
    return existsSync(join(repositoryRoot, path)) ? (parseYaml(read(path)) as ActionMetadata) : undefined;
  },
  workflow: (file) => {
    const path = `.github/workflows/${file}`;
    return existsSync(join(repositoryRoot, path)) ? (parseYaml(read(path)) as CallableWorkflow) : undefined;
  },
};

const trace = new NoOperationTraceWriter();

async function parserErrors(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, trace);
  const errors = parsed.context.errors.getErrors().map((error) => error.message);
  if (errors.length > 0 || !parsed.value) return errors;
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  // The conversion reports the parse errors again: keep each message once.
  return [
    ...new Set([
      ...parsed.context.errors.getErrors().map((error) => error.message),
      ...(template.errors ?? []).map((error) => error.Message),
    ]),
  ];
}

describe("GitHub's workflow parser", () => {
  it("finds the workflows and actions to check", () => {
    expect(workflowFiles).toEqual(
      expect.arrayContaining([
        ".github/workflows/build-scan-push.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/promote.yml",
        ".github/workflows/verify.yml",
        ".github/workflows/infra.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        "workflows/reference-pipeline.yml",
        "workflows/nightly-verify.yml",
      ]),
    );
    expect(actionFiles).toEqual(
      expect.arrayContaining(["actions/build-push/action.yml", "actions/deploy-ecs/action.yml"]),
    );
  });

  it.each(workflowFiles)("%s parses without errors", async (file) => {
    expect(await parserErrors(file, read(file))).toEqual([]);
  });

  it.each([
    ["an unknown key", "    timeout: 5\n    runs-on: x\n    steps:\n      - run: echo\n", "timeout"],
    [
      "secrets in a job if",
      "    if: secrets.X != ''\n    runs-on: x\n    steps:\n      - run: echo\n",
      "'secrets'",
    ],
    ["steps in runs-on", "    runs-on: ${{ steps.x.outputs.y }}\n    steps:\n      - run: echo\n", "'steps'"],
    ["an unknown context", "    runs-on: x\n    steps:\n      - run: echo ${{ inputz.x }}\n", "'inputz'"],
    [
      "a need that is not a job",
      "    needs: b\n    runs-on: x\n    steps:\n      - run: echo\n",
      "no dependencies",
    ],
  ])("the parser reports %s", async (_title, job, message) => {
    const errors = await parserErrors("broken.yml", `on: push\njobs:\n  a:\n${job}`);
    expect(errors.join("\n")).toContain(message);
  });
});

describe("action metadata", () => {
  it.each(actionFiles)("%s parses with GitHub's action schema and runs on node24", (file) => {
    const parsed = parseAction({ name: file, content: read(file) }, trace);
    expect(parsed.context.errors.getErrors().map((error) => error.message)).toEqual([]);
    const action = convertActionTemplate(parsed.context, parsed.value as NonNullable<typeof parsed.value>);
    expect(action.name, file).toBeTruthy();
    expect(action.description, file).toBeTruthy();
    expect(action.runs.using, file).toBe("node24");
    expect("main" in action.runs && action.runs.main, file).toBe("dist/index.js");
    for (const input of action.inputs ?? []) {
      expect(input.id, `${file}: input names are kebab-case`).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(input.description, `${file}: input ${input.id} is documented`).toBeTruthy();
    }
    for (const output of action.outputs ?? []) {
      expect(output.id, `${file}: output names are kebab-case`).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(output.description, `${file}: output ${output.id} is documented`).toBeTruthy();
    }
  });

  it("the action schema refuses metadata without runs", () => {
    const parsed = parseAction({ name: "bad.yml", content: "name: x\ndescription: y\n" }, trace);
    expect(parsed.context.errors.getErrors().length).toBeGreaterThan(0);
  });
});

describe("uses, inputs, secrets, permissions and pins", () => {
  it.each(workflowFiles)("%s uses only declared inputs, secrets and outputs, and pins by SHA", (file) => {
    expect(checkWorkflow(read(file), repositorySources)).toEqual([]);
  });

  it("reusable workflows reach the toolkit's actions through the toolkit checked out at job.workflow_sha", () => {
    for (const file of workflowFiles.filter((name) => name.startsWith(".github/workflows/"))) {
      const workflow = parseYaml(read(file)) as CallableWorkflow;
      if (!workflow.on?.workflow_call) continue;
      for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
        const steps = (job.steps ?? []) as { uses?: string; with?: Record<string, string> }[];
        const toolkitSteps = steps.filter((step) => step.uses?.startsWith("./"));
        if (toolkitSteps.length === 0) continue;
        expect(
          toolkitSteps.every((step) => step.uses?.startsWith("./.toolkit/")),
          `${file} ${id}`,
        ).toBe(true);
        const checkout = steps.find((step) => step.with?.path === ".toolkit");
        expect(checkout?.with, `${file} ${id}`).toMatchObject({
          repository: "${{ job.workflow_repository }}",
          ref: "${{ job.workflow_sha }}",
        });
        expect(steps.indexOf(checkout as never), `${file} ${id}: checkout before use`).toBeLessThan(
          steps.indexOf(toolkitSteps[0] as never),
        );
      }
    }
  });

  it("reusable workflows ask for id-token: write only in jobs that assume an AWS role", () => {
    for (const file of workflowFiles) {
      const workflow = parseYaml(read(file)) as CallableWorkflow;
      expect(workflow.permissions, `${file}: top-level permissions`).toBeDefined();
      for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
        if (job.uses) continue;
        const permissions = (job.permissions ?? workflow.permissions) as Record<string, string> | string;
        const oidc = typeof permissions === "object" && permissions["id-token"] === "write";
        const assumes = ((job.steps ?? []) as { uses?: string }[]).some((step) =>
          step.uses?.startsWith("aws-actions/configure-aws-credentials@"),
        );
        expect(oidc, `${file} job ${id}`).toBe(assumes);
      }
    }
  });

  it("jobs that run in a GitHub environment queue per environment, and callers pass components as JSON arrays", () => {
    for (const file of workflowFiles) {
      const workflow = parseYaml(read(file)) as CallableWorkflow;
      for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
        if (job.environment) {
          const concurrency = (job.concurrency ?? (workflow as { concurrency?: unknown }).concurrency) as
            | { group?: string }
            | undefined;
          const group = concurrency?.group ?? "";
          expect(group, `${file} job ${id}`).toMatch(/inputs\.environment|^release$/);
        }
        const components = job.with?.components;
        if (typeof components === "string" && !components.includes("${{")) {
          const parsed = JSON.parse(components) as unknown;
          expect(
            Array.isArray(parsed) && parsed.every((name) => /^[a-z][a-z0-9-]*$/.test(String(name))),
            file,
          ).toBe(true);
        }
      }
    }
  });

  const sources: CheckSources = {
    action: (name) =>
      name === "deploy"
        ? {
            inputs: {
              service: { description: "s", required: true },
              mode: { description: "m", default: "auto" },
            },
            outputs: { status: { description: "s" } },
          }
        : undefined,
    workflow: (file) =>
      file === "called.yml"
        ? {
            on: {
              workflow_call: {
                inputs: {
                  environment: { type: "string", required: true },
                  push: { type: "boolean", default: true },
                },
                secrets: { token: { required: true }, webhook: { required: false } },
                outputs: { sha: { value: "${{ jobs.a.outputs.sha }}" } },
              },
            },
            jobs: { a: { permissions: { contents: "read", "id-token": "write" } } },
          }
        : undefined,
  };
  const job = (body: string) => `on: push\npermissions:\n  contents: read\njobs:\n${body}`;

  it.each([
    [
      "an unknown input of a toolkit action",
      "  a:\n    runs-on: x\n    steps:\n      - uses: ./actions/deploy\n        with:\n          service: s\n          servce: t\n",
      "./actions/deploy has no input 'servce'",
    ],
    [
      "a missing required input of a toolkit action",
      "  a:\n    runs-on: x\n    steps:\n      - uses: org/toolkit/actions/deploy@v1\n        with:\n          mode: auto\n",
      "needs its required input 'service'",
    ],
    [
      "an output the action does not declare",
      "  a:\n    runs-on: x\n    steps:\n      - id: d\n        uses: ./.toolkit/actions/deploy\n        with:\n          service: s\n      - run: echo\n        env:\n          X: ${{ steps.d.outputs.state }}\n",
      "steps.d.outputs.state, which that action does not output",
    ],
    [
      "an unpinned third-party action",
      "  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v5\n",
      "actions/checkout@v5 is not pinned by a full 40-hex commit SHA",
    ],
    [
      "a SHA without its version comment",
      "  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8\n",
      'has no "# vX.Y.Z" comment',
    ],
    [
      "an unknown input of a reusable workflow",
      "  a:\n    uses: ./.github/workflows/called.yml\n    permissions:\n      contents: read\n      id-token: write\n    with:\n      environment: dev\n      environmnet: dev\n    secrets:\n      token: t\n",
      "called.yml has no input 'environmnet'",
    ],
    [
      "a missing required input of a reusable workflow",
      "  a:\n    uses: org/toolkit/.github/workflows/called.yml@v1\n    permissions:\n      contents: read\n      id-token: write\n    secrets:\n      token: t\n",
      "called.yml needs its input 'environment'",
    ],
    [
      "a string for a boolean input",
      "  a:\n    uses: ./.github/workflows/called.yml\n    permissions:\n      contents: read\n      id-token: write\n    with:\n      environment: dev\n      push: 'false'\n    secrets:\n      token: t\n",
      "input 'push' of called.yml is a boolean",
    ],
    [
      "a missing required secret",
      "  a:\n    uses: ./.github/workflows/called.yml\n    permissions:\n      contents: read\n      id-token: write\n    with:\n      environment: dev\n",
      "called.yml needs its secret 'token'",
    ],
    [
      "an unknown secret",
      "  a:\n    uses: ./.github/workflows/called.yml\n    permissions:\n      contents: read\n      id-token: write\n    with:\n      environment: dev\n    secrets:\n      token: t\n      tokne: t\n",
      "called.yml has no secret 'tokne'",
    ],
    [
      "permissions the caller does not grant",
      "  a:\n    uses: ./.github/workflows/called.yml\n    with:\n      environment: dev\n    secrets:\n      token: t\n",
      "asks for id-token: write, which this job does not grant",
    ],
    [
      "an output the reusable workflow does not declare",
      "  a:\n    uses: ./.github/workflows/called.yml\n    permissions: write-all\n    with:\n      environment: dev\n    secrets: inherit\n  b:\n    needs: a\n    runs-on: x\n    steps:\n      - run: echo\n        env:\n          S: ${{ needs.a.outputs.digest }}\n",
      "needs.a.outputs.digest, which called.yml does not output",
    ],
    [
      "inputs expanded inside run",
      "  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ inputs.environment }}\n",
      "run expands ${{ inputs.environment }} (untrusted input)",
    ],
    [
      "a pull request title expanded inside run",
      '  a:\n    runs-on: x\n    steps:\n      - run: |\n          echo "${{ github.event.pull_request.title }}"\n',
      "${{ github.event.pull_request.title }}",
    ],
    [
      "head_ref through an index access inside run",
      "  a:\n    runs-on: x\n    steps:\n      - run: git checkout ${{ github['head_ref'] }}\n",
      "${{ github.head_ref }}",
    ],
  ])("reports %s", (_title, body, problem) => {
    const problems = checkWorkflow(job(body), sources);
    expect(problems.join("\n")).toContain(problem);
  });

  it("accepts the same workflow once it is right", () => {
    const body =
      '  a:\n    uses: ./.github/workflows/called.yml\n    permissions:\n      contents: read\n      id-token: write\n    with:\n      environment: ${{ github.ref_name }}\n      push: false\n    secrets:\n      token: ${{ secrets.T }}\n  b:\n    needs: a\n    runs-on: x\n    steps:\n      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n      - id: d\n        uses: ./.toolkit/actions/deploy\n        with:\n          service: ${{ needs.a.outputs.sha }}\n      - env:\n          TITLE: ${{ github.event.pull_request.title }}\n          STATUS: ${{ steps.d.outputs.status }}\n        run: echo "$TITLE ${{ github.sha }} ${{ steps.d.outputs.status }}"\n';
    expect(checkWorkflow(job(body), sources)).toEqual([]);
  });
});

describe("the run-script lint", () => {
  it.each([
    ["echo ${{ inputs.x }}", ["inputs.x"]],
    ["echo ${{ github.event.issue.title }} ${{ github.sha }}", ["github.event.issue.title"]],
    ["echo ${{ format('{0}', github.head_ref) }}", ["github.head_ref"]],
    ["echo ${{ github['event']['comment']['body'] }}", ["github.event.comment.body"]],
    ["echo ${{ toJSON(github.event) }}", ["github.event"]],
    ["echo ${{ github.sha }} ${{ runner.temp }} ${{ steps.a.outputs.b }}", []],
    ["echo '${{ 'a }} b' }}' ${{ inputs.y }}", ["inputs.y"]],
  ])("%s → %j", (script, expected) => {
    expect(untrustedInRun(script)).toEqual(expected);
  });

  it("finds each expression of a string, with }} inside string literals", () => {
    expect(expressionsIn("a ${{ x }} b ${{ format('}}', y) }}")).toEqual(["x", "format('}}', y)"]);
    expect(contextPaths("needs.build.outputs.sha || github.sha")).toEqual([
      "needs.build.outputs.sha",
      "github.sha",
    ]);
  });

  it("resolves uses to the toolkit's actions and workflows, or third parties", () => {
    expect(resolveUses("./.toolkit/actions/deploy-ecs")).toEqual({
      kind: "toolkit-action",
      action: "deploy-ecs",
    });
    expect(resolveUses("org/toolkit/actions/scan@v1")).toEqual({ kind: "toolkit-action", action: "scan" });
    expect(resolveUses("org/toolkit@v1")).toEqual({ kind: "toolkit-action", action: "" });
    expect(resolveUses("org/toolkit/.github/workflows/deploy.yml@v1.2.3")).toEqual({
      kind: "toolkit-workflow",
      file: "deploy.yml",
    });
    expect(resolveUses("actions/checkout@v5")).toEqual({ kind: "third-party", pinned: false });
    expect(resolveUses("github/codeql-action/upload-sarif@5d4e8d1aca955e8d8589aabd499c5cae939e33c7")).toEqual(
      {
        kind: "third-party",
        pinned: true,
      },
    );
    expect(resolveUses("./scripts/something")).toEqual({ kind: "unknown-local" });
  });
});
