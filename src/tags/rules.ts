import type {
  AccountSnapshot,
  CheckOptions,
  Finding,
  RuleDefinition,
  RuleOverride,
  Severity,
  TaskSnapshot,
} from "./model.ts";
import { checkRevisions } from "./revision-rules.ts";
import type { Emit, RuleContext, Subject } from "./rule-context.ts";
import { checkCluster, checkService } from "./service-rules.ts";
import { serviceStates } from "./service-state.ts";
import { checkTasks } from "./task-rules.ts";

/** The keys deploy-ecs sets on every task definition; what `required-tag-keys` defaults to. */
export const defaultRequiredTagKeys = ["Environment", "Application", "Component", "Version"];

/**
 * The rules, in the order the report lists them. Ids are stable: overrides, SARIF results and README anchors
 * (`#tag001`) refer to them.
 */
export const ruleDefinitions: RuleDefinition[] = [
  {
    id: "TAG001",
    title: "Task definitions carry the required tags",
    severity: "error",
    anchor: "Security Hub ECS.15; AWS Config required-tags",
    description:
      "Every revision a service deploys (its PRIMARY and ACTIVE task sets or deployments) and every revision a running task uses carries each required tag key (default Environment, Application, Component, Version), spelled in exactly that case. Without them nothing ties a running task to a commit, a component or an environment. Fix: register the task definition with the tags (deploy-ecs does), and redeploy.",
  },
  {
    id: "TAG002",
    title: "Tag values are set, keys are exact, Environment is allowed",
    severity: "error",
    anchor: "AWS Config required-tags (tag values)",
    description:
      "The required tags have non-empty values, no key exists in a second spelling that differs only in case (`version` next to `Version`: AWS treats them as two tags), and Environment is one of the allowed environments and equals the expected environment when those inputs are set. Fix: correct the tags in the task definition file and redeploy.",
  },
  {
    id: "TAG003",
    title: "Version is a full commit SHA",
    severity: "error",
    anchor: "new",
    description:
      "The Version tag is a full 40-character lowercase hex git SHA, not a short SHA, a branch or a semantic version: only a full SHA names one commit for ever. Fix: pass `github.sha` to deploy-ecs.",
  },
  {
    id: "TAG004",
    title: "Image tags are <environment>-<sha> and match Version and Environment",
    severity: "error",
    anchor: "new",
    description:
      "Every container image is referenced by the tag `<environment>-<40-hex sha>`, its SHA equals the revision's Version and its prefix equals its Environment, so git SHA, image tag and revision name the same commit. An image pinned only by digest (`repo@sha256:…`) has no tag to compare: it passes when the reader resolved the digest to such a tag, and otherwise fails as a warning. Fix: deploy the image build-push output (`<repository>:<environment>-<sha>`).",
  },
  {
    id: "TAG005",
    title: "The PRIMARY revision runs the expected commit",
    severity: "error",
    anchor: "new",
    description:
      "When `expected-sha` is set, the Version of each service's PRIMARY revision (PRIMARY task set, or PRIMARY deployment for the ECS controller) equals it: the commit that was meant to be deployed is the one serving. During a blue/green deployment the replacement task set is not yet PRIMARY, so this fails until traffic has shifted. Fix: deploy the expected commit, or check after the deployment finished.",
  },
  {
    id: "TAG006",
    title: "Services propagate the task definition's tags",
    severity: "error",
    anchor: "none elsewhere",
    description:
      "The service's `propagateTags` is `TASK_DEFINITION`, so every task it starts carries its revision's tags, Version included. `NONE` (the default, and CDK's) leaves tasks untagged; `SERVICE` copies the service's tags, which carry no Version. Fix: set `propagateTags: TASK_DEFINITION` in the infrastructure (the official deploy action ignores it on the CodeDeploy path); tags are copied when a task starts, so redeploy to re-tag running tasks.",
  },
  {
    id: "TAG007",
    title: "Services enable ECS managed tags",
    severity: "error",
    anchor: "none elsewhere",
    description:
      "The service's `enableECSManagedTags` is true, so ECS tags each task with `aws:ecs:clusterName` and `aws:ecs:serviceName`, which cost reports and TAG011 rely on. Fix: set `enableECSManagedTags: true` (it needs propagateTags set) and redeploy.",
  },
  {
    id: "TAG008",
    title: "Services are tagged",
    severity: "error",
    anchor: "Security Hub ECS.13",
    description:
      "The service carries the required keys except Version (a service outlives commits): by default Environment, Application and Component. Fix: add the tags to the service in the infrastructure.",
  },
  {
    id: "TAG009",
    title: "Clusters are tagged and run Container Insights",
    severity: "warning",
    anchor: "Security Hub ECS.14, ECS.12; AwsSolutions-ECS4; CKV_AWS_65",
    description:
      "The cluster has tags (Environment among them when it is required) and Container Insights `enabled` or `enhanced`. A warning: it is account hygiene and observability, not traceability of what runs. Fix: tag the cluster and enable Container Insights, or downgrade the rule with a reason if metrics are collected elsewhere.",
  },
  {
    id: "TAG010",
    title: "Running tasks carry their task definition's tags",
    severity: "error",
    anchor: "Cloud Custodian ecs-task (values only)",
    description:
      "Every running task carries every user tag of its task definition (not `aws:` tags) with the same key, in the same case, and the same value; a `version` tag does not stand for `Version`, and the detail says so. This is what proves what a task runs: task definition tags alone do not reach a task started while propagation was off. Fix: set propagateTags TASK_DEFINITION (TAG006) and redeploy so new tasks replace the untagged ones.",
  },
  {
    id: "TAG011",
    title: "Running tasks carry the right managed tags",
    severity: "error",
    anchor: "ECS docs (managed tags)",
    description:
      "Every running task has `aws:ecs:clusterName` equal to its cluster and, if it belongs to a service, `aws:ecs:serviceName` equal to that service; a standalone task (RunTask) must not claim a service. Fix: enable ECS managed tags on the service (TAG007) and redeploy.",
  },
  {
    id: "TAG012",
    title: "No stale or deregistered revisions run",
    severity: "error",
    anchor: "new",
    description:
      "Each running task of a service runs one of the revisions the service deploys now: its PRIMARY and ACTIVE task sets (both during a blue/green deployment) or deployments. Tasks of a DRAINING task set pass while they drain. A task running an INACTIVE (deregistered) revision fails here even when the service still deploys it, and the detail says so: that revision can no longer be redeployed or audited as registered. Standalone tasks have no service and are not checked. Fix: stop the stale tasks or redeploy the service.",
  },
  {
    id: "TAG013",
    title: "One ACTIVE revision per commit in a family",
    severity: "error",
    anchor: "new",
    description:
      "Within a task definition family no two ACTIVE revisions carry the same Version, so a commit maps to one revision and back. Fix: deregister the duplicate revisions; deploy-ecs reuses the revision registered for a commit instead of registering another.",
  },
  {
    id: "TAG014",
    title: "Image tags are immutable and run the registry's digest",
    severity: "error",
    anchor: "Security Hub ECR.2; AWS Config ecr-private-tag-immutability-enabled; CKV_AWS_51",
    description:
      "An image tag never appears with two Versions across the revisions read, its repository's tag mutability is IMMUTABLE (IMMUTABLE_WITH_EXCLUSION passes and is named in the detail), and the digest each running container reports equals the digest the registry holds for the tag today (or the pinned digest). An image the registry would not show is reported with the reason as a warning, not a crash. Fix: make the repository IMMUTABLE and redeploy images by their commit tag.",
  },
  {
    id: "TAG015",
    title: "One commit per service (two during a deployment)",
    severity: "error",
    anchor: "new",
    description:
      "Outside a deployment the running tasks of a service all run one commit (one Version); during a blue/green deployment (two live task sets, or a CodeDeploy deployment in progress) or an ECS rolling deployment, at most two. Tasks of DRAINING task sets are not counted; a running revision without Version counts as a failure. Fix: let the deployment finish, or redeploy one commit.",
  },
  {
    id: "TAG016",
    title: "Service and task ARNs are in the long format",
    severity: "warning",
    anchor: "ECS account settings serviceLongArnFormat, taskLongArnFormat",
    description:
      "Service ARNs are `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` and task ARNs `…:task/<cluster>/<id>`; the short formats (`service/<name>`, `task/<id>`) cannot carry tags at all. A warning: every account created since 2021 has the long format, and the tag rules already fail where it matters. Fix: opt in to the long ARN formats; services must be recreated to change format.",
  },
  {
    id: "TAG017",
    title: "Deployments roll back on alarm",
    severity: "warning",
    anchor: "AWS Config codedeploy-auto-rollback-monitor-enabled",
    description:
      "The service's deployment controller is CODE_DEPLOY and its deployment group has automatic rollback on (on DEPLOYMENT_STOP_ON_ALARM or DEPLOYMENT_FAILURE) and alarm monitoring on with at least one alarm; a service with no deployment group fails. A warning: it guards deployments, not traceability, and rolling services (ECS controller) choose another safety net: downgrade or disable it with a reason for them. Fix: configure the deployment group's autoRollbackConfiguration and alarmConfiguration.",
  },
  {
    id: "TAG018",
    title: "No latest images; images from allowed sources",
    severity: "error",
    anchor: "ECR hygiene",
    description:
      "No container image is referenced by `latest` or without any tag or digest (which means latest), and when `allowed-images` is set, each image's `<registry>/<repository>` is one of its entries or under one (whole path components). Fix: reference the commit's tag from an allowed repository.",
  },
];

