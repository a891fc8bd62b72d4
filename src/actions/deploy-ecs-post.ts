import * as core from "@actions/core";
import { GetDeploymentCommand, StopDeploymentCommand } from "@aws-sdk/client-codedeploy";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { codeDeployClient, ecsClient } from "../aws/clients.ts";
import { deploymentState } from "./deploy-ecs.ts";
import { type RollingState, rollingState } from "./deploy-ecs-rolling.ts";
import { runnerInputs as inputs } from "./shell.ts";

const region = () => (inputs.text("aws-region") ? { region: inputs.text("aws-region") } : {});

/**
 * Post step (`post-if: cancelled()`): the runner kills a cancelled step a few seconds after its signal, so the main
 * step may not have stopped its deployment. If it is still active, stop it now (blue/green), or put the previous
 * revision back (rolling, with rollback-on-cancel) without waiting for that rollout.
 */
export async function runPost(): Promise<void> {
  const rolling = core.getState(rollingState);
  if (rolling) return restoreRolling(JSON.parse(rolling) as RollingState);
  const deploymentId = core.getState(deploymentState);
  if (!deploymentId) return;
  const codedeploy = codeDeployClient(region());
  const status = (await codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo?.status;
  if (status === "Succeeded" || status === "Failed" || status === "Stopped") {
    core.info(`deployment ${deploymentId} already ended: ${status}`);
    return;
  }
  const rollback = inputs.boolean("rollback-on-cancel");
  try {
    await codedeploy.send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: rollback }));
    core.warning(`job cancelled: stopped deployment ${deploymentId}${rollback ? " with rollback" : ""}`);
  } catch (error) {
    if ((error as Error).name !== "DeploymentAlreadyCompletedException") throw error;
    core.info(`deployment ${deploymentId} completed before the stop`);
  }
}

async function restoreRolling(state: RollingState): Promise<void> {
  const ecs = ecsClient(region());
  const described = await ecs.send(
    new DescribeServicesCommand({ cluster: state.cluster, services: [state.service] }),
  );
  const deployment = described.services?.[0]?.deployments?.find((item) => item.id === state.deploymentId);
  if (deployment?.status !== "PRIMARY" || deployment.rolloutState !== "IN_PROGRESS") {
    core.info(
      `deployment ${state.deploymentId} is no longer rolling out (${deployment ? `${deployment.status} ${deployment.rolloutState}` : "gone"}): nothing to restore`,
    );
    return;
  }
  if (!inputs.boolean("rollback-on-cancel")) {
    core.warning(
      `job cancelled: deployment ${state.deploymentId} left rolling out (rollback-on-cancel: false)`,
    );
    return;
  }
  await ecs.send(
    new UpdateServiceCommand({
      cluster: state.cluster,
      service: state.service,
      taskDefinition: state.previousTaskDefinition,
    }),
  );
  core.warning(`job cancelled: service ${state.service} set back to ${state.previousTaskDefinition}`);
}
