import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { buildRelease, type Component, randomSha } from "../../e2e/support/reference-builds.ts";
import { type AwsClients, awsClients } from "../../e2e/support/reference-deployments.ts";
import { defaultConfig, ENVIRONMENT_NAMES, type EnvironmentName } from "../../infra/lib/config.ts";
import { synthesize } from "../../infra/lib/synthesize.ts";
import { startBroker } from "../../reference-app/api/src/broker.ts";
import { createProcessRuntime } from "../../sim/data/runtime.ts";
import type { StandIns } from "../../sim/data/stand-ins.ts";
import { type Simulator, startSimulator } from "../../sim/simulator.ts";
import { ensureBaseImage, nodeBase } from "../../test/support/base-images.ts";
import { startLocalRegistry } from "../../test/support/local-registry.ts";
import { startPostgres } from "../../test/support/postgres.ts";
import { repositoryRoot, runAction } from "../../test/support/run-action.ts";
import type { AddressMap } from "./local-network.ts";

/**
 * The AWS side of the reference pipeline, locally: a registry (Debian's docker-registry) playing the shared ECR
 * account, and the simulator provisioned from infra's synthesized templates (shared, dev, staging, prod) running the
 * reference app's real images as processes, with PostgreSQL (one database per environment) for RDS and an MQTT
 * broker for IoT Core. Every environment starts on a baseline release v0, built from this source and promoted
 * dev → staging → prod the way the pipeline does it, so the pipeline's first run is a real blue/green from v0 to the
 * commit.
 */

export const components: Component[] = ["api", "web"];
export const environments: EnvironmentName[] = [...ENVIRONMENT_NAMES];

export interface LocalPlatform {
  registry: string;
  simulator: Simulator;
  /** The baseline release every service runs after provisioning. */
  v0: string;
  baseImage: string;
  clients: AwsClients;
  /** What configure-aws-credentials exports locally. */
  awsEnv: Record<string, string>;
  /** Load balancer DNS names and production URLs → the simulated listeners' local URLs. */
  addressMap: AddressMap;
  /** Local URL of a component's production listener in an environment. */
  productionUrl(environment: EnvironmentName, component: Component): string;
  /** What was started, to prove it is stopped: the registry, the simulator endpoint, the listeners. */
  endpoints(): string[];
  /** Stops the simulator and its tasks, the broker, PostgreSQL and the registry; deletes the work folder. Idempotent. */
  stop(): Promise<void>;
}

export const resourceName = (environment: EnvironmentName, component: Component) =>
  `valmetal-${environment}-${component}`;

/** The production hostname of a component, as infra names it (`<component>.<domainName>`). */
function productionHosts(environment: EnvironmentName, component: Component): string[] {
  return [`${component}.${defaultConfig().environments[environment].domainName}`];
}

