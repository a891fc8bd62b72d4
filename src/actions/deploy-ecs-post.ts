import * as core from "@actions/core";
import { GetDeploymentCommand, StopDeploymentCommand } from "@aws-sdk/client-codedeploy";
import { codeDeployClient } from "../aws/clients.ts";
import { deploymentState } from "./deploy-ecs.ts";
import { booleanInput, input } from "./shell.ts";

/**
 * Post step (`post-if: cancelled()`): the runner kills a cancelled step a few seconds after its signal, so the main
 * step may not have stopped its deployment. If it is still active, stop it now.
 */
export async function runPost(): Promise<void> {
  const deploymentId = core.getState(deploymentState);
  if (!deploymentId) return;
  const codedeploy = codeDeployClient(input("aws-region") ? { region: input("aws-region") } : {});
  const status = (await codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo?.status;
  if (status === "Succeeded" || status === "Failed" || status === "Stopped") {
    core.info(`deployment ${deploymentId} already ended: ${status}`);
    return;
  }
  const rollback = booleanInput("rollback-on-cancel");
  try {
    await codedeploy.send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: rollback }));
    core.warning(`job cancelled: stopped deployment ${deploymentId}${rollback ? " with rollback" : ""}`);
  } catch (error) {
    if ((error as Error).name !== "DeploymentAlreadyCompletedException") throw error;
    core.info(`deployment ${deploymentId} completed before the stop`);
  }
}
