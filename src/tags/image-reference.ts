/** An image reference split as the registry sees it: `registry/repository[:tag][@digest]`. */
export interface ImageReference {
  /** The reference as written in the task definition. */
  reference: string;
  /** Registry host with port; `docker.io` when the reference names none (Docker Hub). */
  registry: string;
  /** Path inside the registry, e.g. `valmetal/api` (`library/nginx` for Docker Hub's official images). */
  repository: string;
  tag?: string;
  digest?: string;
}

/** The image tag our pipelines deploy: `<environment>-<40-hex sha>`. */
export const environmentShaTag = /^(?<environment>[a-z][a-z0-9-]*)-(?<sha>[0-9a-f]{40})$/;

/** A registry host: has a dot or a port, or is localhost (Docker's rule for the first path component). */
const registryHost = (component: string) =>
  component.includes(".") || component.includes(":") || component === "localhost";

export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  const [registry, repository] =
    slash >= 0 && registryHost(first)
      ? [first, rest.slice(slash + 1)]
      : ["docker.io", slash < 0 ? `library/${rest}` : rest];
  return {
    reference,
    registry,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/**
 * Whether an image comes from an allowed source: an entry is a registry host (`ghcr.io`) or a
 * `<registry>/<repository>` prefix (`123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal`), matched on whole
 * path components. An empty list allows every image.
 */
export function allowedImage(image: ImageReference, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const full = `${image.registry}/${image.repository}`;
  return allowed.some((entry) => {
    const prefix = entry.trim().replace(/\/+$/, "");
    return prefix !== "" && (full === prefix || full.startsWith(`${prefix}/`));
  });
}
