import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Repository } from "./db/repository.ts";
import type { Ingestor } from "./ingest.ts";
import type { Logger } from "./log.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { equipmentRoutes } from "./routes/equipment.ts";
import { sendError } from "./routes/errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { telemetryRoutes } from "./routes/telemetry.ts";

export interface AppDeps {
  version: string;
  logger: Logger;
  repository: Repository;
  ingestor: Ingestor;
  brokerConnected: () => boolean;
  shuttingDown?: () => boolean;
  /** False until the migrations are applied: the /api routes answer 503 meanwhile. */
  migrated?: () => boolean;
  startedAt?: number;
}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "57P01",
  "57P03",
]);

function isDatabaseUnavailable(error: FastifyError & { code?: string }): boolean {
  return (
    (error.code !== undefined && unavailableCodes.has(error.code)) ||
    /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED/.test(error.message)
  );
}

/** The HTTP service, without listening: tests use `inject` or `listen` on it directly. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    return503OnClosing: true,
  });

  const shuttingDown = deps.shuttingDown ?? (() => false);
  const migrated = deps.migrated ?? (() => true);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-app-version", deps.version);
    if (!migrated() && request.url.startsWith("/api/")) {
      return sendError(reply, 503, "starting", "the database schema is not ready yet");
    }
  });
  // While shutting down, a response must not leave its keep-alive connection open, or closing would wait for it.
  app.addHook("onSend", async (_request, reply) => {
    if (shuttingDown()) reply.header("connection", "close");
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, "not_found", `no route for ${request.method} ${request.url.split("?")[0]}`),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, error.code ?? "bad_request", error.message);
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error.message }, "database unavailable");
      return sendError(reply, 503, "database_unavailable", "the database is not reachable");
    }
    request.log.error({ err: error }, "request failed");
    return sendError(reply, 500, "internal_error", "internal error");
  });

  const startedAt = deps.startedAt ?? Date.now();
  healthRoutes(app, {
    version: deps.version,
    startedAt,
    repository: deps.repository,
    brokerConnected: deps.brokerConnected,
    shuttingDown,
    migrated,
  });
  equipmentRoutes(app, deps.repository);
  telemetryRoutes(app, deps.repository, deps.ingestor);
  alertRoutes(app, deps.repository);
  return app;
}
