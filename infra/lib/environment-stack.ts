import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags } from "aws-cdk-lib";
import { Port } from "aws-cdk-lib/aws-ec2";
import { Secret as EcsSecret } from "aws-cdk-lib/aws-ecs";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { ARecord, HostedZone, RecordTarget } from "aws-cdk-lib/aws-route53";
import { LoadBalancerTarget } from "aws-cdk-lib/aws-route53-targets";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { BlueGreenDeployment, deploymentConfigName } from "./blue-green-deployment.ts";
import {
  COMPONENT_NAMES,
  type ComponentName,
  type EnvironmentConfig,
  type ImageVersion,
  type PlatformConfig,
} from "./config.ts";
import { DATABASE_NAME, DATABASE_PORT, DATABASE_USER, Database } from "./database.ts";
import { ComponentFargateService } from "./fargate-service.ts";
import { GitHubAccess } from "./github-access.ts";
import { TELEMETRY_TOPIC_FILTER, Telemetry } from "./iot.ts";
import { BlueGreenLoadBalancer } from "./load-balancer.ts";
import { acknowledge } from "./nag.ts";
import { Network } from "./network.ts";

export interface EnvironmentStackProps extends StackProps {
  readonly config: PlatformConfig;
  readonly environment: EnvironmentConfig;
  /** Image version per environment (bootstrap: context `version` / `imageTag`). */
  readonly image: ImageVersion;
}

/** One component's whole deployment unit: load balancer, Fargate service, alarms and CodeDeploy. */
export class Component extends Construct {
  readonly loadBalancer: BlueGreenLoadBalancer;
  readonly fargate: ComponentFargateService;
  readonly deployment: BlueGreenDeployment;

  constructor(
    scope: Construct,
    id: string,
    props: {
      readonly config: PlatformConfig;
      readonly environment: EnvironmentConfig;
      readonly component: ComponentName;
      readonly network: Network;
      readonly accessLogs: Bucket;
      readonly image: ImageVersion;
      readonly environmentVariables: Readonly<Record<string, string>>;
      readonly secrets: Readonly<Record<string, EcsSecret>>;
      readonly taskPolicy: readonly PolicyStatement[];
    },
  ) {
    super(scope, id);
    const { config, environment, component } = props;
    const vpc = props.network.vpc;
    this.loadBalancer = new BlueGreenLoadBalancer(this, "LoadBalancer", {
      config,
      environment,
      component,
      vpc,
      accessLogs: props.accessLogs,
    });
    this.fargate = new ComponentFargateService(this, "Fargate", {
      config,
      environment,
      component,
      vpc,
      image: props.image,
      environmentVariables: props.environmentVariables,
      secrets: props.secrets,
      taskPolicy: props.taskPolicy,
      blueTargetGroup: this.loadBalancer.blue,
    });
    this.deployment = new BlueGreenDeployment(this, "Deployment", {
      environment,
      component,
      service: this.fargate.service,
      loadBalancer: this.loadBalancer.loadBalancer,
      productionListener: this.loadBalancer.productionListener,
      testListener: this.loadBalancer.testListener,
      blue: this.loadBalancer.blue,
      green: this.loadBalancer.green,
    });
    Tags.of(this).add("Component", component);
  }
}

/**
 * Everything of one environment account: network, database, the api and web components, the telemetry path and
 * the GitHub roles. Stack name `valmetal-<env>`, template `valmetal-<env>.template.json`.
 */
export class EnvironmentStack extends Stack {
  /**
   * The configured zones, so that nothing asks the account for its availability zones: synthesis stays offline
   * whatever the account id (a context lookup would need credentials).
   */
  override get availabilityZones(): string[] {
    return [...this.zones];
  }

  readonly network: Network;
  readonly database: Database;
  readonly components: Readonly<Record<ComponentName, Component>>;
  readonly telemetry: Telemetry;
  readonly github: GitHubAccess;
  private readonly zones: readonly string[];

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const { config, environment, image } = props;
    this.zones = config.availabilityZones;
    const hostname = (component: ComponentName) => `${component}.${environment.domainName}`;

    this.network = new Network(this, "Network", { config, environment });
    this.database = new Database(this, "Database", { environment, vpc: this.network.vpc });
    this.telemetry = new Telemetry(this, "Telemetry", { environment });

