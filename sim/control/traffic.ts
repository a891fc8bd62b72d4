import type { Sim } from "./state.ts";

/** The five predefined ECS deployment configs and the traffic schedule of any config. */

// biome-ignore lint/suspicious/noExplicitAny: trafficRoutingConfig as AWS names it
export type TrafficRoutingConfig = Record<string, any>;

export const predefinedEcsConfigs: Record<string, TrafficRoutingConfig> = {
  "CodeDeployDefault.ECSAllAtOnce": { type: "AllAtOnce" },
  "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {
    type: "TimeBasedLinear",
    timeBasedLinear: { linearPercentage: 10, linearInterval: 1 },
  },
  "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {
    type: "TimeBasedLinear",
    timeBasedLinear: { linearPercentage: 10, linearInterval: 3 },
  },
  "CodeDeployDefault.ECSCanary10Percent5Minutes": {
    type: "TimeBasedCanary",
    timeBasedCanary: { canaryPercentage: 10, canaryInterval: 5 },
  },
  "CodeDeployDefault.ECSCanary10Percent15Minutes": {
    type: "TimeBasedCanary",
    timeBasedCanary: { canaryPercentage: 10, canaryInterval: 15 },
  },
};

export function routingConfig(sim: Sim, name: string): TrafficRoutingConfig | undefined {
  return predefinedEcsConfigs[name] ?? sim.state.codedeploy.configs?.[name]?.trafficRoutingConfig;
}

/** Green's share of production traffic over time: `afterMs` since AllowTraffic began → weight (percent). */
export function trafficPlan(sim: Sim, configName: string): Array<{ afterMs: number; weight: number }> {
  const config = routingConfig(sim, configName) ?? { type: "AllAtOnce" };
  const minute = 60_000;
  if (config.type === "TimeBasedCanary") {
    const { canaryPercentage, canaryInterval } = config.timeBasedCanary ?? {};
    return [
      { afterMs: 0, weight: Number(canaryPercentage) },
      { afterMs: Number(canaryInterval) * minute, weight: 100 },
    ];
  }
  if (config.type === "TimeBasedLinear") {
    const { linearPercentage, linearInterval } = config.timeBasedLinear ?? {};
    const steps = [];
    const percent = Number(linearPercentage);
    for (let index = 0; ; index++) {
      const weight = Math.min(100, percent * (index + 1));
      steps.push({ afterMs: index * Number(linearInterval) * minute, weight });
      if (weight >= 100) break;
    }
    return steps;
  }
  return [{ afterMs: 0, weight: 100 }];
}
