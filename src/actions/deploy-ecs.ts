import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as core from "@actions/core";
import { cloudWatchClient, codeDeployClient, ecsClient, elbClient } from "../aws/clients.ts";
import { systemClock } from "../clock.ts";
import { type BlueGreenOptions, deployBlueGreen } from "../deploy/blue-green.ts";
import { deploymentReport, deploymentSummaryRows, failureMessage } from "../deploy/report.ts";
import { prepareRevision, type RevisionOptions } from "../deploy/revision.ts";
import { parseSmokeChecks } from "../deploy/smoke.ts";
import { parseTaskDefinition } from "../ecs/task-definition-file.ts";
import { InputError } from "../errors.ts";
import { parseKeyValueLines } from "../image/labels.ts";
import { validateEnvironment, validateSha } from "../image/tags.ts";
import { deploymentMode, rollingInputs, runRolling } from "./deploy-ecs-rolling.ts";
import {
  actionReporter,
  cancellationSignal,
  finishStage,
  type GitHubRun,
  gitHubRun,
  type Inputs,
  runnerInputs,
  type StageResult,
} from "./shell.ts";

/** State handed to the post step, which stops the deployment if the job was cancelled before the main step could. */
export const deploymentState = "deployment-id";

function minutes(inputs: Inputs, name: string): number {
  const value = Number(inputs.text(name));
  if (!Number.isFinite(value) || value < 0)
    throw new InputError(`input ${name} is '${inputs.text(name)}'; use a number of minutes`);
  return value * 60_000;
}

/** Polls as often as the floor allows while traffic moves, a third as often while waiting. */
function pollIntervals(inputs: Inputs) {
  const floor = Number(inputs.text("poll-interval-seconds")) * 1000;
  if (!Number.isFinite(floor) || floor < 100) {
    throw new InputError(
      `input poll-interval-seconds is '${inputs.text("poll-interval-seconds")}'; use a number of seconds ≥ 0.1`,
    );
  }
  return { active: floor, waiting: 3 * floor, floor };
}

function images(inputs: Inputs): Record<string, string> {
  const single = inputs.text("image");
  const pairs = parseKeyValueLines(inputs.text("container-images"), "container-images");
  if (single) {
    const container = inputs.text("container-name");
    if (!container)
      throw new InputError("image needs container-name (or use container-images: <container>=<image>)");
    pairs[container] = single;
  }
  return pairs;
}

async function taskDefinitionFile(inputs: Inputs, github: GitHubRun) {
  const path = inputs.text("task-definition");
  if (!path) return undefined;
  const absolute = resolve(github.workspace, path);
  const text = await readFile(absolute, "utf8").catch(() => {
    throw new InputError(`task-definition file ${path} not found; pass a path relative to the workspace`);
  });
  const parsed = parseTaskDefinition(text, path);
  if (parsed.unknownKeys.length) {
    core.warning(
      `task definition ${path} has keys RegisterTaskDefinition may not know: ${parsed.unknownKeys.join(", ")}`,
    );
  }
  return parsed.input;
}

export type DeployOptions = Awaited<ReturnType<typeof deployOptions>>;