    const accessLogs = new Bucket(this, "AccessLogs", {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: environment.name === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(environment.logRetentionDays) }],
    });
    Tags.of(accessLogs).add("Component", "logs");
    acknowledge(accessLogs, {
      id: "AwsSolutions-S1",
      reason:
        "This bucket only receives the load balancers' access logs; logging its own access to another bucket " +
        "would need a log bucket for the log bucket. Objects expire with the environment's log retention.",
    });

    const database = this.database.instance;
    const api = new Component(this, "Api", {
      config,
      environment,
      component: "api",
      network: this.network,
      accessLogs,
      image,
      environmentVariables: {
        DATABASE_HOST: database.dbInstanceEndpointAddress,
        DATABASE_PORT: database.dbInstanceEndpointPort,
        DATABASE_NAME,
        DATABASE_USER,
        MQTT_URL: environment.mqttUrl,
        MQTT_TOPIC: TELEMETRY_TOPIC_FILTER,
      },
      secrets: { DATABASE_PASSWORD: EcsSecret.fromSecretsManager(this.database.secret, "password") },
      taskPolicy: [
        new PolicyStatement({
          sid: "ReadDatabaseSecret",
          actions: ["secretsmanager:GetSecretValue"],
          resources: [this.database.secret.secretArn],
        }),
        ...this.telemetry.subscriberStatements,
      ],
    });
    acknowledge(
      api.fargate.taskRole,
      {
        id: `AwsSolutions-IAM5[Resource::arn:aws:iot:${config.region}:${environment.account}:client/${this.telemetry.clientIdPrefix}*]`,
        reason:
          "Every api task needs its own MQTT client id (IoT Core disconnects duplicates): the api may connect " +
          `with any client id that starts with ${this.telemetry.clientIdPrefix}, and no other.`,
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:aws:iot:${config.region}:${environment.account}:topic/valmetal/equipment/*/telemetry]`,
        reason:
          "Each piece of equipment publishes on its own topic valmetal/equipment/<thing>/telemetry; the api " +
          "receives the telemetry topics of all equipment and nothing else.",
      },
    );
    database.connections.allowFrom(
      api.fargate.securityGroup,
      Port.tcp(DATABASE_PORT),
      "PostgreSQL from the api tasks",
    );

    const web = new Component(this, "Web", {
      config,
      environment,
      component: "web",
      network: this.network,
      accessLogs,
      image,
      environmentVariables: { API_URL: `https://${hostname("api")}` },
      secrets: {},
      taskPolicy: [],
    });
    this.components = { api, web };

    this.github = new GitHubAccess(this, "GitHub", {
      config,
      environment,
      targets: COMPONENT_NAMES.map((component) => ({
        component,
        alarmArns: this.components[component].deployment.alarms.map((alarm) => alarm.alarmArn),
        deploymentConfigName: deploymentConfigName(environment.trafficShift),
      })),
    });

    if (environment.hostedZone) {
      const zone = HostedZone.fromHostedZoneAttributes(this, "Zone", {
        hostedZoneId: environment.hostedZone.id,
        zoneName: environment.hostedZone.name,
      });
      for (const component of COMPONENT_NAMES) {
        new ARecord(this, `Record-${component}`, {
          zone,
          recordName: hostname(component),
          target: RecordTarget.fromAlias(
            new LoadBalancerTarget(this.components[component].loadBalancer.loadBalancer),
          ),
        });
      }
    }

    for (const component of COMPONENT_NAMES) {
      const { loadBalancer } = this.components[component];
      new CfnOutput(this, `${component}LoadBalancerDns`, {
        description: `${component}: point ${hostname(component)} at this name`,
        value: loadBalancer.loadBalancer.loadBalancerDnsName,
      });
    }
    new CfnOutput(this, "DeployRoleArn", {
      description: "GitHub environment variable AWS_ROLE_ARN of the deploy jobs",
      value: this.github.deployRole.roleArn,
    });
    new CfnOutput(this, "TagCheckRoleArn", {
      description: "GitHub environment variable of the tag-check job",
      value: this.github.tagCheckRole.roleArn,
    });
  }
}
