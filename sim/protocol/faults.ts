/**
 * Fault injection per service and operation, configured through the admin API (POST /_sim/faults).
 * A rule applies to the calls it matches, with a probability (`rate`, default 1) and at most `count` times.
 * A throttle rule with `burst` and `sustained` throttles the way AWS does instead: a token bucket per operation
 * (capacity `burst`, refilled at `sustained` tokens per real second) throttles a call only when it is empty, so a
 * client that slows down stops being throttled.
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
  /** Token bucket of a `throttle` fault: capacity (calls in any one second). */
  burst?: number;
  /** Token bucket of a `throttle` fault: refill, tokens per real second. */
  sustained?: number;
}

interface ActiveRule extends FaultRule {
  applied: number;
}

interface Bucket {
  tokens: number;
  at: number;
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
  readonly now: () => number;
  /** Token buckets by rule index and `service.Operation`. */
  #buckets = new Map<string, Bucket>();

  constructor(random: () => number = Math.random, now: () => number = () => performance.now()) {
    this.random = random;
    this.now = now;
  }

  set(rules: FaultRule[]): void {
    for (const rule of rules) {
      if (!["throttle", "error", "latency", "drop"].includes(rule.kind)) {
        throw new Error(`fault kind '${rule.kind}' is not one of throttle, error, latency, drop`);
      }
      const bucket = [rule.burst, rule.sustained];
      if (bucket.some((value) => value !== undefined)) {
        if (rule.kind !== "throttle" || bucket.some((value) => !(typeof value === "number" && value > 0))) {
          throw new Error("burst and sustained go together, as positive numbers, on a throttle fault");
        }
      }
    }
    this.#rules = rules.map((rule) => ({ ...rule, applied: 0 }));
    this.#buckets.clear();
  }

  add(rule: FaultRule): void {
    this.set([...this.#rules, rule]);
  }

  clear(): void {
    this.#rules = [];
    this.#buckets.clear();
    this.calls.clear();
  }

  list(): ActiveRule[] {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  decide(service: string, operation: string): FaultDecision {
    const key = `${service}.${operation}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const decision: FaultDecision = { latencyMs: 0 };
    for (const [index, rule] of this.#rules.entries()) {
      if (rule.service && rule.service !== service) continue;
      if (rule.operation && rule.operation !== operation) continue;
      if (rule.count !== undefined && rule.applied >= rule.count) continue;
      const spared =
        rule.burst === undefined ? this.random() >= (rule.rate ?? 1) : this.#take(`${index} ${key}`, rule);
      if (spared) continue;
      rule.applied++;
      if (rule.kind === "latency") decision.latencyMs += rule.latencyMs ?? 0;
      else if (!decision.outcome) {
        decision.outcome = rule.kind;
        if (rule.kind === "error") decision.status = rule.status ?? 500;
      }
    }
    return decision;
  }

  /** Takes a token from the rule's bucket for this operation; false when it is empty (the call is throttled). */
  #take(key: string, rule: ActiveRule): boolean {
    const burst = rule.burst as number;
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * (rule.sustained as number));
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }
}
