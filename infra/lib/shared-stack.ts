import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from "aws-cdk-lib";
import { Repository, TagMutability, TagStatus } from "aws-cdk-lib/aws-ecr";
import { AccountPrincipal, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import {
  COMPONENT_NAMES,
  type ComponentName,
  deployRoleName,
  ENVIRONMENT_NAMES,
  executionRoleName,
  type PlatformConfig,
  repositoryName,
  tagCheckRoleName,
} from "./config.ts";

/** Actions an ECS execution role needs to pull an image. */
export const ECR_PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
];
/** Actions the build-push action needs to push and promote (BatchGetImage + PutImage) an image. */
export const ECR_PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:CompleteLayerUpload",
  "ecr:GetDownloadUrlForLayer",
  "ecr:InitiateLayerUpload",
  "ecr:PutImage",
  "ecr:UploadLayerPart",
];
/** Read-only metadata the scan gate and the tag check read: scan findings, digests by tag, repository settings. */
export const ECR_READ_ACTIONS = [
  "ecr:DescribeImageScanFindings",
  "ecr:DescribeImages",
  "ecr:DescribeRepositories",
];

export interface SharedStackProps extends StackProps {
  readonly config: PlatformConfig;
}

/**
 * The shared (tooling) account: one ECR repository per component, scanned on push, immutable tags, lifecycle
 * rules, and a repository policy that lets exactly the environment accounts' roles pull, push or read.
 */
export class SharedStack extends Stack {
  readonly repositories: Readonly<Record<ComponentName, Repository>>;

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { config } = props;
    const repositories = {} as Record<ComponentName, Repository>;
    for (const component of COMPONENT_NAMES) {
      const repository = new Repository(this, `Repository-${component}`, {
        repositoryName: repositoryName(component),
        imageScanOnPush: true,
        imageTagMutability: TagMutability.IMMUTABLE,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [
          {
            description: "Expire untagged images (superseded layers of multi-arch pushes, failed pushes)",
            tagStatus: TagStatus.UNTAGGED,
            maxImageAge: Duration.days(config.ecrLifecycle.untaggedDays),
          },
          // Higher priority first: an image a rule matches cannot be expired by a lower-priority rule, so an image
          // promoted to prod (dev-<sha> and prod-<sha> on the same digest) is protected by the prod rule.
          ...[...ENVIRONMENT_NAMES].reverse().map((environment) => ({
            description: `Keep the last ${config.ecrLifecycle.keepImagesPerEnvironment} ${environment} images`,
            tagStatus: TagStatus.TAGGED,
            tagPrefixList: [`${environment}-`],
            maxImageCount: config.ecrLifecycle.keepImagesPerEnvironment,
          })),
        ],
      });
      for (const statement of crossAccountStatements(config, component))
        repository.addToResourcePolicy(statement);
      Tags.of(repository).add("Component", component);
      repositories[component] = repository;
    }
    this.repositories = repositories;
  }
}

function roleArn(account: string, name: string): string {
  return `arn:aws:iam::${account}:role/${name}`;
}

/**
 * Grants go to the environment accounts, narrowed to named roles by aws:PrincipalArn (ECR refuses a policy whose
 * principal does not exist yet, so naming the roles as principals would force the environments first).
 */
function crossAccountStatements(config: PlatformConfig, component: ComponentName): PolicyStatement[] {
  const environments = ENVIRONMENT_NAMES.map((name) => config.environments[name]);
  const accounts = environments.map((environment) => new AccountPrincipal(environment.account));
  const deployRoles = environments.map((environment) =>
    roleArn(environment.account, deployRoleName(environment.name)),
  );
  const tagCheckRoles = environments.map((environment) =>
    roleArn(environment.account, tagCheckRoleName(environment.name)),
  );
  const executionRoles = environments.map((environment) =>
    roleArn(environment.account, executionRoleName(environment.name, component)),
  );
  return [
    new PolicyStatement({
      sid: "PullFromEnvironmentExecutionRoles",
      principals: accounts,
      actions: ECR_PULL_ACTIONS,
      conditions: { ArnEquals: { "aws:PrincipalArn": executionRoles } },
    }),
    new PolicyStatement({
      sid: "PushFromEnvironmentDeployRoles",
      principals: accounts,
      actions: [...ECR_PUSH_ACTIONS, ...ECR_READ_ACTIONS],
      conditions: { ArnEquals: { "aws:PrincipalArn": deployRoles } },
    }),
    new PolicyStatement({
      sid: "ReadFromEnvironmentTagCheckRoles",
      principals: accounts,
      actions: ECR_READ_ACTIONS,
      conditions: { ArnEquals: { "aws:PrincipalArn": tagCheckRoles } },
    }),
  ];
}
