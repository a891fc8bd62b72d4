import { parseImageReference } from "./image-reference.ts";
import type { FindingResource, TaskSnapshot } from "./model.ts";
import {
  caseVariant,
  type RuleContext,
  revisionName,
  type Subject,
  userTags,
  versionKey,
} from "./rule-context.ts";
import { longTaskArn } from "./service-rules.ts";

const clusterTag = "aws:ecs:clusterName";
const serviceTag = "aws:ecs:serviceName";

/** TAG010–TAG012 and TAG016 on each running task of a subject, TAG014 on each image it runs. */
export function checkTasks(context: RuleContext, subject: Subject): void {
  for (const task of subject.tasks) {
    const resource: FindingResource = {
      clusterName: subject.clusterName,
      ...(subject.serviceName !== undefined ? { serviceName: subject.serviceName } : {}),
      taskArn: task.arn,
      taskDefinitionArn: task.taskDefinitionArn,
      arn: task.arn,
    };
    taskTags(context, task, resource);
    managedTags(context, task, resource);
    if (subject.state) currentRevision(context, subject, task, resource);
    context.emit(
      "TAG016",
      longTaskArn.test(task.arn),
      resource,
      longTaskArn.test(task.arn)
        ? "long ARN format"
        : `${task.arn} is in the short ARN format: it cannot carry tags; opt in to taskLongArnFormat`,
    );
  }
  checkImages(context, subject);
}

/** TAG010: the task carries every user tag of its task definition, same key (exact case), same value. */
function taskTags(context: RuleContext, task: TaskSnapshot, resource: FindingResource) {
  const revision = context.snapshot.taskDefinitions[task.taskDefinitionArn];
  if (!revision) {
    context.emit(
      "TAG010",
      false,
      resource,
      `task definition ${revisionName(task.taskDefinitionArn)} could not be read`,
    );
    return;
  }
  const expected = userTags(revision.tags);
  const problems: string[] = [];
  for (const [key, value] of expected) {
    const actual = task.tags[key];
    if (actual === undefined) {
      const variant = caseVariant(task.tags, key);
      problems.push(
        variant
          ? `${key} missing: the task has '${variant}' (tag keys are case-sensitive)`
          : `${key} missing`,
      );
    } else if (actual !== value) {
      problems.push(`${key} is '${actual}', the task definition says '${value}'`);
    }
  }
  const started = task.startedAt ? ` (started ${task.startedAt.toISOString()})` : "";
  context.emit(
    "TAG010",
    problems.length === 0,
    resource,
    problems.length === 0
      ? `${expected.length} tag${expected.length === 1 ? "" : "s"} of ${revisionName(revision.arn)} present`
      : `${problems.join("; ")}${started}`,
  );
}

/** TAG011: ECS managed tags name the task's real cluster and service. */
function managedTags(context: RuleContext, task: TaskSnapshot, resource: FindingResource) {
  const problems: string[] = [];
  const expect = (key: string, value: string) => {
    const actual = task.tags[key];
    if (actual === undefined) problems.push(`${key} missing`);
    else if (actual !== value) problems.push(`${key} is '${actual}', the task runs in '${value}'`);
  };
  expect(clusterTag, task.clusterName);
  if (task.serviceName !== undefined) expect(serviceTag, task.serviceName);
  else if (task.tags[serviceTag] !== undefined) {
    problems.push(`${serviceTag} is '${task.tags[serviceTag]}' on a task of no service`);
  }
  context.emit(
    "TAG011",
    problems.length === 0,
    resource,
    problems.length === 0
      ? task.serviceName !== undefined
        ? `${clusterTag} and ${serviceTag} match`
        : `${clusterTag} matches (standalone task)`
      : problems.join("; "),
  );
}

/**
 * TAG012: the task runs one of the revisions its service deploys (DRAINING task sets' tasks are tolerated while
 * they drain). A revision that is INACTIVE (deregistered) yet still runs fails here, whoever runs it.
 */
function currentRevision(
  context: RuleContext,
  subject: Subject,
  task: TaskSnapshot,
  resource: FindingResource,
) {
  const state = subject.state;
  if (!state) return;
  const arn = task.taskDefinitionArn;
  const revision = context.snapshot.taskDefinitions[arn];
  const name = revisionName(arn);
  const inactive = revision && revision.status !== "ACTIVE";
  const draining = state.drainingTasks.has(task.arn);
  const legitimate = state.legitimate.has(arn) || draining;
  const deploys = [...state.legitimate].map(revisionName).join(", ") || "nothing";
  let detail: string;
  if (!legitimate) {
    detail = `stale: runs ${name}${inactive ? ` (${revision.status}: deregistered)` : ""}, the service deploys ${deploys}`;
  } else if (inactive) {
    detail = `runs ${name}, which is ${revision.status} (deregistered) yet still deployed by the service; redeploy an ACTIVE revision`;
  } else {
    detail = draining ? `runs ${name} of a DRAINING task set (tolerated while it drains)` : `runs ${name}`;
  }
  context.emit("TAG012", legitimate && !inactive, resource, detail);
}

