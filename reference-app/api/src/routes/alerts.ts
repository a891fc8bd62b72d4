import type { FastifyInstance } from "fastify";
import type { Repository } from "../db/repository.ts";
import { alertsQuerySchema, equipmentIdSchema, parseWith } from "../telemetry.ts";
import { sendError } from "./errors.ts";

/** Threshold breaches raised at ingestion, newest first. */
export function alertRoutes(app: FastifyInstance, repository: Repository): void {
  app.get("/api/alerts", async (request, reply) => {
    const query = parseWith(alertsQuerySchema, request.query);
    if (!query.ok) return sendError(reply, 400, "invalid_query", query.error);
    return { alerts: await repository.alerts(query.value) };
  });

  app.get<{ Params: { id: string } }>("/api/equipment/:id/alerts", async (request, reply) => {
    const id = parseWith(equipmentIdSchema, request.params.id);
    if (!id.ok) return sendError(reply, 400, "invalid_id", id.error);
    const query = parseWith(alertsQuerySchema, request.query);
    if (!query.ok) return sendError(reply, 400, "invalid_query", query.error);
    return {
      equipmentId: id.value,
      alerts: await repository.alerts({ ...query.value, equipmentId: id.value }),
    };
  });
}
