import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AwsError } from "./errors.ts";
import type { Faults } from "./faults.ts";
import { parseQuery, queryError, queryResponse, toJson } from "./wire.ts";

/**
 * One HTTP endpoint for every simulated service. A request is routed by its protocol:
 * - awsJson1_1 / awsJson1_0: `X-Amz-Target: <prefix>.<Operation>` (ECS, CodeDeploy, ECR, CloudWatch ≥ 3.949),
 * - awsQuery: form body `Action=<Operation>&Version=<api version>` (CloudWatch ≤ 3.948, ELBv2),
 * and the SigV4 credential scope names the service when the protocol alone does not. Any credentials are accepted,
 * but a SigV4 Authorization header is required, as AWS requires one.
 */
export interface RequestContext {
  service: string;
  operation: string;
  region: string;
  requestId: string;
}

// biome-ignore lint/suspicious/noExplicitAny: inputs are untyped JSON or form data validated by each handler
export type Handler = (input: any, context: RequestContext) => unknown;
export type Operations = Record<string, Handler>;

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}
export type AdminHandler = (request: AdminRequest) => Promise<{ status: number; body: unknown }>;

interface JsonTarget {
  service: string;
  contentType: string;
  queryCompatible: boolean;
}

const jsonTargets: Record<string, JsonTarget> = {
  AmazonEC2ContainerServiceV20141113: {
    service: "ecs",
    contentType: "application/x-amz-json-1.1",
    queryCompatible: false,
  },
  CodeDeploy_20141006: {
    service: "codedeploy",
    contentType: "application/x-amz-json-1.1",
    queryCompatible: false,
  },
  AmazonEC2ContainerRegistry_V20150921: {
    service: "ecr",
    contentType: "application/x-amz-json-1.1",
    queryCompatible: false,
  },
  GraniteServiceVersion20100801: {
    service: "monitoring",
    contentType: "application/x-amz-json-1.0",
    queryCompatible: true,
  },
};

const queryVersions: Record<string, { service: string; namespace: string }> = {
  "2010-08-01": { service: "monitoring", namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/" },
  "2015-12-01": {
    service: "elasticloadbalancing",
    namespace: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
  },
};

export interface ProtocolServerOptions {
  services: Record<string, Operations>;
  faults: Faults;
  admin: AdminHandler;
  defaultRegion: string;
  log?: (line: string) => void;
}

export function createProtocolServer(options: ProtocolServerOptions): Server {
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error) => {
      options.log?.(`sim: request failed: ${error instanceof Error ? error.stack : error}`);
      if (!response.headersSent) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ __type: "InternalFailure", message: String(error) }));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  return server;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function credentialScope(request: IncomingMessage): { region?: string; service?: string } {
  const header = request.headers.authorization ?? "";
  const match = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(header);
  return match ? { region: match[1], service: match[2] } : {};
}

