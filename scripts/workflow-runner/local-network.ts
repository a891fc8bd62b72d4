import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * DNS and TLS of the cloud, locally: a load balancer's DNS name (`valmetal-dev-api-1a2b.ca-central-1.elb.amazonaws.com`)
 * and a production URL (`https://api.dev.valmetal.example.com`) do not resolve here, and the simulated listeners speak
 * plain HTTP on loopback addresses. An address map rewrites those base URLs to the listener's local URL:
 *   - for the steps' `curl` (a wrapper first on PATH that rewrites its URL arguments, then runs the real curl),
 *   - for the actions' `fetch` (a `--import` preload through NODE_OPTIONS that rewrites the request URL).
 * Requests to anything else go out unchanged.
 */

export type AddressMap = Record<string, string>;

/** The environment that routes steps through the map: PATH with the curl wrapper first, NODE_OPTIONS with the preload. */
export function localNetworkEnv(
  map: AddressMap,
  folder: string,
  basePath: string,
  nodeOptions = "",
): Record<string, string> {
  const bin = join(folder, "bin");
  mkdirSync(bin, { recursive: true });
  const mapFile = join(folder, "address-map.json");
  writeFileSync(mapFile, `${JSON.stringify(map, null, 2)}\n`);
  const realCurl = basePath
    .split(":")
    .map((dir) => join(dir, "curl"))
    .find((candidate) => !candidate.startsWith(folder) && existsSync(candidate));
  const cases = Object.entries(map)
    .map(([from, to]) => `    ${shellQuote(from)}*) arg=${shellQuote(to)}"\${arg#${shellQuote(from)}}" ;;`)
    .join("\n");
  writeFileSync(
    join(bin, "curl"),
    [
      "#!/bin/bash",
      "# Local run: rewrites cloud URLs to the simulated listeners (see scripts/workflow-runner/local-network.ts).",
      "args=()",
      'for arg in "$@"; do',
      '  case "$arg" in',
      cases,
      "  esac",
      '  args+=("$arg")',
      "done",
      `exec ${shellQuote(realCurl ?? "/usr/bin/curl")} "\${args[@]}"`,
      "",
    ].join("\n"),
  );
  chmodSync(join(bin, "curl"), 0o755);
  const preload = join(folder, "fetch-address-map.mjs");
  writeFileSync(
    preload,
    [
      "// Local run: rewrites cloud URLs to the simulated listeners (see scripts/workflow-runner/local-network.ts).",
      `const map = Object.entries(${JSON.stringify(map)});`,
      "const original = globalThis.fetch;",
      "globalThis.fetch = (input, init) => {",
      "  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;",
      "  for (const [from, to] of map)",
      "    if (url === from || url.startsWith(from + '/') || url.startsWith(from + '?') || url.startsWith(from + '#'))",
      "      return original(to + url.slice(from.length), typeof input === 'string' || input instanceof URL ? init : { ...input, ...init });",
      "  return original(input, init);",
      "};",
      "",
    ].join("\n"),
  );
  return {
    PATH: `${bin}:${basePath}`,
    NODE_OPTIONS: `${nodeOptions} --import=${preload}`.trim(),
  };
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}
