import { Duration, RemovalPolicy, Stack, Tags } from "aws-cdk-lib";
import { type IVpc, SecurityGroup, SubnetType } from "aws-cdk-lib/aws-ec2";
import {
  AwsLogDriverMode,
  type CfnTaskDefinition,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  DeploymentControllerType,
  FargatePlatformVersion,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  PropagatedTagSource,
  Protocol,
  type Secret,
} from "aws-cdk-lib/aws-ecs";
import type { ApplicationTargetGroup } from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import {
  type ComponentName,
  type EnvironmentConfig,
  executionRoleName,
  type ImageVersion,
  type PlatformConfig,
  repositoryName,
  resourceName,
  taskRoleName,
} from "./config.ts";
import { acknowledge } from "./nag.ts";
import { retention } from "./retention.ts";
import { ECR_PULL_ACTIONS } from "./shared-stack.ts";

/** The uid of the `node` user in the reference images: containers never run as root. */
export const CONTAINER_USER = "1000";

export interface ComponentFargateServiceProps {
  readonly config: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly component: ComponentName;
  readonly vpc: IVpc;
  readonly image: ImageVersion;
  /** Plain configuration (never secrets); PORT, HOST and APP_VERSION are always set. */
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, Secret>>;
  /** Everything the application itself calls; none means a task role without any permission. */
  readonly taskPolicy: readonly PolicyStatement[];
  readonly blueTargetGroup: ApplicationTargetGroup;
}

/** `<shared account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`, a literal (no pseudo parameters). */
export function imageUri(config: PlatformConfig, component: ComponentName, tag: string): string {
  return `${config.sharedAccount}.dkr.ecr.${config.region}.amazonaws.com/${repositoryName(component)}:${tag}`;
}

export function repositoryArn(config: PlatformConfig, component: ComponentName): string {
  return `arn:aws:ecr:${config.region}:${config.sharedAccount}:repository/${repositoryName(component)}`;
}

/**
 * Cluster, task definition and service of one component. The service is handed to CodeDeploy (CODE_DEPLOY
 * controller); CloudFormation only creates its first revision, later revisions come from the deploy action.
 */
export class ComponentFargateService extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly service: FargateService;
  readonly taskRole: Role;
  readonly executionRole: Role;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ComponentFargateServiceProps) {
    super(scope, id);
    const { config, environment, component, vpc } = props;
    const name = resourceName(environment.name, component);
    const settings = environment.components[component];
    const { account, region } = Stack.of(this);

    this.cluster = new Cluster(this, "Cluster", {
      clusterName: name,
      vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });

    this.logGroup = new LogGroup(this, "LogGroup", {
      logGroupName: `/ecs/${name}`,
      retention: retention(environment.logRetentionDays),
      removalPolicy: environment.name === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // Only ECS tasks of this account may assume the roles (confused-deputy guard).
    const ecsTasks = () =>
      new ServicePrincipal("ecs-tasks.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": account },
          ArnLike: { "aws:SourceArn": `arn:aws:ecs:${region}:${account}:*` },
        },
      });
    this.executionRole = new Role(this, "ExecutionRole", {
      roleName: executionRoleName(environment.name, component),
      description: `${name}: pulls the image from the shared ECR, writes logs, reads the task's secrets`,
      assumedBy: ecsTasks(),
    });
    this.taskRole = new Role(this, "TaskRole", {
      roleName: taskRoleName(environment.name, component),
      description: `${name}: what the application itself calls`,
      assumedBy: ecsTasks(),
    });
    for (const statement of props.taskPolicy) this.taskRole.addToPolicy(statement);

    this.executionRole.addToPolicy(
      new PolicyStatement({
        sid: "PullFromSharedRepository",
        actions: ECR_PULL_ACTIONS,
        resources: [repositoryArn(config, component)],
      }),
    );
    this.executionRole.addToPolicy(
      new PolicyStatement({ sid: "EcrLogin", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
    );
    acknowledge(this.executionRole, {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource *); image pulls " +
        "themselves are limited to the component's repository.",
    });

    this.taskDefinition = new FargateTaskDefinition(this, "TaskDefinition", {
      family: name,
      cpu: settings.cpu,
      memoryLimitMiB: settings.memoryMiB,
      executionRole: this.executionRole,
      taskRole: this.taskRole,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.X86_64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    // The root filesystem is read-only; the apps write to /tmp only, a task-scoped scratch volume.
    this.taskDefinition.addVolume({ name: "tmp" });
    const container = this.taskDefinition.addContainer("Container", {
      containerName: component,
      image: ContainerImage.fromRegistry(imageUri(config, component, props.image.imageTag)),
      essential: true,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      portMappings: [{ name: "http", containerPort: config.containerPort, protocol: Protocol.TCP }],
      environment: {
        PORT: String(config.containerPort),
        HOST: "0.0.0.0",
        APP_VERSION: props.image.version,
        ...props.environmentVariables,
      },
      secrets: { ...props.secrets },
      logging: LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: component,
        mode: AwsLogDriverMode.NON_BLOCKING,
      }),
      stopTimeout: Duration.seconds(30),
    });
    acknowledge(container, {
      id: "Annotation::@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
      reason:
        "The image is referenced by its literal URI in the shared account; the execution role carries the pull " +
        "statement for that repository (PullFromSharedRepository) and the repository policy admits the role.",
    });
    container.addMountPoints({ containerPath: "/tmp", sourceVolume: "tmp", readOnly: false });
    // The tags the deploy action renders on every later revision; Version only on the task definition itself.
    Tags.of(this.taskDefinition.node.defaultChild as CfnTaskDefinition).add("Version", props.image.version);
    acknowledge(this.taskDefinition, {
      id: "AwsSolutions-ECS2",
      reason:
        `The environment variables of ${component} are non-secret configuration (${Object.keys(props.environmentVariables).concat("PORT", "HOST", "APP_VERSION").sort().join(", ")}); ` +
        "secrets (the database password) come from Secrets Manager through the container's secrets, never env.",
    });

    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc,
      securityGroupName: `${name}-tasks`,
      description: `${name} tasks: HTTP from the load balancer only`,
      allowAllOutbound: true,
    });

    this.service = new FargateService(this, "Service", {
      serviceName: name,
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: settings.desiredCount,
      deploymentController: { type: DeploymentControllerType.CODE_DEPLOY },
      propagateTags: PropagatedTagSource.TASK_DEFINITION,
      enableECSManagedTags: true,
      assignPublicIp: false,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      platformVersion: FargatePlatformVersion.LATEST,
      healthCheckGracePeriod: Duration.seconds(60),
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    this.service.attachToApplicationTargetGroup(props.blueTargetGroup);
    // attachToApplicationTargetGroup opens the container port from the load balancer's security group; green
    // targets use the same port and security group, so CodeDeploy's task sets are reachable as well.

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: settings.minCapacity,
      maxCapacity: settings.maxCapacity,
    });
    scaling.scaleOnCpuUtilization("CpuTracking", {
      policyName: `${name}-cpu`,
      targetUtilizationPercent: settings.targetCpuPercent,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(60),
    });
  }
}
