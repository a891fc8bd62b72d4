#!/usr/bin/env node
import { parseArgs } from "node:util";
import { memoryRuntime } from "./control/memory-runtime.ts";
import type { RuntimeFactory } from "./control/runtime.ts";
import { startSimulator } from "./simulator.ts";

/**
 * sim start [--template F ...] [--port N] [--time-scale N] [--state-file F] [--registry host:port]
 *           [--runtime memory|process] [--alarm-poll-seconds N] [--hook-timeout-minutes N] [--install-timeout-minutes N]
 *           [--region R] [--account-id A] [--parameter Key=Value ...] [--stand-in [container:]NAME=VALUE ...]
 * sim status [--endpoint URL]
 */

const usage = `usage:
  sim start [--template FILE]... [--port 4566] [--time-scale 1] [--state-file FILE] [--registry HOST:PORT]
            [--runtime memory|process] [--alarm-poll-seconds 60] [--hook-timeout-minutes 60]
            [--install-timeout-minutes 60] [--region ca-central-1] [--account-id 123456789012] [--parameter K=V]...
            [--stand-in [container:]NAME=VALUE]...   (process runtime: local stand-ins for RDS, secrets, IoT …)
  sim status [--endpoint http://127.0.0.1:4566]`;

async function processRuntime(standIns: string[]): Promise<RuntimeFactory> {
  const { createProcessRuntime } = await import("./data/runtime.ts");
  const { parseStandIns } = await import("./data/stand-ins.ts");
  const parsed = parseStandIns(standIns);
  return (context) =>
    createProcessRuntime(context, {
      imageCacheDir: ".tmp/sim/images",
      taskWorkDir: ".tmp/sim/tasks",
      standIns: parsed,
    });
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      template: { type: "string", multiple: true },
      port: { type: "string", default: "4566" },
      "time-scale": { type: "string", default: "1" },
      "state-file": { type: "string" },
      registry: { type: "string" },
      runtime: { type: "string", default: "memory" },
      "alarm-poll-seconds": { type: "string" },
      "hook-timeout-minutes": { type: "string" },
      "install-timeout-minutes": { type: "string" },
      region: { type: "string" },
      "account-id": { type: "string" },
      parameter: { type: "string", multiple: true },
      "stand-in": { type: "string", multiple: true },
      quiet: { type: "boolean", default: false },
    },
  });
  const settings: Record<string, unknown> = {};
  const numeric = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  if (values.registry) settings.registry = values.registry;
  if (values.region) settings.region = values.region;
  if (values["account-id"]) settings.accountId = values["account-id"];
  if (values["alarm-poll-seconds"])
    settings.codeDeployAlarmPollSeconds = numeric(values["alarm-poll-seconds"]);
  if (values["hook-timeout-minutes"]) settings.hookTimeoutMinutes = numeric(values["hook-timeout-minutes"]);
  if (values["install-timeout-minutes"])
    settings.installTimeoutMinutes = numeric(values["install-timeout-minutes"]);
  const parameters = Object.fromEntries(
    (values.parameter ?? []).map((item) => item.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  if (values["stand-in"]?.length && values.runtime !== "process")
    throw new Error("--stand-in needs --runtime process: the memory runtime runs no processes");
  const runtime =
    values.runtime === "process" ? await processRuntime(values["stand-in"] ?? []) : memoryRuntime();
  const simulator = await startSimulator({
    port: Number(values.port),
    timeScale: Number(values["time-scale"]),
    stateFile: values["state-file"],
    templates: values.template ?? [],
    parameters,
    settings,
    runtime,
    log: values.quiet ? () => undefined : (line) => console.log(line),
  });
  console.log(`sim: endpoint ${simulator.endpoint}   (export AWS_ENDPOINT_URL=${simulator.endpoint})`);
  console.log(`sim: admin    ${simulator.admin}/state`);
  console.log(`sim: clock    ${new Date(simulator.clock.now()).toISOString()} at ${simulator.clock.scale}x`);
  for (const listener of Object.values(simulator.sim.state.listeners)) {
    const url = simulator.runtime.listenerUrl(listener.listenerArn) ?? "(not served by this runtime)";
    console.log(`sim: listener :${listener.port} ${url}  ${listener.listenerArn}`);
  }
  if (simulator.sim.state.unmodelled.length) {
    console.log(
      `sim: ${simulator.sim.state.unmodelled.length} template resources accepted but not modelled (see /_sim/state)`,
    );
  }
  const shutdown = async () => {
    await simulator.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

async function status(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { endpoint: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:4566";
  const response = await fetch(`${endpoint}/_sim/state`);
  // biome-ignore lint/suspicious/noExplicitAny: the admin state document
  const state = (await response.json()) as any;
  if (values.json) return console.log(JSON.stringify(state, null, 2));
  console.log(`clock ${state.now} at ${state.scale}x — ${state.endpoint}`);
  console.log("\nservices");
  for (const service of state.services) {
    console.log(
      `  ${service.serviceArn.split(":service/")[1]}  ${service.status}  ${service.runningCount}/${service.desiredCount}  ${service.deploymentController}`,
    );
    for (const set of service.taskSets) {
      console.log(
        `    ${set.status.padEnd(8)} ${set.stabilityStatus.padEnd(13)} ${set.taskDefinition.split("/").pop()}${set.externalId ? `  (${set.externalId})` : ""}`,
      );
    }
  }
  console.log("\nlisteners");
  for (const listener of state.listeners) {
    const weights = listener.weights
      .map((item: { targetGroup: string; weight: number }) => `${item.targetGroup}=${item.weight}`)
      .join(" ");
    console.log(`  :${listener.port}  ${weights}  ${listener.url ?? ""}`);
  }
  console.log("\ndeployments");
  for (const deployment of state.deployments.slice(-10)) {
    console.log(
      `  ${deployment.deploymentId}  ${deployment.status.padEnd(10)} ${deployment.stage.padEnd(16)} green ${deployment.greenWeight}%  ${deployment.applicationName}/${deployment.deploymentGroupName}${deployment.errorInformation ? `  ${deployment.errorInformation.code}` : ""}`,
    );
  }
  console.log("\nalarms");
  for (const alarm of state.alarms)
    console.log(`  ${alarm.StateValue.padEnd(17)} ${alarm.AlarmName}${alarm.held ? " (held)" : ""}`);
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<void>> = { start, status };
const run = command ? commands[command] : undefined;
if (!run) {
  console.error(usage);
  process.exit(command ? 2 : 0);
} else {
  run(rest).catch((error: unknown) => {
    console.error(`sim ${command}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  });
}
