import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { ToolkitError } from "../errors.ts";

/** What to make of an alarm without enough data: a fresh green target group often has none for a while. */
export type InsufficientDataPolicy = "ignore" | "fail";

export interface AlarmState {
  name: string;
  kind: "metric" | "composite";
  state: "OK" | "ALARM" | "INSUFFICIENT_DATA";
  reason: string;
  updatedAt?: Date;
}

export interface AlarmBreach {
  alarm: AlarmState;
  /** When the watch saw it. */
  seenAt: Date;
}

export class AlarmsNotFoundError extends ToolkitError {}

/** DescribeAlarms takes at most 100 names per call. */
const batchSize = 100;

/**
 * Reads the state of any number of alarms (metric and composite; unlike CodeDeploy, not limited to 10) in batches
 * of 100 names per DescribeAlarms call.
 */
export class AlarmWatch {
  readonly #cloudwatch: CloudWatchClient;
  readonly #names: string[];
  readonly #policy: InsufficientDataPolicy;
  calls = 0;

  constructor(cloudwatch: CloudWatchClient, names: readonly string[], policy: InsufficientDataPolicy) {
    this.#cloudwatch = cloudwatch;
    this.#names = [...new Set(names)];
    this.#policy = policy;
  }

  get names(): readonly string[] {
    return this.#names;
  }

  async states(): Promise<AlarmState[]> {
    const states: AlarmState[] = [];
    for (let start = 0; start < this.#names.length; start += batchSize) {
      this.calls++;
      const response = await this.#cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: this.#names.slice(start, start + batchSize),
          AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
          MaxRecords: batchSize,
        }),
      );
      for (const alarm of response.MetricAlarms ?? []) states.push(toState(alarm, "metric"));
      for (const alarm of response.CompositeAlarms ?? []) states.push(toState(alarm, "composite"));
    }
    return states;
  }

  /** Fails when an alarm does not exist, so a typo is caught before the deployment starts. */
  async verifyExist(): Promise<AlarmState[]> {
    const states = await this.states();
    const found = new Set(states.map((state) => state.name));
    const missing = this.#names.filter((name) => !found.has(name));
    if (missing.length) {
      throw new AlarmsNotFoundError(
        `CloudWatch alarm(s) not found: ${missing.join(", ")}; check the alarms input, the deployment group's alarm configuration and the region`,
      );
    }
    return states;
  }

  /** The first alarm that breaches under the policy, if any. */
  breached(states: AlarmState[]): AlarmState | undefined {
    return states.find(
      (state) => state.state === "ALARM" || (this.#policy === "fail" && state.state === "INSUFFICIENT_DATA"),
    );
  }
}

function toState(
  alarm: { AlarmName?: string; StateValue?: string; StateReason?: string; StateUpdatedTimestamp?: Date },
  kind: AlarmState["kind"],
): AlarmState {
  return {
    name: alarm.AlarmName ?? "",
    kind,
    state: (alarm.StateValue ?? "INSUFFICIENT_DATA") as AlarmState["state"],
    reason: alarm.StateReason ?? "",
    ...(alarm.StateUpdatedTimestamp ? { updatedAt: alarm.StateUpdatedTimestamp } : {}),
  };
}
