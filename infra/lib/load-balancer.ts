import { Duration } from "aws-cdk-lib";
import { type IVpc, Peer, Port, SecurityGroup, SubnetType } from "aws-cdk-lib/aws-ec2";
import {
  type ApplicationListener,
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ApplicationTargetGroup,
  ListenerCertificate,
  Protocol,
  SslPolicy,
  TargetType,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import type { ComponentName, EnvironmentConfig, PlatformConfig } from "./config.ts";
import { resourceName } from "./config.ts";
import { acknowledge } from "./nag.ts";

export const HEALTH_CHECK_PATH = "/health";

export interface BlueGreenLoadBalancerProps {
  readonly config: PlatformConfig;
  readonly environment: EnvironmentConfig;
  readonly component: ComponentName;
  readonly vpc: IVpc;
  readonly accessLogs: IBucket;
}

/**
 * Internet-facing ALB of one component: production listener (HTTPS, blue target group), port 80 redirecting to it,
 * and a test listener (HTTPS, green target group) open to the configured CIDRs only. CodeDeploy swaps the two
 * target groups between the listeners on every deployment.
 */
export class BlueGreenLoadBalancer extends Construct {
  readonly loadBalancer: ApplicationLoadBalancer;
  readonly productionListener: ApplicationListener;
  readonly testListener: ApplicationListener;
  readonly blue: ApplicationTargetGroup;
  readonly green: ApplicationTargetGroup;
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: BlueGreenLoadBalancerProps) {
    super(scope, id);
    const { config, environment, component, vpc } = props;
    const name = resourceName(environment.name, component);

    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      vpc,
      securityGroupName: `${name}-alb`,
      description: `${name} load balancer: HTTPS from the internet, test listener from allowed CIDRs`,
      allowAllOutbound: false,
    });
    this.loadBalancer = new ApplicationLoadBalancer(this, "LoadBalancer", {
      loadBalancerName: name,
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: environment.name === "prod",
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(props.accessLogs, `alb/${component}`);

    this.blue = this.targetGroup("Blue", `${name}-blue`, config, vpc);
    this.green = this.targetGroup("Green", `${name}-green`, config, vpc);
    const certificates = [ListenerCertificate.fromArn(environment.certificateArn)];

    this.productionListener = this.loadBalancer.addListener("ProductionListener", {
      port: config.ports.production,
      protocol: ApplicationProtocol.HTTPS,
      sslPolicy: SslPolicy.RECOMMENDED_TLS,
      certificates,
      defaultTargetGroups: [this.blue],
      open: true,
    });
    this.loadBalancer.addRedirect({
      sourceProtocol: ApplicationProtocol.HTTP,
      sourcePort: config.ports.redirect,
      targetProtocol: ApplicationProtocol.HTTPS,
      targetPort: config.ports.production,
    });
    this.testListener = this.loadBalancer.addListener("TestListener", {
      port: config.ports.test,
      protocol: ApplicationProtocol.HTTPS,
      sslPolicy: SslPolicy.RECOMMENDED_TLS,
      certificates,
      defaultTargetGroups: [this.green],
      open: false,
    });
    for (const cidr of environment.testListenerCidrs) {
      this.securityGroup.addIngressRule(
        Peer.ipv4(cidr),
        Port.tcp(config.ports.test),
        `test listener from ${cidr} (smoke tests during a deployment)`,
      );
    }

    acknowledge(this.securityGroup, {
      id: "AwsSolutions-EC23",
      reason:
        "The public load balancer accepts HTTPS (and HTTP that only redirects to HTTPS) from 0.0.0.0/0 by design: " +
        "the dashboard and the api serve users on the internet. The test listener is limited to configured CIDRs.",
    });
  }

  private targetGroup(id: string, name: string, config: PlatformConfig, vpc: IVpc): ApplicationTargetGroup {
    return new ApplicationTargetGroup(this, id, {
      targetGroupName: name,
      vpc,
      targetType: TargetType.IP,
      protocol: ApplicationProtocol.HTTP,
      port: config.containerPort,
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: HEALTH_CHECK_PATH,
        protocol: Protocol.HTTP,
        port: String(config.containerPort),
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
  }
}
