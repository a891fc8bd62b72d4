import { randomBytes } from "node:crypto";
import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Clock, setTimeoutWithFloor } from "./clock.ts";
import type { ElbMetrics, HostCounts } from "./metrics.ts";

/**
 * An Application Load Balancer in miniature: HTTP listeners on 127.0.0.1 that forward each request to a target
 * group picked by weight, then to a healthy target of that group (round robin); health checks per target group;
 * registration, draining and deregistration of targets; CloudWatch metrics from the traffic.
 */

export type TargetState = "initial" | "healthy" | "unhealthy" | "draining" | "unused";

export interface HealthCheckSettings {
  /** Default "/". */
  path?: string;
  /** "traffic-port" (default) or a port number. */
  port?: "traffic-port" | number;
  /** Simulated seconds. Default 30. */
  intervalSeconds?: number;
  /** Simulated seconds. Default 5. */
  timeoutSeconds?: number;
  /** Default 5. */
  healthyThreshold?: number;
  /** Default 2. */
  unhealthyThreshold?: number;
  /** HTTP codes: "200" (default), "200,202", "200-299". */
  matcher?: string;
}

export interface TargetGroupOptions {
  name: string;
  /** TargetGroup dimension value, e.g. "targetgroup/valmetal-dev-api-blue/0123456789abcdef". */
  arnSuffix: string;
  /** Default port of targets registered without one. */
  port?: number;
  healthCheck?: HealthCheckSettings;
  /** Simulated seconds. Default 300 (AWS default). */
  deregistrationDelaySeconds?: number;
}

export interface TargetGroupEnvironment {
  clock: Clock;
  /** Real-time floor of health check timeouts (real ms). Default 2000. */
  realTimeoutFloorMs?: number;
}

export interface TargetDescription {
  /** The target's IP address (target type ip): the task's 127.x address. */
  id: string;
  port?: number;
}

export interface TargetHealthDescription {
  target: { id: string; port: number };
  state: TargetState;
  /** AWS reason code, e.g. "Elb.RegistrationInProgress", "Target.FailedHealthChecks", "Target.ResponseCodeMismatch". */
  reason?: string;
  description?: string;
}

interface Target {
  id: string;
  port: number;
  key: string;
  state: TargetState;
  reason?: string;
  description?: string;
  successes: number;
  failures: number;
  inFlight: Set<ClientRequest>;
  cancelCheck?: () => void;
  cancelDrain?: () => void;
  drained?: () => void;
  drainedPromise?: Promise<void>;
  finishDrain?: () => void;
}

export interface TargetGroup {
  readonly name: string;
  readonly arnSuffix: string;
  readonly healthCheck: Required<HealthCheckSettings>;
  readonly deregistrationDelaySeconds: number;
  registerTargets(targets: TargetDescription[]): void;
  /** Starts draining; resolves when each target has finished draining and is removed. */
  deregisterTargets(targets: TargetDescription[]): Promise<void>;
  targetHealth(): TargetHealthDescription[];
  /** Changes health check settings (ModifyTargetGroup). */
  modifyHealthCheck(settings: HealthCheckSettings): void;
  /** Stops health checks and drops every target at once. */
  close(): void;
  /** @internal used by load balancers */
  readonly internal: TargetGroupInternal;
}

interface TargetGroupInternal {
  attach(): void;
  detach(): void;
  pick(): Target | undefined;
  hasHealthy(): boolean;
  hasRoutable(): boolean;
  pickAny(): Target | undefined;
  counts(): { healthy: number; unhealthy: number };
}

function parseMatcher(matcher: string): (status: number) => boolean {
  const parts = matcher.split(",").map((part) => part.trim());
  return (status) =>
    parts.some((part) => {
      const [low, high] = part.split("-").map(Number);
      return high === undefined ? status === low : status >= (low as number) && status <= high;
    });
}

