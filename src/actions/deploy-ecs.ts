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
import { InputError, ToolkitError } from "../errors.ts";
import { parseKeyValueLines } from "../image/labels.ts";
import { validateEnvironment, validateSha } from "../image/tags.ts";
import { deploymentMode, rollingInputs, runRolling } from "./deploy-ecs-rolling.ts";
import {
  actionReporter,
  booleanInput,
  cancellationSignal,
  choiceInput,
  gitHubRun,
  input,
  listInput,
  requiredInput,
} from "./shell.ts";

/** State handed to the post step, which stops the deployment if the job was cancelled before the main step could. */
export const deploymentState = "deployment-id";

function minutes(name: string): number {
  const value = Number(input(name));
  if (!Number.isFinite(value) || value < 0)
    throw new InputError(`input ${name} is '${input(name)}'; use a number of minutes`);
  return value * 60_000;
}

/** Polls as often as the floor allows while traffic moves, a third as often while waiting. */
function pollIntervals() {
  const floor = Number(input("poll-interval-seconds")) * 1000;
  if (!Number.isFinite(floor) || floor < 100) {
    throw new InputError(
      `input poll-interval-seconds is '${input("poll-interval-seconds")}'; use a number of seconds ≥ 0.1`,
    );
  }
  return { active: floor, waiting: 3 * floor, floor };
}

function images(): Record<string, string> {
  const single = input("image");
  const pairs = parseKeyValueLines(input("container-images"), "container-images");
  if (single) {
    const container = input("container-name");
    if (!container)
      throw new InputError("image needs container-name (or use container-images: <container>=<image>)");
    pairs[container] = single;
  }
  return pairs;
}

async function taskDefinitionFile(github: ReturnType<typeof gitHubRun>) {
  const path = input("task-definition");
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

export async function run(): Promise<void> {
  const github = gitHubRun();
  const sha = validateSha(input("sha") || github.sha);
  const service = requiredInput("service");
  const appSpecPath = input("codedeploy-appspec");
  const taskDefinition = await taskDefinitionFile(github);
  const mode = choiceInput("mode", ["auto", "blue-green", "rolling"] as const);
  const revision: RevisionOptions = {
    cluster: input("cluster") || "default",
    service,
    ...(taskDefinition ? { taskDefinition } : {}),
    images: images(),
    environment: parseKeyValueLines(input("environment-variables"), "environment-variables"),
    sha,
    tags: {
      Environment: validateEnvironment(requiredInput("environment")),
      Application: requiredInput("application"),
      Component: input("component") || input("container-name") || service,
    },
  };
  const rolling = rollingInputs(revision, {
    timeoutMs: minutes("wait-for-minutes"),
    pollMs: pollIntervals().floor,
  });
  const options: BlueGreenOptions = {
    ...revision,
    application: input("codedeploy-application") || undefined,
    deploymentGroup: input("codedeploy-deployment-group") || undefined,
    deploymentConfig: input("codedeploy-deployment-config") || undefined,
    description: input("codedeploy-deployment-description") || undefined,
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
    alarms: listInput("alarms"),
    useGroupAlarms: booleanInput("use-deployment-group-alarms"),
    insufficientData: choiceInput("insufficient-data", ["ignore", "fail"] as const),
    smokeChecks: parseSmokeChecks(input("smoke-tests")),
    testListenerUrl: input("test-listener-url") || undefined,
    bakeMs: minutes("bake-minutes"),
    timeoutMs: minutes("wait-for-minutes"),
    rollbackOnStop: booleanInput("rollback-on-cancel"),
    whenBusy: choiceInput("when-busy", ["wait", "fail"] as const),
    pollMs: pollIntervals(),
    rollbackTimeoutMs: 30 * 60_000,
    signal: cancellationSignal(),
  };
  const region = input("aws-region") ? { region: input("aws-region") } : {};
  const ecs = ecsClient(region);
  const prepared = await prepareRevision(revision, ecs);
  if (deploymentMode(mode, prepared.service) === "rolling") {
    await runRolling({ ...rolling, signal: options.signal }, prepared, { ecs, github });
    return;
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
  core.setOutput("task-definition-arn", result.taskDefinition.arn);
  core.setOutput("task-definition-revision", String(result.taskDefinition.revision));
  core.setOutput("status", outcome.status);
  core.setOutput("rolled-back", String(outcome.rolledBack));
  core.setOutput("rollback-deployment-id", outcome.rollbackDeploymentId ?? "");
  core.setOutput("report", report);
  core.saveState(deploymentState, "");
  await core.summary
    .addHeading(`deploy-ecs: ${options.tags.Component} to ${options.tags.Environment}`, 3)
    .addTable(deploymentSummaryRows(result, { commit: github.commitUrl(sha) }))
    .addHeading("Timeline", 4)
    .addList(outcome.timeline.entries.map((entry) => `${entry.at.toISOString()} ${entry.text}`))
    .addLink("Workflow run", github.runUrl)
    .write();
  const failure = failureMessage(result);
  if (failure) throw new ToolkitError(failure);
}
