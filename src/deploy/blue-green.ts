import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  type CodeDeployClient,
  CreateDeploymentCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
} from "@aws-sdk/client-codedeploy";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Clock } from "../clock.ts";
import { registerOrReuse, type TaskDefinitionRevision } from "../ecs/register.ts";
import { ToolkitError } from "../errors.ts";
import type { Reporter } from "../report/reporter.ts";
import { AlarmWatch, type InsufficientDataPolicy } from "./alarm-watch.ts";
import { appSpecFromFile, appSpecFromService, appSpecRevision, type LifecycleHook } from "./appspec.ts";
import { describeService, groupAlarms, resolveDeploymentGroup } from "./deployment-target.ts";
import type { PreparedRevision, RevisionOptions } from "./revision.ts";
import { runSmokeChecks, type SmokeCheck } from "./smoke.ts";
import { testListenerUrl } from "./test-listener.ts";
import { Timeline } from "./timeline.ts";
import { type DeploymentOutcome, watchDeployment } from "./watch.ts";

/** A blue/green deployment through CodeDeploy of a revision prepared by prepareRevision. */
export interface BlueGreenOptions extends RevisionOptions {
  application?: string;
  deploymentGroup?: string;
  deploymentConfig?: string;
  description?: string;
  appSpec?: { text: string; source: string };
  hooks: Partial<Record<LifecycleHook, string>>;
  alarms: string[];
  useGroupAlarms: boolean;
  insufficientData: InsufficientDataPolicy;
  smokeChecks: SmokeCheck[];
  testListenerUrl?: string;
  bakeMs: number;
  timeoutMs: number;
  rollbackOnStop: boolean;
  /** An active deployment on the group: follow it to its end first, or fail. */
  whenBusy: "wait" | "fail";
  pollMs: { active: number; waiting: number; floor: number };
  rollbackTimeoutMs: number;
  signal?: AbortSignal;
}

export interface BlueGreenDependencies {
  ecs: ECSClient;
  codedeploy: CodeDeployClient;
  cloudwatch: CloudWatchClient;
  elb: ElasticLoadBalancingV2Client;
  clock: Clock;
  reporter: Reporter;
  /** Called as soon as the deployment exists, so a post step can stop it if the job is cancelled. */
  onDeploymentCreated?: (deploymentId: string) => void;
  fetch?: typeof fetch;
}

export interface BlueGreenResult {
  application: string;
  deploymentGroup: string;
  taskDefinition: TaskDefinitionRevision;
  previousTaskDefinition: string;
  deploymentId: string;
  outcome: DeploymentOutcome;
  alarms: string[];
  durationMs: number;
}

export class DeploymentBusyError extends ToolkitError {}

const activeStatuses = ["Created", "Queued", "InProgress", "Ready", "Baking"] as const;

async function waitUntilIdle(
  options: BlueGreenOptions,
  deps: BlueGreenDependencies,
  application: string,
  group: string,
): Promise<void> {
  const deadline = deps.clock.now().getTime() + options.timeoutMs;
  for (;;) {
    const listed = await deps.codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: application,
        deploymentGroupName: group,
        includeOnlyStatuses: [...activeStatuses],
      }),
    );
    const active = listed.deployments?.[0];
    if (!active) return;
    const info = (await deps.codedeploy.send(new GetDeploymentCommand({ deploymentId: active })))
      .deploymentInfo;
    const message = `deployment ${active} is ${info?.status ?? "active"} on ${application}/${group}`;
    if (options.whenBusy === "fail") {
      throw new DeploymentBusyError(
        `${message}; CodeDeploy runs one deployment per group — wait for it, stop it (aws deploy stop-deployment --deployment-id ${active}), or set when-busy: wait`,
      );
    }
    if (deps.clock.now().getTime() > deadline)
      throw new DeploymentBusyError(`${message} and did not end in time`);
    deps.reporter.info(`${message}: waiting for it to end`);
    await deps.clock.sleep(Math.max(options.pollMs.floor, options.pollMs.waiting), options.signal);
  }
}

