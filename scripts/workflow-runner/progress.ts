/**
 * What the local run prints while it runs (job and step start/end lines with the elapsed time, step log lines
 * prefixed by their job) and at the end (the timeline, the job summaries).
 */

export type Conclusion = "success" | "failure" | "cancelled" | "skipped";

export interface TimelineEntry {
  /** Job display name (`deploy-dev / deploy`), and the step's name for step entries. */
  job: string;
  step?: string;
  conclusion: Conclusion;
  /** Milliseconds since the run started. */
  startMs: number;
  endMs: number;
  /** A note printed next to the entry (environment approval, skipped reason, error). */
  note?: string;
}

export interface Progress {
  /** Milliseconds since the run started. */
  now(): number;
  jobStarted(job: string, note?: string): void;
  jobEnded(entry: TimelineEntry): void;
  stepStarted(job: string, step: string): void;
  stepEnded(entry: TimelineEntry): void;
  line(job: string, text: string): void;
  note(job: string, text: string): void;
  timeline(): TimelineEntry[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mark: Record<Conclusion, string> = { success: "✔", failure: "✘", cancelled: "⊘", skipped: "○" };

/** `startedAt`: the epoch ms elapsed times count from (a caller's own start, so its lines and ours agree). */
export function createProgress(
  print: (line: string) => void,
  clock: () => number = Date.now,
  startedAt = clock(),
): Progress {
  const started = startedAt;
  const entries: TimelineEntry[] = [];
  const now = () => clock() - started;
  const stamp = () => `${(now() / 1000).toFixed(1).padStart(7)} s`;
  return {
    now,
    jobStarted: (job, note) => print(`${stamp()}  ▶ job ${job}${note ? ` (${note})` : ""}`),
    jobEnded: (entry) => {
      entries.push(entry);
      print(
        `${stamp()}  ${mark[entry.conclusion]} job ${entry.job}: ${entry.conclusion} in ${seconds(entry.endMs - entry.startMs)}${entry.note ? ` — ${entry.note}` : ""}`,
      );
    },
    stepStarted: (job, step) => print(`${stamp()}  │ ▶ ${job} › ${step}`),
    stepEnded: (entry) => {
      entries.push(entry);
      print(
        `${stamp()}  │ ${mark[entry.conclusion]} ${entry.job} › ${entry.step}: ${entry.conclusion} in ${seconds(entry.endMs - entry.startMs)}${entry.note ? ` — ${entry.note}` : ""}`,
      );
    },
    line: (job, text) => print(`${stamp()}  │   ${job} │ ${text}`),
    note: (job, text) => print(`${stamp()}  │ ${job}: ${text}`),
    timeline: () => [...entries],
  };
}

/** The timeline as a table: one row per job (start, duration, conclusion) with its steps indented under it. */
export function formatTimeline(entries: readonly TimelineEntry[]): string {
  const jobs = entries.filter((entry) => entry.step === undefined).sort((a, b) => a.startMs - b.startMs);
  const rows = ["   start   duration  result     job / step"];
  for (const job of jobs) {
    const row = (entry: TimelineEntry, label: string) =>
      `${seconds(entry.startMs).padStart(8)} ${seconds(entry.endMs - entry.startMs).padStart(10)}  ${entry.conclusion.padEnd(9)}  ${label}${entry.note ? `  (${entry.note})` : ""}`;
    rows.push(row(job, job.job));
    for (const step of entries.filter((entry) => entry.job === job.job && entry.step !== undefined))
      rows.push(row(step, `  ${step.step}`));
  }
  return rows.join("\n");
}