export function createTargetGroup(
  options: TargetGroupOptions,
  environment: TargetGroupEnvironment,
): TargetGroup {
  const { clock } = environment;
  const floor = environment.realTimeoutFloorMs ?? 2000;
  const healthCheck: Required<HealthCheckSettings> = {
    path: "/",
    port: "traffic-port",
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    matcher: "200",
    ...options.healthCheck,
  };
  let matches = parseMatcher(healthCheck.matcher);
  const targets = new Map<string, Target>();
  let attached = 0;
  let cursor = 0;
  let closed = false;

  const checkingStates = new Set<TargetState>(["initial", "healthy", "unhealthy"]);

  function setState(target: Target, state: TargetState, reason?: string, description?: string): void {
    target.state = state;
    target.reason = reason;
    target.description = description;
  }

  function scheduleCheck(target: Target, delayMs: number): void {
    target.cancelCheck?.();
    target.cancelCheck = clock.setTimer(delayMs, () => {
      target.cancelCheck = undefined;
      void check(target);
    });
  }

  async function check(target: Target): Promise<void> {
    if (closed || attached === 0 || !checkingStates.has(target.state)) return;
    const port = healthCheck.port === "traffic-port" ? target.port : healthCheck.port;
    const outcome = await new Promise<{ ok: boolean; reason: string; description: string }>((resolve) => {
      let done = false;
      const finish = (result: { ok: boolean; reason: string; description: string }) => {
        if (done) return;
        done = true;
        cancel();
        resolve(result);
      };
      const request = httpRequest(
        {
          host: target.id,
          port,
          path: healthCheck.path,
          method: "GET",
          agent: false,
          headers: { "user-agent": "ELB-HealthChecker/2.0", connection: "close" },
        },
        (response) => {
          response.resume();
          const status = response.statusCode ?? 0;
          finish(
            matches(status)
              ? { ok: true, reason: "", description: "" }
              : {
                  ok: false,
                  reason: "Target.ResponseCodeMismatch",
                  description: `Health checks failed with these codes: [${status}]`,
                },
          );
        },
      );
      const cancel = setTimeoutWithFloor(clock, healthCheck.timeoutSeconds * 1000, floor, () => {
        finish({ ok: false, reason: "Target.Timeout", description: "Request timed out" });
        request.destroy();
      });
      request.on("error", (error: NodeJS.ErrnoException) =>
        finish({
          ok: false,
          reason: "Target.FailedHealthChecks",
          description: `Health checks failed: ${error.code}`,
        }),
      );
      request.end();
    });
    if (closed || attached === 0 || !checkingStates.has(target.state) || targets.get(target.key) !== target)
      return;
    if (outcome.ok) {
      target.successes++;
      target.failures = 0;
      if (target.state !== "healthy" && target.successes >= healthCheck.healthyThreshold)
        setState(target, "healthy");
    } else {
      target.failures++;
      target.successes = 0;
      if (target.failures >= healthCheck.unhealthyThreshold)
        setState(target, "unhealthy", outcome.reason, outcome.description);
    }
    scheduleCheck(target, healthCheck.intervalSeconds * 1000);
  }

  function startChecking(target: Target): void {
    target.successes = 0;
    target.failures = 0;
    setState(target, "initial", "Elb.InitialHealthChecking", "Initial health checks in progress");
    scheduleCheck(target, 0);
  }

  function finishDrain(target: Target): void {
    if (targets.get(target.key) !== target) return;
    target.cancelDrain?.();
    for (const request of target.inFlight) request.destroy(new Error("deregistration delay expired"));
    targets.delete(target.key);
    target.drained?.();
  }

  const internal: TargetGroupInternal = {
    attach() {
      attached++;
      if (attached === 1)
        for (const target of targets.values()) if (target.state === "unused") startChecking(target);
    },
    detach() {
      attached = Math.max(0, attached - 1);
      if (attached === 0)
        for (const target of targets.values())
          if (checkingStates.has(target.state)) {
            target.cancelCheck?.();
            setState(
              target,
              "unused",
              "Target.NotInUse",
              "Target group is not configured to receive traffic",
            );
          }
    },
    hasHealthy: () => [...targets.values()].some((target) => target.state === "healthy"),
    hasRoutable: () => [...targets.values()].some((target) => checkingStates.has(target.state)),
    pick() {
      const healthy = [...targets.values()].filter((target) => target.state === "healthy");
      if (healthy.length === 0) return undefined;
      cursor = (cursor + 1) % healthy.length;
      return healthy[cursor];
    },
    pickAny() {
      // Fail open: every registered target when none is healthy, as an ALB does.
      const all = [...targets.values()].filter((target) => checkingStates.has(target.state));
      if (all.length === 0) return undefined;
      cursor = (cursor + 1) % all.length;
      return all[cursor];
    },
    counts() {
      let healthy = 0;
      let unhealthy = 0;
      for (const target of targets.values()) {
        if (target.state === "healthy") healthy++;
        else if (target.state === "unhealthy") unhealthy++;
      }
      return { healthy, unhealthy };
    },
  };

  const keyOf = (description: TargetDescription) => {
    const port = description.port ?? options.port;
    if (!port)
      throw new Error(`target ${description.id} needs a port (target group ${options.name} has none)`);
    return { port, key: `${description.id}:${port}` };
  };

  return {
    name: options.name,
    arnSuffix: options.arnSuffix,
    healthCheck,
    deregistrationDelaySeconds: options.deregistrationDelaySeconds ?? 300,
    internal,
    registerTargets(list) {
      for (const description of list) {
        const { port, key } = keyOf(description);
        const existing = targets.get(key);
        if (existing && existing.state !== "draining") continue;
        if (existing) finishDrain(existing);
        const target: Target = {
          id: description.id,
          port,
          key,
          state: "unused",
          successes: 0,
          failures: 0,
          inFlight: new Set(),
        };
        targets.set(key, target);
        if (attached > 0) {
          setState(target, "initial", "Elb.RegistrationInProgress", "Target registration is in progress");
          scheduleCheck(target, 0);
        } else
          setState(target, "unused", "Target.NotInUse", "Target group is not configured to receive traffic");
      }
    },
    async deregisterTargets(list) {
      const waits: Array<Promise<void>> = [];
      for (const description of list) {
        const { key } = keyOf(description);
        const target = targets.get(key);
        if (!target) continue;
        if (target.state === "draining") {
          waits.push(target.drainedPromise as Promise<void>);
          continue;
        }
        target.cancelCheck?.();
        setState(
          target,
          "draining",
          "Target.DeregistrationInProgress",
          "Target deregistration is in progress",
        );
        target.drainedPromise = new Promise<void>((resolve) => {
          target.drained = resolve;
        });
        waits.push(target.drainedPromise);
        target.finishDrain = () => finishDrain(target);
        if (target.inFlight.size === 0) finishDrain(target);
        else
          target.cancelDrain = clock.setTimer((options.deregistrationDelaySeconds ?? 300) * 1000, () =>
            finishDrain(target),
          );
      }
      await Promise.all(waits);
    },
    targetHealth: () =>
      [...targets.values()].map((target) => ({
        target: { id: target.id, port: target.port },
        state: target.state,
        ...(target.reason ? { reason: target.reason } : {}),
        ...(target.description ? { description: target.description } : {}),
      })),
    modifyHealthCheck(settings) {
      Object.assign(healthCheck, settings);
      matches = parseMatcher(healthCheck.matcher);
    },
    close() {
      closed = true;
      for (const target of targets.values()) {
        target.cancelCheck?.();
        target.cancelDrain?.();
        target.drained?.();
      }
      targets.clear();
    },
  };
}

