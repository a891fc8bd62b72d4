import { createHash } from "node:crypto";
import {
  AlarmsLimitExceededException,
  ApplicationAlreadyExistsException,
  BatchGetApplicationsCommand,
  BatchGetDeploymentGroupsCommand,
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  ContinueDeploymentCommand,
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentConfigCommand,
  CreateDeploymentGroupCommand,
  DeleteDeploymentConfigCommand,
  DeploymentConfigDoesNotExistException,
  DeploymentDoesNotExistException,
  DeploymentGroupDoesNotExistException,
  DeploymentTargetListSizeExceededException,
  GetApplicationCommand,
  GetDeploymentConfigCommand,
  GetDeploymentGroupCommand,
  InvalidDeploymentWaitTypeException,
  InvalidRevisionException,
  ListApplicationsCommand,
  ListDeploymentConfigsCommand,
  ListDeploymentGroupsCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from "@aws-sdk/client-codedeploy";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { appSpec, createDeployment, registerRevision, startBlueGreen } from "./deploy-helpers.ts";
import type { TestSimulator } from "./support.ts";

/** CodeDeploy through the real SDK client over HTTP. */

let t: TestSimulator;
beforeAll(async () => {
  t = await startBlueGreen();
});
afterAll(async () => {
  await t.stop();
});

describe("CodeDeploy conformance", () => {
  test("applications", async () => {
    await t.codedeploy.send(
      new CreateApplicationCommand({ applicationName: "other", computePlatform: "ECS" }),
    );
    await expect(
      t.codedeploy.send(new CreateApplicationCommand({ applicationName: "other", computePlatform: "ECS" })),
    ).rejects.toBeInstanceOf(ApplicationAlreadyExistsException);
    expect(
      (await t.codedeploy.send(new GetApplicationCommand({ applicationName: "other" }))).application,
    ).toMatchObject({ applicationName: "other", computePlatform: "ECS" });
    expect((await t.codedeploy.send(new ListApplicationsCommand({}))).applications).toEqual([
      "other",
      "valmetal-api",
    ]);
    expect(
      (await t.codedeploy.send(new BatchGetApplicationsCommand({ applicationNames: ["other"] })))
        .applicationsInfo,
    ).toHaveLength(1);
  });

  test("deployment groups, with the 10-alarm limit", async () => {
    const group = (
      await t.codedeploy.send(
        new GetDeploymentGroupCommand({ applicationName: "valmetal-api", deploymentGroupName: "api" }),
      )
    ).deploymentGroupInfo;
    expect(group).toMatchObject({
      deploymentStyle: { deploymentType: "BLUE_GREEN", deploymentOption: "WITH_TRAFFIC_CONTROL" },
      ecsServices: [{ clusterName: "valmetal-dev", serviceName: "api" }],
      alarmConfiguration: { enabled: true, alarms: [{ name: "api-green-5xx" }, { name: "api-any" }] },
      computePlatform: "ECS",
    });
    expect(group?.loadBalancerInfo?.targetGroupPairInfoList?.[0]?.targetGroups).toEqual([
      { name: "api-blue" },
      { name: "api-green" },
    ]);
    expect(
      (await t.codedeploy.send(new ListDeploymentGroupsCommand({ applicationName: "valmetal-api" })))
        .deploymentGroups,
    ).toEqual(["api"]);
    expect(
      (
        await t.codedeploy.send(
          new BatchGetDeploymentGroupsCommand({
            applicationName: "valmetal-api",
            deploymentGroupNames: ["api"],
          }),
        )
      ).deploymentGroupsInfo,
    ).toHaveLength(1);
    await expect(
      t.codedeploy.send(
        new GetDeploymentGroupCommand({ applicationName: "valmetal-api", deploymentGroupName: "nope" }),
      ),
    ).rejects.toBeInstanceOf(DeploymentGroupDoesNotExistException);
    const alarms = Array.from({ length: 11 }, (_, index) => ({ name: `a${index}` }));
    await expect(
      t.codedeploy.send(
        new CreateDeploymentGroupCommand({
          applicationName: "other",
          deploymentGroupName: "g",
          serviceRoleArn: "arn:aws:iam::1:role/r",
          alarmConfiguration: { enabled: true, alarms },
        }),
      ),
    ).rejects.toBeInstanceOf(AlarmsLimitExceededException);
  });

  test("deployment configs: the five predefined ECS ones and custom canary/linear", async () => {
    const names = (await t.codedeploy.send(new ListDeploymentConfigsCommand({}))).deploymentConfigsList ?? [];
    expect(names).toEqual(
      expect.arrayContaining([
        "CodeDeployDefault.ECSAllAtOnce",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        "valmetal-canary-20-2",
      ]),
    );
    await t.codedeploy.send(
      new CreateDeploymentConfigCommand({
        deploymentConfigName: "linear-25-1",
        computePlatform: "ECS",
        trafficRoutingConfig: {
          type: "TimeBasedLinear",
          timeBasedLinear: { linearPercentage: 25, linearInterval: 1 },
        },
      }),
    );
    expect(
      (await t.codedeploy.send(new GetDeploymentConfigCommand({ deploymentConfigName: "linear-25-1" })))
        .deploymentConfigInfo?.trafficRoutingConfig,
    ).toEqual({ type: "TimeBasedLinear", timeBasedLinear: { linearPercentage: 25, linearInterval: 1 } });
    await t.codedeploy.send(new DeleteDeploymentConfigCommand({ deploymentConfigName: "linear-25-1" }));
    await expect(
      t.codedeploy.send(new GetDeploymentConfigCommand({ deploymentConfigName: "linear-25-1" })),
    ).rejects.toBeInstanceOf(DeploymentConfigDoesNotExistException);
  });

  test("CreateDeployment checks the AppSpec sha256 and takes YAML; reads list, batch and targets", async () => {
    const taskDefinition = await registerRevision(t);
    const bad = { content: appSpec(taskDefinition).content, sha256: "0".repeat(64) };
    await expect(
      t.codedeploy.send(
        new CreateDeploymentCommand({
          applicationName: "valmetal-api",
          deploymentGroupName: "api",
          revision: { revisionType: "AppSpecContent", appSpecContent: bad },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidRevisionException);
    const yaml = stringify({
      version: 0.0,
      Resources: [
        {
          TargetService: {
            Type: "AWS::ECS::Service",
            Properties: {
              TaskDefinition: taskDefinition,
              LoadBalancerInfo: { ContainerName: "api", ContainerPort: 8080 },
            },
          },
        },
      ],
    });
    const created = await t.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: "valmetal-api",
        deploymentGroupName: "api",
        revision: {
          revisionType: "AppSpecContent",
          appSpecContent: { content: yaml, sha256: createHash("sha256").update(yaml).digest("hex") },
        },
      }),
    );
    const deploymentId = created.deploymentId as string;
    await t.advance(30);
    await t.advance(6 * 60);
    const batch = await t.codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: [deploymentId] }));
    expect(batch.deploymentsInfo?.[0]).toMatchObject({
      status: "Succeeded",
      computePlatform: "ECS",
      creator: "user",
    });
    expect(batch.deploymentsInfo?.[0]?.completeTime).toBeInstanceOf(Date);
    expect(
      (
        await t.codedeploy.send(
          new ListDeploymentsCommand({
            applicationName: "valmetal-api",
            deploymentGroupName: "api",
            includeOnlyStatuses: ["Succeeded"],
          }),
        )
      ).deployments,
    ).toEqual([deploymentId]);
    expect((await t.codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId }))).targetIds).toEqual([
      "valmetal-dev:api",
    ]);
    const targets = await t.codedeploy.send(
      new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: ["valmetal-dev:api"] }),
    );
    expect(targets.deploymentTargets?.[0]?.deploymentTargetType).toBe("ECSTarget");
    expect(targets.deploymentTargets?.[0]?.ecsTarget?.targetArn).toBe(
      "arn:aws:ecs:ca-central-1:123456789012:service/valmetal-dev/api",
    );
    const tooMany = Array.from({ length: 26 }, () => "valmetal-dev:api");
    await expect(
      t.codedeploy.send(new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: tooMany })),
    ).rejects.toBeInstanceOf(DeploymentTargetListSizeExceededException);
    await expect(
      t.codedeploy.send(
        new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: "NOPE" as "READY_WAIT" }),
      ),
    ).rejects.toBeInstanceOf(InvalidDeploymentWaitTypeException);
    await expect(
      t.codedeploy.send(new ContinueDeploymentCommand({ deploymentId: "d-AAAAAAAAA" })),
    ).rejects.toBeInstanceOf(DeploymentDoesNotExistException);
    const again = await createDeployment(t, { taskDefinition });
    expect(again.deploymentId).toMatch(/^d-[A-Z0-9]{9}$/);
  });
});
