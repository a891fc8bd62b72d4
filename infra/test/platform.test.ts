import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, test } from "vitest";
import { ENVIRONMENT_NAMES } from "../lib/config.ts";
import { listAcknowledgements } from "../lib/nag.ts";
import {
  actionsOf,
  onlyResource,
  type Resource,
  resourcesOf,
  roleStatements,
  type SynthesizedPlatform,
  synthesizePlatform,
  tagsOf,
} from "./platform.ts";

let synthesized: SynthesizedPlatform;
beforeAll(() => {
  synthesized = synthesizePlatform();
});

/** Types that support tags in CloudFormation and that these stacks create. */
const TAGGABLE = [
  "AWS::EC2::VPC",
  "AWS::EC2::Subnet",
  "AWS::EC2::SecurityGroup",
  "AWS::EC2::NatGateway",
  "AWS::EC2::FlowLog",
  "AWS::ECS::Cluster",
  "AWS::ECS::Service",
  "AWS::ECS::TaskDefinition",
  "AWS::ElasticLoadBalancingV2::LoadBalancer",
  "AWS::ElasticLoadBalancingV2::TargetGroup",
  "AWS::ElasticLoadBalancingV2::Listener",
  "AWS::CloudWatch::Alarm",
  "AWS::CodeDeploy::Application",
  "AWS::CodeDeploy::DeploymentGroup",
  "AWS::IAM::Role",
  "AWS::IAM::OIDCProvider",
  "AWS::Logs::LogGroup",
  "AWS::RDS::DBInstance",
  "AWS::SecretsManager::Secret",
  "AWS::S3::Bucket",
  "AWS::IoT::Policy",
];

describe.each(ENVIRONMENT_NAMES)("the %s environment", (environment) => {
  const template = () => synthesized.environments[environment];
  const config = () => synthesized.platform.config.environments[environment];

  test("every tagged resource carries Environment, Application and Component", () => {
    const untagged: string[] = [];
    for (const [id, resource] of Object.entries(template().toJSON().Resources) as [string, Resource][]) {
      const tags = tagsOf(resource);
      if (TAGGABLE.includes(resource.Type) && !tags) untagged.push(`${id} (${resource.Type})`);
      if (!tags) continue;
      expect(tags, id).toMatchObject({ Environment: environment, Application: "valmetal" });
      expect(tags.Component, id).toMatch(/^(api|web|network|database|iot|github|logs)$/);
    }
    expect(untagged).toEqual([]);
  });

  test(`spreads the VPC over two zones with ${environment === "prod" ? "one NAT per zone" : "one NAT"}`, () => {
    template().resourceCountIs("AWS::EC2::NatGateway", config().natGateways);
    expect(config().natGateways).toBe(environment === "prod" ? 2 : 1);
    const zones = resourcesOf(template(), "AWS::EC2::Subnet").map(
      ([, subnet]) => subnet.Properties?.AvailabilityZone,
    );
    expect([...new Set(zones)].sort()).toEqual(["ca-central-1a", "ca-central-1b"]);
    template().resourceCountIs("AWS::EC2::Subnet", 6);
  });

  test("logs all VPC traffic to CloudWatch Logs with a retention", () => {
    template().hasResourceProperties("AWS::EC2::FlowLog", { ResourceType: "VPC", TrafficType: "ALL" });
    template().hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: `/valmetal-${environment}-vpc/flow-logs`,
      RetentionInDays: config().logRetentionDays,
    });
  });

  test(`runs PostgreSQL encrypted in isolated subnets, ${environment === "prod" ? "Multi-AZ" : "single-AZ"}, with backups`, () => {
    template().hasResourceProperties("AWS::RDS::DBInstance", {
      Engine: "postgres",
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MultiAZ: environment === "prod",
      DeletionProtection: environment === "prod",
      BackupRetentionPeriod: config().database.backupRetentionDays,
      DBName: "valmetal",
    });
    expect(config().database.backupRetentionDays).toBeGreaterThan(0);
    const subnetGroup = onlyResource(template(), "AWS::RDS::DBSubnetGroup", () => true);
    for (const subnet of subnetGroup.Properties.SubnetIds as { Ref: string }[]) {
      expect(subnet.Ref).toMatch(/databaseSubnet/);
    }
    template().hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: {
        SecretStringTemplate: '{"username":"valmetal"}',
        GenerateStringKey: "password",
      },
    });
  });

  test("the database accepts PostgreSQL from the api tasks only", () => {
    const api = resourcesOf(template(), "AWS::EC2::SecurityGroup").find(
      ([, sg]) => sg.Properties?.GroupName === `valmetal-${environment}-api-tasks`,
    )?.[0];
    const database = resourcesOf(template(), "AWS::EC2::SecurityGroup").find(
      ([, sg]) => sg.Properties?.GroupName === `valmetal-${environment}-db`,
    )?.[0];
    const rules = resourcesOf(template(), "AWS::EC2::SecurityGroupIngress")
      .map(([, rule]) => rule.Properties ?? {})
      .filter((rule) => JSON.stringify(rule.GroupId).includes(String(database)));
    expect(rules).toEqual([
      expect.objectContaining({ FromPort: 5432, SourceSecurityGroupId: { "Fn::GetAtt": [api, "GroupId"] } }),
    ]);
  });

  test("the api's task role reaches its database secret and its IoT topics, and nothing else", () => {
    const statements = roleStatements(template(), `valmetal-${environment}-api-task`);
    expect(statements.map((statement) => [statement.Sid, actionsOf(statement)])).toEqual([
      ["ReadDatabaseSecret", ["secretsmanager:GetSecretValue"]],
      ["ConnectAsApi", ["iot:Connect"]],
      ["SubscribeToTelemetry", ["iot:Subscribe"]],
      ["ReceiveTelemetry", ["iot:Receive"]],
    ]);
    const iot = `arn:aws:iot:ca-central-1:${config().account}`;
    expect(statements.map((statement) => statement.Resource).slice(1)).toEqual([
      `${iot}:client/valmetal-${environment}-api-*`,
      `${iot}:topicfilter/valmetal/equipment/+/telemetry`,
      `${iot}:topic/valmetal/equipment/*/telemetry`,
    ]);
    const secret = resourcesOf(template(), "AWS::SecretsManager::Secret")[0]?.[0];
    expect(statements[0]?.Resource).toEqual({ Ref: secret });
  });

  test("the web's task role has no permission at all", () => {
    expect(roleStatements(template(), `valmetal-${environment}-web-task`)).toEqual([]);
    const role = onlyResource(
      template(),
      "AWS::IAM::Role",
      (r) => r.Properties?.RoleName === `valmetal-${environment}-web-task`,
    );
    expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties?.Policies).toBeUndefined();
  });

  test("equipment may publish only to its own telemetry topic", () => {
    template().hasResourceProperties("AWS::IoT::Policy", {
      PolicyName: `valmetal-${environment}-equipment`,
      PolicyDocument: {
        Statement: [
          {
            Effect: "Allow",
            Action: ["iot:Connect"],
            Resource: [
              `arn:aws:iot:ca-central-1:${config().account}:client/\${iot:Connection.Thing.ThingName}`,
            ],
            Condition: { Bool: { "iot:Connection.Thing.IsAttached": "true" } },
          },
          {
            Effect: "Allow",
            Action: ["iot:Publish"],
            Resource: [
              `arn:aws:iot:ca-central-1:${config().account}:topic/valmetal/equipment/\${iot:Connection.Thing.ThingName}/telemetry`,
            ],
          },
        ],
      },
    });
  });

  test("uses only native CloudFormation resources: no custom resources, no Lambda, no assets", () => {
    const types = Object.values(template().toJSON().Resources).map(
      (resource) => (resource as { Type: string }).Type,
    );
    expect(types.filter((type) => type.startsWith("Custom::") || type.startsWith("AWS::Lambda::"))).toEqual(
      [],
    );
    expect(types).not.toContain("AWS::CloudFormation::CustomResource");
    expect(template().toJSON().Parameters ?? {}).toEqual({});
  });
});

