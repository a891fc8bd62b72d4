import { clientError, list, num } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import type { TargetGroupSpec } from "./runtime.ts";
import {
  arn,
  date,
  type ForwardTarget,
  hex,
  type Listener,
  type LoadBalancer,
  type Sim,
  type TargetGroup,
} from "./state.ts";

/** ELBv2 (awsQuery 2015-12-01): the model of load balancers, listeners and target groups, and the reads. */

// biome-ignore lint/suspicious/noExplicitAny: template or query input
type Row = Record<string, any>;

export function createLoadBalancer(sim: Sim, input: Row): LoadBalancer {
  const name = input.Name ?? `sim-lb-${hex(3)}`;
  const type = input.Type ?? "application";
  const prefix = type === "network" ? "net" : "app";
  const loadBalancer: LoadBalancer = {
    loadBalancerArn: arn(sim, "elasticloadbalancing", `loadbalancer/${prefix}/${name}/${hex(8)}`),
    loadBalancerName: name,
    type,
    scheme: input.Scheme ?? "internet-facing",
    dnsName: `${name}-${hex(4)}.${sim.state.settings.region}.elb.amazonaws.com`,
    createdAt: sim.clock.now(),
    securityGroups: list(input.SecurityGroups),
  };
  sim.state.loadBalancers[loadBalancer.loadBalancerArn] = loadBalancer;
  void syncLoadBalancer(sim, loadBalancer.loadBalancerArn);
  return loadBalancer;
}

export function createTargetGroup(sim: Sim, input: Row): TargetGroup {
  const name = input.Name ?? `sim-tg-${hex(3)}`;
  const protocol = input.Protocol ?? "HTTP";
  const group: TargetGroup = {
    targetGroupArn: arn(sim, "elasticloadbalancing", `targetgroup/${name}/${hex(8)}`),
    targetGroupName: name,
    protocol,
    port: num(input.Port) ?? 80,
    targetType: input.TargetType ?? "instance",
    vpcId: input.VpcId,
    healthCheck: {
      HealthCheckProtocol: input.HealthCheckProtocol ?? protocol,
      HealthCheckPort: input.HealthCheckPort ?? "traffic-port",
      HealthCheckEnabled: input.HealthCheckEnabled ?? true,
      HealthCheckIntervalSeconds: num(input.HealthCheckIntervalSeconds) ?? 30,
      HealthCheckTimeoutSeconds: num(input.HealthCheckTimeoutSeconds) ?? 5,
      HealthyThresholdCount: num(input.HealthyThresholdCount) ?? 5,
      UnhealthyThresholdCount: num(input.UnhealthyThresholdCount) ?? 2,
      HealthCheckPath: input.HealthCheckPath ?? "/",
      Matcher: { HttpCode: input.Matcher?.HttpCode ?? "200" },
    },
    loadBalancerArns: [],
    targets: [],
    deregistrationDelaySeconds:
      num(
        list<Row>(input.TargetGroupAttributes).find(
          (item) => item.Key === "deregistration_delay.timeout_seconds",
        )?.Value,
      ) ?? 300,
  };
  sim.state.targetGroups[group.targetGroupArn] = group;
  void sim.runtime.configureTargetGroup(targetGroupSpec(group));
  return group;
}

/** What the data plane needs to serve a target group, from its state (at creation and when the simulator resumes). */
export function targetGroupSpec(group: TargetGroup): TargetGroupSpec {
  const check = group.healthCheck;
  return {
    targetGroupArn: group.targetGroupArn,
    targetGroupName: group.targetGroupName,
    protocol: group.protocol,
    port: group.port,
    healthCheck: {
      path: check.HealthCheckPath,
      port: String(check.HealthCheckPort),
      protocol: check.HealthCheckProtocol,
      intervalSeconds: check.HealthCheckIntervalSeconds,
      timeoutSeconds: check.HealthCheckTimeoutSeconds,
      healthyThresholdCount: check.HealthyThresholdCount,
      unhealthyThresholdCount: check.UnhealthyThresholdCount,
      matcher: check.Matcher?.HttpCode ?? "200",
    },
    deregistrationDelaySeconds: group.deregistrationDelaySeconds ?? 300,
  };
}

/** Forward targets of an ELBv2 action (TargetGroupArn or ForwardConfig.TargetGroups). */
export function forwardOf(actions: Row[]): ForwardTarget[] {
  const forward = actions.find((action) => action.Type === "forward");
  if (!forward) return [];
  const groups = list<Row>(forward.ForwardConfig?.TargetGroups);
  if (groups.length)
    return groups.map((group) => ({ targetGroupArn: group.TargetGroupArn, weight: num(group.Weight) ?? 1 }));
  return forward.TargetGroupArn ? [{ targetGroupArn: forward.TargetGroupArn, weight: 100 }] : [];
}