/** Reads target health (DescribeTargetHealth). */
export function targetHealth(targetGroup: TargetGroup): TargetHealthDescription[] {
  return targetGroup.targetHealth();
}

/** A request to `target` has finished: a draining target with nothing in flight completes deregistration. */
function releaseInFlight(target: Target, request: ClientRequest): void {
  target.inFlight.delete(request);
  if (target.state === "draining" && target.inFlight.size === 0) target.finishDrain?.();
}

export interface WeightedTargetGroup {
  targetGroup: TargetGroup;
  /** 0–999 as in ALB (CodeDeploy uses 0–100). */
  weight: number;
}

export interface ListenerRule {
  /** Lower is evaluated first; rules without conditions act as the default action. */
  priority?: number;
  conditions?: {
    /** ALB path patterns with * and ? wildcards. */
    pathPatterns?: string[];
    hostHeaders?: string[];
  };
  targetGroups: WeightedTargetGroup[];
}

export interface ListenerOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** HTTPS listeners are served as plain HTTP locally; only X-Forwarded-Proto tells. Default "HTTP". */
  protocol?: "HTTP" | "HTTPS";
  rules: ListenerRule[];
}

export interface Listener {
  readonly port: number;
  readonly host: string;
  readonly protocol: "HTTP" | "HTTPS";
  rules(): ListenerRule[];
  /** Replaces the rules (ModifyListener / ModifyRule). */
  setRules(rules: ListenerRule[]): void;
  close(): Promise<void>;
}

export interface LoadBalancerOptions {
  name: string;
  /** LoadBalancer dimension value, e.g. "app/valmetal-dev-api/0123456789abcdef". */
  arnSuffix: string;
  clock: Clock;
  metrics?: ElbMetrics;
  /** Idle timeout in simulated seconds: a target that does not answer in time gets a 504. Default 60. */
  idleTimeoutSeconds?: number;
  /** The idle timeout never fires before this many real milliseconds. Default 2000. */
  realTimeoutFloorMs?: number;
  /** Route to unhealthy targets when a chosen group has no healthy one (an ALB fails open). Default false. */
  failOpen?: boolean;
}

