import { RemovalPolicy, Tags } from "aws-cdk-lib";
import { FlowLogDestination, FlowLogTrafficType, IpAddresses, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { type EnvironmentConfig, type PlatformConfig, resourceName } from "./config.ts";
import { acknowledge } from "./nag.ts";
import { retention } from "./retention.ts";

export interface NetworkProps {
  readonly config: PlatformConfig;
  readonly environment: EnvironmentConfig;
}

/**
 * VPC over the two configured AZs: public subnets (load balancers, NAT), private subnets with egress (tasks) and
 * isolated subnets (database); NAT gateways per environment; all traffic logged to CloudWatch Logs.
 */
export class Network extends Construct {
  readonly vpc: Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { config, environment } = props;
    const name = resourceName(environment.name, "vpc");
    this.vpc = new Vpc(this, "Vpc", {
      vpcName: name,
      ipAddresses: IpAddresses.cidr(environment.vpcCidr),
      // Explicit zones: synthesis needs no availability-zone lookup.
      availabilityZones: [...config.availabilityZones],
      natGateways: environment.natGateways,
      subnetConfiguration: [
        { name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: "private", subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: "database", subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // The default security group is left untouched: restricting it needs a Lambda-backed custom resource, which
      // neither offline synthesis nor the local simulator can run. Nothing in these stacks uses it.
      restrictDefaultSecurityGroup: false,
    });
    acknowledge(this.vpc, {
      id: "CloudFormation-Validate::W3010",
      reason:
        "The availability zones are named in the typed config on purpose: synthesis stays offline (no zone " +
        "lookup) and the simulator provisions the same subnets; change them in lib/config.ts.",
    });
    const flowLogGroup = new LogGroup(this, "FlowLogGroup", {
      logGroupName: `/${name}/flow-logs`,
      retention: retention(environment.logRetentionDays),
      removalPolicy: environment.name === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog("FlowLog", {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: FlowLogTrafficType.ALL,
    });
    Tags.of(this).add("Component", "network");
  }
}
