import { Stack, Tags } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { CfnPolicy } from "aws-cdk-lib/aws-iot";
import { Construct } from "constructs";
import { APPLICATION, type EnvironmentConfig, resourceName } from "./config.ts";

/** The MQTT topic filter the api subscribes to (AWS IoT Core in AWS, a local broker in the simulator). */
export const TELEMETRY_TOPIC_FILTER = `${APPLICATION}/equipment/+/telemetry`;

export interface TelemetryProps {
  readonly environment: EnvironmentConfig;
}

/**
 * The subscription path of telemetry: equipment publishes to `valmetal/equipment/<thing>/telemetry` on AWS IoT
 * Core and the api subscribes to `valmetal/equipment/+/telemetry` over MQTT on WebSockets signed with its task
 * role. No topic rule sits in between, so the path is the same locally (a broker) and in AWS.
 */
export class Telemetry extends Construct {
  readonly devicePolicy: CfnPolicy;
  /** What the api's task role needs on IoT Core: connect as itself, subscribe to and receive telemetry. */
  readonly subscriberStatements: readonly PolicyStatement[];
  readonly clientIdPrefix: string;

  constructor(scope: Construct, id: string, props: TelemetryProps) {
    super(scope, id);
    const { environment } = props;
    const { account, region } = Stack.of(this);
    const iot = `arn:aws:iot:${region}:${account}`;
    this.clientIdPrefix = `${resourceName(environment.name, "api")}-`;

    // Devices (things with an attached certificate) connect under their own thing name and publish only to their
    // own telemetry topic.
    this.devicePolicy = new CfnPolicy(this, "EquipmentPolicy", {
      policyName: resourceName(environment.name, "equipment"),
      policyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["iot:Connect"],
            Resource: [`${iot}:client/\${iot:Connection.Thing.ThingName}`],
            Condition: { Bool: { "iot:Connection.Thing.IsAttached": "true" } },
          },
          {
            Effect: "Allow",
            Action: ["iot:Publish"],
            Resource: [`${iot}:topic/${APPLICATION}/equipment/\${iot:Connection.Thing.ThingName}/telemetry`],
          },
        ],
      },
    });

    this.subscriberStatements = [
      new PolicyStatement({
        sid: "ConnectAsApi",
        actions: ["iot:Connect"],
        resources: [`${iot}:client/${this.clientIdPrefix}*`],
      }),
      new PolicyStatement({
        sid: "SubscribeToTelemetry",
        actions: ["iot:Subscribe"],
        resources: [`${iot}:topicfilter/${TELEMETRY_TOPIC_FILTER}`],
      }),
      new PolicyStatement({
        sid: "ReceiveTelemetry",
        actions: ["iot:Receive"],
        resources: [`${iot}:topic/${APPLICATION}/equipment/*/telemetry`],
      }),
    ];
    Tags.of(this).add("Component", "iot");
  }
}
