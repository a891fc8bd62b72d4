import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { synthesize } from "../../infra/lib/synthesize.ts";
import { startBroker } from "../../reference-app/api/src/broker.ts";
import { createProcessRuntime } from "../../sim/data/runtime.ts";
import type { StandIns } from "../../sim/data/stand-ins.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../sim/simulator.ts";
import { ensureBaseImage, nodeBase } from "../../test/support/base-images.ts";
import { type PostgresInstance, startPostgres } from "../../test/support/postgres.ts";
import { repositoryRoot } from "../../test/support/run-action.ts";
import {
  buildRelease,
  type Component,
  type Release,
  randomSha,
  type SourceEdit,
} from "./reference-builds.ts";
import {
  type AwsClients,
  awsClients,
  componentAlarms,
  createDeployment,
  type DeploymentView,
  deploymentView,
  listenerUrl,
  registerRelease,
} from "./reference-deployments.ts";
import { simulatorAccess } from "./simulator-access.ts";

export { brokenEquipmentList, randomSha } from "./reference-builds.ts";
export type { Component, DeploymentView, Release, SourceEdit };

/**
 * The reference platform on the simulator, for end-to-end tests: the reference app's images built by the
 * toolkit's own build-push bundle into a local registry, infra's synthesized dev template provisioned by the
 * simulator with the process data plane, and local stand-ins for what the simulator does not model (PostgreSQL for
 * RDS and its Secrets Manager password, an MQTT broker for IoT Core). Real AWS SDK clients talk to the simulator.
 *
 * The services start from the template's own task definitions, whose image tag is `dev-<v1>`: provisioning runs
 * v1, no deployment needed. Later releases are built with `build`, registered with `registerRelease` and shipped
 * with `deploy` (CodeDeploy CreateDeployment, as the deploy-ecs action does), or by an action run against
 * `simulator.endpoint`.
 */

export interface ReferencePlatformOptions {
  /** `127.0.0.1:<port>` of an OCI registry (the e2e global setup's). */
  registry: string;
  /** Simulated seconds per real second. Default 20. */
  timeScale?: number;
  /** Components built at v1 (a service whose image is missing keeps failing to start). Default both. */
  components?: Component[];
  /** Simulator settings (e.g. codeDeployAlarmPollSeconds). */
  settings?: SimulatorOptions["settings"];
  log?: (line: string) => void;
}

export interface ReferencePlatform {
  simulator: Simulator;
  registry: string;
  /** The release every service runs after provisioning. */
  v1: Partial<Record<Component, Release>>;
  postgres: PostgresInstance;
  brokerUrl: string;
  clients: AwsClients;
  /** Environment for a bundled action run against the simulator (`runAction(..., { env })`). */
  actionEnv: Record<string, string>;
  /** Builds a release of a component with build-push; `edits` make a copy of the source first (a bad commit). */
  build(component: Component, options?: { sha?: string; edits?: SourceEdit[] }): Promise<Release>;
  /** Registers a new revision of the service's task definition running the release; returns its ARN. */
  registerRelease(release: Release): Promise<string>;
  /** CodeDeploy CreateDeployment of a task definition onto the component's service; returns the deployment id. */
  deploy(
    component: Component,
    taskDefinitionArn: string,
    options?: { deploymentConfigName?: string },
  ): Promise<string>;
  /** `http://127.0.0.1:<port>` where the component's production (or test) listener is served. */
  listenerUrl(component: Component, which?: "production" | "test"): Promise<string>;
  deploymentStatus(deploymentId: string): Promise<DeploymentView>;
  alarms(component: Component): Promise<MetricAlarm[]>;
  /** Stops the simulator (and its tasks), the broker and PostgreSQL; deletes the work folder. Idempotent. */
  stop(): Promise<void>;
}

/** RDS and its Secrets Manager password → the local PostgreSQL (its superuser plays the master user); IoT Core →
 * the local broker; the api's DNS name → the api's production listener. */
function referenceStandIns(
  postgres: PostgresInstance,
  brokerUrl: string,
  apiUrl: () => string | undefined,
): StandIns {
  return {
    byContainer: {
      api: {
        DATABASE_HOST: postgres.host,
        DATABASE_PORT: String(postgres.port),
        DATABASE_NAME: postgres.database,
        DATABASE_USER: postgres.user,
        DATABASE_PASSWORD: postgres.password,
        DATABASE_SSL: "false",
        MQTT_URL: brokerUrl,
      },
      "*": { LOG_LEVEL: "warn" },
    },
    resolve: (container) => {
      const url = container.containerName === "web" ? apiUrl() : undefined;
      return url ? { API_URL: url } : undefined;
    },
  };
}

export async function startReferencePlatform(options: ReferencePlatformOptions): Promise<ReferencePlatform> {
  const log = options.log ?? (() => undefined);
  const registry = options.registry;
  await mkdir(join(repositoryRoot, ".tmp"), { recursive: true });
  const work = await mkdtemp(join(repositoryRoot, ".tmp", "reference-platform-"));
  const cleanups: Array<() => Promise<void>> = [async () => rm(work, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup: ${error}`));
    cleanups.length = 0;
  };
  try {
    const baseImage = await ensureBaseImage(nodeBase);
    const build = (component: Component, request: { sha?: string; edits?: SourceEdit[] } = {}) =>
      buildRelease({ registry, baseImage, component, workDir: work, log, ...request });

    const sha = randomSha();
    const v1: Partial<Record<Component, Release>> = {};
    for (const component of options.components ?? (["api", "web"] as Component[]))
      v1[component] = await build(component, { sha });

    const postgres = await startPostgres({ database: "valmetal" });
    cleanups.push(() => postgres.stop());
    const broker = await startBroker(0);
    cleanups.push(() => broker.close());

    // The dev template with image tags dev-<v1> (infra's `version` context).
    const synthesis = synthesize({ outdir: join(work, "cdk.out"), context: { version: sha } });
    let simulator: Simulator | undefined;
    const apiProductionUrl = () => {
      const listener = Object.values(simulator?.sim.state.listeners ?? {}).find(
        (candidate) => candidate.port === 443 && candidate.loadBalancerArn.includes("/valmetal-dev-api/"),
      );
      return listener ? simulator?.runtime.listenerUrl(listener.listenerArn) : undefined;
    };
    simulator = await startSimulator({
      timeScale: options.timeScale ?? 20,
      templates: [synthesis.templates.dev],
      settings: { registry, ...(options.settings ?? {}) },
      log,
      runtime: (context) =>
        createProcessRuntime(context, {
          // Per platform: every build has a new digest, a shared cache would grow by ~150 MB per image and run.
          imageCacheDir: join(work, "images"),
          taskWorkDir: join(work, "tasks"),
          standIns: referenceStandIns(postgres, broker.url, apiProductionUrl),
        }),
    });
    const running = simulator;
    cleanups.push(() => running.stop());
    const clients = awsClients(running);
    cleanups.push(async () => {
      for (const client of Object.values(clients)) client.destroy();
    });

    return {
      simulator: running,
      registry,
      v1,
      postgres,
      brokerUrl: broker.url,
      clients,
      actionEnv: simulatorAccess(running).env,
      build,
      registerRelease: (release) => registerRelease(clients, release),
      deploy: (component, taskDefinitionArn, deployOptions) =>
        createDeployment(clients, component, taskDefinitionArn, deployOptions),
      listenerUrl: (component, which) => listenerUrl(clients, running, component, which),
      deploymentStatus: (deploymentId) => deploymentView(clients, deploymentId),
      alarms: (component) => componentAlarms(clients, component),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
