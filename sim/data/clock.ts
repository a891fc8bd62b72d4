/**
 * The data plane's view of time. Everything that waits (health check intervals, deregistration delays, metric
 * periods, request timeouts) asks this clock, so one time scale governs the whole simulator. The control plane's
 * time-scaled clock (`sim/clock.ts`) is adapted to this interface.
 */
export interface Clock {
  /** Current simulated time, in milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once after `simMs` simulated milliseconds. Returns a function that cancels the timer. */
  setTimer(simMs: number, fn: () => void): () => void;
}

export interface RealTimeClockOptions {
  /** Simulated milliseconds per real millisecond: 60 runs one simulated minute per real second. Default 1. */
  scale?: number;
  /** Simulated time at creation, in epoch milliseconds. Default: the real time at creation. */
  startMs?: number;
}

export interface RealTimeClock extends Clock {
  readonly scale: number;
  /** Real milliseconds that `simMs` simulated milliseconds take. */
  toRealMs(simMs: number): number;
}

/** A clock driven by the real clock: sim ms = real ms × scale. */
export function createRealTimeClock(options: RealTimeClockOptions = {}): RealTimeClock {
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new Error(`clock scale must be positive, got ${scale}`);
  const realStart = performance.now();
  const simStart = options.startMs ?? Date.now();
  const toRealMs = (simMs: number) => Math.max(0, simMs) / scale;
  return {
    scale,
    toRealMs,
    now: () => simStart + (performance.now() - realStart) * scale,
    setTimer: (simMs, fn) => {
      // Node's timers run on a millisecond clock that can fire a fraction early: re-arm until `now()` is due,
      // so a callback never observes a simulated time before the one it was scheduled for.
      const due = simStart + (performance.now() - realStart) * scale + Math.max(0, simMs);
      let handle: NodeJS.Timeout;
      const arm = (realMs: number) => {
        handle = setTimeout(() => {
          const left = due - (simStart + (performance.now() - realStart) * scale);
          if (left > 0) arm(Math.ceil(left / scale));
          else fn();
        }, realMs);
      };
      arm(toRealMs(simMs));
      return () => clearTimeout(handle);
    },
  };
}

export interface ManualClock extends Clock {
  /** Moves simulated time forward by `simMs`, firing due timers in order. */
  advance(simMs: number): void;
}

/** A clock that only moves when told to: for deterministic tests of schedules. */
export function createManualClock(startMs = 0): ManualClock {
  let current = startMs;
  let sequence = 0;
  const timers = new Map<number, { at: number; order: number; fn: () => void }>();
  return {
    now: () => current,
    setTimer: (simMs, fn) => {
      const id = sequence++;
      timers.set(id, { at: current + Math.max(0, simMs), order: id, fn });
      return () => {
        timers.delete(id);
      };
    },
    advance: (simMs) => {
      const target = current + simMs;
      for (;;) {
        let next: [number, { at: number; order: number; fn: () => void }] | undefined;
        for (const entry of timers) {
          if (entry[1].at > target) continue;
          if (
            !next ||
            entry[1].at < next[1].at ||
            (entry[1].at === next[1].at && entry[1].order < next[1].order)
          )
            next = entry;
        }
        if (!next) break;
        timers.delete(next[0]);
        current = Math.max(current, next[1].at);
        next[1].fn();
      }
      current = target;
    },
  };
}

/** Resolves after `simMs` simulated milliseconds. */
export function sleep(clock: Clock, simMs: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(simMs, resolve);
  });
}

/**
 * A timeout for work that runs in real time (an HTTP request, a process): fires after `simMs` simulated
 * milliseconds but never before `realFloorMs` real milliseconds, so a high time scale does not turn a 5-second
 * health check timeout into a few real milliseconds that a healthy process cannot meet.
 */
export function setTimeoutWithFloor(
  clock: Clock,
  simMs: number,
  realFloorMs: number,
  fn: () => void,
): () => void {
  let simDone = false;
  let realDone = realFloorMs <= 0;
  let fired = false;
  const check = () => {
    if (simDone && realDone && !fired) {
      fired = true;
      fn();
    }
  };
  const cancelSim = clock.setTimer(simMs, () => {
    simDone = true;
    check();
  });
  const handle = realDone
    ? undefined
    : setTimeout(() => {
        realDone = true;
        check();
      }, realFloorMs);
  return () => {
    fired = true;
    cancelSim();
    if (handle) clearTimeout(handle);
  };
}