/**
 * A CodeDeploy blue/green deployment of one ECS service: the prepared revision (service read, task definition
 * rendered and validated), then the deployment group, alarms and an active deployment are checked, then the revision is registered (or reused for this
 * commit), the deployment created from an AppSpec generated from the live service, and watched to its end.
 */
export async function deployBlueGreen(
  options: BlueGreenOptions,
  prepared: PreparedRevision,
  deps: BlueGreenDependencies,
): Promise<BlueGreenResult> {
  const { clock, reporter } = deps;
  const started = clock.now().getTime();
  const { service, previousTaskDefinition, rendered } = prepared;
  if (service.deploymentController?.type !== "CODE_DEPLOY") {
    throw new ToolkitError(
      `service ${options.service} uses the ${service.deploymentController?.type ?? "ECS"} deployment controller; blue/green needs CODE_DEPLOY (or deploy it with mode: rolling)`,
    );
  }
  const group = await resolveDeploymentGroup(deps.codedeploy, options.cluster, options.service, {
    ...(options.application ? { application: options.application } : {}),
    ...(options.deploymentGroup ? { group: options.deploymentGroup } : {}),
  });
  const alarmNames = [
    ...new Set([...(options.useGroupAlarms ? groupAlarms(group.info) : []), ...options.alarms]),
  ];
  const alarms = new AlarmWatch(deps.cloudwatch, alarmNames, options.insufficientData);
  if (alarmNames.length) await alarms.verifyExist();
  const smokeUrl = options.smokeChecks.length
    ? (options.testListenerUrl ?? (await testListenerUrl(deps.elb, group.info)))
    : undefined;
  await waitUntilIdle(options, deps, group.application, group.group);

  const taskDefinition = await registerOrReuse(deps.ecs, rendered, options.sha);
  reporter.info(
    `${taskDefinition.reused ? "Reusing" : "Registered"} ${taskDefinition.arn} for commit ${options.sha}`,
  );
  const appSpec = options.appSpec
    ? appSpecFromFile(options.appSpec.text, options.appSpec.source, taskDefinition.arn)
    : appSpecFromService(service, taskDefinition.arn, options.hooks);
  const created = await deps.codedeploy.send(
    new CreateDeploymentCommand({
      applicationName: group.application,
      deploymentGroupName: group.group,
      ...(options.deploymentConfig ? { deploymentConfigName: options.deploymentConfig } : {}),
      description:
        options.description ?? `${options.tags.Component} ${options.sha} (${options.tags.Environment})`,
      revision: appSpecRevision(appSpec),
    }),
  );
  const deploymentId = created.deploymentId as string;
  deps.onDeploymentCreated?.(deploymentId);
  reporter.info(`Created deployment ${deploymentId} on ${group.application}/${group.group}`);

  const timeline = new Timeline((entry) => reporter.info(`${entry.at.toISOString()}  ${entry.text}`));
  const outcome = await reporter.group(`Watching ${deploymentId}`, () =>
    watchDeployment(
      {
        deploymentId,
        ...(alarmNames.length ? { alarms } : {}),
        ...(smokeUrl
          ? {
              smokeTest: () =>
                runSmokeChecks({
                  baseUrl: smokeUrl,
                  checks: options.smokeChecks,
                  attempts: 5,
                  clock,
                  ...(deps.fetch ? { fetch: deps.fetch } : {}),
                }),
            }
          : {}),
        bakeMs: options.bakeMs,
        timeoutMs: options.timeoutMs,
        rollbackOnStop: options.rollbackOnStop,
        pollMs: options.pollMs,
        rollbackTimeoutMs: options.rollbackTimeoutMs,
        verifyBlue: async () =>
          (await describeService(deps.ecs, options.cluster, options.service)).taskDefinition ===
          previousTaskDefinition,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      { codedeploy: deps.codedeploy, clock, timeline },
    ),
  );
  return {
    application: group.application,
    deploymentGroup: group.group,
    taskDefinition,
    previousTaskDefinition,
    deploymentId,
    outcome,
    alarms: alarmNames,
    durationMs: clock.now().getTime() - started,
  };
}
