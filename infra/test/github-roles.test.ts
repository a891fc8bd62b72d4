import { beforeAll, describe, expect, test } from "vitest";
import { ENVIRONMENT_NAMES } from "../lib/config.ts";
import {
  actionsOf,
  resourcesOf,
  resourcesOfStatement,
  roleStatements,
  type Statement,
  type SynthesizedPlatform,
  synthesizePlatform,
} from "./platform.ts";

let synthesized: SynthesizedPlatform;
beforeAll(() => {
  synthesized = synthesizePlatform();
});

/** Actions that AWS authorizes only on Resource "*" (no resource-level permissions). */
const STAR_ONLY = new Set([
  "ecr:GetAuthorizationToken",
  "ecs:RegisterTaskDefinition",
  "ecs:ListTaskDefinitions",
  "ecs:DescribeTaskDefinition",
  "ecs:ListClusters",
  "ecs:ListServices",
  "ecs:ListTasks",
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancers",
]);

const WRITE =
  /^(ecr:(PutImage|InitiateLayerUpload|UploadLayerPart|CompleteLayerUpload)|ecs:(Register|Tag|Update|Create|Delete)|codedeploy:(Create|Stop|Continue|Register)|iam:PassRole)/;

function allActions(statements: Statement[]): string[] {
  return [...new Set(statements.flatMap(actionsOf))].sort();
}