export function createListener(sim: Sim, input: Row): Listener {
  const loadBalancer = sim.state.loadBalancers[input.LoadBalancerArn];
  if (!loadBalancer)
    throw clientError("LoadBalancerNotFound", `Load balancer '${input.LoadBalancerArn}' not found`);
  const actions = list<Row>(input.DefaultActions);
  const listener: Listener = {
    listenerArn: `${loadBalancer.loadBalancerArn.replace(":loadbalancer/", ":listener/")}/${hex(8)}`,
    loadBalancerArn: loadBalancer.loadBalancerArn,
    port: num(input.Port) ?? 80,
    protocol: input.Protocol ?? "HTTP",
    forward: forwardOf(actions),
    otherActions: actions.filter((action) => action.Type !== "forward"),
  };
  sim.state.listeners[listener.listenerArn] = listener;
  for (const { targetGroupArn } of listener.forward) {
    const group = sim.state.targetGroups[targetGroupArn];
    if (group && !group.loadBalancerArns.includes(loadBalancer.loadBalancerArn))
      group.loadBalancerArns.push(loadBalancer.loadBalancerArn);
  }
  void syncLoadBalancer(sim, loadBalancer.loadBalancerArn);
  setForward(sim, listener.listenerArn, listener.forward);
  return listener;
}

export function createRule(sim: Sim, input: Row): void {
  const listener = sim.state.listeners[input.ListenerArn];
  if (!listener) throw clientError("ListenerNotFound", `Listener '${input.ListenerArn}' not found`);
  const ruleArn = `${listener.listenerArn.replace(":listener/", ":listener-rule/")}/${hex(8)}`;
  sim.state.rules[ruleArn] = {
    ruleArn,
    listenerArn: listener.listenerArn,
    priority: String(input.Priority ?? "1"),
    conditions: list(input.Conditions),
    forward: forwardOf(list(input.Actions)),
  };
}

async function syncLoadBalancer(sim: Sim, loadBalancerArn: string): Promise<void> {
  const loadBalancer = sim.state.loadBalancers[loadBalancerArn];
  if (!loadBalancer) return;
  const listeners = Object.values(sim.state.listeners)
    .filter((listener) => listener.loadBalancerArn === loadBalancerArn)
    .map((listener) => ({
      listenerArn: listener.listenerArn,
      port: listener.port,
      protocol: listener.protocol,
    }));
  await sim.runtime.configureLoadBalancer({
    loadBalancerArn,
    loadBalancerName: loadBalancer.loadBalancerName,
    listeners,
  });
}

/** Moves a listener's traffic (and its rules forwarding to the same groups), as CodeDeploy does. */
export function setForward(sim: Sim, listenerArn: string, forward: ForwardTarget[]): void {
  const listener = sim.state.listeners[listenerArn];
  if (!listener) return;
  const touched = new Set([...listener.forward, ...forward].map((item) => item.targetGroupArn));
  listener.forward = forward.map((item) => ({ ...item }));
  for (const rule of Object.values(sim.state.rules)) {
    if (rule.listenerArn === listenerArn && rule.forward.some((item) => touched.has(item.targetGroupArn))) {
      rule.forward = forward.map((item) => ({ ...item }));
    }
  }
  for (const { targetGroupArn } of forward) {
    const group = sim.state.targetGroups[targetGroupArn];
    if (group && !group.loadBalancerArns.includes(listener.loadBalancerArn))
      group.loadBalancerArns.push(listener.loadBalancerArn);
  }
  void sim.runtime.setListenerWeights(listenerArn, listener.forward);
}

function actionsView(forward: ForwardTarget[], other: Row[] = []) {
  const actions: Row[] = [...other];
  if (forward.length) {
    actions.unshift({
      Type: "forward",
      Order: 1,
      TargetGroupArn: forward.length === 1 ? forward[0]?.targetGroupArn : undefined,
      ForwardConfig: {
        TargetGroups: forward.map((item) => ({ TargetGroupArn: item.targetGroupArn, Weight: item.weight })),
        TargetGroupStickinessConfig: { Enabled: false },
      },
    });
  }
  return actions;
}

