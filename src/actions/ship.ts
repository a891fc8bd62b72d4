import { join } from "node:path";
import * as core from "@actions/core";
import { ToolkitError } from "../errors.ts";
import { buildPushOptions, buildPushOutputs, buildPushStage } from "./build-push.ts";
import { checkTagsOptions, checkTagsStage } from "./check-tags.ts";
import { deployOptions, deployStage } from "./deploy-ecs.ts";
import { scanOptions, scanOutputDir, scanStage, scanTools } from "./scan.ts";
import {
  cancellationSignal,
  type GitHubRun,
  gitHubRun,
  type Inputs,
  inputsFrom,
  runnerInputs,
  type StageResult,
  setOutputs,
} from "./shell.ts";

/**
 * How each stage reads the one-step action's inputs. A stage input is either one of ship's inputs under the same
 * name (same default as the single action: scripts/ship.test.ts checks it), one of ship's inputs under another name
 * (`renamed`, where two stages share a name with different meanings), or a value ship decides (`fixed`).
 */
export interface StageInputs {
  renamed?: Record<string, string>;
  fixed?: Record<string, string>;
}

export const stageInputs = {
  "build-push": { fixed: { push: "true", "promote-from": "", "extra-tags": "" } },
  scan: {
    renamed: { "fail-on": "vulnerability-fail-on" },
    // The image is set from the build's own output; trivy only when the runner has it, on that image.
    fixed: { image: "", "trivy-report": "", trivy: "false", "working-directory": "", "output-dir": "" },
  },
  "deploy-ecs": {
    fixed: {
      image: "",
      "container-images": "",
      mode: "auto",
      "codedeploy-appspec": "",
      "codedeploy-deployment-description": "",
      "insufficient-data": "ignore",
      "when-busy": "wait",
      "desired-count": "",
      "force-new-deployment": "false",
      "propagate-tags": "",
      "enable-ecs-managed-tags": "",
      "wait-for-service-stability": "true",
    },
  },
  "check-tags": {
    renamed: { "fail-on": "tags-fail-on", rules: "tag-rules" },
    fixed: {
      clusters: "",
      services: "",
      "report-path": "",
      "sarif-path": "",
      "max-concurrency": "8",
      "revision-history": "5",
    },
  },
} satisfies Record<string, StageInputs>;

function stageReader(stage: StageInputs, values: Record<string, string> = {}): Inputs {
  const nameOf = (name: string) => stage.renamed?.[name] ?? name;
  return inputsFrom((name) => {
    if (name in values) return values[name] as string;
    if (stage.fixed && name in stage.fixed) return stage.fixed[name] as string;
    return runnerInputs.text(nameOf(name));
  }, nameOf);
}

interface StageRecord {
  stage: string;
  result: "passed" | "failed" | "skipped" | "not run";
  seconds?: number;
  detail: string;
}

async function timed<T>(
  records: StageRecord[],
  stage: string,
  work: () => Promise<T>,
  detail: (value: T) => string = () => "",
): Promise<T> {
  const started = Date.now();
  const record: StageRecord = { stage, result: "failed", detail: "" };
  records.push(record);
  try {
    const value = await work();
    record.result = "passed";
    record.detail = detail(value);
    return value;
  } catch (error) {
    record.detail = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    record.seconds = (Date.now() - started) / 1000;
  }
}

function failed(result: StageResult): StageResult {
  if (result.failure) throw new ToolkitError(result.failure);
  return result;
}

async function writePipelineSummary(records: StageRecord[], github: GitHubRun, title: string) {
  const stages = ["scan source", "build-push", "scan image", "deploy-ecs", "check-tags"];
  const rows = stages.map((stage) => {
    const record = records.find((item) => item.stage === stage);
    const result = record?.result ?? "not run";
    const mark = { passed: "✅", failed: "❌", skipped: "➖", "not run": "⏹️" }[result];
    return [stage, `${mark} ${result}`, record?.seconds?.toFixed(1) ?? "", record?.detail ?? ""];
  });
  await core.summary
    .addHeading(title, 3)
    .addTable([["stage", "result", "seconds", "detail"].map((data) => ({ data, header: true })), ...rows])
    .addLink("Workflow run", github.runUrl)
    .write();
}

