/**
 * Loopback addresses for tasks, awsvpc-like: each task gets its own 127.x.y.z (Linux routes all of 127.0.0.0/8 to
 * the loopback interface, so each address can be bound separately). Addresses ending in .0 or .255 are skipped.
 */
export interface AddressPool {
  /** Takes a free address. Throws when the range is exhausted. */
  allocate(): string;
  /** Returns an address to the pool (a no-op for an address that is not in use). */
  release(address: string): void;
  /** Addresses currently allocated. */
  inUse(): string[];
}

export interface AddressPoolOptions {
  /** First address handed out. Default 127.20.0.1. */
  first?: string;
  /** Last address that may be handed out. Default 127.254.255.254. */
  last?: string;
}

function toNumber(address: string): number {
  const parts = address.split(".").map((part) => Number(part));
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  const [a, b, c, d] = parts as [number, number, number, number];
  if (a !== 127) throw new Error(`not a loopback address: ${address}`);
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

function toAddress(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

const usable = (value: number) => (value & 255) !== 0 && (value & 255) !== 255;

/**
 * Hands out addresses in increasing order and wraps around, so a released address is reused as late as possible
 * (a previous task's connections may linger in TIME_WAIT).
 */
export function createAddressPool(options: AddressPoolOptions = {}): AddressPool {
  const first = toNumber(options.first ?? "127.20.0.1");
  const last = toNumber(options.last ?? "127.254.255.254");
  if (last < first) throw new Error("address pool: last is before first");
  const used = new Set<number>();
  let cursor = first;
  return {
    allocate() {
      const span = last - first + 1;
      for (let step = 0; step < span; step++) {
        const candidate = cursor;
        cursor = cursor >= last ? first : cursor + 1;
        if (usable(candidate) && !used.has(candidate)) {
          used.add(candidate);
          return toAddress(candidate);
        }
      }
      throw new Error("address pool exhausted");
    },
    release(address) {
      used.delete(toNumber(address));
    },
    inUse: () => [...used].sort((x, y) => x - y).map(toAddress),
  };
}
