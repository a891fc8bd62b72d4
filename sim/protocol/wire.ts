/**
 * Encoding of values on the wire. Handlers return plain objects with Date (or `SimTime`) values for timestamps;
 * awsJson sends them as epoch seconds, awsQuery as ISO 8601 in XML.
 */

/** JSON for awsJson1_0/1_1: timestamps as epoch seconds, undefined dropped. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, current) {
    const raw = this[key];
    if (raw instanceof Date) return raw.getTime() / 1000;
    return current;
  });
}

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};
export const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => escapes[character] ?? "");

/** XML for awsQuery: lists as <member>, timestamps ISO 8601. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join("");
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined && item !== null)
      .map(([key, item]) => `<${key}>${toXml(item)}</${key}>`)
      .join("");
  }
  return escapeXml(String(value));
}

export function queryResponse(
  operation: string,
  namespace: string,
  result: unknown,
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${namespace}">` +
    `<${operation}Result>${toXml(result)}</${operation}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`
  );
}

export function queryError(code: string, message: string, fault: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${fault}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/**
 * awsQuery form → nested object: `A.member.1.B=x` → `{A: [{B: "x"}]}`, `M.entry.1.key/value` → `{M: {k: v}}`.
 * Values stay strings; handlers convert with num/bool/time.
 */
export function parseQuery(body: string): {
  action: string;
  version: string;
  input: Record<string, unknown>;
} {
  const params = new URLSearchParams(body);
  const root: Record<string, unknown> = {};
  const entries: Array<[string[], string]> = [];
  for (const [key, value] of params) {
    if (key === "Action" || key === "Version") continue;
    entries.push([key.split("."), value]);
  }
  for (const [path, value] of entries) {
    let node: Record<string, unknown> | unknown[] = root;
    for (let index = 0; index < path.length; index++) {
      const segment = path[index] as string;
      const last = index === path.length - 1;
      const isMember = segment === "member" || segment === "entry" || /^\d+$/.test(segment);
      if (isMember) continue;
      const following = path[index + 1];
      const listNext = following === "member" || following === "entry" || /^\d+$/.test(following ?? "");
      if (listNext) {
        const position = following === "member" || following === "entry" ? index + 2 : index + 1;
        const slot = Number(path[position]) - 1;
        const container = node as Record<string, unknown>;
        if (!Array.isArray(container[segment])) container[segment] = [];
        const array = container[segment] as unknown[];
        if (position === path.length - 1) {
          array[slot] = value;
          break;
        }
        array[slot] ??= {};
        node = array[slot] as Record<string, unknown>;
        index = position;
        continue;
      }
      const container = node as Record<string, unknown>;
      if (last) container[segment] = value;
      else {
        container[segment] ??= {};
        node = container[segment] as Record<string, unknown>;
      }
    }
  }
  return {
    action: params.get("Action") ?? "",
    version: params.get("Version") ?? "",
    input: compactArrays(root),
  };
}

function compactArrays(value: unknown): Record<string, unknown> {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.filter((item) => item !== undefined).map(walk);
    if (node && typeof node === "object") {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item)]));
    }
    return node;
  };
  return walk(value) as Record<string, unknown>;
}