describe.each(ENVIRONMENT_NAMES)("GitHub access to %s", (environment) => {
  const template = () => synthesized.environments[environment];
  const account = () => synthesized.platform.config.environments[environment].account;
  const deploy = () => roleStatements(template(), `valmetal-${environment}-github-deploy`);
  const tagCheck = () => roleStatements(template(), `valmetal-${environment}-github-tag-check`);

  test("GitHub's OIDC provider is a native AWS::IAM::OIDCProvider for sts.amazonaws.com", () => {
    template().hasResourceProperties("AWS::IAM::OIDCProvider", {
      Url: "https://token.actions.githubusercontent.com",
      ClientIdList: ["sts.amazonaws.com"],
    });
    template().resourcePropertiesCountIs("AWS::IAM::OIDCProvider", {}, 1);
  });

  test.each(["github-deploy", "github-tag-check"])(
    "the %s role trusts only this repository's GitHub environment, for one hour",
    (suffix) => {
      const [providerId] = resourcesOf(template(), "AWS::IAM::OIDCProvider")[0] ?? [];
      template().hasResourceProperties("AWS::IAM::Role", {
        RoleName: `valmetal-${environment}-${suffix}`,
        MaxSessionDuration: 3600,
        AssumeRolePolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: "sts:AssumeRoleWithWebIdentity",
              Principal: { Federated: { Ref: providerId } },
              Condition: {
                StringEquals: {
                  "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                  "token.actions.githubusercontent.com:sub": `repo:valmetal/farm-platform:environment:${environment}`,
                },
              },
            },
          ],
        },
      });
    },
  );

  test("no statement uses a wildcard action, and only star-only actions use Resource *", () => {
    for (const statement of [...deploy(), ...tagCheck()]) {
      expect(statement.Effect).toBe("Allow");
      for (const action of actionsOf(statement)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      if (resourcesOfStatement(statement).includes("*")) {
        for (const action of actionsOf(statement)) expect(STAR_ONLY.has(action), action).toBe(true);
      }
    }
  });

  test("the deploy role holds exactly the calls of build-push, deploy-ecs and check-tags", () => {
    expect(allActions(deploy())).toEqual(
      [
        "cloudwatch:DescribeAlarms",
        "codedeploy:BatchGetDeploymentTargets",
        "codedeploy:ContinueDeployment",
        "codedeploy:CreateDeployment",
        "codedeploy:GetApplication",
        "codedeploy:GetApplicationRevision",
        "codedeploy:GetDeployment",
        "codedeploy:GetDeploymentConfig",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:GetDeploymentTarget",
        "codedeploy:ListDeploymentTargets",
        "codedeploy:ListDeployments",
        "codedeploy:RegisterApplicationRevision",
        "codedeploy:StopDeployment",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:DescribeImageScanFindings",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
        "ecs:DescribeClusters",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:DescribeTasks",
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:ListTagsForResource",
        "ecs:ListTaskDefinitions",
        "ecs:ListTasks",
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
        "iam:PassRole",
      ].sort(),
    );
  });

  test("ecs:TagResource is allowed only while registering a task definition of the two families", () => {
    const statements = deploy().filter((statement) => actionsOf(statement).includes("ecs:TagResource"));
    expect(statements).toHaveLength(1);
    const [statement] = statements as [Statement];
    expect(actionsOf(statement)).toEqual(["ecs:TagResource"]);
    expect(statement.Condition).toEqual({ StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } });
    expect(resourcesOfStatement(statement)).toEqual([
      `arn:aws:ecs:ca-central-1:${account()}:task-definition/valmetal-${environment}-api:*`,
      `arn:aws:ecs:ca-central-1:${account()}:task-definition/valmetal-${environment}-web:*`,
    ]);
  });

  test("iam:PassRole covers the two task roles and the two execution roles, passed to ECS tasks only", () => {
    const statements = deploy().filter((statement) => actionsOf(statement).includes("iam:PassRole"));
    expect(statements).toHaveLength(1);
    const [statement] = statements as [Statement];
    expect(actionsOf(statement)).toEqual(["iam:PassRole"]);
    expect(statement.Condition).toEqual({
      StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
    });
    const roles = ["api-execution", "api-task", "web-execution", "web-task"];
    expect(resourcesOfStatement(statement)).toEqual(
      roles.map((role) => `arn:aws:iam::${account()}:role/valmetal-${environment}-${role}`),
    );
  });

  test("CodeDeploy calls are scoped to the two deployment groups, applications and this environment's config", () => {
    const scopes = new Map<string, unknown[]>();
    for (const statement of deploy()) {
      for (const action of actionsOf(statement).filter((a) => a.startsWith("codedeploy:"))) {
        scopes.set(action, [...(scopes.get(action) ?? []), ...resourcesOfStatement(statement)]);
      }
    }
    const prefix = `arn:aws:codedeploy:ca-central-1:${account()}`;
    for (const action of [
      "codedeploy:CreateDeployment",
      "codedeploy:StopDeployment",
      "codedeploy:ContinueDeployment",
    ]) {
      expect(scopes.get(action)).toEqual([
        `${prefix}:deploymentgroup:valmetal-${environment}-api/valmetal-${environment}-api`,
        `${prefix}:deploymentgroup:valmetal-${environment}-web/valmetal-${environment}-web`,
      ]);
    }
    const config = synthesized.platform.config.environments[environment].trafficShift;
    expect(scopes.get("codedeploy:GetDeploymentConfig")).toHaveLength(1);
    expect(String(scopes.get("codedeploy:GetDeploymentConfig")?.[0])).toMatch(
      new RegExp(`^${prefix}:deploymentconfig:CodeDeployDefault\\.ECS`),
    );
    expect(config).toBeDefined();
  });

  test("cloudwatch:DescribeAlarms names the twelve deployment alarms", () => {
    const statement = deploy().find((s) => actionsOf(s).includes("cloudwatch:DescribeAlarms"));
    const alarms = resourcesOfStatement(statement as Statement) as { "Fn::GetAtt": [string, string] }[];
    expect(alarms).toHaveLength(12);
    const alarmIds = Object.keys(template().findResources("AWS::CloudWatch::Alarm"));
    expect(alarms.map((alarm) => alarm["Fn::GetAtt"][0]).sort()).toEqual(alarmIds.sort());
  });

  test("ECR push and promote go to the two shared repositories only", () => {
    for (const statement of deploy().filter((s) => actionsOf(s).includes("ecr:PutImage"))) {
      expect(resourcesOfStatement(statement)).toEqual([
        "arn:aws:ecr:ca-central-1:111111111111:repository/valmetal/api",
        "arn:aws:ecr:ca-central-1:111111111111:repository/valmetal/web",
      ]);
    }
  });

  test("the tag-check role only reads", () => {
    const actions = allActions(tagCheck());
    expect(actions.filter((action) => WRITE.test(action))).toEqual([]);
    for (const action of actions) expect(action).toMatch(/:(Describe|List|Get|BatchGet)/);
    expect(actions).toEqual(
      expect.arrayContaining(["ecs:DescribeServices", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition"]),
    );
  });

  test("listing services and tasks is limited to the platform's clusters", () => {
    const statement = tagCheck().find((s) => actionsOf(s).includes("ecs:ListTasks")) as Statement;
    expect(statement.Condition).toEqual({
      ArnEquals: {
        "ecs:cluster": [
          `arn:aws:ecs:ca-central-1:${account()}:cluster/valmetal-${environment}-api`,
          `arn:aws:ecs:ca-central-1:${account()}:cluster/valmetal-${environment}-web`,
        ],
      },
    });
  });
});

test("an existing OIDC provider can be reused instead of creating one", () => {
  const arn = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com";
  const { environments } = synthesizePlatform({ context: { devGithubOidcProviderArn: arn } });
  environments.dev.resourceCountIs("AWS::IAM::OIDCProvider", 0);
  expect(JSON.stringify(environments.dev.toJSON())).toContain(arn);
});
