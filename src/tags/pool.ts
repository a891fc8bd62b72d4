/**
 * At most `limit` pieces of work in flight at once; the rest wait in order. The account reader runs every AWS call
 * through one pool, so max-concurrency bounds the request rate however the reads fan out.
 */
export interface Pool {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** The most pieces of work that were ever in flight together. */
  readonly peak: number;
}

export function pool(limit: number): Pool {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`pool limit ${limit} is not a positive integer`);
  let active = 0;
  let peak = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  return {
    get peak() {
      return peak;
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      peak = Math.max(peak, active);
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}

/** Splits items into batches of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
