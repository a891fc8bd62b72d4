import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The dashboard's own small server: serves the page and its assets, and proxies the page's GET /api/* calls to
 * the api (API_URL), so the browser talks to one origin, as it does behind the load balancer.
 */
export interface WebConfig {
  version: string;
  port: number;
  host: string;
  apiUrl: string;
  publicFolder: string;
  /** How long a proxied api call may take. */
  apiTimeoutMs: number;
  /** `info` logs every request; `warn` only problems; `silent` nothing. */
  logLevel: string;
}

export function loadWebConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  const port = Number(env.PORT || 8080);
  if (!Number.isInteger(port) || port < 0) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  return {
    version: env.APP_VERSION || "dev",
    port,
    host: env.HOST || "0.0.0.0",
    apiUrl: (env.API_URL || "http://127.0.0.1:8081").replace(/\/+$/, ""),
    publicFolder: env.PUBLIC_DIR || fileURLToPath(new URL("../public", import.meta.url)),
    apiTimeoutMs: Number(env.API_TIMEOUT_MS || 10_000),
    logLevel: env.LOG_LEVEL || "info",
  };
}

const levels = { info: 30, warn: 40, error: 50, silent: 100 } as const;
let threshold: number = levels.info;

function log(
  level: "info" | "warn" | "error",
  msg: string,
  fields: Record<string, unknown> = {},
  version = "",
) {
  if (levels[level] < threshold) return;
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), service: "web", version, ...fields, msg })}\n`,
  );
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

const securityHeaders = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The page's files, read once at start (the root filesystem is read-only in AWS; nothing is written). */
async function loadAssets(folder: string): Promise<Map<string, { type: string; body: Buffer }>> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const name of ["index.html", "app.js", "styles.css", "favicon.svg"]) {
    const body = await readFile(join(folder, name));
    assets.set(`/${name}`, { type: contentTypes[extname(name)] ?? "application/octet-stream", body });
  }
  const index = assets.get("/index.html");
  if (index) assets.set("/", index);
  return assets;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  response.end(JSON.stringify(body));
}

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-encoding",
  "content-length",
]);

export interface WebServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startWebServer(config: WebConfig): Promise<WebServer> {
  threshold = levels[config.logLevel as keyof typeof levels] ?? levels.info;
  const assets = await loadAssets(config.publicFolder);
  const startedAt = Date.now();
  let closing = false;

  const proxy = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    try {
      const upstream = await fetch(`${config.apiUrl}${path}`, {
        method: request.method,
        headers: { accept: "application/json", "x-forwarded-for": request.socket.remoteAddress ?? "" },
        signal: AbortSignal.timeout(config.apiTimeoutMs),
      });
      const headers: Record<string, string> = { "cache-control": "no-store" };
      upstream.headers.forEach((value, key) => {
        if (!hopByHop.has(key) && key !== "x-app-version") headers[key] = value;
      });
      headers["x-api-version"] = upstream.headers.get("x-app-version") ?? "";
      const body = Buffer.from(await upstream.arrayBuffer());
      response.writeHead(upstream.status, headers);
      response.end(request.method === "HEAD" ? undefined : body);
    } catch (error) {
      log("warn", "api unreachable", { path, err: (error as Error).message }, config.version);
      sendJson(response, 502, {
        error: { status: 502, code: "api_unreachable", message: "the api did not answer" },
      });
    }
  };

  const server = createServer((request, response) => {
    const started = Date.now();
    response.setHeader("x-app-version", config.version);
    if (closing) response.setHeader("connection", "close");
    response.on("finish", () => {
      if (!request.url?.startsWith("/health")) {
        log(
          "info",
          "request completed",
          { method: request.method, url: request.url, status: response.statusCode, ms: Date.now() - started },
          config.version,
        );
      }
    });
    const url = new URL(request.url ?? "/", "http://web.local");
    if (request.method !== "GET" && request.method !== "HEAD") {
      sendJson(response, 405, { error: { status: 405, code: "method_not_allowed", message: "read-only" } });
      return;
    }
    if (url.pathname === "/health") {
      sendJson(response, 200, {
        status: "ok",
        version: config.version,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      });
      return;
    }
    if (url.pathname.startsWith("/api/")) {
      void proxy(request, response, `${url.pathname}${url.search}`);
      return;
    }
    const asset = assets.get(url.pathname);
    if (!asset) {
      sendJson(response, 404, {
        error: { status: 404, code: "not_found", message: `no page at ${url.pathname}` },
      });
      return;
    }
    response.writeHead(200, {
      "content-type": asset.type,
      "cache-control": url.pathname === "/" || url.pathname === "/index.html" ? "no-cache" : "max-age=300",
      ...securityHeaders,
    });
    response.end(request.method === "HEAD" ? undefined : asset.body);
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((done, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => done());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((done) => {
        closing = true;
        server.close(() => done());
        server.closeIdleConnections();
      }),
  };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const config = loadWebConfig();
  try {
    const web = await startWebServer(config);
    log("info", "web started", { url: web.url, api: config.apiUrl }, config.version);
    let signalled = false;
    const shutdown = (signal: string) => {
      if (signalled) return;
      signalled = true;
      log("info", "shutting down", { signal }, config.version);
      setTimeout(() => {
        log("error", "shutdown took too long; exiting", {}, config.version);
        process.exit(1);
      }, 15_000).unref();
      void web.close().then(() => {
        log("info", "shutdown complete", {}, config.version);
        process.exit(0);
      });
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  } catch (error) {
    log("error", "web failed to start", { err: (error as Error).message }, config.version);
    process.exit(1);
  }
}