/** Every deploy-ecs input, read and validated (files included) before the first AWS call. */
export async function deployOptions(inputs: Inputs, github: GitHubRun, signal: AbortSignal) {
  const sha = validateSha(inputs.text("sha") || github.sha);
  const service = inputs.required("service");
  const appSpecPath = inputs.text("codedeploy-appspec");
  const taskDefinition = await taskDefinitionFile(inputs, github);
  const mode = inputs.choice("mode", ["auto", "blue-green", "rolling"] as const);
  const revision: RevisionOptions = {
    cluster: inputs.text("cluster") || "default",
    service,
    ...(taskDefinition ? { taskDefinition } : {}),
    images: images(inputs),
    environment: parseKeyValueLines(inputs.text("environment-variables"), "environment-variables"),
    sha,
    tags: {
      Environment: validateEnvironment(inputs.required("environment")),
      Application: inputs.required("application"),
      Component: inputs.text("component") || inputs.text("container-name") || service,
    },
  };
  const rolling = rollingInputs(inputs, revision, {
    timeoutMs: minutes(inputs, "wait-for-minutes"),
    pollMs: pollIntervals(inputs).floor,
  });
  const options: BlueGreenOptions = {
    ...revision,
    application: inputs.text("codedeploy-application") || undefined,
    deploymentGroup: inputs.text("codedeploy-deployment-group") || undefined,
    deploymentConfig: inputs.text("codedeploy-deployment-config") || undefined,
    description: inputs.text("codedeploy-deployment-description") || undefined,
    ...(appSpecPath
      ? {
          appSpec: {
            source: appSpecPath,
            text: await readFile(resolve(github.workspace, appSpecPath), "utf8").catch(() => {
              throw new InputError(`codedeploy-appspec file ${appSpecPath} not found`);
            }),
          },
        }
      : {}),
    hooks: {},
    alarms: inputs.list("alarms"),
    useGroupAlarms: inputs.boolean("use-deployment-group-alarms"),
    insufficientData: inputs.choice("insufficient-data", ["ignore", "fail"] as const),
    smokeChecks: parseSmokeChecks(inputs.text("smoke-tests")),
    testListenerUrl: inputs.text("test-listener-url") || undefined,
    bakeMs: minutes(inputs, "bake-minutes"),
    timeoutMs: minutes(inputs, "wait-for-minutes"),
    rollbackOnStop: inputs.boolean("rollback-on-cancel"),
    whenBusy: inputs.choice("when-busy", ["wait", "fail"] as const),
    pollMs: pollIntervals(inputs),
    rollbackTimeoutMs: 30 * 60_000,
    signal,
  };
  const region = inputs.text("aws-region") ? { region: inputs.text("aws-region") } : {};
  return { mode, revision, rolling: { ...rolling, signal }, blueGreen: options, region };
}

/**
 * Deploys: blue/green or rolling by the service's controller. Appends its section to the job summary; a deployment
 * that failed or rolled back is returned as the stage's failure, with its outputs.
 */
export async function deployStage(deploy: DeployOptions, github: GitHubRun): Promise<StageResult> {
  const { mode, revision, rolling, blueGreen: options, region } = deploy;
  const { sha } = revision;
  const ecs = ecsClient(region);
  const prepared = await prepareRevision(revision, ecs);
  if (deploymentMode(mode, prepared.service) === "rolling") {
    return runRolling(rolling, prepared, { ecs, github });
  }
  if (!rolling.wait)
    core.warning("wait-for-service-stability: false is ignored in blue/green mode: the action always waits");
  const result = await deployBlueGreen(options, prepared, {
    ecs,
    codedeploy: codeDeployClient(region),
    cloudwatch: cloudWatchClient(region),
    elb: elbClient(region),
    clock: systemClock,
    reporter: actionReporter,
    onDeploymentCreated: (id) => {
      core.saveState(deploymentState, id);
      core.setOutput("deployment-id", id);
      core.setOutput("codedeploy-deployment-id", id);
    },
  });

  const report = join(github.tempDir, `deploy-ecs-${result.deploymentId}.json`);
  await writeFile(report, `${JSON.stringify(deploymentReport(result, sha), null, 2)}\n`);
  const { outcome } = result;
  core.saveState(deploymentState, "");
  await core.summary
    .addHeading(`deploy-ecs: ${options.tags.Component} to ${options.tags.Environment}`, 3)
    .addTable(deploymentSummaryRows(result, { commit: github.commitUrl(sha) }))
    .addHeading("Timeline", 4)
    .addList(outcome.timeline.entries.map((entry) => `${entry.at.toISOString()} ${entry.text}`))
    .write();
  return {
    outputs: {
      "deployment-id": result.deploymentId,
      "codedeploy-deployment-id": result.deploymentId,
      "task-definition-arn": result.taskDefinition.arn,
      "task-definition-revision": String(result.taskDefinition.revision),
      status: outcome.status,
      "rolled-back": String(outcome.rolledBack),
      "rollback-deployment-id": outcome.rollbackDeploymentId ?? "",
      report,
    },
    failure: failureMessage(result),
  };
}

export async function run(): Promise<void> {
  const github = gitHubRun();
  const result = await deployStage(await deployOptions(runnerInputs, github, cancellationSignal()), github);
  await finishStage(result, github);
}
