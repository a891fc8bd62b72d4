import { InputError } from "../errors.ts";

/** The image input: which ECR repository and which image in it (by digest, or by tag). */
export interface EcrImage {
  reference: string;
  repositoryName: string;
  /** The account of an ECR host; undefined for another registry playing ECR (the simulator's). */
  registryId?: string;
  region?: string;
  imageDigest?: string;
  imageTag?: string;
}

const ecrHost = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function parseEcrImage(reference: string): EcrImage {
  const value = reference.trim();
  const slash = value.indexOf("/");
  const host = slash > 0 ? value.slice(0, slash) : "";
  if (!host || !/[.:]/.test(host) || /\s/.test(value)) {
    throw new InputError(
      `image '${reference}' is not <registry>/<repository>@sha256:<digest> or <registry>/<repository>:<tag>; pass the image-ref output of build-push`,
    );
  }
  const path = value.slice(slash + 1);
  let repositoryName = path;
  let imageDigest: string | undefined;
  let imageTag: string | undefined;
  const at = path.indexOf("@");
  if (at >= 0) {
    repositoryName = path.slice(0, at);
    imageDigest = path.slice(at + 1);
    if (!/^sha256:[0-9a-f]{64}$/.test(imageDigest)) {
      throw new InputError(
        `image '${reference}' has digest '${imageDigest}', not sha256:<64 hex>; pass the digest output of build-push`,
      );
    }
  } else {
    const colon = path.lastIndexOf(":");
    if (colon < 0) {
      throw new InputError(
        `image '${reference}' names no digest or tag; pass <repository>@sha256:<digest> (build-push's image-ref output)`,
      );
    }
    repositoryName = path.slice(0, colon);
    imageTag = path.slice(colon + 1);
  }
  const ecr = ecrHost.exec(host);
  return {
    reference: value,
    repositoryName,
    registryId: ecr?.[1],
    region: ecr?.[2],
    imageDigest,
    imageTag,
  };
}
