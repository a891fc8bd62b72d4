import { createHash } from "node:crypto";
import { bool, clientError, list, paginate, required } from "../protocol/errors.ts";
import type { Operations } from "../protocol/server.ts";
import { arn, date, type Sim, slot } from "./state.ts";

/**
 * ECR backed by a real OCI registry (Debian's docker-registry): repositories are records here, images live in the
 * registry and are read and written through its v2 API, so a repositoryUri is pullable as is. No scanner runs:
 * scan findings are set per digest through the admin API.
 */

// biome-ignore lint/suspicious/noExplicitAny: records and inputs as AWS names them
type Row = Record<string, any>;

const manifestTypes = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

const repositories = (sim: Sim): Record<string, Row> => (sim.state.ecr.repositories ??= {});
const findings = (sim: Sim): Record<string, Row> => (sim.state.ecr.findings ??= {});
const pushedAt = (sim: Sim): Record<string, number> => (sim.state.ecr.pushedAt ??= {});

function registry(sim: Sim): string {
  const address = sim.state.settings.registry;
  if (!address)
    throw clientError(
      "ServerException",
      "The simulator has no registry configured (start it with --registry host:port).",
    );
  return address;
}

export function repositoryUri(sim: Sim, name: string): string {
  const { registry: address, accountId, region } = sim.state.settings;
  return address ? `${address}/${name}` : `${accountId}.dkr.ecr.${region}.amazonaws.com/${name}`;
}

const ecrHost = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;

/**
 * Where a task pulls an image from: an ECR URI of any account and region (`<account>.dkr.ecr.<region>.amazonaws.com/
 * <name>[:tag|@digest]`) is the local registry's `<registry>/<name>…` when a registry is set (one registry plays
 * every account's ECR); anything else is pulled as it is.
 */
export function pullableImage(sim: Sim, image: string): string {
  const { registry } = sim.state.settings;
  return registry && ecrHost.test(image) ? `${registry}/${image.replace(ecrHost, "")}` : image;
}

export function createRepository(sim: Sim, input: Row): Row {
  const name = required<string>(input.repositoryName, "repositoryName");
  if (
    !/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name) ||
    name.length < 2 ||
    name.length > 256
  ) {
    throw clientError(
      "InvalidParameterException",
      `Invalid parameter at 'repositoryName' failed to satisfy constraint: '${name}'`,
    );
  }
  if (repositories(sim)[name])
    throw clientError(
      "RepositoryAlreadyExistsException",
      `The repository with name '${name}' already exists in the registry with id '${sim.state.settings.accountId}'`,
    );
  const repository = {
    repositoryArn: arn(sim, "ecr", `repository/${name}`),
    registryId: sim.state.settings.accountId,
    repositoryName: name,
    createdAt: sim.clock.now(),
    imageTagMutability: input.imageTagMutability ?? "MUTABLE",
    imageScanningConfiguration: { scanOnPush: bool(input.imageScanningConfiguration?.scanOnPush) ?? false },
    encryptionConfiguration: input.encryptionConfiguration ?? { encryptionType: "AES256" },
  };
  repositories(sim)[name] = repository;
  sim.state.tags[repository.repositoryArn] = list<Row>(input.tags).map((tag) => ({
    key: tag.Key,
    value: tag.Value,
  }));
  return repository;
}

function findRepository(sim: Sim, name: unknown): Row {
  const repository = repositories(sim)[String(name ?? "")];
  if (!repository) {
    throw clientError(
      "RepositoryNotFoundException",
      `The repository with name '${name}' does not exist in the registry with id '${sim.state.settings.accountId}'`,
    );
  }
  return repository;
}

function repositoryView(sim: Sim, repository: Row) {
  return {
    ...repository,
    repositoryUri: repositoryUri(sim, repository.repositoryName),
    createdAt: date(repository.createdAt),
  };
}

interface Manifest {
  digest: string;
  mediaType: string;
  body: string;
  size: number;
}

