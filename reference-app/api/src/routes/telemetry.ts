import type { FastifyInstance } from "fastify";
import type { Repository } from "../db/repository.ts";
import type { Ingestor } from "../ingest.ts";
import {
  equipmentIdSchema,
  historyQuerySchema,
  parseTelemetryPayload,
  parseWith,
  toTelemetryRecord,
} from "../telemetry.ts";
import { sendError } from "./errors.ts";

/** Telemetry history, the latest reading, and HTTP ingestion (for tests and devices without MQTT). */
export function telemetryRoutes(app: FastifyInstance, repository: Repository, ingestor: Ingestor): void {
  app.get<{ Params: { id: string } }>("/api/equipment/:id/telemetry", async (request, reply) => {
    const id = parseWith(equipmentIdSchema, request.params.id);
    if (!id.ok) return sendError(reply, 400, "invalid_id", id.error);
    const query = parseWith(historyQuerySchema, request.query);
    if (!query.ok) return sendError(reply, 400, "invalid_query", query.error);
    if (!(await repository.getEquipment(id.value))) {
      return sendError(reply, 404, "not_found", `equipment ${id.value} not found`);
    }
    return { equipmentId: id.value, readings: await repository.history(id.value, query.value) };
  });

  app.get<{ Params: { id: string } }>("/api/equipment/:id/telemetry/latest", async (request, reply) => {
    const id = parseWith(equipmentIdSchema, request.params.id);
    if (!id.ok) return sendError(reply, 400, "invalid_id", id.error);
    const reading = await repository.latest(id.value);
    if (!reading) return sendError(reply, 404, "not_found", `no telemetry for equipment ${id.value}`);
    return { reading };
  });

  app.post<{ Params: { id: string } }>("/api/equipment/:id/telemetry", async (request, reply) => {
    const id = parseWith(equipmentIdSchema, request.params.id);
    if (!id.ok) return sendError(reply, 400, "invalid_id", id.error);
    const payload = parseTelemetryPayload(request.body);
    if (!payload.ok) {
      ingestor.malformed("http", payload.error, { equipmentId: id.value });
      return sendError(reply, 400, "invalid_telemetry", payload.error);
    }
    const { alerts } = await ingestor.ingest(toTelemetryRecord(id.value, payload.value, new Date()), "http");
    return reply.code(201).send({ stored: true, equipmentId: id.value, alerts });
  });

  app.get("/api/ingest/stats", async () => ({ ...ingestor.stats }));
}
