import { Duration, Stack, Tags } from "aws-cdk-lib";
import {
  type IOidcProvider,
  OidcProviderNative,
  PolicyStatement,
  Role,
  WebIdentityPrincipal,
} from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import {
  COMPONENT_NAMES,
  type ComponentName,
  deployRoleName,
  type EnvironmentConfig,
  executionRoleName,
  type PlatformConfig,
  resourceName,
  tagCheckRoleName,
  taskRoleName,
} from "./config.ts";
import { repositoryArn } from "./fargate-service.ts";
import { acknowledge } from "./nag.ts";
import { ECR_PUSH_ACTIONS, ECR_READ_ACTIONS } from "./shared-stack.ts";

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

/** What the roles need to know about a deployed component. */
export interface DeployTarget {
  readonly component: ComponentName;
  readonly alarmArns: readonly string[];
  readonly deploymentConfigName: string;
}

export interface GitHubAccessProps {
  readonly config: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly targets: readonly DeployTarget[];
}

/** The `sub` claim GitHub puts in a job's token when the job runs in a GitHub environment. */
export function githubSubject(repository: string, environment: string): string {
  return `repo:${repository}:environment:${environment}`;
}

/**
 * GitHub's OIDC provider and the two roles a workflow of this repository's GitHub environment may assume:
 * the deploy role (exactly the calls of build-push, deploy-ecs and check-tags) and a read-only tag-check role.
 */
export class GitHubAccess extends Construct {
  readonly provider: IOidcProvider;
  readonly deployRole: Role;
  readonly tagCheckRole: Role;

  constructor(scope: Construct, id: string, props: GitHubAccessProps) {
    super(scope, id);
    const { config, environment } = props;
    this.provider = environment.githubOidcProviderArn
      ? OidcProviderNative.fromOidcProviderArn(this, "Provider", environment.githubOidcProviderArn)
      : new OidcProviderNative(this, "Provider", {
          url: `https://${GITHUB_OIDC_HOST}`,
          clientIds: [GITHUB_OIDC_AUDIENCE],
        });

    const principal = () =>
      new WebIdentityPrincipal(this.provider.oidcProviderArn, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: githubSubject(config.githubRepository, environment.name),
        },
      });

    const statements = new DeployPermissions(Stack.of(this), config, environment, props.targets);

    this.deployRole = new Role(this, "DeployRole", {
      roleName: deployRoleName(environment.name),
      description: `GitHub Actions of ${config.githubRepository} in environment ${environment.name}: push and deploy`,
      assumedBy: principal(),
      maxSessionDuration: Duration.hours(1),
    });
    for (const statement of [...statements.deploy(), ...statements.read()])
      this.deployRole.addToPolicy(statement);

    this.tagCheckRole = new Role(this, "TagCheckRole", {
      roleName: tagCheckRoleName(environment.name),
      description: `GitHub Actions of ${config.githubRepository} in environment ${environment.name}: tag check, read only`,
      assumedBy: principal(),
      maxSessionDuration: Duration.hours(1),
    });
    for (const statement of statements.read()) this.tagCheckRole.addToPolicy(statement);

    acknowledge(this.deployRole, {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Resource * only for actions without resource-level permissions: ecr:GetAuthorizationToken, " +
        "ecs:RegisterTaskDefinition, ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition, ecs:ListClusters, " +
        "ecs:ListServices and ecs:ListTasks (narrowed by the ecs:cluster condition), and the elasticloadbalancing " +
        "Describe calls that find the test listener; every other action names its resources.",
    });
    acknowledge(this.tagCheckRole, {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Resource * only for read actions without resource-level permissions: ecs:ListClusters, " +
        "ecs:DescribeTaskDefinition, and ecs:ListServices / ecs:ListTasks narrowed by the ecs:cluster condition; " +
        "every other read names its resources.",
    });
    for (const role of [this.deployRole, this.tagCheckRole]) {
      for (const component of COMPONENT_NAMES) {
        const name = resourceName(environment.name, component);
        const ecs = `arn:aws:ecs:${config.region}:${environment.account}`;
        acknowledge(
          role,
          {
            id: `AwsSolutions-IAM5[Resource::${ecs}:task-definition/${name}:*]`,
            reason: `Revisions of family ${name} are numbered at registration: any revision of this family only.`,
          },
          {
            id: `AwsSolutions-IAM5[Resource::${ecs}:task/${name}/*]`,
            reason: `Task ids are random: any task of cluster ${name}, and only of that cluster.`,
          },
        );
      }
    }
    Tags.of(this).add("Component", "github");
  }
}

/** The policy statements, built from names so every resource is a literal ARN. */
class DeployPermissions {
  private readonly config: PlatformConfig;
  private readonly environment: EnvironmentConfig;
  private readonly targets: readonly DeployTarget[];
  private readonly account: string;

  constructor(
    stack: Stack,
    config: PlatformConfig,
    environment: EnvironmentConfig,
    targets: readonly DeployTarget[],
  ) {
    this.config = config;
    this.environment = environment;
    this.targets = targets;
    this.account = stack.account;
  }