async function getManifest(sim: Sim, name: string, reference: string): Promise<Manifest | undefined> {
  const response = await fetch(`http://${registry(sim)}/v2/${name}/manifests/${reference}`, {
    headers: { accept: manifestTypes.join(", ") },
  });
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw clientError("ServerException", `registry answered ${response.status} for ${name}:${reference}`);
  const body = await response.text();
  const digest =
    response.headers.get("docker-content-digest") ??
    `sha256:${createHash("sha256").update(body).digest("hex")}`;
  let size = Buffer.byteLength(body);
  try {
    const parsed = JSON.parse(body);
    if (Array.isArray(parsed.layers))
      size = parsed.layers.reduce(
        (total: number, layer: Row) => total + Number(layer.size ?? 0),
        Number(parsed.config?.size ?? 0),
      );
  } catch {}
  return {
    digest,
    mediaType: response.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json",
    body,
    size,
  };
}

async function listTags(sim: Sim, name: string): Promise<string[]> {
  const response = await fetch(`http://${registry(sim)}/v2/${name}/tags/list`);
  if (response.status === 404) return [];
  if (!response.ok)
    throw clientError("ServerException", `registry answered ${response.status} listing ${name}`);
  return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
}

/** Every image of a repository, grouped by digest. */
async function images(sim: Sim, name: string): Promise<Array<Manifest & { tags: string[] }>> {
  const byDigest = new Map<string, Manifest & { tags: string[] }>();
  for (const tag of await listTags(sim, name)) {
    const manifest = await getManifest(sim, name, tag);
    if (!manifest) continue;
    const entry = byDigest.get(manifest.digest) ?? { ...manifest, tags: [] };
    entry.tags.push(tag);
    byDigest.set(manifest.digest, entry);
  }
  for (const entry of byDigest.values()) pushedAt(sim)[`${name}@${entry.digest}`] ??= sim.clock.now();
  return [...byDigest.values()];
}

/** The repository and manifest a scan call names by `imageId` (digest or tag), or ImageNotFoundException. */
async function scannedImage(sim: Sim, input: Row) {
  const repository = findRepository(sim, input.repositoryName);
  const manifest = await getManifest(
    sim,
    repository.repositoryName,
    input.imageId?.imageDigest ?? input.imageId?.imageTag,
  );
  if (!manifest)
    throw clientError(
      "ImageNotFoundException",
      "The image requested does not exist in the specified repository.",
    );
  return { repository, manifest };
}

function scanState(sim: Sim, repository: Row, digest: string) {
  const set = findings(sim)[`${repository.repositoryName}@${digest}`];
  if (set) {
    // A scan set to complete later reads IN_PROGRESS until then, with no findings yet.
    if (set.completedAt > sim.clock.now())
      return { status: "IN_PROGRESS", findings: [], enhancedFindings: [], completedAt: undefined };
    return set;
  }
  if (
    repository.imageScanningConfiguration.scanOnPush ||
    sim.state.ecr.scanned?.[`${repository.repositoryName}@${digest}`]
  ) {
    return {
      status: "COMPLETE",
      findings: [],
      completedAt: pushedAt(sim)[`${repository.repositoryName}@${digest}`] ?? sim.clock.now(),
    };
  }
  return undefined;
}

const scanDescriptions: Record<string, string> = {
  COMPLETE: "The scan was completed successfully.",
  ACTIVE: "Continuous scan is selected for image.",
  IN_PROGRESS: "The scan is in progress.",
  UNSUPPORTED_IMAGE: "The operation is not supported for this image.",
  FAILED: "The scan failed.",
};
const scanStatusView = (scan: Row) => ({
  status: scan.status,
  description: scan.description ?? scanDescriptions[scan.status],
});

function severityCounts(items: Row[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items)
    counts[item.severity ?? "UNDEFINED"] = (counts[item.severity ?? "UNDEFINED"] ?? 0) + 1;
  return counts;
}

