/** An AWS error as the service sends it: its code (the exception name), message and HTTP status. */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
  get fault(): "Sender" | "Receiver" {
    return this.status >= 500 ? "Receiver" : "Sender";
  }
}

export const clientError = (code: string, message: string): AwsError => new AwsError(code, message, 400);

/** Input helpers shared by the handlers: awsQuery inputs arrive as strings, JSON ones typed. */
export function required<T>(
  value: T | undefined | null,
  name: string,
  code = "InvalidParameterException",
): T {
  if (value === undefined || value === null || value === "") throw clientError(code, `${name} is required`);
  return value;
}

export function num(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const parsed = typeof value === "number" ? value : Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

export function bool(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return value === true || value === "true";
}

/** Epoch seconds (JSON), ISO 8601 (query) or a Date → epoch ms. */
export function time(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value * 1000;
  const asNumber = Number(value);
  if (Number.isFinite(asNumber)) return asNumber * 1000;
  const parsed = Date.parse(String(value));
  return Number.isNaN(parsed) ? undefined : parsed;
}

export function list<T>(value: T[] | undefined | null): T[] {
  return Array.isArray(value) ? value : [];
}

/** Opaque pagination: the token is the offset of the next page. */
export function paginate<T>(
  items: T[],
  nextToken: unknown,
  maxResults: unknown,
  defaultMax = 100,
  limit = 100,
): { page: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined && nextToken !== null && nextToken !== "") {
    start = Number(Buffer.from(String(nextToken), "base64url").toString());
    if (!Number.isInteger(start) || start < 0)
      throw clientError("InvalidParameterException", "invalid nextToken");
  }
  const size = Math.min(num(maxResults) ?? defaultMax, limit);
  const page = items.slice(start, start + size);
  const next =
    start + size < items.length ? Buffer.from(String(start + size)).toString("base64url") : undefined;
  return next ? { page, nextToken: next } : { page };
}
