import { describe, expect, test } from "vitest";
import { SimClock } from "./clock.ts";

describe("SimClock", () => {
  test("manual mode moves only on advance, firing timers in time order with the clock at their time", async () => {
    const clock = new SimClock({ start: 0, scale: 0 });
    const fired: Array<[string, number]> = [];
    clock.after(3000, () => fired.push(["c", clock.now()]));
    clock.at(1000, () => fired.push(["a", clock.now()]));
    clock.after(2000, () => {
      fired.push(["b", clock.now()]);
      clock.after(500, () => fired.push(["b+", clock.now()]));
    });
    await clock.advance(2600);
    expect(fired).toEqual([
      ["a", 1000],
      ["b", 2000],
      ["b+", 2500],
    ]);
    expect(clock.now()).toBe(2600);
    await clock.advance(1000);
    expect(fired.at(-1)).toEqual(["c", 3000]);
  });

  test("cancelled timers and repeating timers", async () => {
    const clock = new SimClock({ start: 0, scale: 0 });
    let count = 0;
    const every = clock.every(1000, () => count++);
    const cancelled = clock.after(500, () => (count += 100));
    cancelled.cancel();
    await clock.advance(3500);
    expect(count).toBe(3);
    every.cancel();
    await clock.advance(5000);
    expect(count).toBe(3);
  });

  test("a scaled clock runs sim time faster than real time and fires timers on real time", async () => {
    const clock = new SimClock({ start: 0, scale: 600 });
    const fired = new Promise<number>((resolve) => clock.after(60_000, () => resolve(clock.now())));
    const at = await fired;
    expect(at).toBeGreaterThanOrEqual(60_000);
    expect(at).toBeLessThan(120_000);
    clock.stop();
  });

  test("changing the scale re-arms pending timers", async () => {
    const clock = new SimClock({ start: 0, scale: 1 });
    const started = performance.now();
    const fired = new Promise<void>((resolve) => clock.after(30_000, () => resolve()));
    clock.setScale(1000);
    await fired;
    expect(performance.now() - started).toBeLessThan(1000);
    clock.stop();
  });
});