/**
 * Admin: the scan of one digest, e.g. {repositoryName, imageDigest, findings: [{name, severity, uri, attributes}],
 * enhancedFindings?: [...], status?: COMPLETE|ACTIVE|FAILED|UNSUPPORTED_IMAGE|…, description?, completeAfterSeconds?}.
 * With completeAfterSeconds the scan reads IN_PROGRESS until that much sim time has passed.
 */
export function setScanFindings(sim: Sim, input: Row): void {
  const repository = findRepository(sim, input.repositoryName);
  if (!input.imageDigest) throw new Error("imageDigest is required");
  findings(sim)[`${repository.repositoryName}@${input.imageDigest}`] = {
    status: input.status ?? (list(input.enhancedFindings).length ? "ACTIVE" : "COMPLETE"),
    description: input.description,
    findings: list(input.findings),
    enhancedFindings: list(input.enhancedFindings),
    completedAt: sim.clock.now() + Number(input.completeAfterSeconds ?? 0) * 1000,
  };
}

function matches(entry: { digest: string; tags: string[] }, id: Row): boolean {
  return (
    (!id.imageDigest || id.imageDigest === entry.digest) && (!id.imageTag || entry.tags.includes(id.imageTag))
  );
}

export function ecrOperations(sim: Sim): Operations {
  const registryId = () => sim.state.settings.accountId;
  return {
    CreateRepository: (input) => ({ repository: repositoryView(sim, createRepository(sim, input)) }),
    DescribeRepositories: (input) => {
      const names = list<string>(input.repositoryNames);
      const found = names.length
        ? names.map((name) => findRepository(sim, name))
        : Object.values(repositories(sim));
      const { page, nextToken } = paginate(found, input.nextToken, input.maxResults, 100, 1000);
      return { repositories: page.map((repository) => repositoryView(sim, repository)), nextToken };
    },
    DeleteRepository: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      if (
        !bool(input.force) &&
        sim.state.settings.registry &&
        (await listTags(sim, repository.repositoryName)).length
      ) {
        throw clientError(
          "RepositoryNotEmptyException",
          `The repository with name '${repository.repositoryName}' cannot be deleted because it still contains images`,
        );
      }
      delete repositories(sim)[repository.repositoryName];
      return { repository: repositoryView(sim, repository) };
    },
    GetAuthorizationToken: () => ({
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:sim-${registryId()}`).toString("base64"),
          expiresAt: new Date(sim.clock.now() + 12 * 3600 * 1000),
          proxyEndpoint: `http://${registry(sim)}`,
        },
      ],
    }),
    PutImageScanningConfiguration: (input) => {
      const repository = findRepository(sim, input.repositoryName);
      repository.imageScanningConfiguration = {
        scanOnPush: bool(input.imageScanningConfiguration?.scanOnPush) ?? false,
      };
      return {
        registryId: registryId(),
        repositoryName: repository.repositoryName,
        imageScanningConfiguration: repository.imageScanningConfiguration,
      };
    },
    PutImageTagMutability: (input) => {
      const repository = findRepository(sim, input.repositoryName);
      repository.imageTagMutability = required(input.imageTagMutability, "imageTagMutability");
      return {
        registryId: registryId(),
        repositoryName: repository.repositoryName,
        imageTagMutability: repository.imageTagMutability,
      };
    },
    ListImages: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      const ids = (await images(sim, repository.repositoryName)).flatMap((image) =>
        image.tags.map((tag) => ({ imageDigest: image.digest, imageTag: tag })),
      );
      const { page, nextToken } = paginate(ids, input.nextToken, input.maxResults, 100, 1000);
      return { imageIds: page, nextToken };
    },
    DescribeImages: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      const all = await images(sim, repository.repositoryName);
      const wanted = list<Row>(input.imageIds);
      for (const id of wanted) {
        if (!all.some((entry) => matches(entry, id))) {
          throw clientError(
            "ImageNotFoundException",
            `The image with imageId {imageDigest:'${id.imageDigest ?? "null"}', imageTag:'${id.imageTag ?? "null"}'} does not exist within the repository with name '${repository.repositoryName}' in the registry with id '${registryId()}'`,
          );
        }
      }
      const selected = wanted.length ? all.filter((entry) => wanted.some((id) => matches(entry, id))) : all;
      const { page, nextToken } = paginate(selected, input.nextToken, input.maxResults, 100, 1000);
      return {
        imageDetails: page.map((entry) => {
          const scan = scanState(sim, repository, entry.digest);
          return {
            registryId: registryId(),
            repositoryName: repository.repositoryName,
            imageDigest: entry.digest,
            imageTags: entry.tags,
            imageSizeInBytes: entry.size,
            imagePushedAt: date(pushedAt(sim)[`${repository.repositoryName}@${entry.digest}`]),
            imageManifestMediaType: entry.mediaType,
            imageScanStatus: scan ? scanStatusView(scan) : undefined,
            imageScanFindingsSummary: scan
              ? {
                  imageScanCompletedAt: date(scan.completedAt),
                  vulnerabilitySourceUpdatedAt: date(scan.completedAt),
                  findingSeverityCounts: severityCounts(scan.findings),
                }
              : undefined,
          };
        }),
        nextToken,
      };
    },
    BatchGetImage: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      const result = [];
      const failures = [];
      for (const id of list<Row>(input.imageIds)) {
        const manifest = await getManifest(sim, repository.repositoryName, id.imageDigest ?? id.imageTag);
        if (!manifest || (id.imageDigest && id.imageTag && manifest.digest !== id.imageDigest)) {
          failures.push({
            imageId: id,
            failureCode: manifest ? "ImageTagDoesNotMatchDigest" : "ImageNotFound",
            failureReason: "Requested image not found",
          });
          continue;
        }
        result.push({
          registryId: registryId(),
          repositoryName: repository.repositoryName,
          imageId: { imageDigest: manifest.digest, imageTag: id.imageTag },
          imageManifest: manifest.body,
          imageManifestMediaType: manifest.mediaType,
        });
      }
      return { images: result, failures };
    },
    PutImage: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      const body = required<string>(input.imageManifest, "imageManifest");
      const mediaType =
        input.imageManifestMediaType ??
        JSON.parse(body).mediaType ??
        "application/vnd.oci.image.manifest.v1+json";
      const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      if (input.imageDigest && input.imageDigest !== digest)
        throw clientError(
          "ReferencedImagesNotFoundException",
          "The imageDigest does not match the manifest.",
        );
      const tag = input.imageTag as string | undefined;
      if (tag) {
        const existing = await getManifest(sim, repository.repositoryName, tag);
        if (existing?.digest === digest) {
          throw clientError(
            "ImageAlreadyExistsException",
            `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repository.repositoryName}' in registry with id '${registryId()}'`,
          );
        }
        if (existing && repository.imageTagMutability.startsWith("IMMUTABLE")) {
          throw clientError(
            "ImageTagAlreadyExistsException",
            `The image tag '${tag}' already exists in the '${repository.repositoryName}' repository and cannot be overwritten because the repository is immutable.`,
          );
        }
      }
      const response = await fetch(
        `http://${registry(sim)}/v2/${repository.repositoryName}/manifests/${tag ?? digest}`,
        {
          method: "PUT",
          headers: { "content-type": mediaType },
          body,
        },
      );
      if (!response.ok) {
        throw clientError(
          "ReferencedImagesNotFoundException",
          `The registry refused the manifest (${response.status}): ${(await response.text()).slice(0, 300)}`,
        );
      }
      pushedAt(sim)[`${repository.repositoryName}@${digest}`] ??= sim.clock.now();
      return {
        image: {
          registryId: registryId(),
          repositoryName: repository.repositoryName,
          imageId: { imageDigest: digest, imageTag: tag },
          imageManifest: body,
          imageManifestMediaType: mediaType,
        },
      };
    },
    BatchDeleteImage: async (input) => {
      const repository = findRepository(sim, input.repositoryName);
      const deleted = [];
      const failures = [];
      for (const id of list<Row>(input.imageIds)) {
        const manifest = await getManifest(sim, repository.repositoryName, id.imageDigest ?? id.imageTag);
        if (!manifest) {
          failures.push({
            imageId: id,
            failureCode: "ImageNotFound",
            failureReason: "Requested image not found",
          });
          continue;
        }
        await fetch(`http://${registry(sim)}/v2/${repository.repositoryName}/manifests/${manifest.digest}`, {
          method: "DELETE",
        });
        deleted.push({ imageDigest: manifest.digest, imageTag: id.imageTag });
      }
      return { imageIds: deleted, failures };
    },
    StartImageScan: async (input) => {
      const { repository, manifest } = await scannedImage(sim, input);
      slot<Record<string, boolean>>(sim.state.ecr, "scanned", () => ({}))[
        `${repository.repositoryName}@${manifest.digest}`
      ] = true;
      return {
        registryId: registryId(),
        repositoryName: repository.repositoryName,
        imageId: { imageDigest: manifest.digest, imageTag: input.imageId?.imageTag },
        imageScanStatus: { status: "COMPLETE" },
      };
    },
    DescribeImageScanFindings: async (input) => {
      const { repository, manifest } = await scannedImage(sim, input);
      const scan = scanState(sim, repository, manifest.digest);
      if (!scan) {
        throw clientError(
          "ScanNotFoundException",
          `Image scan does not exist for the image with '{imageDigest:'${manifest.digest}', imageTag:'${input.imageId?.imageTag ?? "null"}'}' in the repository with name '${repository.repositoryName}' in the registry with id '${registryId()}'`,
        );
      }
      if (scan.status !== "COMPLETE" && scan.status !== "ACTIVE") {
        return {
          registryId: registryId(),
          repositoryName: repository.repositoryName,
          imageId: { imageDigest: manifest.digest, imageTag: input.imageId?.imageTag },
          imageScanStatus: scanStatusView(scan),
        };
      }
      // Basic findings first, then enhanced ones: one list paginated as ECR does.
      const all: Array<{ enhanced: boolean; finding: Row }> = [
        ...list<Row>(scan.findings).map((finding) => ({ enhanced: false, finding })),
        ...list<Row>(scan.enhancedFindings).map((finding) => ({ enhanced: true, finding })),
      ];
      const { page, nextToken } = paginate(all, input.nextToken, input.maxResults, 100, 1000);
      const pageBasic = page.filter((item) => !item.enhanced).map((item) => item.finding);
      const pageEnhanced = page.filter((item) => item.enhanced).map((item) => item.finding);
      return {
        registryId: registryId(),
        repositoryName: repository.repositoryName,
        imageId: { imageDigest: manifest.digest, imageTag: input.imageId?.imageTag },
        imageScanStatus: scanStatusView(scan),
        imageScanFindings: {
          imageScanCompletedAt: date(scan.completedAt),
          vulnerabilitySourceUpdatedAt: date(scan.completedAt),
          findingSeverityCounts: severityCounts([
            ...list<Row>(scan.findings),
            ...list<Row>(scan.enhancedFindings),
          ]),
          ...(pageBasic.length || !pageEnhanced.length ? { findings: pageBasic } : {}),
          ...(pageEnhanced.length ? { enhancedFindings: pageEnhanced } : {}),
        },
        nextToken,
      };
    },
    ListTagsForResource: (input) => ({
      tags: (sim.state.tags[input.resourceArn] ?? []).map((tag) => ({ Key: tag.key, Value: tag.value })),
    }),
    TagResource: (input) => {
      const current = sim.state.tags[input.resourceArn] ?? [];
      for (const tag of list<Row>(input.tags)) {
        const found = current.find((item) => item.key === tag.Key);
        if (found) found.value = tag.Value;
        else current.push({ key: tag.Key, value: tag.Value });
      }
      sim.state.tags[input.resourceArn] = current;
      return {};
    },
  };
}