describe("cdk-nag AwsSolutions", () => {
  test("reports no unacknowledged finding on any stack", () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.platform.app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  test("every acknowledgement carries a reason", () => {
    const acknowledgements = listAcknowledgements(synthesized.platform.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const acknowledgement of acknowledgements) {
      expect(acknowledgement.reason.length, acknowledgement.id).toBeGreaterThanOrEqual(40);
    }
  });

  test("acknowledges only the findings this design accepts", () => {
    const all = listAcknowledgements(synthesized.platform.app);
    // aws-cdk-lib itself acknowledges two CloudFormation-Validate findings on every VPC flow log.
    const fromCdk = all.filter((acknowledgement) => acknowledgement.path.endsWith("/Network/Vpc/FlowLog"));
    expect(new Set(fromCdk.map((acknowledgement) => acknowledgement.id))).toEqual(
      new Set(["CloudFormation-Validate::F3002", "CloudFormation-Validate::F3003"]),
    );
    const rules = new Set(
      all
        .filter((acknowledgement) => !fromCdk.includes(acknowledgement))
        .map((a) => a.id.replace(/\[.*$/, "")),
    );
    expect([...rules].sort()).toEqual(
      [
        "Annotation::@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
        "AwsSolutions-EC23",
        "AwsSolutions-ECS2",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-RDS10",
        "AwsSolutions-RDS11",
        "AwsSolutions-RDS3",
        "AwsSolutions-S1",
        "AwsSolutions-SMG4",
        "CloudFormation-Validate::W3010",
      ].sort(),
    );
  });

  test("prod acknowledges neither single-AZ nor missing deletion protection", () => {
    const prod = listAcknowledgements(synthesized.platform.environments.prod).map((a) => a.id);
    expect(prod).not.toContain("AwsSolutions-RDS3");
    expect(prod).not.toContain("AwsSolutions-RDS10");
  });
});
