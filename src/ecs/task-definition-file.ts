import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { InputError } from "../errors.ts";

export type TaskDefinitionInput = RegisterTaskDefinitionCommandInput;

/** Keys RegisterTaskDefinition accepts. */
const registerKeys = new Set([
  "family",
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "containerDefinitions",
  "volumes",
  "placementConstraints",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "tags",
  "pidMode",
  "ipcMode",
  "proxyConfiguration",
  "inferenceAccelerators",
  "ephemeralStorage",
  "runtimePlatform",
  "enableFaultInjection",
]);

/** Attributes DescribeTaskDefinition returns that RegisterTaskDefinition does not take. */
const describeOnlyKeys = new Set([
  "taskDefinitionArn",
  "revision",
  "status",
  "requiresAttributes",
  "compatibilities",
  "registeredAt",
  "registeredBy",
  "deregisteredAt",
  "deleteRequestedAt",
]);

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, inner]) => inner !== null && inner !== undefined)
        .map(([key, inner]) => [key, withoutNulls(inner)]),
    );
  }
  return value;
}

export interface ParsedTaskDefinition {
  input: TaskDefinitionInput;
  /** Keys neither RegisterTaskDefinition nor DescribeTaskDefinition knows: passed on, and worth a warning. */
  unknownKeys: string[];
}

/**
 * Reads a task definition as `aws ecs describe-task-definition` writes it (`{taskDefinition, tags}`), as
 * `register-task-definition --generate-cli-skeleton` writes it, or as the bare taskDefinition object; drops
 * describe-only attributes and nulls, so the result can be registered as is.
 */
export function parseTaskDefinition(json: string, source: string): ParsedTaskDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InputError(
      `task definition ${source} is not valid JSON (${(error as Error).message}); fix the file`,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InputError(`task definition ${source} is not a JSON object`);
  }
  return registrableTaskDefinition(parsed, source);
}

/** The same, from an object: a DescribeTaskDefinition response (with TAGS) or one of the shapes above. */
export function registrableTaskDefinition(document: object, source: string): ParsedTaskDefinition {
  const fields = document as Record<string, unknown>;
  const wrapped = fields.taskDefinition && typeof fields.taskDefinition === "object";
  const body = (wrapped ? fields.taskDefinition : fields) as Record<string, unknown>;
  const tags = wrapped && Array.isArray(fields.tags) && fields.tags.length ? fields.tags : body.tags;
  const input: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (describeOnlyKeys.has(key) || value === null || value === undefined) continue;
    if (!registerKeys.has(key)) unknownKeys.push(key);
    input[key] = withoutNulls(value);
  }
  if (tags) input.tags = tags;
  if (typeof input.family !== "string" || !input.family) {
    throw new InputError(`task definition ${source} has no family; add "family": "<name>"`);
  }
  if (!Array.isArray(input.containerDefinitions) || input.containerDefinitions.length === 0) {
    throw new InputError(`task definition ${source} has no containerDefinitions`);
  }
  return { input: input as unknown as TaskDefinitionInput, unknownKeys };
}
