import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as core from "@actions/core";
import type { ECSClient, PropagateTags, Service } from "@aws-sdk/client-ecs";
import { systemClock } from "../clock.ts";
import type { PreparedRevision, RevisionOptions } from "../deploy/revision.ts";
import { deployRolling, type RollingOptions } from "../deploy/rolling.ts";
import { rollingFailureMessage, rollingReport, rollingSummaryRows } from "../deploy/rolling-report.ts";
import { InputError } from "../errors.ts";
import { actionReporter, type GitHubRun, type Inputs, type StageResult } from "./shell.ts";

/** State handed to the post step in rolling mode: what to put back if the job is cancelled mid-rollout. */
export const rollingState = "rolling-deployment";

export interface RollingState {
  cluster: string;
  service: string;
  deploymentId: string;
  previousTaskDefinition: string;
}

/** mode: auto follows the service's deployment controller; an explicit mode must match it. */
export function deploymentMode(
  mode: "auto" | "blue-green" | "rolling",
  service: Service,
): "blue-green" | "rolling" {
  const controller = service.deploymentController?.type ?? "ECS";
  if (controller === "EXTERNAL") {
    throw new InputError(
      `service ${service.serviceName} uses the EXTERNAL deployment controller, which this action does not deploy; use CodeDeploy (CODE_DEPLOY) or ECS`,
    );
  }
  const natural = controller === "CODE_DEPLOY" ? "blue-green" : "rolling";
  if (mode !== "auto" && mode !== natural) {
    throw new InputError(
      `mode is ${mode} but service ${service.serviceName} uses the ${controller} deployment controller; set mode: ${natural} (or auto)`,
    );
  }
  return natural;
}

const propagateTagsValues = ["TASK_DEFINITION", "SERVICE", "NONE"] as const;

/** The inputs of rolling mode, named as aws-actions/amazon-ecs-deploy-task-definition names them. */
export function rollingInputs(
  inputs: Inputs,
  revision: RevisionOptions,
  timing: { timeoutMs: number; pollMs: number },
): RollingOptions {
  const desired = inputs.text("desired-count").trim();
  if (desired && !/^\d+$/.test(desired))
    throw new InputError(
      `input desired-count is '${desired}'; use a whole number of tasks, or leave it empty`,
    );
  const propagate = inputs.text("propagate-tags").trim();
  if (propagate && !(propagateTagsValues as readonly string[]).includes(propagate)) {
    throw new InputError(
      `input propagate-tags is '${propagate}'; use one of ${propagateTagsValues.join(", ")}, or leave it empty to keep the service's`,
    );
  }
  const managed = inputs.text("enable-ecs-managed-tags").trim();
  return {
    ...revision,
    ...(desired ? { desiredCount: Number(desired) } : {}),
    forceNewDeployment: inputs.boolean("force-new-deployment"),
    ...(propagate ? { propagateTags: propagate as PropagateTags } : {}),
    ...(managed ? { enableECSManagedTags: inputs.boolean("enable-ecs-managed-tags") } : {}),
    wait: inputs.boolean("wait-for-service-stability"),
    timeoutMs: timing.timeoutMs,
    pollMs: timing.pollMs,
    rollbackOnStop: inputs.boolean("rollback-on-cancel"),
    rollbackTimeoutMs: 30 * 60_000,
  };
}

/** Rolling mode: deploy, then outputs, the JSON report, the job summary, and one sentence when it failed. */
export async function runRolling(
  options: RollingOptions,
  prepared: PreparedRevision,
  context: { ecs: ECSClient; github: GitHubRun },
): Promise<StageResult> {
  const { github } = context;
  const result = await deployRolling(options, prepared, {
    ecs: context.ecs,
    clock: systemClock,
    reporter: actionReporter,
    onDeploymentCreated: (deploymentId) => {
      const state: RollingState = {
        cluster: options.cluster,
        service: options.service,
        deploymentId,
        previousTaskDefinition: prepared.previousTaskDefinition,
      };
      if (options.wait) core.saveState(rollingState, JSON.stringify(state));
      core.setOutput("deployment-id", deploymentId);
    },
  });
  const { outcome } = result;
  const report = join(github.tempDir, `deploy-ecs-${result.deploymentId.replace(/\W+/g, "-")}.json`);
  await writeFile(report, `${JSON.stringify(rollingReport(result, options.sha), null, 2)}\n`);
  core.saveState(rollingState, "");
  const summary = core.summary
    .addHeading(`deploy-ecs (rolling): ${options.tags.Component} to ${options.tags.Environment}`, 3)
    .addTable(rollingSummaryRows(result, { commit: github.commitUrl(options.sha) }))
    .addHeading("Timeline", 4)
    .addList(outcome.timeline.entries.map((entry) => `${entry.at.toISOString()} ${entry.text}`));
  if (outcome.stoppedTasks.length) {
    summary
      .addHeading("Why tasks stopped", 4)
      .addList(outcome.stoppedTasks.map((item) => `${item.reason} (×${item.count}, e.g. ${item.taskArn})`));
  }
  await summary.write();
  return {
    outputs: {
      "deployment-id": result.deploymentId,
      "task-definition-arn": result.taskDefinition.arn,
      "task-definition-revision": String(result.taskDefinition.revision),
      status: outcome.status,
      "rolled-back": String(outcome.rolledBack),
      "rollback-deployment-id": outcome.rollbackDeploymentId ?? "",
      report,
    },
    failure: rollingFailureMessage(result),
  };
}
