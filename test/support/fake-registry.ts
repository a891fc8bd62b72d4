import { createHash } from "node:crypto";

/**
 * An in-memory OCI distribution API behind a `fetch` function, for unit tests of request shapes and auth flows.
 * The end-to-end tests use the real docker-registry instead.
 */
export interface FakeRegistry {
  fetch: typeof fetch;
  requests: Array<{ method: string; url: string; authorization?: string }>;
  manifests: Map<string, { body: Buffer; mediaType: string }>;
  blobs: Map<string, Buffer>;
  /** Responses to serve before the normal ones (429, 500, network errors …). */
  failures: Array<number | "network">;
}

export interface FakeRegistryOptions {
  /** `basic:user:pass` or `bearer:user:pass` requires those credentials; default anonymous. */
  auth?: string;
}

const sha256 = (body: Buffer) => `sha256:${createHash("sha256").update(body).digest("hex")}`;

export function fakeRegistry(options: FakeRegistryOptions = {}): FakeRegistry {
  const manifests = new Map<string, { body: Buffer; mediaType: string }>();
  const blobs = new Map<string, Buffer>();
  const requests: FakeRegistry["requests"] = [];
  const failures: FakeRegistry["failures"] = [];
  const [scheme, user, pass] = (options.auth ?? "").split(":");
  const basic = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  const bearerToken = "Bearer token-123";

  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? "GET";
    const headers = new Headers(init.headers);
    const authorization = headers.get("authorization") ?? undefined;
    requests.push({ method, url: url.toString(), ...(authorization ? { authorization } : {}) });
    const failure = failures.shift();
    if (failure === "network")
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });
    if (failure) return new Response("busy", { status: failure });

    if (url.pathname === "/token") {
      return authorization === basic
        ? Response.json({ token: "token-123" })
        : new Response("denied", { status: 401 });
    }
    if (scheme === "basic" && authorization !== basic) {
      return new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="fake"' } });
    }
    if (scheme === "bearer" && authorization !== bearerToken) {
      return new Response("", {
        status: 401,
        headers: {
          "www-authenticate": `Bearer realm="${url.origin}/token",service="fake",scope="repository:x:pull"`,
        },
      });
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!match) return new Response("not found", { status: 404 });
    const [, path, kind, reference] = match as unknown as [string, string, string, string];
    if (kind === "blobs") {
      const blob = blobs.get(reference);
      return blob ? new Response(new Uint8Array(blob)) : new Response("", { status: 404 });
    }
    const key = `${path}:${reference}`;
    if (method === "PUT") {
      const body = Buffer.from(init.body as Uint8Array);
      const stored = { body, mediaType: headers.get("content-type") ?? "" };
      manifests.set(key, stored);
      manifests.set(`${path}:${sha256(body)}`, stored);
      return new Response("", { status: 201, headers: { "docker-content-digest": sha256(body) } });
    }
    const manifest = manifests.get(key);
    if (!manifest) return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN" }] }, { status: 404 });
    return new Response(new Uint8Array(manifest.body), {
      headers: { "content-type": manifest.mediaType, "docker-content-digest": sha256(manifest.body) },
    });
  };
  return { fetch: fetchImpl as typeof fetch, requests, manifests, blobs, failures };
}

/** Stores an image (config blob with labels + manifest) under a tag; returns the manifest digest. */
export function storeImage(
  registry: FakeRegistry,
  path: string,
  tag: string,
  labels: Record<string, string>,
): string {
  const config = Buffer.from(JSON.stringify({ config: { Labels: labels } }));
  const configDigest = sha256(config);
  registry.blobs.set(configDigest, config);
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
  const stored = { body, mediaType: "application/vnd.docker.distribution.manifest.v2+json" };
  registry.manifests.set(`${path}:${tag}`, stored);
  registry.manifests.set(`${path}:${sha256(body)}`, stored);
  return sha256(body);
}
