import { allowedImage, environmentShaTag, parseImageReference } from "./image-reference.ts";
import type { AccountSnapshot, FindingResource, TaskDefinitionSnapshot } from "./model.ts";
import {
  caseVariant,
  environmentKey,
  familyOf,
  missingKeys,
  type RuleContext,
  revisionName,
  type Subject,
  shortSha,
  versionKey,
} from "./rule-context.ts";

const fullSha = /^[0-9a-f]{40}$/;

/** TAG001–TAG004 and TAG018 on each revision a subject deploys or runs; TAG013 on each of their families. */
export function checkRevisions(context: RuleContext, subject: Subject): void {
  const { snapshot, emit } = context;
  const base: FindingResource = {
    clusterName: subject.clusterName,
    ...(subject.serviceName !== undefined ? { serviceName: subject.serviceName } : {}),
  };
  const families = new Map<string, string>();
  for (const arn of subject.revisions) {
    const resource = { ...base, taskDefinitionArn: arn, arn };
    const revision = snapshot.taskDefinitions[arn];
    if (!revision) {
      emit("TAG001", false, resource, `task definition ${revisionName(arn)} could not be read`);
      continue;
    }
    if (!families.has(revision.family)) families.set(revision.family, arn);
    requiredTags(context, revision, resource);
    tagValues(context, revision, resource);
    versionFormat(context, revision, resource);
    for (const container of revision.containers) {
      const imageResource = { ...resource, image: container.image };
      imageTag(context, revision, container.image, imageResource);
      imageSource(context, container.image, imageResource);
    }
  }
  for (const [family, arn] of families) oneRevisionPerSha(context, family, { ...base, family, arn });
}

function requiredTags(context: RuleContext, revision: TaskDefinitionSnapshot, resource: FindingResource) {
  const keys = context.options.requiredTagKeys;
  if (keys.length === 0) {
    context.emit("TAG001", true, resource, "no required tag keys configured (required-tag-keys is empty)");
    return;
  }
  const missing = missingKeys(revision.tags, keys);
  context.emit(
    "TAG001",
    missing.length === 0,
    resource,
    missing.length === 0 ? `${keys.join(", ")} present` : `${missing.join("; ")}`,
  );
}

function tagValues(context: RuleContext, revision: TaskDefinitionSnapshot, resource: FindingResource) {
  const { requiredTagKeys, allowedEnvironments, expectedEnvironment } = context.options;
  const tags = revision.tags;
  const problems: string[] = [];
  for (const key of requiredTagKeys) {
    const value = tags[key];
    if (value !== undefined && value.trim() === "") problems.push(`${key} is empty`);
    const variant = caseVariant(tags, key);
    if (variant) problems.push(`'${variant}' should be spelled '${key}'`);
  }
  const environment = tags[environmentKey];
  if (environment) {
    if (allowedEnvironments.length > 0 && !allowedEnvironments.includes(environment)) {
      problems.push(`Environment '${environment}' is not one of ${allowedEnvironments.join(", ")}`);
    }
    if (expectedEnvironment && environment !== expectedEnvironment) {
      problems.push(`Environment '${environment}' is not the expected '${expectedEnvironment}'`);
    }
  }
  context.emit(
    "TAG002",
    problems.length === 0,
    resource,
    problems.length === 0 ? "values set, keys in exact case" : problems.join("; "),
  );
}

function versionFormat(context: RuleContext, revision: TaskDefinitionSnapshot, resource: FindingResource) {
  const version = revision.tags[versionKey];
  const detail =
    version === undefined
      ? "no Version tag"
      : fullSha.test(version)
        ? `Version ${version}`
        : fullSha.test(version.toLowerCase())
          ? `Version ${shortSha(version)} has uppercase letters; git SHAs are lowercase`
          : `Version ${shortSha(version)} is not a full 40-character hex commit SHA`;
  context.emit("TAG003", version !== undefined && fullSha.test(version), resource, detail);
}

