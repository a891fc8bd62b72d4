import { describe, expect, it } from "vitest";
import { createAddressPool } from "./address-pool.ts";
import { createManualClock, createRealTimeClock, setTimeoutWithFloor, sleep } from "./clock.ts";

describe("address pool", () => {
  it("hands out 127.x.y.z addresses upward, skipping .0 and .255, and reuses released ones last", () => {
    const pool = createAddressPool({ first: "127.20.0.253", last: "127.20.1.2" });
    expect([pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()]).toEqual([
      "127.20.0.253",
      "127.20.0.254",
      "127.20.1.1",
      "127.20.1.2",
    ]);
    expect(() => pool.allocate()).toThrow(/exhausted/);
    pool.release("127.20.0.254");
    expect(pool.allocate()).toBe("127.20.0.254");
    expect(pool.inUse()).toEqual(["127.20.0.253", "127.20.0.254", "127.20.1.1", "127.20.1.2"]);
  });

  it("refuses addresses outside 127.0.0.0/8", () => {
    expect(() => createAddressPool({ first: "10.0.0.1" })).toThrow(/loopback/);
  });
});

describe("clock", () => {
  it("runs simulated time at scale times real time", async () => {
    const clock = createRealTimeClock({ scale: 60, startMs: 0 });
    const started = performance.now();
    await sleep(clock, 6000); // six simulated seconds: 100 real ms
    const realMs = performance.now() - started;
    expect(realMs).toBeGreaterThanOrEqual(95);
    expect(realMs).toBeLessThan(1000);
    expect(clock.now()).toBeGreaterThanOrEqual(6000);
  });

  it("fires manual timers in time order when advanced", () => {
    const clock = createManualClock(1000);
    const fired: string[] = [];
    clock.setTimer(200, () => fired.push("b"));
    clock.setTimer(100, () => fired.push("a"));
    const cancel = clock.setTimer(150, () => fired.push("cancelled"));
    cancel();
    clock.advance(150);
    expect(fired).toEqual(["a"]);
    clock.advance(100);
    expect(fired).toEqual(["a", "b"]);
    expect(clock.now()).toBe(1250);
  });

  it("keeps a real-time floor under scaled timeouts", async () => {
    const clock = createRealTimeClock({ scale: 1000 });
    const started = performance.now();
    await new Promise<void>((resolve) => setTimeoutWithFloor(clock, 1000, 150, resolve));
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });
});
