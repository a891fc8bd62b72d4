import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Clock } from "../clock.ts";
import { InputError, ToolkitError } from "../errors.ts";
import type { CommandRunner } from "../process/command.ts";
import type { Reporter } from "../report/reporter.ts";
import { type BuilderChoice, type BuilderName, builders, selectBuilder } from "./builders.ts";
import { imageLabels, revisionLabel } from "./labels.ts";
import { type RegistryLogin, registryCredentials } from "./registry-auth.ts";
import { type Manifest, RegistryClient, RegistryError } from "./registry-client.ts";
import { type ImageRepository, isLoopbackRegistry } from "./repository.ts";
import { digestReference, environmentTag, type ImageTags, imageTags, taggedReference } from "./tags.ts";

export interface BuildPushOptions {
  repository: ImageRepository;
  environment: string;
  sha: string;
  context: string;
  /** Defaults to `<context>/Dockerfile`. */
  dockerfile?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  builder: BuilderChoice;
  push: boolean;
  extraTags: string[];
  /** Copy `<promoteFrom>-<sha>` to `<environment>-<sha>` instead of building. */
  promoteFrom?: string;
  /** Web URL of the source repository, for the OCI source label. */
  sourceUrl: string;
  /** Folder for temporary files (RUNNER_TEMP). */
  workDir: string;
}

