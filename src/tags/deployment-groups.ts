import {
  BatchGetDeploymentGroupsCommand,
  type CodeDeployClient,
  type DeploymentGroupInfo,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
} from "@aws-sdk/client-codedeploy";
import { type AwsCalls, listAll } from "./calls.ts";
import type { DeploymentGroupSnapshot, ServiceSnapshot } from "./model.ts";
import { chunks } from "./pool.ts";

/**
 * The CodeDeploy deployment groups of the account's ECS applications, read once (ListApplications,
 * ListDeploymentGroups, BatchGetDeploymentGroups 100 at a time) and matched to services by their ecsServices, so a
 * group is found whatever it is named (infra names them valmetal-<env>-<component>, the official action
 * DgpECS-<cluster>-<service>).
 */

export interface GroupFound {
  application: string;
  info: DeploymentGroupInfo;
}

/** Every deployment group of the account's applications, read once and matched to services by their ecsServices. */
export async function readDeploymentGroups(
  calls: AwsCalls,
  codedeploy: CodeDeployClient,
  add: (operation: string, count: number) => void,
): Promise<GroupFound[]> {
  const applications = await listAll(async (nextToken) => {
    const page = await calls.send<{ applications?: string[]; nextToken?: string }>(
      codedeploy,
      new ListApplicationsCommand({ nextToken }),
      { service: "codedeploy", resource: "the account" },
    );
    return { items: page.applications ?? [], nextToken: page.nextToken };
  });
  add("ListApplications", Math.max(1, Math.ceil(applications.length / 100)));
  const perApplication = await Promise.all(
    applications.map(async (application) => {
      const names = await listAll(async (nextToken) => {
        const page = await calls.send<{ deploymentGroups?: string[]; nextToken?: string }>(
          codedeploy,
          new ListDeploymentGroupsCommand({ applicationName: application, nextToken }),
          { service: "codedeploy", resource: `application ${application}` },
        );
        return { items: page.deploymentGroups ?? [], nextToken: page.nextToken };
      });
      add("ListDeploymentGroups", Math.max(1, Math.ceil(names.length / 100)));
      add("BatchGetDeploymentGroups", Math.ceil(names.length / 100));
      const batches = await Promise.all(
        chunks(names, 100).map((batch) =>
          calls.send<{ deploymentGroupsInfo?: DeploymentGroupInfo[] }>(
            codedeploy,
            new BatchGetDeploymentGroupsCommand({
              applicationName: application,
              deploymentGroupNames: batch,
            }),
            { service: "codedeploy", resource: `deployment groups of application ${application}` },
          ),
        ),
      );
      return batches
        .flatMap((batch) => batch.deploymentGroupsInfo ?? [])
        .filter((info) => (info.computePlatform ?? "ECS") === "ECS")
        .map((info) => ({ application, info }));
    }),
  );
  return perApplication.flat();
}

export function deploymentGroupSnapshot(
  application: string,
  info: DeploymentGroupInfo,
): DeploymentGroupSnapshot {
  return {
    applicationName: application,
    deploymentGroupName: info.deploymentGroupName ?? "",
    autoRollbackEnabled: info.autoRollbackConfiguration?.enabled ?? false,
    autoRollbackEvents: info.autoRollbackConfiguration?.events ?? [],
    alarmsEnabled: info.alarmConfiguration?.enabled ?? false,
    alarmNames: (info.alarmConfiguration?.alarms ?? []).map((alarm) => alarm.name ?? "").filter(Boolean),
  };
}

/** The group whose ecsServices include this service. */
export function groupOf(groups: GroupFound[], service: ServiceSnapshot): DeploymentGroupSnapshot | undefined {
  const match = groups.find((group) =>
    (group.info.ecsServices ?? []).some(
      (item) => item.serviceName === service.name && item.clusterName === service.clusterName,
    ),
  );
  return match ? deploymentGroupSnapshot(match.application, match.info) : undefined;
}
