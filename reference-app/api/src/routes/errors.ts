import type { FastifyReply } from "fastify";

/** Every error body has the same shape: `{ error: { status, code, message } }`. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { status, code, message } });
}
