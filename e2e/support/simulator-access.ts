import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthesize } from "../../infra/lib/synthesize.ts";
import { memoryRuntime } from "../../sim/control/memory-runtime.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../sim/simulator.ts";

/**
 * How a test reaches a simulator: the environment a bundled action runs with (the SDK's own AWS_ENDPOINT_URL, as on
 * a runner after configure-aws-credentials) and the settings of the test's own SDK clients.
 */
export function simulatorAccess(simulator: Simulator) {
  const region = simulator.sim.state.settings.region;
  return {
    env: {
      AWS_ENDPOINT_URL: simulator.endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: "sim",
      AWS_SECRET_ACCESS_KEY: "sim",
    },
    clientConfig: {
      endpoint: simulator.endpoint,
      region,
      credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
    },
  };
}

type Stack = keyof ReturnType<typeof synthesize>["templates"];

/**
 * A simulator provisioned from infra's synthesized stacks, with in-memory tasks (healthy 10 sim seconds after start)
 * and the clock at 60× (a sim minute per real second): for tests about the toolkit's logic, not the images.
 */
export async function startInfraSimulator(
  stacks: Stack[],
  settings: SimulatorOptions["settings"] = {},
): Promise<{ simulator: Simulator } & ReturnType<typeof simulatorAccess>> {
  const { templates } = synthesize({ outdir: mkdtempSync(join(tmpdir(), "e2e-synth-")) });
  const simulator = await startSimulator({
    timeScale: 60,
    templates: stacks.map((stack) => templates[stack]),
    runtime: memoryRuntime({ healthyAfterSeconds: 10 }),
    settings,
  });
  return { simulator, ...simulatorAccess(simulator) };
}