/**
 * The one-step pipeline: SAST and secrets on the source, build and push the commit's image, gate the pushed digest
 * on its vulnerabilities, deploy it, then check that the running tasks trace back to the commit. Every stage's
 * inputs are read and validated before the first one runs; the first failing stage stops the pipeline.
 */
export async function run(): Promise<void> {
  const github = gitHubRun();
  const signal = cancellationSignal();

  const build = buildPushOptions(stageReader(stageInputs["build-push"]), github);
  const image = `${build.repository.name}:${build.environment}-${build.sha}`;
  const tools = scanTools(github, signal);
  const scanReader = stageReader(stageInputs.scan, {
    image: runnerInputs.boolean("scan-image") ? image : "",
  });
  const scanDir = scanOutputDir(scanReader, github);
  const sastOrSecrets = runnerInputs.boolean("sast") || runnerInputs.boolean("secrets");
  const scanAll = sastOrSecrets || runnerInputs.boolean("scan-image");
  const { image: imageGate, ...sourceGates } = scanAll
    ? await scanOptions(scanReader, github, tools, scanDir)
    : { ignore: [] };
  const deploy = await deployOptions(
    stageReader(stageInputs["deploy-ecs"], { image, sha: build.sha }),
    github,
    signal,
  );
  const checkTags = runnerInputs.boolean("check-tags")
    ? checkTagsOptions(
        stageReader(stageInputs["check-tags"], {
          clusters: deploy.revision.cluster,
          services: deploy.revision.service,
          sha: build.sha,
        }),
        github,
      )
    : undefined;
  const region = runnerInputs.text("aws-region");

  const records: StageRecord[] = [];
  const outputs: Record<string, string> = {};
  const title = `ship: ${deploy.revision.tags.Component} ${build.sha.slice(0, 12)} to ${build.environment}`;
  try {
    if (sourceGates.sast || sourceGates.secrets) {
      const result = await timed(records, "scan source", async () =>
        failed(await scanStage(sourceGates, { github, tools, outputDir: scanDir, region })),
      );
      outputs["scan-report"] = result.outputs.report ?? "";
      outputs.sarif = result.outputs.sarif ?? "";
    } else records.push({ stage: "scan source", result: "skipped", detail: "sast and secrets are off" });

    const built = await timed(
      records,
      "build-push",
      () => buildPushStage(build, github, signal),
      (result) => `${result.outcome}: ${result.imageRef ?? result.image}`,
    );
    Object.assign(outputs, buildPushOutputs(built));

    if (imageGate) {
      const pushed = {
        ...imageGate,
        image: imageGate.image && { ...imageGate.image, imageDigest: built.digest },
      };
      const result = await timed(records, "scan image", async () =>
        failed(
          await scanStage(
            { ignore: sourceGates.ignore, image: pushed },
            { github, tools, outputDir: join(scanDir, "image"), region },
          ),
        ),
      );
      outputs["vulnerability-counts"] = result.outputs["vulnerability-counts"] ?? "";
      outputs["scan-report"] = result.outputs.report ?? "";
    } else records.push({ stage: "scan image", result: "skipped", detail: "scan-image is off" });

    await timed(
      records,
      "deploy-ecs",
      async () => {
        const result = await deployStage(deploy, github);
        Object.assign(outputs, {
          "deployment-id": result.outputs["deployment-id"] ?? "",
          "task-definition-arn": result.outputs["task-definition-arn"] ?? "",
          "task-definition-revision": result.outputs["task-definition-revision"] ?? "",
          status: result.outputs.status ?? "",
          "rolled-back": result.outputs["rolled-back"] ?? "",
          "deploy-report": result.outputs.report ?? "",
        });
        return failed(result);
      },
      (result) => `${result.outputs.status}: ${result.outputs["task-definition-arn"]}`,
    );

    if (checkTags) {
      await timed(
        records,
        "check-tags",
        async () => {
          const checked = await checkTagsStage(checkTags, github, signal);
          outputs["tags-result"] = checked.outputs.result ?? "";
          outputs["tags-report"] = checked.outputs.report ?? "";
          return failed(checked);
        },
        (result) => `${result.outputs.errors} errors, ${result.outputs.warnings} warnings`,
      );
    } else records.push({ stage: "check-tags", result: "skipped", detail: "check-tags is off" });
    outputs.result = "passed";
  } catch (error) {
    outputs.result = "failed";
    throw error;
  } finally {
    setOutputs(outputs);
    await writePipelineSummary(records, github, title);
  }
}
