/** Time as core modules see it: injected, so schedules and back-offs are testable without real sleeps. */
export interface Clock {
  now(): Date;
  sleep(milliseconds: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (milliseconds, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, milliseconds);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** A clock that only moves when slept on or advanced: sleeping advances it instantly. */
export class FakeClock implements Clock {
  #now: number;
  readonly sleeps: number[] = [];
  constructor(start = new Date("2026-01-01T00:00:00Z")) {
    this.#now = start.getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  async sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(milliseconds);
    this.#now += milliseconds;
  }
  advance(milliseconds: number): void {
    this.#now += milliseconds;
  }
}
