import { describe, expect, it } from "vitest";
import { createFleet, nextReading, telemetryTopic } from "../src/simulation.ts";
import { equipmentIdFromTopic, equipmentTypes, parseTelemetryPayload } from "../src/telemetry.ts";

describe("device simulation", () => {
  it("builds a fleet covering every machine type, spread over farms", () => {
    const { machines } = createFleet(8, { farms: 2 });
    expect(new Set(machines.map((machine) => machine.type))).toEqual(new Set(equipmentTypes));
    expect(new Set(machines.map((machine) => machine.farmId))).toEqual(new Set(["farm-01", "farm-02"]));
    expect(new Set(machines.map((machine) => machine.id)).size).toBe(8);
  });

  it("publishes readings that the api accepts, on topics it maps back to the machine", () => {
    const { machines, random } = createFleet(12, { seed: 7 });
    let now = Date.parse("2025-03-01T06:00:00Z");
    for (let step = 0; step < 200; step += 1) {
      now += 1000;
      for (const machine of machines) {
        const reading = nextReading(machine, random, new Date(now), 1);
        const parsed = parseTelemetryPayload(JSON.parse(JSON.stringify(reading)));
        if (!parsed.ok) throw new Error(`${machine.id}: ${parsed.error}`);
        expect(equipmentIdFromTopic(telemetryTopic(machine.id))).toBe(machine.id);
      }
    }
  });

  it("is reproducible from a seed", () => {
    const run = () => {
      const { machines, random } = createFleet(4, { seed: 99 });
      return machines.map((machine) => nextReading(machine, random, new Date(0), 1));
    };
    expect(run()).toEqual(run());
  });
});
