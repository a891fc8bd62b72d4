import { ToolkitError } from "../errors.ts";
import type { Pool } from "./pool.ts";

/**
 * Every AWS call of the account reader goes through `AwsCalls.send`: bounded by the pool (max-concurrency), counted
 * per operation (every HTTP attempt the SDK made, throttled retries included), and failures turned into one
 * AccountReadError that names the operation, the resource, AWS's message and what to fix.
 */

/** The account could not be read: distinct from a finding, the check has no result. */
export class AccountReadError extends ToolkitError {}

// biome-ignore lint/suspicious/noExplicitAny: any SDK v3 client and command
type AnyClient = { send(command: any, options?: { abortSignal?: AbortSignal }): Promise<any> };

interface SdkMetadata {
  $metadata?: { attempts?: number; httpStatusCode?: number };
  name?: string;
  message?: string;
}

const denied = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "InvalidClientTokenId",
]);

export const operationOf = (command: object): string => command.constructor.name.replace(/Command$/, "");

export interface CallCounts {
  /** Attempts per operation name (what the account's API rate limits see). */
  calls: Record<string, number>;
  /** Attempts beyond the first, i.e. retries after throttling or a 5xx. */
  retried: number;
}

export class AwsCalls {
  readonly counts: CallCounts = { calls: {}, retried: 0 };
  readonly #pool: Pool;
  readonly #signal?: AbortSignal;

  constructor(pool: Pool, signal?: AbortSignal) {
    this.#pool = pool;
    this.#signal = signal;
  }

  /**
   * Sends a command. `service` is the IAM prefix (ecs, ecr, codedeploy) and `resource` what the call is about, both
   * for the error message. `tolerate` lists error names the caller handles itself (returned as the error).
   */
  async send<T>(
    client: AnyClient,
    // biome-ignore lint/suspicious/noExplicitAny: any SDK v3 command
    command: any,
    where: { service: string; resource: string; tolerate?: string[] },
  ): Promise<T> {
    const operation = operationOf(command);
    this.#throwIfCancelled();
    return this.#pool.run(async () => {
      this.#throwIfCancelled();
      try {
        const output = (await client.send(command, { abortSignal: this.#signal })) as SdkMetadata;
        this.#count(operation, output?.$metadata?.attempts);
        return output as T;
      } catch (error) {
        const failure = error as SdkMetadata;
        this.#count(operation, failure?.$metadata?.attempts);
        this.#throwIfCancelled();
        if (failure?.name && where.tolerate?.includes(failure.name)) throw error;
        throw readError(operation, where, failure, error);
      }
    });
  }

  #count(operation: string, attempts: number | undefined): void {
    const made = Math.max(1, attempts ?? 1);
    this.counts.calls[operation] = (this.counts.calls[operation] ?? 0) + made;
    this.counts.retried += made - 1;
  }

  #throwIfCancelled(): void {
    if (this.#signal?.aborted) {
      const reason = this.#signal.reason;
      throw reason instanceof ToolkitError ? reason : new AccountReadError("the tag check was cancelled");
    }
  }
}

function readError(
  operation: string,
  where: { service: string; resource: string },
  failure: SdkMetadata,
  cause: unknown,
): AccountReadError {
  const name = failure?.name ?? "Error";
  const message = failure?.message ?? String(cause);
  const head = `${operation} on ${where.resource} failed: ${name}: ${message}`;
  if (denied.has(name)) {
    return new AccountReadError(
      `${head} — the role running the check needs ${where.service}:${operation} (and valid credentials for this account)`,
      { cause },
    );
  }
  if (name === "ClusterNotFoundException") {
    return new AccountReadError(
      `${head} — check the clusters input and the region (aws-region or AWS_REGION)`,
      { cause },
    );
  }
  if (name === "ServiceNotFoundException") {
    return new AccountReadError(`${head} — check the services input and their clusters`, { cause });
  }
  if (name === "ThrottlingException" || name === "Throttling" || name === "TooManyRequestsException") {
    return new AccountReadError(
      `${head} — still throttled after the SDK's retries; lower max-concurrency or run the check later`,
      { cause },
    );
  }
  const status = failure?.$metadata?.httpStatusCode;
  if (status === undefined) {
    return new AccountReadError(
      `${head} — the ${where.service} endpoint could not be reached; check the region (aws-region) and network`,
      { cause },
    );
  }
  return new AccountReadError(head, { cause });
}

/** Follows nextToken until the last page. */
export async function listAll(
  page: (nextToken?: string) => Promise<{ items: string[]; nextToken?: string }>,
): Promise<string[]> {
  const items: string[] = [];
  let nextToken: string | undefined;
  do {
    const result = await page(nextToken);
    items.push(...result.items);
    nextToken = result.nextToken;
  } while (nextToken);
  return items;
}
