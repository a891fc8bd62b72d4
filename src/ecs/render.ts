import type { ContainerDefinition, KeyValuePair, Tag } from "@aws-sdk/client-ecs";
import { InputError } from "../errors.ts";
import type { TaskDefinitionInput } from "./task-definition-file.ts";

/** The tags that tie a task definition revision to its commit. */
export interface TraceabilityTags {
  Environment: string;
  Application: string;
  Component: string;
}

export interface RenderOptions {
  /** Image per container name; at least one. */
  images: Record<string, string>;
  /** Environment variables set in each container that gets an image (replacing same-named ones). */
  environment: Record<string, string>;
  sha: string;
  tags: TraceabilityTags;
}

const imageReference =
  /^(?<repository>[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

/** Checks an image reference and that a SHA-bearing tag names the commit being deployed. */
export function validateImage(image: string, sha: string): void {
  const match = imageReference.exec(image);
  if (!match?.groups || (!match.groups.tag && !match.groups.digest)) {
    throw new InputError(
      `image '${image}' is not a full image reference with a tag or digest; pass build-push's image output (<repository>:<environment>-<sha>)`,
    );
  }
  const { tag } = match.groups;
  if (tag === "latest") {
    throw new InputError(
      `image '${image}' uses the moving tag latest; deploy the commit's tag <environment>-<sha>`,
    );
  }
  const tagSha = tag ? /(?:^|-)([0-9a-f]{40})$/.exec(tag)?.[1] : undefined;
  if (tagSha && tagSha !== sha) {
    throw new InputError(
      `image '${image}' is tagged with commit ${tagSha} but the deployment is for ${sha}; the image tag and Version must name the same commit`,
    );
  }
}

function mergeEnvironment(current: KeyValuePair[] = [], updates: Record<string, string>): KeyValuePair[] {
  const names = new Set(Object.keys(updates));
  return [
    ...current.filter((entry) => !names.has(entry.name ?? "")),
    ...Object.entries(updates).map(([name, value]) => ({ name, value })),
  ];
}

/**
 * Sets the images, environment (APP_VERSION = the sha) and traceability tags (Environment, Application, Component,
 * Version) of a task definition, keeping everything else, including the file's other tags.
 */
export function renderTaskDefinition(base: TaskDefinitionInput, options: RenderOptions): TaskDefinitionInput {
  const containers = base.containerDefinitions ?? [];
  const names = containers.map((container) => container.name ?? "");
  const targets = Object.keys(options.images);
  if (targets.length === 0)
    throw new InputError("no image to deploy; pass image (and container-name) or container-images");
  for (const name of targets) {
    if (!names.includes(name)) {
      throw new InputError(
        `container '${name}' is not in task definition ${base.family}; its containers are ${names.join(", ")}`,
      );
    }
    validateImage(options.images[name] as string, options.sha);
  }
  const containerDefinitions = containers.map((container): ContainerDefinition => {
    const image = options.images[container.name ?? ""];
    if (!image) return container;
    return {
      ...container,
      image,
      environment: mergeEnvironment(container.environment, {
        ...options.environment,
        APP_VERSION: options.sha,
      }),
    };
  });
  const ours: Tag[] = [
    { key: "Environment", value: options.tags.Environment },
    { key: "Application", value: options.tags.Application },
    { key: "Component", value: options.tags.Component },
    { key: "Version", value: options.sha },
  ];
  const oursKeys = new Set(ours.map((tag) => tag.key));
  const tags = [...(base.tags ?? []).filter((tag) => !oursKeys.has(tag.key)), ...ours];
  return { ...base, containerDefinitions, tags };
}
