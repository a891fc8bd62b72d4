import { InputError } from "../errors.ts";

/** An image repository: where images are pushed, without tag or digest. */
export interface ImageRepository {
  /** As the user wrote it, e.g. `123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api`. */
  name: string;
  /** Registry host with port, e.g. `127.0.0.1:5000`. */
  registry: string;
  /** Path inside the registry, e.g. `valmetal/api`. */
  path: string;
  /** Set when the registry is Amazon ECR. */
  ecr?: { accountId: string; region: string };
}

const ecrHost = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const hostLike =
  /^(?:localhost|\[[0-9a-f:]+\]|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::\d+)?$|^[a-zA-Z0-9-]+:\d+$/;

/**
 * Parses a repository input. A registry host is required (no implicit Docker Hub): a deploy pipeline must say
 * where its images live.
 */
export function parseRepository(input: string): ImageRepository {
  const name = input.trim();
  const hint = "pass a repository such as 123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api";
  if (!name) throw new InputError(`repository is empty; ${hint}`);
  if (/[@]/.test(name) || /:[^/]*$/.test(name.split("/").slice(1).join("/"))) {
    throw new InputError(
      `repository '${name}' contains a tag or digest; ${hint} (tags are computed from the sha)`,
    );
  }
  const slash = name.indexOf("/");
  const registry = slash < 0 ? "" : name.slice(0, slash);
  const path = slash < 0 ? name : name.slice(slash + 1);
  if (!hostLike.test(registry)) {
    throw new InputError(`repository '${name}' does not start with a registry host; ${hint}`);
  }
  if (!path.split("/").every((component) => pathComponent.test(component))) {
    throw new InputError(
      `repository '${name}' has an invalid path '${path}'; use lowercase letters, digits and . _ - separated by /`,
    );
  }
  const ecrMatch = ecrHost.exec(registry);
  return {
    name,
    registry,
    path,
    ...(ecrMatch ? { ecr: { accountId: ecrMatch[1] as string, region: ecrMatch[2] as string } } : {}),
  };
}

/** Registries on the loopback interface speak plain HTTP, as Docker assumes for them by default. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