  private arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.config.region}:${this.account}:${resource}`;
  }

  private names(): string[] {
    return this.targets.map((target) => resourceName(this.environment.name, target.component));
  }

  /** Push images, register task definitions with tags, pass the task roles, drive CodeDeploy, watch alarms. */
  deploy(): PolicyStatement[] {
    const { environment, targets } = this;
    const names = this.names();
    const { account } = this;
    const configs = [...new Set(targets.map((target) => target.deploymentConfigName))];
    return [
      new PolicyStatement({ sid: "EcrLogin", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
      new PolicyStatement({
        sid: "PushAndPromoteImages",
        actions: [...new Set([...ECR_PUSH_ACTIONS, ...ECR_READ_ACTIONS])].sort(),
        resources: targets.map((target) => repositoryArn(this.config, target.component)),
      }),
      new PolicyStatement({
        sid: "RegisterTaskDefinitions",
        actions: ["ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"],
        resources: ["*"],
      }),
      new PolicyStatement({
        sid: "TagTaskDefinitionsOnRegister",
        actions: ["ecs:TagResource"],
        resources: names.map((name) => this.arn("ecs", `task-definition/${name}:*`)),
        conditions: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
      }),
      new PolicyStatement({
        sid: "PassTaskRoles",
        actions: ["iam:PassRole"],
        resources: targets.flatMap((target) => [
          `arn:aws:iam::${account}:role/${taskRoleName(environment.name, target.component)}`,
          `arn:aws:iam::${account}:role/${executionRoleName(environment.name, target.component)}`,
        ]),
        conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      }),
      new PolicyStatement({
        sid: "DriveDeployments",
        actions: [
          "codedeploy:BatchGetDeploymentTargets",
          "codedeploy:ContinueDeployment",
          "codedeploy:CreateDeployment",
          "codedeploy:GetDeployment",
          "codedeploy:GetDeploymentGroup",
          "codedeploy:GetDeploymentTarget",
          "codedeploy:ListDeploymentTargets",
          "codedeploy:ListDeployments",
          "codedeploy:StopDeployment",
        ],
        resources: names.map((name) => this.arn("codedeploy", `deploymentgroup:${name}/${name}`)),
      }),
      new PolicyStatement({
        sid: "RegisterRevisions",
        actions: [
          "codedeploy:GetApplication",
          "codedeploy:GetApplicationRevision",
          "codedeploy:RegisterApplicationRevision",
        ],
        resources: names.map((name) => this.arn("codedeploy", `application:${name}`)),
      }),
      new PolicyStatement({
        sid: "ReadDeploymentConfig",
        actions: ["codedeploy:GetDeploymentConfig"],
        resources: configs.map((name) => this.arn("codedeploy", `deploymentconfig:${name}`)),
      }),
      new PolicyStatement({
        sid: "WatchDeploymentAlarms",
        actions: ["cloudwatch:DescribeAlarms"],
        resources: targets.flatMap((target) => target.alarmArns),
      }),
      new PolicyStatement({
        sid: "FindTestListener",
        actions: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers"],
        resources: ["*"],
      }),
    ];
  }

  /** What check-tags reads: clusters, services, task sets, running tasks, task definitions, image digests. */
  read(): PolicyStatement[] {
    const names = this.names();
    const clusters = names.map((name) => this.arn("ecs", `cluster/${name}`));
    return [
      new PolicyStatement({ sid: "ListClusters", actions: ["ecs:ListClusters"], resources: ["*"] }),
      new PolicyStatement({
        sid: "ListServicesAndTasksOfTheClusters",
        actions: ["ecs:ListServices", "ecs:ListTasks"],
        resources: ["*"],
        conditions: { ArnEquals: { "ecs:cluster": clusters } },
      }),
      new PolicyStatement({
        sid: "ReadTaskDefinitions",
        actions: ["ecs:DescribeTaskDefinition"],
        resources: ["*"],
      }),
      new PolicyStatement({
        sid: "ReadClustersServicesTasks",
        actions: [
          "ecs:DescribeClusters",
          "ecs:DescribeServices",
          "ecs:DescribeTasks",
          "ecs:ListTagsForResource",
        ],
        resources: [
          ...clusters,
          ...names.map((name) => this.arn("ecs", `service/${name}/${name}`)),
          ...names.map((name) => this.arn("ecs", `task/${name}/*`)),
          ...names.map((name) => this.arn("ecs", `task-definition/${name}:*`)),
        ],
      }),
      new PolicyStatement({
        sid: "ReadImages",
        actions: [...ECR_READ_ACTIONS].sort(),
        resources: this.targets.map((target) => repositoryArn(this.config, target.component)),
      }),
      new PolicyStatement({
        sid: "ReadDeploymentGroups",
        actions: ["codedeploy:GetDeploymentGroup"],
        resources: names.map((name) => this.arn("codedeploy", `deploymentgroup:${name}/${name}`)),
      }),
    ];
  }
}
