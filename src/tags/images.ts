import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  type ImageDetail,
  type ImageIdentifier,
  type Repository,
} from "@aws-sdk/client-ecr";
import type { AwsCalls } from "./calls.ts";
import { parseImageReference } from "./image-reference.ts";
import type { ImageSnapshot } from "./model.ts";
import { chunks } from "./pool.ts";

/**
 * What ECR says about the images the task definitions name: the repository's tag mutability (DescribeRepositories, up
 * to 100 names per call and registry) and the digest each tag points to today (DescribeImages, up to 100 image ids
 * per call and repository). A missing repository or image fails a whole batch in ECR, so such a batch is split into
 * single calls to tell which one is missing.
 */

const ecrRegistry = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

interface ParsedImage {
  reference: string;
  registryId?: string;
  region?: string;
  repositoryName: string;
  tag?: string;
  digest?: string;
}

function parseImage(reference: string): ParsedImage {
  const parsed = parseImageReference(reference);
  const ecr = ecrRegistry.exec(parsed.registry);
  return {
    reference,
    registryId: ecr?.[1],
    region: ecr?.[2],
    repositoryName: parsed.repository,
    tag: parsed.tag,
    digest: parsed.digest,
  };
}

const notFound = ["RepositoryNotFoundException", "ImageNotFoundException"];
const refused = ["AccessDeniedException", "AccessDenied"];

export async function readImages(
  calls: AwsCalls,
  ecr: ECRClient,
  references: string[],
  add: (operation: string, count: number) => void,
): Promise<Record<string, ImageSnapshot>> {
  const region = await ecr.config.region().catch(() => undefined);
  const images: Record<string, ImageSnapshot> = {};
  const byRepository = new Map<string, ParsedImage[]>();
  for (const reference of references) {
    const parsed = parseImage(reference);
    const snapshot: ImageSnapshot = { reference, repositoryName: parsed.repositoryName, tag: parsed.tag };
    images[reference] = snapshot;
    if (!parsed.registryId) {
      snapshot.unreadable = "not an ECR image: its registry is not read";
    } else if (region && parsed.region !== region) {
      snapshot.unreadable = `in ECR of region ${parsed.region}; the check reads ECR in ${region}`;
    } else {
      const key = `${parsed.registryId}/${parsed.repositoryName}`;
      byRepository.set(key, [...(byRepository.get(key) ?? []), parsed]);
    }
  }
  const byRegistry = new Map<string, string[]>();
  for (const [key, list] of byRepository) {
    const registryId = list[0]?.registryId as string;
    byRegistry.set(registryId, [...(byRegistry.get(registryId) ?? []), key.slice(registryId.length + 1)]);
  }

  const repositories = new Map<string, Repository | string>();
  await Promise.all(
    [...byRegistry].flatMap(([registryId, names]) => {
      add("DescribeRepositories", Math.ceil(names.length / 100));
      return chunks(names, 100).map(async (batch) => {
        for (const [name, found] of await describeRepositories(calls, ecr, registryId, batch)) {
          repositories.set(`${registryId}/${name}`, found);
        }
      });
    }),
  );

  await Promise.all(
    [...byRepository].map(async ([key, list]) => {
      const repository = repositories.get(key);
      const registryId = list[0]?.registryId as string;
      const repositoryName = list[0]?.repositoryName as string;
      if (typeof repository !== "object") {
        for (const image of list) {
          (images[image.reference] as ImageSnapshot).unreadable = repository ?? "repository not read";
        }
        return;
      }
      const ids = uniqueIds(list);
      add("DescribeImages", Math.ceil(ids.length / 100));
      const details = await describeImages(calls, ecr, registryId, repositoryName, ids);
      for (const image of list) {
        const snapshot = images[image.reference] as ImageSnapshot;
        snapshot.tagMutability = repository.imageTagMutability;
        if (typeof details === "string") {
          snapshot.unreadable = details;
          continue;
        }
        const detail = details.find((item) =>
          image.digest ? item.imageDigest === image.digest : item.imageTags?.includes(image.tag ?? "latest"),
        );
        snapshot.digest = detail?.imageDigest;
      }
    }),
  );
  return images;
}

function uniqueIds(images: ParsedImage[]): ImageIdentifier[] {
  const ids = new Map<string, ImageIdentifier>();
  for (const image of images) {
    if (image.digest) ids.set(image.digest, { imageDigest: image.digest });
    else ids.set(`tag:${image.tag ?? "latest"}`, { imageTag: image.tag ?? "latest" });
  }
  return [...ids.values()];
}

/** Found repositories by name; a string says why a repository could not be read. */
async function describeRepositories(
  calls: AwsCalls,
  ecr: ECRClient,
  registryId: string,
  names: string[],
): Promise<Map<string, Repository | string>> {
  const result = new Map<string, Repository | string>();
  try {
    const response = await calls.send<{ repositories?: Repository[] }>(
      ecr,
      new DescribeRepositoriesCommand({ registryId, repositoryNames: names }),
      {
        service: "ecr",
        resource: `repositories of registry ${registryId}`,
        tolerate: [...notFound, ...refused],
      },
    );
    for (const repository of response.repositories ?? [])
      result.set(repository.repositoryName ?? "", repository);
  } catch (error) {
    const name = (error as Error).name;
    if (refused.includes(name)) {
      const why = `ECR refused DescribeRepositories in registry ${registryId} (${(error as Error).message}); the check role needs ecr:DescribeRepositories`;
      for (const repositoryName of names) result.set(repositoryName, why);
      return result;
    }
    if (names.length === 1) {
      result.set(names[0] as string, `repository ${names[0]} does not exist in registry ${registryId}`);
      return result;
    }
    // One missing repository fails the batch: ask one by one.
    for (const [name, found] of (
      await Promise.all(names.map((name) => describeRepositories(calls, ecr, registryId, [name])))
    ).flatMap((map) => [...map])) {
      result.set(name, found);
    }
  }
  return result;
}

/** Image details of the ids that exist; a string when the repository's images cannot be read at all. */
async function describeImages(
  calls: AwsCalls,
  ecr: ECRClient,
  registryId: string,
  repositoryName: string,
  ids: ImageIdentifier[],
): Promise<ImageDetail[] | string> {
  const batches = await Promise.all(
    chunks(ids, 100).map(async (batch): Promise<ImageDetail[] | string> => {
      try {
        const response = await calls.send<{ imageDetails?: ImageDetail[] }>(
          ecr,
          new DescribeImagesCommand({ registryId, repositoryName, imageIds: batch }),
          {
            service: "ecr",
            resource: `images of repository ${repositoryName}`,
            tolerate: [...notFound, ...refused],
          },
        );
        return response.imageDetails ?? [];
      } catch (error) {
        const name = (error as Error).name;
        if (refused.includes(name)) {
          return `ECR refused DescribeImages on ${repositoryName} (${(error as Error).message}); the check role needs ecr:DescribeImages`;
        }
        if (batch.length === 1) return [];
        // One image that does not exist fails the batch: ask one by one.
        const singles = await Promise.all(
          batch.map((id) => describeImages(calls, ecr, registryId, repositoryName, [id])),
        );
        return singles.flatMap((single) => (typeof single === "string" ? [] : single));
      }
    }),
  );
  const refusal = batches.find((batch) => typeof batch === "string");
  return refusal ?? batches.flatMap((batch) => batch as ImageDetail[]);
}
