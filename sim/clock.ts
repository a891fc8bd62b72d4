/**
 * The simulator clock. Simulated time runs at `scale` times real time (sim = base + real elapsed × scale), can be
 * rescaled at run time and advanced by hand. Every schedule of the simulator (traffic shifts, waits, timeouts,
 * health, alarm evaluation) is a timer on this clock, so a 15-minute canary takes 15 s at scale 60, and a test
 * with scale 0 (manual mode) moves time only through `advance`, which fires the due timers in order.
 */
export interface SimTimer {
  readonly at: number;
  cancel(): void;
}

interface Entry {
  at: number;
  seq: number;
  fn: () => unknown;
  cancelled: boolean;
}

export interface SimClockOptions {
  /** Sim time at creation, epoch ms (default: real now). */
  start?: number;
  /** Sim seconds per real second; 0 = manual mode (default 1). */
  scale?: number;
}

/** Lets pending promise chains (in-memory runtime, reconcilers) run before the next timer fires. */
export async function settle(rounds = 3): Promise<void> {
  for (let index = 0; index < rounds; index++) await new Promise((resolve) => setImmediate(resolve));
}

export class SimClock {
  #baseSim: number;
  #baseReal: number;
  #scale: number;
  #timers: Entry[] = [];
  #seq = 0;
  #real: NodeJS.Timeout | undefined;
  #advancing = false;
  #stopped = false;
  readonly errors: unknown[] = [];

  constructor(options: SimClockOptions = {}) {
    this.#baseSim = options.start ?? Date.now();
    this.#baseReal = performance.now();
    this.#scale = options.scale ?? 1;
  }

  /** Sim time, epoch milliseconds. */
  now(): number {
    if (this.#scale === 0 || this.#advancing) return this.#baseSim;
    return this.#baseSim + (performance.now() - this.#baseReal) * this.#scale;
  }

  date(): Date {
    return new Date(this.now());
  }

  get scale(): number {
    return this.#scale;
  }

  setScale(scale: number): void {
    if (!(scale >= 0) || !Number.isFinite(scale))
      throw new Error(`time scale ${scale} must be a number >= 0`);
    this.#rebase();
    this.#scale = scale;
    this.#arm();
  }

  /** Moves sim time forward by `ms`, firing every timer due on the way in time order (awaiting each). */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`cannot advance the clock by ${ms} ms`);
    this.#rebase();
    const target = this.#baseSim + ms;
    this.#advancing = true;
    try {
      await settle();
      for (;;) {
        const next = this.#timers[0];
        if (!next || next.at > target) break;
        this.#timers.shift();
        if (next.at > this.#baseSim) this.#baseSim = next.at;
        await this.#run(next);
        await settle();
      }
      this.#baseSim = target;
    } finally {
      this.#baseReal = performance.now();
      this.#advancing = false;
      this.#arm();
    }
  }

  at(simTime: number, fn: () => unknown): SimTimer {
    const entry: Entry = { at: simTime, seq: this.#seq++, fn, cancelled: false };
    const index = this.#timers.findIndex((other) => other.at > simTime);
    if (index < 0) this.#timers.push(entry);
    else this.#timers.splice(index, 0, entry);
    if (!this.#advancing) this.#arm();
    return {
      at: simTime,
      cancel: () => {
        entry.cancelled = true;
        const position = this.#timers.indexOf(entry);
        if (position >= 0) this.#timers.splice(position, 1);
      },
    };
  }

  after(simMs: number, fn: () => unknown): SimTimer {
    return this.at(this.now() + Math.max(0, simMs), fn);
  }

  /** Calls `fn` every `simMs` of sim time until cancelled. */
  every(simMs: number, fn: () => unknown): SimTimer {
    let current: SimTimer | undefined;
    let cancelled = false;
    const schedule = (from: number) => {
      current = this.at(from + simMs, async () => {
        if (cancelled) return;
        schedule(from + simMs);
        await fn();
      });
    };
    schedule(this.now());
    return {
      get at() {
        return current?.at ?? Number.NaN;
      },
      cancel: () => {
        cancelled = true;
        current?.cancel();
      },
    };
  }

  /** Number of pending timers (for tests and status). */
  get pending(): number {
    return this.#timers.length;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#real) clearTimeout(this.#real);
    this.#timers = [];
  }

  #rebase(): void {
    this.#baseSim = this.now();
    this.#baseReal = performance.now();
  }

  async #run(entry: Entry): Promise<void> {
    if (entry.cancelled) return;
    try {
      await entry.fn();
    } catch (error) {
      this.errors.push(error);
      console.error("sim clock timer failed:", error);
    }
  }

  #arm(): void {
    if (this.#real) clearTimeout(this.#real);
    this.#real = undefined;
    const next = this.#timers[0];
    if (!next || this.#scale === 0 || this.#stopped) return;
    const delay = Math.max(0, (next.at - this.now()) / this.#scale);
    this.#real = setTimeout(() => void this.#fireDue(), Math.min(delay, 2 ** 31 - 1));
    this.#real.unref?.();
  }

  async #fireDue(): Promise<void> {
    this.#real = undefined;
    const now = this.now();
    const due: Entry[] = [];
    while (this.#timers[0] && this.#timers[0].at <= now) due.push(this.#timers.shift() as Entry);
    this.#arm();
    for (const entry of due) await this.#run(entry);
  }
}