export function elbv2Operations(sim: Sim): Operations {
  const state = sim.state;
  return {
    DescribeLoadBalancers: (input) => {
      const arns = list<string>(input.LoadBalancerArns);
      const names = list<string>(input.Names);
      const found = Object.values(state.loadBalancers).filter(
        (lb) =>
          (!arns.length || arns.includes(lb.loadBalancerArn)) &&
          (!names.length || names.includes(lb.loadBalancerName)),
      );
      if ((arns.length || names.length) && found.length < arns.length + names.length) {
        throw clientError("LoadBalancerNotFound", "One or more load balancers not found");
      }
      return {
        LoadBalancers: found.map((lb) => ({
          LoadBalancerArn: lb.loadBalancerArn,
          DNSName: lb.dnsName,
          CanonicalHostedZoneId: "ZQSVJUPU6J1EY",
          CreatedTime: date(lb.createdAt),
          LoadBalancerName: lb.loadBalancerName,
          Scheme: lb.scheme,
          VpcId: "vpc-sim",
          State: { Code: "active" },
          Type: lb.type,
          AvailabilityZones: [],
          SecurityGroups: lb.securityGroups,
          IpAddressType: "ipv4",
        })),
      };
    },
    DescribeListeners: (input) => {
      const arns = list<string>(input.ListenerArns);
      if (input.LoadBalancerArn && !state.loadBalancers[input.LoadBalancerArn]) {
        throw clientError("LoadBalancerNotFound", "One or more load balancers not found");
      }
      const found = Object.values(state.listeners).filter(
        (listener) =>
          (!arns.length || arns.includes(listener.listenerArn)) &&
          (!input.LoadBalancerArn || listener.loadBalancerArn === input.LoadBalancerArn),
      );
      if (arns.length && found.length < arns.length)
        throw clientError("ListenerNotFound", "One or more listeners not found");
      return {
        Listeners: found.map((listener) => ({
          ListenerArn: listener.listenerArn,
          LoadBalancerArn: listener.loadBalancerArn,
          Port: listener.port,
          Protocol: listener.protocol,
          DefaultActions: actionsView(listener.forward, listener.otherActions),
        })),
      };
    },
    DescribeTargetGroups: (input) => {
      const arns = list<string>(input.TargetGroupArns);
      const names = list<string>(input.Names);
      const found = Object.values(state.targetGroups).filter(
        (group) =>
          (!arns.length || arns.includes(group.targetGroupArn)) &&
          (!names.length || names.includes(group.targetGroupName)) &&
          (!input.LoadBalancerArn || group.loadBalancerArns.includes(input.LoadBalancerArn)),
      );
      if ((arns.length || names.length) && found.length < arns.length + names.length) {
        throw clientError("TargetGroupNotFound", "One or more target groups not found");
      }
      return {
        TargetGroups: found.map((group) => ({
          TargetGroupArn: group.targetGroupArn,
          TargetGroupName: group.targetGroupName,
          Protocol: group.protocol,
          Port: group.port,
          VpcId: group.vpcId ?? "vpc-sim",
          ...group.healthCheck,
          LoadBalancerArns: group.loadBalancerArns,
          TargetType: group.targetType,
          IpAddressType: "ipv4",
        })),
      };
    },
    DescribeTargetHealth: (input) => {
      const group = state.targetGroups[input.TargetGroupArn];
      if (!group)
        throw clientError("TargetGroupNotFound", `Target groups '${input.TargetGroupArn}' not found`);
      const health = sim.runtime.targetHealth(group.targetGroupArn);
      const wanted = list<Row>(input.Targets);
      const targets = wanted.length
        ? wanted.map((target) => ({ id: target.Id, port: num(target.Port) ?? group.port }))
        : group.targets;
      return {
        TargetHealthDescriptions: targets.map((target) => {
          const seen = health.find((item) => item.id === target.id && item.port === target.port);
          const state =
            seen?.state ?? (group.targets.some((item) => item.id === target.id) ? "initial" : "unused");
          return {
            Target: { Id: target.id, Port: target.port },
            HealthCheckPort: String(target.port),
            TargetHealth: {
              State: state,
              Reason:
                seen?.reason ??
                (state === "initial"
                  ? "Elb.RegistrationInProgress"
                  : state === "unused"
                    ? "Target.NotRegistered"
                    : undefined),
              Description: seen?.description,
            },
          };
        }),
      };
    },
    DescribeRules: (input) => {
      const arns = list<string>(input.RuleArns);
      if (input.ListenerArn && !state.listeners[input.ListenerArn])
        throw clientError("ListenerNotFound", "One or more listeners not found");
      const rules = Object.values(state.rules)
        .filter(
          (rule) =>
            (!arns.length || arns.includes(rule.ruleArn)) &&
            (!input.ListenerArn || rule.listenerArn === input.ListenerArn),
        )
        .map((rule) => ({
          RuleArn: rule.ruleArn,
          Priority: rule.priority,
          Conditions: rule.conditions,
          Actions: actionsView(rule.forward),
          IsDefault: false,
        }));
      const listener = input.ListenerArn ? state.listeners[input.ListenerArn] : undefined;
      if (listener) {
        rules.push({
          RuleArn: `${listener.listenerArn.replace(":listener/", ":listener-rule/")}/default`,
          Priority: "default",
          Conditions: [],
          Actions: actionsView(listener.forward, listener.otherActions),
          IsDefault: true,
        });
      }
      return { Rules: rules };
    },
    DescribeTags: (input) => ({
      TagDescriptions: list<string>(input.ResourceArns).map((resourceArn) => ({
        ResourceArn: resourceArn,
        Tags: (state.tags[resourceArn] ?? []).map((tag) => ({ Key: tag.key, Value: tag.value })),
      })),
    }),
  };
}
