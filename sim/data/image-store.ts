import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { extractLayer, type LayerCompression } from "./tar-extract.ts";

/**
 * Pulls images through the registry HTTP API v2 and unpacks each one once per manifest digest into a root folder
 * that tasks run from. Blobs are verified against their digests (and layers against the config's diff_ids).
 */

export interface ImageReference {
  /** host[:port] */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface ImageHealthcheck {
  /** ["CMD", ...] | ["CMD-SHELL", "command"] | ["NONE"] */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  retries?: number;
}

/** The parts of the image config that decide how a container runs. */
export interface ImageRunConfig {
  entrypoint: string[];
  cmd: string[];
  /** `KEY=value` pairs, in image order. */
  env: string[];
  workingDir: string;
  /** As written in the image: "", "node", "1000", "1000:1000", "node:node". */
  user: string;
  /** e.g. ["8080/tcp"] */
  exposedPorts: string[];
  healthcheck?: ImageHealthcheck;
  labels: Record<string, string>;
}

export interface PulledImage {
  /** The reference as asked for. */
  reference: string;
  /** Digest of the platform manifest: the key of the unpacked root folder. */
  manifestDigest: string;
  configDigest: string;
  /** The unpacked root filesystem (read-only by convention: tasks run on an overlay of it). */
  rootfs: string;
  config: ImageRunConfig;
  /** The image config JSON as the registry served it. */
  rawConfig: Record<string, unknown>;
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  /** True when the root folder was already unpacked before this pull. */
  cached: boolean;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ImageStoreOptions {
  /** Folder for blobs and unpacked images, e.g. `.tmp/sim/images`. */
  cacheDir: string;
  /** Platform picked from an image index. Default linux and the host's architecture. */
  platform?: { os: string; architecture: string };
  /** Registries reached over plain http. Default: 127.x, localhost and [::1]. */
  insecure?: (registry: string) => boolean;
  credentials?: (registry: string) => RegistryCredentials | undefined;
  /** Parallel blob downloads per pull. Default 3. */
  downloadConcurrency?: number;
}

export interface ImageStore {
  pull(reference: string): Promise<PulledImage>;
  /** Unpacked images known on disk, by manifest digest. */
  cacheDir: string;
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const INDEX_TYPES = new Set(MANIFEST_TYPES.slice(0, 2));

/** Parses `registry/repo[:tag][@sha256:...]`. A registry is required (no Docker Hub defaulting). */
export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`unsupported digest in ${reference}`);
  }
  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  if (!first || !(first.includes(".") || first.includes(":") || first === "localhost"))
    throw new Error(`image reference needs a registry host: ${reference}`);
  let repository = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(":");
  if (colon !== -1) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  if (!repository) throw new Error(`image reference has no repository: ${reference}`);
  if (!tag && !digest) tag = "latest";
  return { registry: first, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

const hostArchitecture = (): string =>
  ({ x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" })[process.arch as string] ??
  process.arch;

const defaultInsecure = (registry: string) => /^(127\.|localhost(:|$)|\[::1\])/.test(registry);

const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const hexOf = (digest: string) => digest.replace(/^sha256:/, "");

function compressionOf(mediaType: string): LayerCompression {
  if (mediaType.endsWith("gzip")) return "gzip";
  if (mediaType.endsWith("zstd")) return "zstd";
  if (mediaType.endsWith(".tar") || mediaType.endsWith("tar")) return "none";
  throw new Error(`unsupported layer media type ${mediaType}`);
}

function nanosToMs(value: unknown): number | undefined {
  return typeof value === "number" && value > 0 ? value / 1e6 : undefined;
}

export function runConfigOf(raw: Record<string, unknown>): ImageRunConfig {
  const config = (raw.config ?? {}) as Record<string, unknown>;
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : [];
  const health = config.Healthcheck as Record<string, unknown> | undefined;
  return {
    entrypoint: strings(config.Entrypoint),
    cmd: strings(config.Cmd),
    env: strings(config.Env),
    workingDir: typeof config.WorkingDir === "string" ? config.WorkingDir : "",
    user: typeof config.User === "string" ? config.User : "",
    exposedPorts: Object.keys((config.ExposedPorts ?? {}) as Record<string, unknown>),
    ...(health && Array.isArray(health.Test) && health.Test.length > 0
      ? {
          healthcheck: {
            test: strings(health.Test),
            ...(nanosToMs(health.Interval) ? { intervalMs: nanosToMs(health.Interval) } : {}),
            ...(nanosToMs(health.Timeout) ? { timeoutMs: nanosToMs(health.Timeout) } : {}),
            ...(nanosToMs(health.StartPeriod) ? { startPeriodMs: nanosToMs(health.StartPeriod) } : {}),
            ...(typeof health.Retries === "number" && health.Retries > 0 ? { retries: health.Retries } : {}),
          },
        }
      : {}),
    labels: (config.Labels ?? {}) as Record<string, string>,
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export function createImageStore(options: ImageStoreOptions): ImageStore {
  const platform = options.platform ?? { os: "linux", architecture: hostArchitecture() };
  const insecure = options.insecure ?? defaultInsecure;
  const concurrency = Math.max(1, options.downloadConcurrency ?? 3);
  const blobsDir = join(options.cacheDir, "blobs", "sha256");
  const imagesDir = join(options.cacheDir, "unpacked");
  const tokens = new Map<string, string>();
  const blobDownloads = new Map<string, Promise<string>>();
  const unpacks = new Map<string, Promise<PulledImage>>();

  async function request(ref: ImageReference, path: string, accept?: string): Promise<Response> {
    const scheme = insecure(ref.registry) ? "http" : "https";
    const url = `${scheme}://${ref.registry}/v2/${ref.repository}/${path}`;
    const headers = (): Record<string, string> => {
      const token = tokens.get(`${ref.registry}/${ref.repository}`);
      return { ...(accept ? { accept } : {}), ...(token ? { authorization: token } : {}) };
    };
    let response = await fetch(url, { headers: headers(), redirect: "follow" });
    if (response.status === 401) {
      await response.body?.cancel();
      await authenticate(ref, response.headers.get("www-authenticate") ?? "");
      response = await fetch(url, { headers: headers(), redirect: "follow" });
    }
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw new Error(`registry GET ${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
    }
    return response;
  }

  /** The registry token flow (anonymous or with credentials), or basic auth. */
  async function authenticate(ref: ImageReference, challenge: string): Promise<void> {
    const credentials = options.credentials?.(ref.registry);
    const basic = credentials
      ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
      : undefined;
    const key = `${ref.registry}/${ref.repository}`;
    if (/^basic/i.test(challenge)) {
      if (!basic) throw new Error(`registry ${ref.registry} needs credentials`);
      tokens.set(key, basic);
      return;
    }
    const fields = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]] as [string, string]),
    );
    if (!fields.realm) throw new Error(`registry ${ref.registry} sent an unusable challenge: ${challenge}`);
    const url = new URL(fields.realm);
    if (fields.service) url.searchParams.set("service", fields.service);
    url.searchParams.set("scope", fields.scope ?? `repository:${ref.repository}:pull`);
    const response = await fetch(url, { headers: basic ? { authorization: basic } : {} });
    if (!response.ok) throw new Error(`registry token request failed: HTTP ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    tokens.set(key, `Bearer ${body.token ?? body.access_token}`);
  }

  async function fetchManifest(
    ref: ImageReference,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; body: Record<string, unknown> }> {
    const response = await request(ref, `manifests/${reference}`, MANIFEST_TYPES.join(", "));
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256(bytes);
    if (reference.startsWith("sha256:") && reference !== digest)
      throw new Error(`manifest digest mismatch: asked ${reference}, got ${digest}`);
    const body = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    const mediaType =
      (body.mediaType as string | undefined) ??
      response.headers.get("content-type")?.split(";")[0] ??
      "application/vnd.oci.image.manifest.v1+json";
    return { digest, mediaType, body };
  }

  /** Downloads a blob into the blob cache, verifying its digest; returns its path. */
  function blob(ref: ImageReference, digest: string): Promise<string> {
    let download = blobDownloads.get(digest);
    if (!download) {
      download = (async () => {
        const path = join(blobsDir, hexOf(digest));
        if (await exists(path)) return path;
        await mkdir(blobsDir, { recursive: true });
        const response = await request(ref, `blobs/${digest}`);
        const temporary = `${path}.part-${randomBytes(6).toString("hex")}`;
        const hash = createHash("sha256");
        try {
          await pipeline(
            Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
            new Transform({
              transform(chunk: Buffer, _encoding, callback) {
                hash.update(chunk);
                callback(null, chunk);
              },
            }),
            createWriteStream(temporary),
          );
          const actual = `sha256:${hash.digest("hex")}`;
          if (actual !== digest) throw new Error(`blob digest mismatch: expected ${digest}, got ${actual}`);
          await rename(temporary, path);
        } catch (error) {
          await rm(temporary, { force: true });
          throw error;
        }
        return path;
      })();
      blobDownloads.set(digest, download);
      download.catch(() => blobDownloads.delete(digest));
    }
    return download;
  }

  async function unpack(
    referenceText: string,
    ref: ImageReference,
    manifestDigest: string,
    manifest: Record<string, unknown>,
  ): Promise<PulledImage> {
    const folder = join(imagesDir, hexOf(manifestDigest));
    const metadataPath = join(folder, "image.json");
    if (await exists(metadataPath)) {
      const stored = JSON.parse(await readFile(metadataPath, "utf8")) as PulledImage;
      return { ...stored, reference: referenceText, rootfs: join(folder, "rootfs"), cached: true };
    }
    const configDescriptor = manifest.config as { digest: string };
    const layers = (manifest.layers ?? []) as Array<{ digest: string; size: number; mediaType: string }>;
    const rawConfig = JSON.parse(await readFile(await blob(ref, configDescriptor.digest), "utf8")) as Record<
      string,
      unknown
    >;
    const diffIds = ((rawConfig.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []) as string[];
    // Download with bounded parallelism, unpack strictly in order.
    const paths: Array<Promise<string>> = [];
    let next = 0;
    const slots: Array<Promise<void>> = [];
    const started: Array<(value: string) => void> = [];
    const failed: Array<(error: unknown) => void> = [];
    for (let index = 0; index < layers.length; index++)
      paths.push(
        new Promise<string>((resolve, reject) => {
          started[index] = resolve;
          failed[index] = reject;
        }),
      );
    for (const promise of paths) promise.catch(() => undefined);
    for (let slot = 0; slot < Math.min(concurrency, layers.length); slot++)
      slots.push(
        (async () => {
          while (next < layers.length) {
            const index = next++;
            const layer = layers[index] as { digest: string };
            await blob(ref, layer.digest).then(started[index], failed[index]);
          }
        })(),
      );

    const partial = `${folder}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
    const rootfs = join(partial, "rootfs");
    await mkdir(rootfs, { recursive: true, mode: 0o755 });
    try {
      for (let index = 0; index < layers.length; index++) {
        const layer = layers[index] as { digest: string; mediaType: string };
        const file = await (paths[index] as Promise<string>);
        const result = await extractLayer(file, rootfs, compressionOf(layer.mediaType));
        const expected = diffIds[index];
        if (expected && expected !== result.diffId)
          throw new Error(
            `layer ${layer.digest} diff_id mismatch: expected ${expected}, got ${result.diffId}`,
          );
      }
      await Promise.all(slots);
      const image: PulledImage = {
        reference: referenceText,
        manifestDigest,
        configDigest: configDescriptor.digest,
        rootfs: join(folder, "rootfs"),
        config: runConfigOf(rawConfig),
        rawConfig,
        layers: layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
        cached: false,
      };
      await writeFile(join(partial, "image.json"), JSON.stringify(image, null, 2));
      await mkdir(imagesDir, { recursive: true });
      try {
        await rename(partial, folder);
      } catch (error) {
        // Another process unpacked the same digest first: use theirs.
        if (!(await exists(metadataPath))) throw error;
        await rm(partial, { recursive: true, force: true });
        return { ...image, cached: true };
      }
      return image;
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
  }

  return {
    cacheDir: options.cacheDir,
    async pull(referenceText) {
      const ref = parseImageReference(referenceText);
      let manifest = await fetchManifest(ref, ref.digest ?? (ref.tag as string));
      if (INDEX_TYPES.has(manifest.mediaType) || Array.isArray(manifest.body.manifests)) {
        const entries = (manifest.body.manifests ?? []) as Array<{
          digest: string;
          platform?: { os?: string; architecture?: string };
        }>;
        const match = entries.find(
          (entry) =>
            entry.platform?.os === platform.os && entry.platform?.architecture === platform.architecture,
        );
        if (!match)
          throw new Error(
            `${referenceText} has no ${platform.os}/${platform.architecture} image in its index`,
          );
        manifest = await fetchManifest(ref, match.digest);
      }
      if (!manifest.body.config)
        throw new Error(`${referenceText}: unsupported manifest ${manifest.mediaType}`);
      let pending = unpacks.get(manifest.digest);
      if (!pending) {
        pending = unpack(referenceText, ref, manifest.digest, manifest.body);
        unpacks.set(manifest.digest, pending);
        pending.catch(() => undefined).finally(() => unpacks.delete(manifest.digest));
        return pending;
      }
      return { ...(await pending), reference: referenceText, cached: true };
    },
  };
}
