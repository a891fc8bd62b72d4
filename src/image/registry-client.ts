import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";
import { ToolkitError } from "../errors.ts";
import { type ImageRepository, isLoopbackRegistry } from "./repository.ts";

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export const manifestMediaTypes = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

const indexMediaTypes = new Set<string>([manifestMediaTypes[0], manifestMediaTypes[2]]);

export class RegistryUnreachableError extends ToolkitError {}
export class RegistryAuthError extends ToolkitError {}
export class RegistryError extends ToolkitError {}

export function manifestDigest(body: Buffer): string {
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!match) return undefined;
  const scheme = (match[1] as string).toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  for (const param of (match[2] as string).matchAll(/(\w+)="([^"]*)"/g))
    params[param[1] as string] = param[2] as string;
  return { scheme, params };
}

export interface RegistryClientOptions {
  repository: ImageRepository;
  credentials?: RegistryCredentials;
  clock: Clock;
  fetch?: typeof fetch;
  /** Attempts for a request that fails with a network error, 429 or 5xx. */
  attempts?: number;
}

/**
 * The parts of the OCI distribution API (registry HTTP API v2) the toolkit needs: read and write manifests by tag,
 * read config blobs. Works against ECR, any OCI registry, and the local docker-registry; handles Basic and Bearer
 * token challenges.
 */
export class RegistryClient {
  readonly #repository: ImageRepository;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #attempts: number;
  readonly #baseUrl: string;
  #authorization: string | undefined;

  constructor(options: RegistryClientOptions) {
    this.#repository = options.repository;
    this.#credentials = options.credentials;
    this.#clock = options.clock;
    this.#fetch = options.fetch ?? fetch;
    this.#attempts = options.attempts ?? 3;
    const scheme = isLoopbackRegistry(options.repository.registry) ? "http" : "https";
    this.#baseUrl = `${scheme}://${options.repository.registry}/v2/${options.repository.path}`;
  }

  /** The manifest a tag or digest points at, or undefined when the registry does not have it. */
  async getManifest(reference: string): Promise<Manifest | undefined> {
    const response = await this.#request("GET", `/manifests/${reference}`, {
      accept: manifestMediaTypes.join(", "),
    });
    if (response.status === 404) return undefined;
    await this.#expectOk(response, `GET manifest ${reference}`);
    const body = Buffer.from(await response.arrayBuffer());
    const digest = manifestDigest(body);
    const announced = response.headers.get("docker-content-digest");
    if (announced && announced !== digest && !reference.startsWith("sha256:")) {
      throw new RegistryError(
        `registry ${this.#repository.registry} announced digest ${announced} for ${reference} but the manifest hashes to ${digest}`,
      );
    }
    const mediaType = response.headers.get("content-type")?.split(";")[0]?.trim() || mediaTypeOf(body);
    return { digest, mediaType, body };
  }

  /** Stores a manifest under a tag; returns its digest (the same bytes always give the same digest). */
  async putManifest(tag: string, manifest: Pick<Manifest, "body" | "mediaType">): Promise<string> {
    const response = await this.#request(
      "PUT",
      `/manifests/${tag}`,
      { "content-type": manifest.mediaType },
      manifest.body,
    );
    await this.#expectOk(response, `PUT manifest ${tag}`);
    await response.arrayBuffer();
    return manifestDigest(manifest.body);
  }

  async getBlob(digest: string): Promise<Buffer> {
    const response = await this.#request("GET", `/blobs/${digest}`, {});
    await this.#expectOk(response, `GET blob ${digest}`);
    return Buffer.from(await response.arrayBuffer());
  }

  /** The labels of the image a manifest describes; for an index, those of its first image. */
  async labels(manifest: Manifest): Promise<Record<string, string>> {
    let image = manifest;
    if (indexMediaTypes.has(manifest.mediaType)) {
      const index = JSON.parse(manifest.body.toString("utf8")) as { manifests?: Array<{ digest: string }> };
      const first = index.manifests?.[0];
      if (!first) return {};
      const child = await this.getManifest(first.digest);
      if (!child) return {};
      image = child;
    }
    const config = (JSON.parse(image.body.toString("utf8")) as { config?: { digest: string } }).config;
    if (!config) return {};
    const blob = JSON.parse((await this.getBlob(config.digest)).toString("utf8")) as {
      config?: { Labels?: Record<string, string> | null };
    };
    return blob.config?.Labels ?? {};
  }

  async #request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<Response> {
    const url = `${this.#baseUrl}${path}`;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.#send(method, url, headers, body);
        if (response.status === 401 && (await this.#authenticate(response))) {
          response = await this.#send(method, url, headers, body);
        }
      } catch (error) {
        if (error instanceof ToolkitError) throw error;
        if (attempt < this.#attempts) {
          await this.#clock.sleep(500 * 2 ** attempt);
          continue;
        }
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? (error as Error).message;
        throw new RegistryUnreachableError(
          `cannot reach registry ${this.#repository.registry} (${reason}); check the repository input and that the registry is up`,
          { cause: error },
        );
      }
      if ((response.status === 429 || response.status >= 500) && attempt < this.#attempts) {
        await response.arrayBuffer();
        await this.#clock.sleep(500 * 2 ** attempt);
        continue;
      }
      return response;
    }
  }

  #send(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    const all = { ...headers, ...(this.#authorization ? { authorization: this.#authorization } : {}) };
    return this.#fetch(url, { method, headers: all, ...(body ? { body: new Uint8Array(body) } : {}) });
  }

  /** Answers a 401 challenge; returns false when there is nothing new to try. */
  async #authenticate(response: Response): Promise<boolean> {
    const challenge = parseChallenge(response.headers.get("www-authenticate"));
    await response.arrayBuffer();
    const basic = this.#credentials
      ? `Basic ${Buffer.from(`${this.#credentials.username}:${this.#credentials.password}`).toString("base64")}`
      : undefined;
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      const tokenUrl = new URL(challenge.params.realm);
      if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
      tokenUrl.searchParams.set(
        "scope",
        challenge.params.scope ?? `repository:${this.#repository.path}:pull,push`,
      );
      const tokenResponse = await this.#fetch(tokenUrl, { headers: basic ? { authorization: basic } : {} });
      if (!tokenResponse.ok) {
        throw this.#refused(tokenResponse.status);
      }
      const token = (await tokenResponse.json()) as { token?: string; access_token?: string };
      const value = token.token ?? token.access_token;
      if (!value) throw this.#refused(tokenResponse.status);
      const next = `Bearer ${value}`;
      if (next === this.#authorization) return false;
      this.#authorization = next;
      return true;
    }
    if (!basic || this.#authorization === basic) throw this.#refused(401);
    this.#authorization = basic;
    return true;
  }

  #refused(status: number): RegistryAuthError {
    return new RegistryAuthError(
      this.#credentials
        ? `registry ${this.#repository.registry} refused the credentials (HTTP ${status}); check the username/password or the role's ECR permissions`
        : `registry ${this.#repository.registry} requires authentication (HTTP ${status}); pass username and password, or use an ECR repository with AWS credentials`,
    );
  }

  async #expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    if (response.status === 401 || response.status === 403) throw this.#refused(response.status);
    const text = (await response.text()).slice(0, 500);
    throw new RegistryError(
      `${what} on ${this.#repository.name} failed with HTTP ${response.status}: ${text.trim() || response.statusText}`,
    );
  }
}

function mediaTypeOf(body: Buffer): string {
  try {
    return (JSON.parse(body.toString("utf8")) as { mediaType?: string }).mediaType ?? manifestMediaTypes[1];
  } catch {
    return manifestMediaTypes[1];
  }
}
