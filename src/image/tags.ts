import { InputError } from "../errors.ts";
import type { ImageRepository } from "./repository.ts";

const fullSha = /^[0-9a-f]{40}$/;
const environmentName = /^[a-z][a-z0-9-]{0,30}$/;
const tagName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function validateSha(sha: string): string {
  const value = sha.trim().toLowerCase();
  if (!fullSha.test(value)) {
    throw new InputError(`sha '${sha}' is not a 40-character hex commit SHA; pass the full SHA (github.sha)`);
  }
  return value;
}

export function validateEnvironment(environment: string, inputName = "environment"): string {
  if (!environmentName.test(environment)) {
    throw new InputError(
      `${inputName} '${environment}' is not a valid environment name; use lowercase letters, digits and -, starting with a letter (dev, staging, prod)`,
    );
  }
  return environment;
}

export function validateExtraTag(tag: string): string {
  if (!tagName.test(tag)) {
    throw new InputError(`extra tag '${tag}' is not a valid image tag; use up to 128 letters, digits, _ . -`);
  }
  return tag;
}

/** The tag of an environment's build of a commit: `prod-<sha>`. The scheme our users' pipelines deploy by. */
export function environmentTag(environment: string, sha: string): string {
  return `${environment}-${sha}`;
}

export interface ImageTags {
  /** `<environment>-<sha>`: what deploys reference. */
  primary: string;
  /** Tags that carry the sha and therefore never move: the primary tag and `sha-<sha>`. */
  immutable: string[];
  /** Tags the user asked for besides those; they may move (and fail on an IMMUTABLE ECR repository). */
  extra: string[];
}

export function imageTags(environment: string, sha: string, extraTags: readonly string[] = []): ImageTags {
  const primary = environmentTag(environment, sha);
  const immutable = [primary, `sha-${sha}`];
  const extra = [...new Set(extraTags.map(validateExtraTag))].filter((tag) => !immutable.includes(tag));
  return { primary, immutable, extra };
}

export function taggedReference(repository: ImageRepository, tag: string): string {
  return `${repository.name}:${tag}`;
}

export function digestReference(repository: ImageRepository, digest: string): string {
  return `${repository.name}@${digest}`;
}
