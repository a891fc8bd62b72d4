import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import {
  EcsApplication,
  EcsDeploymentConfig,
  EcsDeploymentGroup,
  type IEcsDeploymentConfig,
} from "aws-cdk-lib/aws-codedeploy";
import type { FargateService } from "aws-cdk-lib/aws-ecs";
import type {
  ApplicationListener,
  ApplicationLoadBalancer,
  ApplicationTargetGroup,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { ManagedPolicy, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import type { ComponentName, EnvironmentConfig, TrafficShift } from "./config.ts";
import { resourceName } from "./config.ts";
import { acknowledge } from "./nag.ts";

export const TRAFFIC_SHIFTS: Readonly<Record<TrafficShift, IEcsDeploymentConfig>> = {
  "all-at-once": EcsDeploymentConfig.ALL_AT_ONCE,
  "linear-10-percent-every-1-minute": EcsDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTES,
  "canary-10-percent-5-minutes": EcsDeploymentConfig.CANARY_10PERCENT_5MINUTES,
};

/** The CodeDeploy name of the predefined configuration behind a traffic shift. */
export function deploymentConfigName(shift: TrafficShift): string {
  return TRAFFIC_SHIFTS[shift].deploymentConfigName;
}

export interface BlueGreenDeploymentProps {
  readonly environment: EnvironmentConfig;
  readonly component: ComponentName;
  readonly service: FargateService;
  readonly loadBalancer: ApplicationLoadBalancer;
  readonly productionListener: ApplicationListener;
  readonly testListener: ApplicationListener;
  readonly blue: ApplicationTargetGroup;
  readonly green: ApplicationTargetGroup;
}

/**
 * Alarms on both target groups (5XX count, p95 latency, unhealthy hosts) and the CodeDeploy application and
 * deployment group that shifts traffic between them, stops on any alarm and rolls back automatically.
 */
export class BlueGreenDeployment extends Construct {
  readonly application: EcsApplication;
  readonly deploymentGroup: EcsDeploymentGroup;
  readonly alarms: readonly Alarm[];
  readonly deploymentConfig: IEcsDeploymentConfig;

  constructor(scope: Construct, id: string, props: BlueGreenDeploymentProps) {
    super(scope, id);
    const { environment, component } = props;
    const name = resourceName(environment.name, component);

    this.alarms = [
      ...this.targetGroupAlarms("Blue", `${name}-blue`, props.loadBalancer, props.blue, environment),
      ...this.targetGroupAlarms("Green", `${name}-green`, props.loadBalancer, props.green, environment),
    ];

    const role = new Role(this, "ServiceRole", {
      roleName: `${name}-codedeploy`,
      description: `${name}: CodeDeploy shifts traffic between the blue and green task sets`,
      assumedBy: new ServicePrincipal("codedeploy.amazonaws.com"),
      // The deployment group attaches the same policy to the role it is given; naming it here keeps it visible.
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName("AWSCodeDeployRoleForECS")],
    });
    acknowledge(role, {
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]",
      reason:
        "AWSCodeDeployRoleForECS is the AWS-maintained service role policy for ECS blue/green; AWS updates it when " +
        "CodeDeploy needs new ECS, ELB or CloudWatch calls, which a copied inline policy would miss.",
    });

    this.deploymentConfig = TRAFFIC_SHIFTS[environment.trafficShift];
    this.application = new EcsApplication(this, "Application", { applicationName: name });
    this.deploymentGroup = new EcsDeploymentGroup(this, "DeploymentGroup", {
      application: this.application,
      deploymentGroupName: name,
      service: props.service,
      role,
      deploymentConfig: this.deploymentConfig,
      blueGreenDeploymentConfig: {
        blueTargetGroup: props.blue,
        greenTargetGroup: props.green,
        listener: props.productionListener,
        testListener: props.testListener,
        terminationWaitTime: Duration.minutes(environment.terminationWaitMinutes),
      },
      alarms: [...this.alarms],
      ignorePollAlarmsFailure: false,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
  }

  private targetGroupAlarms(
    id: string,
    prefix: string,
    loadBalancer: ApplicationLoadBalancer,
    targetGroup: ApplicationTargetGroup,
    environment: EnvironmentConfig,
  ): Alarm[] {
    const period = Duration.minutes(1);
    const { alarms } = environment;
    // Dimensions from the resources' own attributes (LoadBalancerFullName, TargetGroupFullName), not parsed out
    // of a listener ARN, so a template reader needs only Ref and Fn::GetAtt to know what an alarm watches.
    const metric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: "AWS/ApplicationELB",
        metricName,
        dimensionsMap: {
          LoadBalancer: loadBalancer.loadBalancerFullName,
          TargetGroup: targetGroup.targetGroupFullName,
        },
        period,
        statistic,
      });
    // A target group without targets (green between deployments) reports nothing: missing data is not breaching.
    return [
      new Alarm(this, `${id}Target5xx`, {
        alarmName: `${prefix}-5xx`,
        alarmDescription: `${prefix}: targets answer 5XX (stops and rolls back a deployment)`,
        metric: metric("HTTPCode_Target_5XX_Count", "Sum"),
        threshold: alarms.target5xxPerMinute,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: alarms.evaluationPeriods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, `${id}LatencyP95`, {
        alarmName: `${prefix}-p95-latency`,
        alarmDescription: `${prefix}: p95 target response time above ${alarms.p95LatencySeconds}s`,
        metric: metric("TargetResponseTime", "p95"),
        threshold: alarms.p95LatencySeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: alarms.evaluationPeriods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, `${id}UnhealthyHosts`, {
        alarmName: `${prefix}-unhealthy-hosts`,
        alarmDescription: `${prefix}: at least one target fails the /health check`,
        metric: metric("UnHealthyHostCount", "Maximum"),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: alarms.evaluationPeriods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
  }
}