export async function startLocalPlatform(options: {
  timeScale: number;
  log: (line: string) => void;
}): Promise<LocalPlatform> {
  const { log } = options;
  await mkdir(join(repositoryRoot, ".tmp"), { recursive: true });
  const work = await mkdtemp(join(repositoryRoot, ".tmp", "local-pipeline-platform-"));
  const cleanups: Array<[string, () => Promise<void>]> = [
    ["work folder", () => rm(work, { recursive: true, force: true })],
  ];
  const stop = async () => {
    for (const [what, cleanup] of cleanups.reverse()) {
      await cleanup().catch((error) => log(`stopping ${what}: ${error}`));
      log(`stopped ${what}`);
    }
    cleanups.length = 0;
  };
  try {
    const registry = await startLocalRegistry("pipeline");
    cleanups.push([`registry ${registry.address}`, () => registry.stop()]);
    log(`registry ${registry.address} (plays the shared account's ECR)`);
    const baseImage = await ensureBaseImage(nodeBase);
    log(`base image ${baseImage} (stand-in for the public node:24-slim)`);

    const v0 = randomSha();
    for (const component of components) {
      await buildRelease({
        registry: registry.address,
        baseImage,
        component,
        sha: v0,
        workDir: work,
        log,
      });
      for (const [from, to] of [
        ["dev", "staging"],
        ["staging", "prod"],
      ] as const) {
        const promoted = await runAction("actions/build-push", {
          inputs: {
            repository: `${registry.address}/valmetal/${component}`,
            environment: to,
            sha: v0,
            "promote-from": from,
          },
        });
        if (promoted.exitCode !== 0)
          throw new Error(`promoting ${component} v0 to ${to} failed:\n${promoted.log}`);
      }
      log(`baseline v0 ${v0.slice(0, 8)} of ${component}: dev, staging, prod tags`);
    }

    const postgres = await startPostgres({ database: "valmetal_dev" });
    cleanups.push(["PostgreSQL", () => postgres.stop()]);
    for (const environment of environments.filter((name) => name !== "dev"))
      await postgres.sql(`CREATE DATABASE valmetal_${environment}`);
    const broker = await startBroker(0);
    cleanups.push(["MQTT broker", async () => broker.close()]);

    const synthesis = synthesize({ outdir: join(work, "cdk.out"), context: { version: v0 } });
    let simulator: Simulator | undefined;
    const listenerOf = (environment: EnvironmentName, component: Component, port: number) => {
      const state = simulator?.sim.state;
      const balancer = Object.values(state?.loadBalancers ?? {}).find(
        (candidate) => candidate.loadBalancerName === resourceName(environment, component),
      );
      return Object.values(state?.listeners ?? {}).find(
        (listener) => listener.loadBalancerArn === balancer?.loadBalancerArn && listener.port === port,
      );
    };
    const productionUrl = (environment: EnvironmentName, component: Component) => {
      const listener = listenerOf(environment, component, 443);
      const url = listener ? simulator?.runtime.listenerUrl(listener.listenerArn) : undefined;
      if (!url) throw new Error(`no production listener for ${resourceName(environment, component)}`);
      return url;
    };
    const environmentOf = (family: string) =>
      environments.find((name) => family.startsWith(`valmetal-${name}-`));
    const standIns: StandIns = {
      byContainer: {
        api: {
          DATABASE_HOST: postgres.host,
          DATABASE_PORT: String(postgres.port),
          DATABASE_USER: postgres.user,
          DATABASE_PASSWORD: postgres.password,
          DATABASE_SSL: "false",
          MQTT_URL: broker.url,
        },
        "*": { LOG_LEVEL: "warn" },
      },
      resolve: (container): Record<string, string> | undefined => {
        const environment = environmentOf(container.family);
        if (!environment) return undefined;
        if (container.containerName === "api") return { DATABASE_NAME: `valmetal_${environment}` };
        if (container.containerName === "web") {
          const listener = listenerOf(environment, "api", 443);
          const url = listener ? simulator?.runtime.listenerUrl(listener.listenerArn) : undefined;
          return url ? { API_URL: url } : undefined;
        }
        return undefined;
      },
    };
    simulator = await startSimulator({
      timeScale: options.timeScale,
      templates: [synthesis.templates.shared, ...environments.map((name) => synthesis.templates[name])],
      settings: { registry: registry.address },
      log,
      runtime: (context) =>
        createProcessRuntime(context, {
          imageCacheDir: join(work, "images"),
          taskWorkDir: join(work, "tasks"),
          standIns,
        }),
    });
    const running = simulator;
    cleanups.push([`simulator ${running.endpoint} and its tasks`, () => running.stop()]);
    const clients = awsClients(running);
    cleanups.push([
      "AWS SDK clients",
      async () => {
        for (const client of Object.values(clients)) client.destroy();
      },
    ]);
    log(
      `simulator ${running.endpoint}: templates shared, ${environments.join(", ")} at time scale ${options.timeScale}`,
    );

    const addressMap: AddressMap = {};
    for (const balancer of Object.values(running.sim.state.loadBalancers))
      for (const listener of Object.values(running.sim.state.listeners))
        if (listener.loadBalancerArn === balancer.loadBalancerArn) {
          const url = running.runtime.listenerUrl(listener.listenerArn);
          if (!url) continue;
          addressMap[`https://${balancer.dnsName}:${listener.port}`] = url;
          addressMap[`http://${balancer.dnsName}:${listener.port}`] = url;
        }
    for (const environment of environments)
      for (const component of components)
        for (const host of productionHosts(environment, component))
          addressMap[`https://${host}`] = productionUrl(environment, component);

    return {
      registry: registry.address,
      simulator: running,
      v0,
      baseImage,
      clients,
      awsEnv: {
        AWS_ENDPOINT_URL: running.endpoint,
        AWS_REGION: running.sim.state.settings.region,
        AWS_ACCESS_KEY_ID: "local-simulator",
        AWS_SECRET_ACCESS_KEY: "local-simulator",
      },
      addressMap,
      productionUrl,
      endpoints: () => [
        `http://${registry.address}/v2/`,
        running.endpoint,
        ...new Set(Object.values(addressMap)),
      ],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
