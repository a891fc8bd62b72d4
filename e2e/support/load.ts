import { Agent, request } from "node:http";

/**
 * A bounded load generator: `ratePerSecond` GET requests per second, evenly spaced, for `durationMs`, against one
 * URL on a loopback address, then it stops by itself. Each request is recorded with its start and end time, its
 * status (0 when no HTTP answer came: refused, reset, timed out) and the `x-app-version` that answered.
 */

export interface LoadOptions {
  url: string;
  ratePerSecond: number;
  durationMs: number;
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** At most this many requests in flight; a tick that would exceed it is recorded as `skipped`. Default 200. */
  maxInFlight?: number;
}

export interface LoadSample {
  /** Epoch ms (real time) when the request was sent and when it ended. */
  startedAt: number;
  endedAt: number;
  /** HTTP status; 0 when the request got no answer. */
  status: number;
  /** `x-app-version` of the answer. */
  version?: string;
  error?: string;
}

export interface LoadSummary {
  total: number;
  ok: number;
  failed: number;
  /** No HTTP answer at all. */
  noAnswer: number;
  skipped: number;
  byStatus: Record<string, number>;
  byVersion: Record<string, { total: number; failed: number }>;
}

export interface LoadRun {
  samples: LoadSample[];
  /** Resolves when the duration is over and every request has ended. */
  finished: Promise<LoadSummary>;
  /** Stops sending now; resolves when the requests in flight have ended. */
  stop(): Promise<LoadSummary>;
  summary(filter?: (sample: LoadSample) => boolean): LoadSummary;
}

const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export function summarize(samples: readonly LoadSample[], skipped = 0): LoadSummary {
  const summary: LoadSummary = {
    total: 0,
    ok: 0,
    failed: 0,
    noAnswer: 0,
    skipped,
    byStatus: {},
    byVersion: {},
  };
  for (const sample of samples) {
    const ok = sample.status >= 200 && sample.status < 400;
    summary.total++;
    if (ok) summary.ok++;
    else summary.failed++;
    if (sample.status === 0) summary.noAnswer++;
    summary.byStatus[sample.status] = (summary.byStatus[sample.status] ?? 0) + 1;
    const version = sample.version ?? "(none)";
    const entry = summary.byVersion[version] ?? { total: 0, failed: 0 };
    entry.total++;
    if (!ok) entry.failed++;
    summary.byVersion[version] = entry;
  }
  return summary;
}

export function startLoad(options: LoadOptions): LoadRun {
  const target = new URL(options.url);
  if (!loopback.test(target.hostname))
    throw new Error(
      `load target ${options.url} is not a loopback address; the load generator only targets 127.x`,
    );
  if (!(options.ratePerSecond > 0 && options.ratePerSecond <= 500))
    throw new Error(`ratePerSecond ${options.ratePerSecond} must be in (0, 500]`);
  if (!(options.durationMs > 0 && options.durationMs <= 15 * 60_000))
    throw new Error(`durationMs ${options.durationMs} must be in (0, 15 min]`);
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxInFlight = options.maxInFlight ?? 200;
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const samples: LoadSample[] = [];
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;
  let stopped = false;
  const interval = 1000 / options.ratePerSecond;
  const begin = Date.now();
  const limit = Math.floor((options.durationMs / 1000) * options.ratePerSecond);
  let sent = 0;

  const send = () => {
    const startedAt = Date.now();
    const sample: LoadSample = { startedAt, endedAt: startedAt, status: 0 };
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const finish = (status: number, version?: string, error?: string) => {
        if (settled) return;
        settled = true;
        Object.assign(
          sample,
          { endedAt: Date.now(), status },
          version ? { version } : {},
          error ? { error } : {},
        );
        samples.push(sample);
        resolve();
      };
      const outgoing = request(target, { agent, timeout: timeoutMs }, (response) => {
        const version = response.headers["x-app-version"];
        response.resume();
        response.on("end", () =>
          finish(response.statusCode ?? 0, Array.isArray(version) ? version[0] : version),
        );
        response.on("error", (error) => finish(0, undefined, error.message));
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on("error", (error) => finish(0, undefined, error.message));
      outgoing.end();
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  let timer: NodeJS.Timeout | undefined;
  let resolveFinished: (summary: LoadSummary) => void = () => undefined;
  const finished = new Promise<LoadSummary>((resolve) => {
    resolveFinished = resolve;
  });
  const end = async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    while (inFlight.size) await Promise.all([...inFlight]);
    agent.destroy();
    const summary = summarize(samples, skipped);
    resolveFinished(summary);
    return summary;
  };
  // Catch up on the schedule (timers drift on a busy machine) but never beyond the request limit.
  const tick = () => {
    if (stopped) return;
    const due = Math.min(limit, Math.floor((Date.now() - begin) / interval) + 1);
    while (sent < due) {
      sent++;
      if (inFlight.size >= maxInFlight) skipped++;
      else send();
    }
    if (sent >= limit) {
      void end();
      return;
    }
    timer = setTimeout(tick, Math.max(1, begin + sent * interval - Date.now()));
  };
  tick();
  return {
    samples,
    finished,
    stop: () => (stopped ? finished : end()),
    summary: (filter) => summarize(filter ? samples.filter(filter) : samples, filter ? 0 : skipped),
  };
}
