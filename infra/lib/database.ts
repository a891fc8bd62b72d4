import { Duration, RemovalPolicy, Tags } from "aws-cdk-lib";
import { InstanceType, type IVpc, SecurityGroup, SubnetType } from "aws-cdk-lib/aws-ec2";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import {
  CaCertificate,
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  type DatabaseSecret,
  PostgresEngineVersion,
  StorageType,
} from "aws-cdk-lib/aws-rds";
import type { CfnSecret, ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { APPLICATION, type EnvironmentConfig, resourceName } from "./config.ts";
import { acknowledge } from "./nag.ts";
import { retention } from "./retention.ts";

export const DATABASE_NAME = APPLICATION;
export const DATABASE_USER = APPLICATION;
export const DATABASE_PORT = 5432;

export interface DatabaseProps {
  readonly environment: EnvironmentConfig;
  readonly vpc: IVpc;
}

/** PostgreSQL on RDS in the isolated subnets, encrypted, backed up, Multi-AZ where configured (prod). */
export class Database extends Construct {
  readonly instance: DatabaseInstance;
  readonly secret: ISecret;
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { environment, vpc } = props;
    const settings = environment.database;
    const identifier = resourceName(environment.name, "db");
    const keep = environment.name === "prod";

    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc,
      securityGroupName: identifier,
      description: `${identifier}: PostgreSQL, reachable from the api tasks only`,
      allowAllOutbound: false,
    });

    // Created before the instance so that the exported PostgreSQL log has a bounded retention.
    const logGroup = new LogGroup(this, "PostgresLogGroup", {
      logGroupName: `/aws/rds/instance/${identifier}/postgresql`,
      retention: retention(environment.logRetentionDays),
      removalPolicy: keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.instance = new DatabaseInstance(this, "Instance", {
      instanceIdentifier: identifier,
      engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 }),
      instanceType: new InstanceType(settings.instanceType),
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      port: DATABASE_PORT,
      databaseName: DATABASE_NAME,
      // A generated password in Secrets Manager (native AWS::SecretsManager::Secret + SecretTargetAttachment).
      credentials: Credentials.fromGeneratedSecret(DATABASE_USER, {
        secretName: `${resourceName(environment.name, "api")}/database`,
      }),
      storageEncrypted: true,
      storageType: StorageType.GP3,
      allocatedStorage: settings.allocatedStorageGiB,
      maxAllocatedStorage: settings.maxAllocatedStorageGiB,
      multiAz: settings.multiAz,
      backupRetention: Duration.days(settings.backupRetentionDays),
      deletionProtection: settings.deletionProtection,
      removalPolicy: keep ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      caCertificate: CaCertificate.RDS_CA_RSA2048_G1,
      cloudwatchLogsExports: ["postgresql"],
      copyTagsToSnapshot: true,
    });
    this.instance.node.addDependency(logGroup);
    // instance.secret is the target attachment (its Ref is the same ARN); grants and ECS secrets use the generated
    // secret itself, so the templates reference the AWS::SecretsManager::Secret directly.
    const generated = this.instance.node.findChild("Secret") as DatabaseSecret;
    (generated.node.defaultChild as CfnSecret).description =
      `${identifier}: master credentials of PostgreSQL`;
    this.secret = generated;

    acknowledge(this.instance, {
      id: "AwsSolutions-RDS11",
      reason:
        "PostgreSQL keeps its default port 5432: the instance sits in isolated subnets behind a security group that " +
        "admits only the api tasks, so a non-default port adds no protection and breaks tooling defaults.",
    });
    if (!settings.multiAz) {
      acknowledge(this.instance, {
        id: "AwsSolutions-RDS3",
        reason: `Single-AZ in ${environment.name} to keep a non-production environment cheap; prod runs Multi-AZ.`,
      });
    }
    if (!settings.deletionProtection) {
      acknowledge(this.instance, {
        id: "AwsSolutions-RDS10",
        reason: `No deletion protection in ${environment.name}, which is torn down and rebuilt; prod has it on.`,
      });
    }
    acknowledge(generated, {
      id: "AwsSolutions-SMG4",
      reason:
        "No automatic rotation: rotation needs a Lambda (hosted rotation is a CloudFormation transform) that offline " +
        "synthesis and the local simulator cannot run, and ECS injects the password at task start, so a rotation " +
        "must be followed by a new deployment. Rotate through a deployment when policy requires it.",
    });
    Tags.of(this).add("Component", "database");
  }
}