export interface LoadBalancer {
  readonly name: string;
  readonly arnSuffix: string;
  openListener(options: ListenerOptions): Promise<Listener>;
  listeners(): Listener[];
  /** Sets the weights of the listener's default rule (or of `rules()[ruleIndex]`). */
  setWeights(listener: Listener, weights: WeightedTargetGroup[], ruleIndex?: number): void;
  /** Creates a target group with this load balancer's clock. */
  createTargetGroup(options: TargetGroupOptions): TargetGroup;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function forwardHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  const listed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) result[name] = value;
  return result;
}

function pathMatches(pattern: string, path: string): boolean {
  const expression = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${expression}$`).test(path);
}

function ruleMatches(rule: ListenerRule, request: IncomingMessage): boolean {
  const conditions = rule.conditions;
  if (!conditions) return true;
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  if (conditions.pathPatterns && !conditions.pathPatterns.some((pattern) => pathMatches(pattern, path)))
    return false;
  const host = String(request.headers.host ?? "").replace(/:\d+$/, "");
  if (conditions.hostHeaders && !conditions.hostHeaders.some((pattern) => pathMatches(pattern, host)))
    return false;
  return true;
}

function ordered(rules: ListenerRule[]): ListenerRule[] {
  // Conditional rules by priority, then the default rule(s).
  return [...rules].sort((a, b) => {
    const aDefault = a.conditions ? 0 : 1;
    const bDefault = b.conditions ? 0 : 1;
    return aDefault - bDefault || (a.priority ?? 50_000) - (b.priority ?? 50_000);
  });
}

const ERROR_PAGES: Record<number, string> = {
  502: "502 Bad Gateway",
  503: "503 Service Temporarily Unavailable",
  504: "504 Gateway Time-out",
};

export function createLoadBalancer(options: LoadBalancerOptions): LoadBalancer {
  const { clock, metrics } = options;
  const floor = options.realTimeoutFloorMs ?? 2000;
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  const open = new Set<Listener>();
  const attachedGroups = new Map<TargetGroup, number>();
  const removeSource = metrics?.addHostCountSource((): HostCounts[] =>
    [...attachedGroups.keys()].map((group) => ({
      loadBalancer: options.arnSuffix,
      targetGroup: group.arnSuffix,
      ...group.internal.counts(),
    })),
  );

  const attachAll = (rules: ListenerRule[]) => {
    for (const rule of rules)
      for (const { targetGroup } of rule.targetGroups) {
        attachedGroups.set(targetGroup, (attachedGroups.get(targetGroup) ?? 0) + 1);
        targetGroup.internal.attach();
      }
  };
  const detachAll = (rules: ListenerRule[]) => {
    for (const rule of rules)
      for (const { targetGroup } of rule.targetGroups) {
        const count = (attachedGroups.get(targetGroup) ?? 1) - 1;
        if (count <= 0) attachedGroups.delete(targetGroup);
        else attachedGroups.set(targetGroup, count);
        targetGroup.internal.detach();
      }
  };

  function chooseGroup(rule: ListenerRule): TargetGroup | undefined {
    let candidates = rule.targetGroups.filter(
      (entry) => entry.weight > 0 && entry.targetGroup.internal.hasHealthy(),
    );
    if (candidates.length === 0 && options.failOpen)
      candidates = rule.targetGroups.filter(
        (entry) => entry.weight > 0 && entry.targetGroup.internal.hasRoutable(),
      );
    const total = candidates.reduce((sum, entry) => sum + entry.weight, 0);
    if (total <= 0) return undefined;
    let draw = Math.random() * total;
    for (const entry of candidates) {
      draw -= entry.weight;
      if (draw < 0) return entry.targetGroup;
    }
    return candidates[candidates.length - 1]?.targetGroup;
  }

  function handle(listener: Listener, request: IncomingMessage, response: ServerResponse): void {
    const rule = ordered(listener.rules()).find((candidate) => ruleMatches(candidate, request));
    const group = rule ? chooseGroup(rule) : undefined;
    const target = group
      ? (group.internal.pick() ?? (options.failOpen ? group.internal.pickAny() : undefined))
      : undefined;
    const record = (statusCode: number, origin: "target" | "elb", responseTimeSeconds?: number) =>
      metrics?.recordRequest({
        loadBalancer: options.arnSuffix,
        ...(group ? { targetGroup: group.arnSuffix } : {}),
        statusCode,
        origin,
        ...(responseTimeSeconds !== undefined ? { responseTimeSeconds } : {}),
      });
    const elbError = (statusCode: 502 | 503 | 504) => {
      record(statusCode, "elb");
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const body = `<html><body><center><h1>${ERROR_PAGES[statusCode]}</h1></center></body></html>\n`;
      response.writeHead(statusCode, {
        server: "awselb/2.0",
        "content-type": "text/html",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    };
    if (!group || !target) {
      request.resume();
      elbError(503);
      return;
    }
    const socket = request.socket as Socket;
    const clientIp = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const headers = forwardHeaders(request.headers);
    const previous = request.headers["x-forwarded-for"];
    headers["x-forwarded-for"] = previous ? `${previous}, ${clientIp}` : clientIp;
    headers["x-forwarded-proto"] = listener.protocol.toLowerCase();
    headers["x-forwarded-port"] = String(listener.port);
    if (!headers["x-amzn-trace-id"])
      headers["x-amzn-trace-id"] =
        `Root=1-${Math.floor(clock.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
    const sentAt = performance.now();
    let answered = false;
    let finished = false;
    const upstream = httpRequest({
      host: target.id,
      port: target.port,
      method: request.method,
      path: request.url,
      headers,
      agent,
    });
    target.inFlight.add(upstream);
    const done = () => {
      if (finished) return;
      finished = true;
      cancelTimeout();
      releaseInFlight(target, upstream);
    };
    const cancelTimeout = setTimeoutWithFloor(clock, (options.idleTimeoutSeconds ?? 60) * 1000, floor, () => {
      if (answered) return;
      answered = true;
      upstream.destroy();
      done();
      elbError(504);
    });
    upstream.on("response", (reply) => {
      if (answered) {
        reply.resume();
        return;
      }
      answered = true;
      const status = reply.statusCode ?? 502;
      record(status, "target", (performance.now() - sentAt) / 1000);
      response.writeHead(status, reply.statusMessage, forwardHeaders(reply.headers));
      reply.pipe(response);
      reply.on("end", done);
      reply.on("error", () => {
        done();
        response.destroy();
      });
      reply.on("close", done);
    });
    upstream.on("error", () => {
      done();
      if (answered) {
        response.destroy();
        return;
      }
      answered = true;
      elbError(502);
    });
    response.on("close", () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }

  return {
    name: options.name,
    arnSuffix: options.arnSuffix,
    createTargetGroup: (groupOptions) =>
      createTargetGroup(groupOptions, { clock, realTimeoutFloorMs: options.realTimeoutFloorMs }),
    listeners: () => [...open],
    async openListener(listenerOptions) {
      const host = listenerOptions.host ?? "127.0.0.1";
      let rules = listenerOptions.rules;
      const server: Server = createServer({ keepAliveTimeout: 60_000 });
      const sockets = new Set<Socket>();
      server.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(listenerOptions.port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      attachAll(rules);
      const listener: Listener = {
        port: (server.address() as AddressInfo).port,
        host,
        protocol: listenerOptions.protocol ?? "HTTP",
        rules: () => rules,
        setRules(next) {
          attachAll(next);
          detachAll(rules);
          rules = next;
        },
        async close() {
          if (!open.has(listener)) return;
          open.delete(listener);
          detachAll(rules);
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            for (const socket of sockets) socket.destroy();
          });
        },
      };
      server.on("request", (request: IncomingMessage, response: ServerResponse) =>
        handle(listener, request, response),
      );
      open.add(listener);
      return listener;
    },
    setWeights(listener, weights, ruleIndex) {
      const rules = listener.rules();
      const index = ruleIndex ?? rules.findIndex((rule) => !rule.conditions);
      const rule = rules[index];
      if (!rule) throw new Error(`listener ${listener.port} has no rule ${ruleIndex ?? "(default)"}`);
      for (const { weight } of weights)
        if (!(weight >= 0 && weight <= 999))
          throw new Error(`weight must be between 0 and 999, got ${weight}`);
      const next = [...rules];
      next[index] = { ...rule, targetGroups: weights.map((entry) => ({ ...entry })) };
      listener.setRules(next);
    },
    async close() {
      await Promise.all([...open].map((listener) => listener.close()));
      removeSource?.();
      agent.destroy();
    },
  };
}
