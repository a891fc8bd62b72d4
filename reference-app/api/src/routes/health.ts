import type { FastifyInstance } from "fastify";
import type { Repository } from "../db/repository.ts";

export interface HealthDeps {
  version: string;
  startedAt: number;
  repository: Repository;
  brokerConnected: () => boolean;
  shuttingDown: () => boolean;
  migrated: () => boolean;
}

/** GET /health: liveness, no dependencies. GET /ready: the database and the broker are reachable. */
export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get("/health", async () => ({
    status: "ok",
    version: deps.version,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
  }));

  app.get("/ready", async (_request, reply) => {
    const checks: Record<string, { ok: boolean; error?: string }> = {};
    try {
      await deps.repository.ping();
      checks.database = { ok: true };
    } catch (error) {
      checks.database = { ok: false, error: (error as Error).message };
    }
    if (!deps.migrated()) checks.migrations = { ok: false, error: "pending" };
    checks.broker = deps.brokerConnected() ? { ok: true } : { ok: false, error: "not connected" };
    if (deps.shuttingDown()) checks.process = { ok: false, error: "shutting down" };
    const ready = Object.values(checks).every((check) => check.ok);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "not-ready", version: deps.version, checks });
  });
}
