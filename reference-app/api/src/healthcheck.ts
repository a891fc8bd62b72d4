/**
 * The container's HEALTHCHECK: `node dist/healthcheck.js` exits 0 when GET /health on this container answers 200
 * within 3 seconds, 1 otherwise. Uses PORT (default 8080) and HOST
 * (the loopback address when HOST is unset or 0.0.0.0).
 */
const port = process.env.PORT || "8080";
const listen = process.env.HOST;
const host =
  process.env.HEALTHCHECK_HOST || (listen && listen !== "0.0.0.0" && listen !== "::" ? listen : "127.0.0.1");
const authority = host.includes(":") ? `[${host}]` : host;
try {
  const response = await fetch(`http://${authority}:${port}/health`, { signal: AbortSignal.timeout(3_000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
