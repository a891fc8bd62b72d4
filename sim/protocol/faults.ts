/**
 * Fault injection per service and operation, configured through the admin API (POST /_sim/faults).
 * A rule applies to the calls it matches, with a probability (`rate`, default 1) and at most `count` times.
 */
export type FaultKind = "throttle" | "error" | "latency" | "drop";

export interface FaultRule {
  /** Signing name of the service: ecs, codedeploy, monitoring, ecr, elasticloadbalancing; absent = all. */
  service?: string;
  /** Operation name, e.g. DescribeServices; absent = all. */
  operation?: string;
  kind: FaultKind;
  rate?: number;
  count?: number;
  /** HTTP status of an `error` fault: 500 (default) or 503. */
  status?: number;
  /** Added latency of a `latency` fault, real milliseconds. */
  latencyMs?: number;
}

interface ActiveRule extends FaultRule {
  applied: number;
}

export interface FaultDecision {
  latencyMs: number;
  outcome?: "throttle" | "error" | "drop";
  status?: number;
}

export class Faults {
  #rules: ActiveRule[] = [];
  /** Calls received per `service.Operation`, faulted or not (every SDK attempt counts). */
  readonly calls = new Map<string, number>();
  readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  set(rules: FaultRule[]): void {
    for (const rule of rules) {
      if (!["throttle", "error", "latency", "drop"].includes(rule.kind)) {
        throw new Error(`fault kind '${rule.kind}' is not one of throttle, error, latency, drop`);
      }
    }
    this.#rules = rules.map((rule) => ({ ...rule, applied: 0 }));
  }

  add(rule: FaultRule): void {
    this.set([...this.#rules, rule]);
  }

  clear(): void {
    this.#rules = [];
    this.calls.clear();
  }

  list(): ActiveRule[] {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  decide(service: string, operation: string): FaultDecision {
    const key = `${service}.${operation}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const decision: FaultDecision = { latencyMs: 0 };
    for (const rule of this.#rules) {
      if (rule.service && rule.service !== service) continue;
      if (rule.operation && rule.operation !== operation) continue;
      if (rule.count !== undefined && rule.applied >= rule.count) continue;
      if (this.random() >= (rule.rate ?? 1)) continue;
      rule.applied++;
      if (rule.kind === "latency") decision.latencyMs += rule.latencyMs ?? 0;
      else if (!decision.outcome) {
        decision.outcome = rule.kind;
        if (rule.kind === "error") decision.status = rule.status ?? 500;
      }
    }
    return decision;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }
}