export interface BuildPushDependencies {
  clock: Clock;
  reporter: Reporter;
  run: CommandRunner;
  login: RegistryLogin;
  /** Environment of the builder processes. */
  builderEnv: NodeJS.ProcessEnv;
  overlayAvailable: boolean;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export type BuildPushOutcome = "built" | "reused" | "promoted";

export interface BuildPushResult {
  outcome: BuildPushOutcome;
  pushed: boolean;
  /** `<repository>:<environment>-<sha>`. */
  image: string;
  /** Manifest digest in the registry (absent when the image was built but not pushed). */
  digest?: string;
  /** `<repository>@<digest>`. */
  imageRef?: string;
  /** Every full reference this run made point at the image. */
  tags: string[];
  builder?: BuilderName;
  sha: string;
  environment: string;
  promotedFrom?: string;
  durationMs: number;
}

export class TagConflictError extends ToolkitError {}
export class PromotionSourceMissingError extends ToolkitError {}

interface TaggedImage {
  tag: string;
  manifest: Manifest;
  revision: string | undefined;
}

async function checkBuildFiles(context: string, dockerfile: string): Promise<void> {
  const kind = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory();
  if ((await kind(context)) !== true) {
    throw new InputError(
      `build context '${context}' is not a folder; pass the folder to build (context input)`,
    );
  }
  if ((await kind(dockerfile)) !== false) {
    throw new InputError(`Dockerfile '${dockerfile}' does not exist; pass its path (dockerfile input)`);
  }
}

async function lookUp(registry: RegistryClient, tag: string): Promise<TaggedImage | undefined> {
  const manifest = await registry.getManifest(tag);
  if (!manifest) return undefined;
  const labels = await registry.labels(manifest);
  return { tag, manifest, revision: labels[revisionLabel] };
}

function describe(image: TaggedImage): string {
  return `${image.manifest.digest} (${revisionLabel}=${image.revision ?? "unset"})`;
}

/** Tags that already exist must all hold one image built from this sha; a tag is never overwritten. */
function reusableImage(
  repository: ImageRepository,
  sha: string,
  existing: TaggedImage[],
): TaggedImage | undefined {
  for (const image of existing) {
    if (image.revision !== sha) {
      throw new TagConflictError(
        `tag ${taggedReference(repository, image.tag)} already holds ${describe(image)}, not a build of ${sha}; tags are never overwritten — find out who pushed it, and delete it by hand if it must go`,
      );
    }
  }
  const [first, ...others] = existing;
  const other = others.find((image) => image.manifest.digest !== first?.manifest.digest);
  if (first && other) {
    throw new TagConflictError(
      `tags ${first.tag} and ${other.tag} of ${repository.name} hold different images of the same commit: ${first.manifest.digest} and ${other.manifest.digest}; delete the wrong one by hand`,
    );
  }
  return first;
}

async function addTags(
  registry: RegistryClient,
  manifest: Manifest,
  tags: string[],
  existing: TaggedImage[],
): Promise<void> {
  for (const tag of tags) {
    if (existing.some((image) => image.tag === tag && image.manifest.digest === manifest.digest)) continue;
    await registry.putManifest(tag, manifest);
  }
}

async function promote(
  options: BuildPushOptions,
  tags: ImageTags,
  registry: RegistryClient,
  reporter: Reporter,
): Promise<Omit<BuildPushResult, "durationMs">> {
  const { repository, sha } = options;
  const from = options.promoteFrom as string;
  const sourceTag = environmentTag(from, sha);
  const source = await lookUp(registry, sourceTag);
  if (!source) {
    throw new PromotionSourceMissingError(
      `cannot promote: ${taggedReference(repository, sourceTag)} does not exist; build and push it first (build-push with environment: ${from})`,
    );
  }
  if (source.revision !== sha) {
    throw new TagConflictError(
      `cannot promote ${taggedReference(repository, sourceTag)}: it holds ${describe(source)}, not a build of ${sha}`,
    );
  }
  const target = await lookUp(registry, tags.primary);
  if (target && target.manifest.digest !== source.manifest.digest) {
    throw new TagConflictError(
      `cannot promote to ${taggedReference(repository, tags.primary)}: it already holds ${describe(target)}, while ${sourceTag} holds ${source.manifest.digest}; tags are never overwritten`,
    );
  }
  reporter.info(`Promoting ${sourceTag} → ${tags.primary} (${source.manifest.digest}), no rebuild`);
  await addTags(registry, source.manifest, [tags.primary, ...tags.extra], target ? [target] : []);
  return {
    outcome: "promoted",
    pushed: true,
    image: taggedReference(repository, tags.primary),
    digest: source.manifest.digest,
    imageRef: digestReference(repository, source.manifest.digest),
    tags: [tags.primary, ...tags.extra].map((tag) => taggedReference(repository, tag)),
    sha,
    environment: options.environment,
    promotedFrom: from,
  };
}

/**
 * Builds the image of a commit and pushes it under `<environment>-<sha>` and `sha-<sha>`, or promotes an existing
 * environment's image. Idempotent: an image already pushed for this sha is reused, never rebuilt or overwritten.
 */
export async function buildPush(
  options: BuildPushOptions,
  deps: BuildPushDependencies,
): Promise<BuildPushResult> {
  const started = deps.clock.now().getTime();
  const { repository, sha, reporter } = { ...options, reporter: deps.reporter };
  const tags = imageTags(options.environment, sha, options.extraTags);
  if (options.promoteFrom !== undefined) {
    if (options.promoteFrom === options.environment) {
      throw new InputError(
        `promote-from '${options.promoteFrom}' equals environment; promote from another environment`,
      );
    }
    if (!options.push) throw new InputError("promote-from copies a tag in the registry and needs push: true");
  }
  const context = resolve(options.context);
  const dockerfile = resolve(options.dockerfile || `${options.context}/Dockerfile`);
  if (options.promoteFrom === undefined) await checkBuildFiles(context, dockerfile);

  const builderEnvironment = {
    run: deps.run,
    env: deps.builderEnv,
    overlayAvailable: deps.overlayAvailable,
    onLine: (line: string) => reporter.info(line),
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
  const builder =
    options.promoteFrom === undefined ? await selectBuilder(options.builder, builderEnvironment) : undefined;
  const credentials = options.push ? await registryCredentials(deps.login, repository, reporter) : undefined;
  const registry = new RegistryClient({
    repository,
    clock: deps.clock,
    ...(credentials ? { credentials } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const finish = (result: Omit<BuildPushResult, "durationMs">): BuildPushResult => ({
    ...result,
    durationMs: deps.clock.now().getTime() - started,
  });

  if (options.promoteFrom !== undefined) return finish(await promote(options, tags, registry, reporter));

  const existing: TaggedImage[] = [];
  if (options.push) {
    await reporter.group(`Looking up ${tags.immutable.join(", ")} in ${repository.name}`, async () => {
      for (const tag of tags.immutable) {
        const image = await lookUp(registry, tag);
        if (image) existing.push(image);
        reporter.info(image ? `${tag}: ${describe(image)}` : `${tag}: not present`);
      }
    });
  }
  const reusable = reusableImage(repository, sha, existing);
  const allTags = [...tags.immutable, ...tags.extra];
  const result = {
    image: taggedReference(repository, tags.primary),
    tags: allTags.map((tag) => taggedReference(repository, tag)),
    sha,
    environment: options.environment,
    builder,
  };
  if (reusable) {
    reporter.info(`${reusable.tag} already holds a build of ${sha}: skipping the build`);
    await addTags(registry, reusable.manifest, allTags, existing);
    const digest = reusable.manifest.digest;
    return finish({
      ...result,
      outcome: "reused",
      pushed: true,
      digest,
      imageRef: digestReference(repository, digest),
    });
  }

  const labels = imageLabels(
    { sha, sourceUrl: options.sourceUrl, created: deps.clock.now(), title: repository.path },
    options.labels,
  );
  const request = {
    context,
    dockerfile,
    reference: result.image,
    registry: repository.registry,
    buildArgs: options.buildArgs,
    labels,
    ...(options.target ? { target: options.target } : {}),
    push: options.push,
    insecure: isLoopbackRegistry(repository.registry),
    ...(credentials ? { credentials } : {}),
    workDir: options.workDir,
  };
  const outcome = await reporter.group(`Building ${result.image} with ${builder}`, () =>
    builders[builder as BuilderName](request, builderEnvironment),
  );
  if (!options.push || !outcome.digest) {
    return finish({ ...result, tags: [result.image], outcome: "built", pushed: false });
  }
  const pushed = await registry.getManifest(tags.primary);
  if (pushed?.digest !== outcome.digest) {
    throw new RegistryError(
      `${result.image} reads back as ${pushed?.digest ?? "missing"} after ${builder} pushed ${outcome.digest}; is another pipeline pushing the same tag?`,
    );
  }
  await addTags(registry, pushed, allTags.slice(1), []);
  return finish({
    ...result,
    outcome: "built",
    pushed: true,
    digest: pushed.digest,
    imageRef: digestReference(repository, pushed.digest),
  });
}
