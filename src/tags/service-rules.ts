import type { ClusterSnapshot, FindingResource } from "./model.ts";
import {
  environmentKey,
  missingKeys,
  type RuleContext,
  revisionName,
  shortSha,
  userTags,
  versionKey,
} from "./rule-context.ts";
import { revisionVersion, type ServiceState } from "./service-state.ts";

/** `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` (the short format has no cluster). */
const longServiceArn = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service\/[^/]+\/[^/]+$/;
/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`. */
export const longTaskArn = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/[^/]+\/[^/]+$/;

/** The rollback events that make CodeDeploy roll back on its own. */
const rollbackEvents = ["DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_FAILURE"];

/** TAG005–TAG008, TAG015, TAG016 (service ARN) and TAG017 on one service. */
export function checkService(context: RuleContext, state: ServiceState): void {
  const { emit, options, snapshot } = context;
  const { service } = state;
  const resource: FindingResource = {
    clusterName: service.clusterName,
    serviceName: service.name,
    arn: service.arn,
  };

  if (options.expectedSha) {
    const primary = state.primary;
    const version = primary ? revisionVersion(snapshot, primary) : undefined;
    emit(
      "TAG005",
      version === options.expectedSha,
      primary ? { ...resource, taskDefinitionArn: primary } : resource,
      !primary
        ? "the service has no PRIMARY revision"
        : version === undefined
          ? `PRIMARY revision ${revisionName(primary)} has no Version tag`
          : version === options.expectedSha
            ? `PRIMARY revision ${revisionName(primary)} runs ${shortSha(version)}`
            : `PRIMARY revision ${revisionName(primary)} runs ${shortSha(version)}, expected ${shortSha(options.expectedSha)}`,
    );
  }

  emit(
    "TAG006",
    service.propagateTags === "TASK_DEFINITION",
    resource,
    service.propagateTags === "TASK_DEFINITION"
      ? "propagateTags TASK_DEFINITION"
      : service.propagateTags === "SERVICE"
        ? "propagateTags SERVICE: tasks get the service's tags, not the revision's Version; set TASK_DEFINITION"
        : `propagateTags ${service.propagateTags || "NONE"}: tasks get no tags from their task definition; set TASK_DEFINITION`,
  );

  emit(
    "TAG007",
    service.enableECSManagedTags,
    resource,
    service.enableECSManagedTags
      ? "enableECSManagedTags true"
      : "enableECSManagedTags false: tasks carry no aws:ecs:clusterName / aws:ecs:serviceName",
  );

  const serviceKeys = options.requiredTagKeys.filter((key) => key !== versionKey);
  const missing = missingKeys(service.tags, serviceKeys);
  emit(
    "TAG008",
    missing.length === 0,
    resource,
    serviceKeys.length === 0
      ? "no required tag keys configured"
      : missing.length === 0
        ? `${serviceKeys.join(", ")} present`
        : missing.join("; "),
  );

  oneShaPerService(context, state, resource);

  emit(
    "TAG016",
    longServiceArn.test(service.arn),
    resource,
    longServiceArn.test(service.arn)
      ? "long ARN format"
      : `${service.arn} is in the short ARN format: tags cannot be set on it; opt in to serviceLongArnFormat and recreate the service`,
  );

  rollbackOnAlarm(context, state, resource);
}

/** TAG015: outside a deployment exactly one commit runs; during one (two task sets or deployments) at most two. */
function oneShaPerService(context: RuleContext, state: ServiceState, resource: FindingResource) {
  const versions = new Map<string, number>();
  let draining = 0;
  for (const task of state.tasks) {
    if (state.drainingTasks.has(task.arn)) {
      draining += 1;
      continue;
    }
    const version = revisionVersion(context.snapshot, task.taskDefinitionArn) ?? "(no Version)";
    versions.set(version, (versions.get(version) ?? 0) + 1);
  }
  const allowed = state.inDeployment ? 2 : 1;
  const list = [...versions]
    .map(
      ([version, tasks]) =>
        `${version === "(no Version)" ? version : shortSha(version)} (${tasks} task${tasks === 1 ? "" : "s"})`,
    )
    .join(", ");
  const drainingNote = draining ? `; ${draining} draining task${draining === 1 ? "" : "s"} not counted` : "";
  const phase = state.inDeployment
    ? "during a deployment, at most 2 allowed"
    : "no deployment in progress, 1 allowed";
  context.emit(
    "TAG015",
    versions.size <= allowed && !versions.has("(no Version)"),
    resource,
    versions.size === 0
      ? `no running tasks${drainingNote}`
      : `${versions.size} commit${versions.size === 1 ? "" : "s"} running: ${list} (${phase})${drainingNote}`,
  );
}

/** TAG017: CodeDeploy blue/green with automatic rollback on alarm and at least one alarm. */
function rollbackOnAlarm(context: RuleContext, state: ServiceState, resource: FindingResource) {
  const { service } = state;
  const group = service.deploymentGroup;
  const problems: string[] = [];
  if (service.deploymentController !== "CODE_DEPLOY") {
    problems.push(`deploymentController ${service.deploymentController}, not CODE_DEPLOY`);
  }
  if (!group) {
    problems.push("no CodeDeploy deployment group deploys this service");
  } else {
    if (!group.autoRollbackEnabled) problems.push("automatic rollback is off");
    else if (!group.autoRollbackEvents.some((event) => rollbackEvents.includes(event))) {
      problems.push(
        `rollback events ${group.autoRollbackEvents.join(", ") || "(none)"} include neither ${rollbackEvents.join(" nor ")}`,
      );
    }
    if (!group.alarmsEnabled) problems.push("alarm monitoring is off");
    else if (group.alarmNames.length === 0) problems.push("alarm monitoring has no alarms");
  }
  const name = group ? `${group.applicationName}/${group.deploymentGroupName}` : "";
  context.emit(
    "TAG017",
    problems.length === 0,
    resource,
    problems.length === 0
      ? `${name}: rollback on ${group?.autoRollbackEvents.join(", ")}, ${group?.alarmNames.length} alarm${group?.alarmNames.length === 1 ? "" : "s"}`
      : `${name ? `${name}: ` : ""}${problems.join("; ")}`,
  );
}

/** TAG009: the cluster is tagged (with Environment when it is required) and Container Insights is on. */
export function checkCluster(context: RuleContext, cluster: ClusterSnapshot): void {
  const problems: string[] = [];
  const tags = userTags(cluster.tags);
  if (tags.length === 0) problems.push("no tags");
  else if (context.options.requiredTagKeys.includes(environmentKey)) {
    problems.push(...missingKeys(cluster.tags, [environmentKey]));
  }
  const insights = cluster.containerInsights;
  if (insights !== "enabled" && insights !== "enhanced") {
    problems.push(`Container Insights ${insights ?? "not set"}`);
  }
  context.emit(
    "TAG009",
    problems.length === 0,
    { clusterName: cluster.name, arn: cluster.arn },
    problems.length === 0
      ? `${tags.length} tag${tags.length === 1 ? "" : "s"}, Container Insights ${insights}`
      : problems.join("; "),
  );
}