const definitions = new Map(ruleDefinitions.map((rule) => [rule.id, rule]));

/**
 * Runs every rule over a snapshot. Pure: one finding per rule per resource it applies to, passed or not, with the
 * severity after overrides; disabled rules produce none.
 */
export function evaluate(snapshot: AccountSnapshot, options: CheckOptions): Finding[] {
  const findings: Finding[] = [];
  const overrides = new Map<string, RuleOverride>(
    options.overrides.map((override) => [override.ruleId, override]),
  );
  const emit: Emit = (ruleId, passed, resource, detail, severity) => {
    const override = overrides.get(ruleId);
    if (override?.action === "disable") return;
    const rule = definitions.get(ruleId);
    if (!rule) throw new Error(`rule ${ruleId} has no definition`);
    const effective: Severity = override ? override.action : (severity ?? rule.severity);
    findings.push({ ruleId, severity: effective, passed, resource, detail });
  };
  const context: RuleContext = { snapshot, options, emit };
  for (const cluster of snapshot.clusters) checkCluster(context, cluster);
  const { services, standalone, orphans } = serviceStates(snapshot);
  for (const state of services) {
    const { service } = state;
    const revisions = new Set(state.legitimate);
    for (const task of state.tasks) revisions.add(task.taskDefinitionArn);
    checkService(context, state);
    const subject: Subject = {
      clusterName: service.clusterName,
      serviceName: service.name,
      state,
      tasks: state.tasks,
      revisions: [...revisions],
    };
    checkRevisions(context, subject);
    checkTasks(context, subject);
  }
  for (const subject of taskSubjects([...standalone, ...orphans])) {
    checkRevisions(context, subject);
    checkTasks(context, subject);
  }
  return findings.sort((a, b) => order(a) - order(b));
}

const ruleOrder = new Map(ruleDefinitions.map((rule, index) => [rule.id, index]));
const order = (finding: Finding) => ruleOrder.get(finding.ruleId) ?? 0;

/** Standalone tasks per cluster, and tasks of services outside the snapshot per service. */
function taskSubjects(tasks: TaskSnapshot[]): Subject[] {
  const subjects = new Map<string, Subject>();
  for (const task of tasks) {
    const key = `${task.clusterName}/${task.serviceName ?? ""}`;
    const subject = subjects.get(key) ?? {
      clusterName: task.clusterName,
      ...(task.serviceName !== undefined ? { serviceName: task.serviceName } : {}),
      tasks: [],
      revisions: [],
    };
    subject.tasks.push(task);
    if (!subject.revisions.includes(task.taskDefinitionArn)) subject.revisions.push(task.taskDefinitionArn);
    subjects.set(key, subject);
  }
  return [...subjects.values()];
}
