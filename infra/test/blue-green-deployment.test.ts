import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import { COMPONENT_NAMES, ENVIRONMENT_NAMES } from "../lib/config.ts";
import { onlyResource, resourcesOf, type SynthesizedPlatform, synthesizePlatform } from "./platform.ts";

let synthesized: SynthesizedPlatform;
beforeAll(() => {
  synthesized = synthesizePlatform();
});

const cases = ENVIRONMENT_NAMES.flatMap((environment) =>
  COMPONENT_NAMES.map((component) => ({
    environment,
    component,
    name: `valmetal-${environment}-${component}`,
  })),
);

const ALARMS = ["5xx", "p95-latency", "unhealthy-hosts"];

describe.each(cases)("blue/green deployment of $name", ({ environment, name }) => {
  const template = () => synthesized.environments[environment];
  const idOf = (type: string, match: (properties: Record<string, unknown>) => boolean) =>
    (resourcesOf(template(), type).find(([, resource]) => match(resource.Properties ?? {})) ?? [])[0];
  const group = () =>
    onlyResource(
      template(),
      "AWS::CodeDeploy::DeploymentGroup",
      (g) => g.Properties?.DeploymentGroupName === name,
    ).Properties as Record<string, unknown>;

  test("each target group has a 5XX, a p95 latency and an unhealthy-hosts alarm on its own metrics", () => {
    for (const color of ["blue", "green"]) {
      const targetGroup = idOf(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        (p) => p.Name === `${name}-${color}`,
      );
      const dimension = {
        Name: "TargetGroup",
        Value: { "Fn::GetAtt": [targetGroup, "TargetGroupFullName"] },
      };
      template().hasResourceProperties("AWS::CloudWatch::Alarm", {
        AlarmName: `${name}-${color}-5xx`,
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_Target_5XX_Count",
        Statistic: "Sum",
        Period: 60,
        Dimensions: Match.arrayWith([dimension]),
      });
      const byName = (alarmName: string) =>
        onlyResource(template(), "AWS::CloudWatch::Alarm", (a) => a.Properties?.AlarmName === alarmName)
          .Properties as Record<string, unknown>;
      expect(byName(`${name}-${color}-5xx`).Dimensions).toContainEqual(dimension);
      expect(byName(`${name}-${color}-p95-latency`)).toMatchObject({
        MetricName: "TargetResponseTime",
        ExtendedStatistic: "p95",
        TreatMissingData: "notBreaching",
      });
      expect(byName(`${name}-${color}-p95-latency`).Dimensions).toContainEqual(dimension);
      expect(byName(`${name}-${color}-unhealthy-hosts`)).toMatchObject({
        MetricName: "UnHealthyHostCount",
        Statistic: "Maximum",
        Threshold: 1,
      });
      expect(byName(`${name}-${color}-unhealthy-hosts`).Dimensions).toContainEqual(dimension);
    }
  });

  test("the deployment group watches all six alarms and rolls back on failure, alarm and stop request", () => {
    const properties = group();
    const alarmIds = ["blue", "green"].flatMap((color) =>
      ALARMS.map((alarm) =>
        idOf("AWS::CloudWatch::Alarm", (p) => p.AlarmName === `${name}-${color}-${alarm}`),
      ),
    );
    expect(properties.AlarmConfiguration).toEqual({
      Enabled: true,
      IgnorePollAlarmFailure: false,
      Alarms: expect.arrayContaining(alarmIds.map((id) => ({ Name: { Ref: id } }))),
    });
    expect((properties.AlarmConfiguration as { Alarms: unknown[] }).Alarms).toHaveLength(6);
    expect(properties.AutoRollbackConfiguration).toEqual({
      Enabled: true,
      Events: expect.arrayContaining([
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
      ]),
    });
    expect((properties.AutoRollbackConfiguration as { Events: unknown[] }).Events).toHaveLength(3);
  });

  test("the deployment group swaps blue and green between the production and the test listener", () => {
    const properties = group();
    const pair = (properties.LoadBalancerInfo as { TargetGroupPairInfoList: Record<string, unknown>[] })
      .TargetGroupPairInfoList;
    expect(pair).toHaveLength(1);
    const [info] = pair as [Record<string, unknown>];
    const blue = idOf("AWS::ElasticLoadBalancingV2::TargetGroup", (p) => p.Name === `${name}-blue`);
    const green = idOf("AWS::ElasticLoadBalancingV2::TargetGroup", (p) => p.Name === `${name}-green`);
    expect(info.TargetGroups).toEqual([
      { Name: { "Fn::GetAtt": [blue, "TargetGroupName"] } },
      { Name: { "Fn::GetAtt": [green, "TargetGroupName"] } },
    ]);
    const production = (info.ProdTrafficRoute as { ListenerArns: { Ref: string }[] }).ListenerArns;
    const testRoute = (info.TestTrafficRoute as { ListenerArns: { Ref: string }[] }).ListenerArns;
    expect(production).toHaveLength(1);
    expect(testRoute).toHaveLength(1);
    const listenerPort = (ref: { Ref: string } | undefined) =>
      template().toJSON().Resources[ref?.Ref ?? ""]?.Properties?.Port as number | undefined;
    expect(listenerPort(production[0])).toBe(443);
    expect(listenerPort(testRoute[0])).toBe(8443);
    expect(properties.DeploymentStyle).toEqual({
      DeploymentType: "BLUE_GREEN",
      DeploymentOption: "WITH_TRAFFIC_CONTROL",
    });
    expect(properties.ECSServices).toEqual([
      { ClusterName: expect.anything(), ServiceName: { "Fn::GetAtt": [expect.any(String), "Name"] } },
    ]);
  });

  test("the application and the deployment group are named after the service", () => {
    template().hasResourceProperties("AWS::CodeDeploy::Application", {
      ApplicationName: name,
      ComputePlatform: "ECS",
    });
  });
});

describe("traffic shifting per environment", () => {
  test.each([
    ["dev", "CodeDeployDefault.ECSAllAtOnce", 5],
    ["staging", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", 15],
    ["prod", "CodeDeployDefault.ECSCanary10Percent5Minutes", 60],
  ] as const)("%s shifts with %s and keeps blue %i minutes after success", (environment, config, minutes) => {
    for (const component of COMPONENT_NAMES) {
      synthesized.environments[environment].hasResourceProperties("AWS::CodeDeploy::DeploymentGroup", {
        DeploymentGroupName: `valmetal-${environment}-${component}`,
        DeploymentConfigName: config,
        BlueGreenDeploymentConfiguration: {
          TerminateBlueInstancesOnDeploymentSuccess: {
            Action: "TERMINATE",
            TerminationWaitTimeInMinutes: minutes,
          },
        },
      });
    }
  });

  test("CodeDeploy's service role is the only role with an AWS managed policy", () => {
    for (const environment of ENVIRONMENT_NAMES) {
      const withManaged = resourcesOf(synthesized.environments[environment], "AWS::IAM::Role")
        .filter(([, role]) => role.Properties?.ManagedPolicyArns !== undefined)
        .map(([, role]) => role.Properties?.RoleName);
      expect(withManaged.sort()).toEqual([
        `valmetal-${environment}-api-codedeploy`,
        `valmetal-${environment}-web-codedeploy`,
      ]);
    }
  });
});