async function handle(request: IncomingMessage, response: ServerResponse, options: ProtocolServerOptions) {
  const url = new URL(request.url ?? "/", "http://localhost");
  const body = await readBody(request);
  if (url.pathname.startsWith("/_sim/") || url.pathname === "/_sim") {
    let parsed: unknown;
    try {
      parsed = body ? JSON.parse(body) : {};
    } catch {
      return send(response, 400, "application/json", JSON.stringify({ error: "body is not JSON" }));
    }
    const result = await options
      .admin({ method: request.method ?? "GET", path: url.pathname, query: url.searchParams, body: parsed })
      .catch((error: unknown) => ({
        status: 400,
        body: { error: error instanceof Error ? error.message : String(error) },
      }));
    return send(response, result.status, "application/json", toJson(result.body));
  }

  const requestId = randomUUID();
  const scope = credentialScope(request);
  const target = request.headers["x-amz-target"];
  const isJson = typeof target === "string" && target.includes(".");
  let service: string | undefined;
  let operation = "";
  let input: Record<string, unknown> = {};
  let json: JsonTarget | undefined;
  let namespace = "";

  if (isJson) {
    const dot = target.lastIndexOf(".");
    json = jsonTargets[target.slice(0, dot)];
    operation = target.slice(dot + 1);
    service = json?.service ?? scope.service;
    try {
      input = body ? JSON.parse(body) : {};
    } catch {
      return sendJsonError(
        response,
        requestId,
        json,
        new AwsError("SerializationException", "body is not JSON"),
      );
    }
  } else {
    const form = parseQuery(body);
    operation = form.action;
    input = form.input;
    const version = queryVersions[form.version];
    service = version?.service ?? scope.service;
    namespace = version?.namespace ?? "";
  }
  const sendError = (error: AwsError) =>
    json || isJson
      ? sendJsonError(response, requestId, json, error)
      : sendQueryError(response, requestId, error);

  if (!/^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? "")) {
    return sendError(
      new AwsError(
        "MissingAuthenticationTokenException",
        "Request is missing a SigV4 Authorization header",
        403,
      ),
    );
  }
  const operations = service ? options.services[service] : undefined;
  if (!service || !operations) {
    return sendError(
      new AwsError(
        "UnknownOperationException",
        `service of the request is not simulated (target ${target ?? "-"})`,
      ),
    );
  }

  const decision = options.faults.decide(service, operation);
  if (decision.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.latencyMs));
  if (decision.outcome === "drop") {
    request.socket.destroy();
    return;
  }
  if (decision.outcome === "throttle") {
    const code =
      service === "ecs" || service === "codedeploy" || service === "ecr"
        ? "ThrottlingException"
        : "Throttling";
    return sendError(new AwsError(code, "Rate exceeded", 400));
  }
  if (decision.outcome === "error") {
    const status = decision.status ?? 500;
    const code =
      status === 503 ? "ServiceUnavailable" : service === "ecs" ? "ServerException" : "InternalFailure";
    return sendError(new AwsError(code, `injected fault: ${status}`, status));
  }

  const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
  if (!handler) {
    return sendError(
      new AwsError(
        "UnknownOperationException",
        `operation ${operation || "(none)"} of ${service} is not simulated`,
      ),
    );
  }
  const context: RequestContext = {
    service,
    operation,
    region: scope.region ?? options.defaultRegion,
    requestId,
  };
  let result: unknown;
  try {
    result = await handler(input, context);
  } catch (error) {
    if (error instanceof AwsError) return sendError(error);
    options.log?.(`sim: ${service}.${operation} failed: ${error instanceof Error ? error.stack : error}`);
    return sendError(
      new AwsError("InternalFailure", error instanceof Error ? error.message : String(error), 500),
    );
  }
  if (json || isJson) {
    const headers = { "x-amzn-requestid": requestId };
    return send(
      response,
      200,
      json?.contentType ?? "application/x-amz-json-1.1",
      toJson(result ?? {}),
      headers,
    );
  }
  return send(response, 200, "text/xml", queryResponse(operation, namespace, result ?? {}, requestId), {
    "x-amzn-requestid": requestId,
  });
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendJsonError(
  response: ServerResponse,
  requestId: string,
  json: JsonTarget | undefined,
  error: AwsError,
) {
  const headers: Record<string, string> = { "x-amzn-requestid": requestId, "x-amzn-errortype": error.code };
  if (json?.queryCompatible) headers["x-amzn-query-error"] = `${error.code};${error.fault}`;
  const body = JSON.stringify({ __type: error.code, message: error.message });
  send(response, error.status, json?.contentType ?? "application/x-amz-json-1.1", body, headers);
}

function sendQueryError(response: ServerResponse, requestId: string, error: AwsError) {
  send(response, error.status, "text/xml", queryError(error.code, error.message, error.fault, requestId), {
    "x-amzn-requestid": requestId,
  });
}
