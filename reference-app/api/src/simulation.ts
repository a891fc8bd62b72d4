import { type EquipmentType, equipmentTypes, type RunState, type TelemetryPayload } from "./telemetry.ts";

/** Typical operating figures of each machine type, used to make simulated telemetry look like the real thing. */
interface Profile {
  rpm: number;
  currentA: number;
  loadKg: [number, number];
  model: string;
}

const profiles: Record<EquipmentType, Profile> = {
  "feed-mixer": { rpm: 38, currentA: 42, loadKg: [800, 9000], model: "VM-2200 vertical mixer" },
  "silo-unloader": { rpm: 1450, currentA: 16, loadKg: [0, 250], model: "SU-160 top unloader" },
  conveyor: { rpm: 960, currentA: 9, loadKg: [0, 120], model: "BC-30 belt conveyor" },
  "manure-pump": { rpm: 1750, currentA: 30, loadKg: [0, 0], model: "MP-75 piston pump" },
};

/** A small deterministic random generator, so a seed reproduces a run. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

export interface SimulatedMachine {
  id: string;
  farmId: string;
  type: EquipmentType;
  name: string;
  model: string;
  runState: RunState;
  motorTempC: number;
  hoursMeter: number;
  loadKg: number;
  rssi: number;
  fw: string;
  /** The fault code of the current fault episode, if any. */
  faultCode?: string | undefined;
}

export function createFleet(count: number, options: { prefix?: string; farms?: number; seed?: number } = {}) {
  const random = randomSource(options.seed ?? 42);
  const farms = Math.max(1, options.farms ?? Math.ceil(count / 4));
  const machines: SimulatedMachine[] = [];
  for (let index = 0; index < count; index += 1) {
    const type = equipmentTypes[index % equipmentTypes.length] as EquipmentType;
    const number = String(index + 1).padStart(3, "0");
    machines.push({
      id: `${options.prefix ?? "sim"}-${type}-${number}`,
      farmId: `farm-${String((index % farms) + 1).padStart(2, "0")}`,
      type,
      name: `${type.replace("-", " ")} #${number}`,
      model: profiles[type].model,
      runState: random() < 0.7 ? "running" : "idle",
      motorTempC: 35 + random() * 15,
      hoursMeter: Math.round(500 + random() * 8000),
      loadKg: 0,
      rssi: -55 - random() * 25,
      fw: `2.${Math.floor(random() * 4)}.${Math.floor(random() * 10)}`,
    });
  }
  return { machines, random };
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Advances one machine by `elapsedSeconds` and returns the reading it publishes. */
export function nextReading(
  machine: SimulatedMachine,
  random: () => number,
  now: Date,
  elapsedSeconds: number,
): TelemetryPayload {
  const profile = profiles[machine.type];
  // State changes: machines start and stop now and then; a rare fault clears after a while.
  const roll = random();
  if (machine.runState === "running" && roll < 0.02) machine.runState = "idle";
  else if (machine.runState === "idle" && roll < 0.1) machine.runState = "running";
  else if (machine.runState === "running" && roll > 0.999) {
    machine.runState = "fault";
    machine.faultCode = `E${100 + Math.floor(random() * 50)}`;
  } else if (machine.runState === "fault" && roll < 0.2) {
    machine.runState = "idle";
    machine.faultCode = undefined;
  }

  const running = machine.runState === "running";
  const ambient = 25;
  const target = running ? 62 + random() * 30 : ambient;
  machine.motorTempC += (target - machine.motorTempC) * Math.min(1, 0.05 * elapsedSeconds);
  if (running) machine.hoursMeter += elapsedSeconds / 3600;
  const [minLoad, maxLoad] = profile.loadKg;
  machine.loadKg = running ? minLoad + random() * (maxLoad - minLoad) : machine.loadKg * 0.98;
  machine.rssi = Math.max(-100, Math.min(-40, machine.rssi + (random() - 0.5) * 4));

  const rpm = running ? profile.rpm * (0.92 + random() * 0.16) : 0;
  const current = running ? profile.currentA * (0.85 + random() * 0.3) : 0;
  return {
    type: machine.type,
    ts: now.toISOString(),
    runState: machine.runState,
    rpm: round(rpm),
    motorCurrentA: round(current),
    motorTempC: round(machine.motorTempC),
    hoursMeter: round(machine.hoursMeter, 2),
    loadKg: profile.loadKg[1] > 0 ? round(machine.loadKg) : null,
    faultCodes: machine.faultCode ? [machine.faultCode] : [],
    rssi: Math.round(machine.rssi),
    fw: machine.fw,
  };
}

export const telemetryTopic = (equipmentId: string) => `valmetal/equipment/${equipmentId}/telemetry`;
