import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetDeploymentGroupCommand } from "@aws-sdk/client-codedeploy";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { describe, expect, test } from "vitest";
import { fixture } from "./deploy-helpers.ts";
import { startTestSimulator } from "./support.ts";

/** `sim start --template`: the resources of a synthesized template, created and readable through the APIs. */

describe("provisioning from a CloudFormation template", () => {
  test("creates the fixture's resources, resolving Ref, GetAtt, Join, Sub, If and parameters; lists the rest", async () => {
    const t = await startTestSimulator({ templates: [fixture], settings: { registry: "127.0.0.1:5999" } });
    try {
      const service = (
        await t.ecs.send(
          new DescribeServicesCommand({ cluster: "valmetal-dev", services: ["api"], include: ["TAGS"] }),
        )
      ).services?.[0];
      expect(service).toMatchObject({
        desiredCount: 2,
        deploymentController: { type: "CODE_DEPLOY" },
        propagateTags: "TASK_DEFINITION",
        enableECSManagedTags: true,
      });
      const definition = await t.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: "valmetal-api", include: ["TAGS"] }),
      );
      expect(definition.taskDefinition?.containerDefinitions?.[0]?.image).toBe(
        "127.0.0.1:5999/valmetal/dev-api:dev-0000000000000000000000000000000000000000",
      );
      expect(definition.taskDefinition?.containerDefinitions?.[0]?.logConfiguration?.options).toEqual({
        "awslogs-group": "api",
        "awslogs-region": "ca-central-1",
      });
      expect(definition.tags).toContainEqual({ key: "Environment", value: "dev" });
      const group = (
        await t.codedeploy.send(
          new GetDeploymentGroupCommand({ applicationName: "valmetal-api", deploymentGroupName: "api" }),
        )
      ).deploymentGroupInfo;
      expect(
        group?.loadBalancerInfo?.targetGroupPairInfoList?.[0]?.prodTrafficRoute?.listenerArns?.[0],
      ).toMatch(/:listener\/app\/valmetal-alb\//);
      const alarms = await t.cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }),
      );
      expect(alarms.CompositeAlarms?.[0]?.AlarmRule).toBe('ALARM("api-green-5xx") OR ALARM("api-p95")');
      expect(
        alarms.MetricAlarms?.find((alarm) => alarm.AlarmName === "api-green-5xx")?.Dimensions?.[0]?.Value,
      ).toMatch(/^targetgroup\/api-green\/[0-9a-f]{16}$/);
      const repository = (await t.ecr.send(new DescribeRepositoriesCommand({}))).repositories?.[0];
      expect(repository).toMatchObject({
        repositoryName: "valmetal/dev-api",
        repositoryUri: "127.0.0.1:5999/valmetal/dev-api",
      });
      const state = await t.admin("/state");
      expect(state.unmodelled).toEqual([
        { logicalId: "Vpc", type: "AWS::EC2::VPC", template: "blue-green" },
        { logicalId: "Role", type: "AWS::IAM::Role", template: "blue-green" },
      ]);
    } finally {
      await t.stop();
    }
  });

  const cdkOut = "infra/cdk.out";
  const templates = existsSync(cdkOut)
    ? readdirSync(cdkOut).filter((name) => name.endsWith(".template.json"))
    : [];
  test.skipIf(templates.length === 0)(
    "provisions every synthesized infra template (cdk.out) together",
    async () => {
      const t = await startTestSimulator({
        templates: templates.map((name) => join(cdkOut, name)),
        settings: { registry: "127.0.0.1:5999" },
      });
      try {
        const state = t.simulator.sim.state;
        const services = Object.values(state.services);
        expect(services.length).toBeGreaterThan(0);
        expect(services.every((service) => service.deploymentController === "CODE_DEPLOY")).toBe(true);
        expect(Object.keys(state.codedeploy.groups ?? {}).length).toBe(services.length);
        await t.advance(60);
        for (const service of services) {
          const cluster = service.clusterArn.split("/").pop();
          const described = (
            await t.ecs.send(new DescribeServicesCommand({ cluster, services: [service.serviceName] }))
          ).services?.[0];
          expect(described?.taskSets?.[0]?.stabilityStatus).toBe("STEADY_STATE");
        }
      } finally {
        await t.stop();
      }
    },
  );
});

describe("persistence", () => {
  test("a restart with the same state file resumes the account, the clock and the deployments", async () => {
    const folder = mkdtempSync(join(tmpdir(), "sim-state-"));
    const stateFile = join(folder, "state.json");
    try {
      const first = await startTestSimulator({ templates: [fixture], stateFile });
      await first.advance(90);
      const before = first.simulator.clock.now();
      await first.stop();
      const second = await startTestSimulator({ stateFile });
      try {
        expect(second.simulator.clock.now()).toBe(before);
        await second.advance(30);
        const service = (
          await second.ecs.send(new DescribeServicesCommand({ cluster: "valmetal-dev", services: ["api"] }))
        ).services?.[0];
        expect(service).toMatchObject({ runningCount: 2, desiredCount: 2 });
        expect(service?.taskSets?.[0]?.stabilityStatus).toBe("STEADY_STATE");
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