/**
 * TAG014 on each image a subject runs or deploys: its tag never carries two Versions across the revisions read,
 * its repository is IMMUTABLE, and the digest each task runs is the one the registry holds for the tag.
 */
function checkImages(context: RuleContext, subject: Subject) {
  const { snapshot } = context;
  const running = new Map<string, string[]>();
  for (const task of subject.tasks) {
    for (const container of task.containers) {
      const digests = running.get(container.image) ?? [];
      if (container.imageDigest) digests.push(container.imageDigest);
      running.set(container.image, digests);
    }
  }
  const images = new Map<string, string | undefined>();
  for (const arn of subject.revisions) {
    for (const container of snapshot.taskDefinitions[arn]?.containers ?? []) images.set(container.image, arn);
  }
  for (const image of running.keys()) if (!images.has(image)) images.set(image, undefined);
  for (const [image, taskDefinitionArn] of images) {
    const resource: FindingResource = {
      clusterName: subject.clusterName,
      ...(subject.serviceName !== undefined ? { serviceName: subject.serviceName } : {}),
      ...(taskDefinitionArn ? { taskDefinitionArn, arn: taskDefinitionArn } : {}),
      image,
    };
    checkImage(context, image, running.get(image) ?? [], resource);
  }
}

function checkImage(
  context: RuleContext,
  image: string,
  runningDigests: string[],
  resource: FindingResource,
) {
  const { snapshot } = context;
  const parsed = parseImageReference(image);
  const problems: string[] = [];
  const versions = imageVersions(context).get(image);
  if (parsed.tag && versions && versions.size > 1) {
    problems.push(
      `tag ${parsed.tag} is used with ${versions.size} Versions (${[...versions].map((v) => v.slice(0, 12)).join(", ")})`,
    );
  }
  const info = snapshot.images[image];
  if (!info || info.unreadable) {
    const why = info?.unreadable ?? "not read from the registry";
    context.emit(
      "TAG014",
      false,
      resource,
      [...problems, `registry not verified: ${why}`].join("; "),
      problems.length ? undefined : "warning",
    );
    return;
  }
  if (!parsed.digest) {
    const mutability = info.tagMutability;
    if (mutability === undefined) problems.push(`repository ${info.repositoryName}: tag mutability unknown`);
    else if (!mutability.startsWith("IMMUTABLE")) {
      problems.push(`repository ${info.repositoryName} is ${mutability}: tags can be moved to other images`);
    }
  }
  const expected = parsed.digest ?? info.digest;
  if (!expected) problems.push(`tag ${parsed.tag ?? "(none)"} no longer exists in the registry`);
  else {
    const differing = runningDigests.filter((digest) => digest !== expected);
    if (differing.length > 0) {
      problems.push(
        `${differing.length} of ${runningDigests.length} containers run ${[...new Set(differing)].join(", ")}, the registry holds ${expected}`,
      );
    }
  }
  const exclusion = info.tagMutability?.includes("EXCLUSION") ? ` (${info.tagMutability})` : "";
  context.emit(
    "TAG014",
    problems.length === 0,
    resource,
    problems.length === 0
      ? `${parsed.digest ? "pinned by digest" : `IMMUTABLE${exclusion}`}; ${runningDigests.length === 0 ? "no running container to compare with the registry's digest" : runningDigests.length === 1 ? "1 container runs the registry's digest" : `${runningDigests.length} containers run the registry's digest`}${expected ? ` ${expected.slice(0, 19)}` : ""}`
      : problems.join("; "),
  );
}

const versionsCache = new WeakMap<RuleContext, Map<string, Set<string>>>();

/** Every image reference of every revision read, with the Versions of the revisions that use it. */
function imageVersions(context: RuleContext): Map<string, Set<string>> {
  const cached = versionsCache.get(context);
  if (cached) return cached;
  const map = new Map<string, Set<string>>();
  for (const revision of Object.values(context.snapshot.taskDefinitions)) {
    const version = revision.tags[versionKey];
    if (version === undefined) continue;
    for (const container of revision.containers) {
      const set = map.get(container.image) ?? new Set<string>();
      set.add(version);
      map.set(container.image, set);
    }
  }
  versionsCache.set(context, map);
  return map;
}