function imageTag(
  context: RuleContext,
  revision: TaskDefinitionSnapshot,
  image: string,
  resource: FindingResource,
) {
  const parsed = parseImageReference(image);
  let tag = parsed.tag;
  let source = "";
  if (!tag && parsed.digest) {
    const resolved = context.snapshot.images[image]?.tag;
    if (!resolved || !environmentShaTag.test(resolved)) {
      context.emit(
        "TAG004",
        false,
        resource,
        `${image} is pinned by digest with no <environment>-<sha> tag to compare with Version; deploy <repository>:<environment>-<sha>`,
        "warning",
      );
      return;
    }
    tag = resolved;
    source = " (the registry's tag for this digest)";
  }
  const match = tag ? environmentShaTag.exec(tag) : null;
  const version = revision.tags[versionKey];
  const environment = revision.tags[environmentKey];
  const problems: string[] = [];
  if (!tag || !match?.groups) {
    problems.push(`image tag ${tag ? `'${tag}'` : "(none)"} is not <environment>-<40-hex sha>`);
  } else {
    const { sha, environment: prefix } = match.groups as { sha: string; environment: string };
    if (version === undefined) problems.push("no Version tag to compare the image tag with");
    else if (sha !== version) {
      problems.push(`image tag${source} names commit ${shortSha(sha)} but Version is ${shortSha(version)}`);
    }
    if (environment === undefined) problems.push("no Environment tag to compare the tag prefix with");
    else if (prefix !== environment) {
      problems.push(`image tag prefix '${prefix}' but Environment is '${environment}'`);
    }
  }
  context.emit(
    "TAG004",
    problems.length === 0,
    resource,
    problems.length === 0 ? `${tag}${source} matches Environment and Version` : problems.join("; "),
  );
}

function imageSource(context: RuleContext, image: string, resource: FindingResource) {
  const parsed = parseImageReference(image);
  const problems: string[] = [];
  if (parsed.tag === "latest") problems.push(`${image} uses the moving tag latest`);
  else if (!parsed.tag && !parsed.digest) problems.push(`${image} has no tag, so it means latest`);
  const allowed = context.options.allowedImages;
  if (!allowedImage(parsed, allowed)) {
    problems.push(
      `${parsed.registry}/${parsed.repository} is not among the allowed images (${allowed.join(", ")})`,
    );
  }
  context.emit(
    "TAG018",
    problems.length === 0,
    resource,
    problems.length === 0
      ? `${parsed.registry}/${parsed.repository} pinned by tag or digest`
      : problems.join("; "),
  );
}

/** TAG013: no two ACTIVE revisions of a family carry the same Version (SHA ↔ revision one to one). */
function oneRevisionPerSha(context: RuleContext, family: string, resource: FindingResource) {
  const { snapshot } = context;
  const arns = new Set([
    ...(snapshot.familyRevisions[family] ?? []),
    ...(activeByFamily(snapshot).get(family) ?? []),
  ]);
  const byVersion = new Map<string, string[]>();
  let read = 0;
  for (const arn of arns) {
    const revision = snapshot.taskDefinitions[arn];
    if (revision?.status !== "ACTIVE" || familyOf(arn) !== family) continue;
    read += 1;
    const version = revision.tags[versionKey];
    if (version === undefined) continue;
    byVersion.set(version, [...(byVersion.get(version) ?? []), arn]);
  }
  const shared = [...byVersion].filter(([, revisions]) => revisions.length > 1);
  context.emit(
    "TAG013",
    shared.length === 0,
    resource,
    shared.length === 0
      ? `${read} ACTIVE revision${read === 1 ? "" : "s"} of ${family} read, one per Version`
      : shared
          .map(
            ([version, revisions]) =>
              `Version ${shortSha(version)} is registered as ${revisions.map(revisionName).sort().join(" and ")}`,
          )
          .join("; "),
  );
}

const activeCache = new WeakMap<AccountSnapshot, Map<string, string[]>>();

/** The ACTIVE revisions read, per family (computed once per snapshot). */
function activeByFamily(snapshot: AccountSnapshot): Map<string, string[]> {
  const cached = activeCache.get(snapshot);
  if (cached) return cached;
  const families = new Map<string, string[]>();
  for (const revision of Object.values(snapshot.taskDefinitions)) {
    if (revision.status !== "ACTIVE") continue;
    const list = families.get(revision.family);
    if (list) list.push(revision.arn);
    else families.set(revision.family, [revision.arn]);
  }
  activeCache.set(snapshot, families);
  return families;
}
