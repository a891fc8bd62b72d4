import type { FastifyInstance } from "fastify";
import type { Repository } from "../db/repository.ts";
import { equipmentIdSchema, equipmentInputSchema, equipmentQuerySchema, parseWith } from "../telemetry.ts";
import { sendError } from "./errors.ts";

/** The equipment registry: the list the dashboard shows, one machine, and registration. */
export function equipmentRoutes(app: FastifyInstance, repository: Repository): void {
  // GET /api/equipment?farmId=&type= : the dashboard's main call (and the load generator's).
  app.get("/api/equipment", async (request, reply) => {
    const query = parseWith(equipmentQuerySchema, request.query);
    if (!query.ok) return sendError(reply, 400, "invalid_query", query.error);
    const equipment = await repository.listEquipment(query.value);
    return { equipment };
  });

  app.get<{ Params: { id: string } }>("/api/equipment/:id", async (request, reply) => {
    const id = parseWith(equipmentIdSchema, request.params.id);
    if (!id.ok) return sendError(reply, 400, "invalid_id", id.error);
    const equipment = await repository.getEquipment(id.value);
    if (!equipment) return sendError(reply, 404, "not_found", `equipment ${id.value} not found`);
    return { equipment };
  });

  app.post("/api/equipment", async (request, reply) => {
    const input = parseWith(equipmentInputSchema, request.body);
    if (!input.ok) return sendError(reply, 400, "invalid_body", input.error);
    const { equipment, created } = await repository.registerEquipment(input.value);
    return reply.code(created ? 201 : 200).send({ equipment });
  });
}
