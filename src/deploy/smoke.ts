import type { Clock } from "../clock.ts";
import { InputError } from "../errors.ts";
import type { SmokeResult } from "./watch.ts";

/** One HTTP check against the test listener: GET <path>, expect a status and optionally a text in the body. */
export interface SmokeCheck {
  path: string;
  status: number;
  contains?: string;
}

/** Parses lines `<path> <status> [text the body contains]`, e.g. `/health 200 "status":"ok"`. */
export function parseSmokeChecks(text: string): SmokeCheck[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const match = /^(\/\S*)\s+(\d{3})(?:\s+(.+))?$/.exec(line);
      if (!match) {
        throw new InputError(
          `smoke test '${line}' is not '<path> <status> [expected text]', e.g. '/health 200 ok'`,
        );
      }
      return {
        path: match[1] as string,
        status: Number(match[2]),
        ...(match[3] ? { contains: match[3] } : {}),
      };
    });
}

export interface SmokeOptions {
  baseUrl: string;
  checks: SmokeCheck[];
  /** Attempts per check: green may need a moment behind the test listener. */
  attempts: number;
  clock: Clock;
  fetch?: typeof fetch;
}

/** Runs every check in order; the first that still fails after its attempts fails the smoke test. */
export async function runSmokeChecks(options: SmokeOptions): Promise<SmokeResult> {
  const doFetch = options.fetch ?? fetch;
  const passed: string[] = [];
  for (const check of options.checks) {
    const url = new URL(check.path, options.baseUrl).toString();
    let last = "";
    for (let attempt = 1; attempt <= options.attempts; attempt++) {
      try {
        const response = await doFetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = await response.text();
        if (response.status === check.status && (!check.contains || body.includes(check.contains))) {
          last = "";
          break;
        }
        last = `GET ${check.path} → ${response.status}${check.contains && !body.includes(check.contains) ? ` without '${check.contains}'` : ""} (expected ${check.status})`;
      } catch (error) {
        last = `GET ${check.path} failed: ${(error as Error).message}`;
      }
      if (attempt < options.attempts) await options.clock.sleep(2_000 * attempt);
    }
    if (last) return { ok: false, detail: last };
    passed.push(`GET ${check.path} ${check.status}`);
  }
  return { ok: true, detail: passed.join(", ") };
}
