import { InputError } from "../errors.ts";

/** Fargate's task sizes: for each CPU value (units), the memory values (MiB) it may run with. */
const fargateSizes: Array<[cpu: number, from: number, to: number, step: number]> = [
  [256, 512, 2048, 512],
  [512, 1024, 4096, 1024],
  [1024, 2048, 8192, 1024],
  [2048, 4096, 16384, 1024],
  [4096, 8192, 30720, 1024],
  [8192, 16384, 61440, 4096],
  [16384, 32768, 122880, 8192],
];

/** Accepts "1024", "1 vCPU", "0.25 vcpu" for CPU and "2048", "2 GB" for memory, as ECS does. */
function units(value: string, kind: "cpu" | "memory"): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  if (!match[2]) return number;
  const suffix = (match[2] as string).toLowerCase();
  if (kind === "cpu" && suffix === "vcpu") return number * 1024;
  if (kind === "memory" && suffix === "gb") return number * 1024;
  return undefined;
}

export function validateFargateSize(
  cpu: string | undefined,
  memory: string | undefined,
  family: string,
): void {
  const hint = "see the Fargate task size table in the ECS docs";
  if (cpu === undefined || memory === undefined) {
    throw new InputError(`task definition ${family} needs task-level cpu and memory for Fargate; ${hint}`);
  }
  const cpuUnits = units(cpu, "cpu");
  const memoryMiB = units(memory, "memory");
  const sizes = fargateSizes.find(([value]) => value === cpuUnits);
  if (!sizes || memoryMiB === undefined) {
    throw new InputError(
      `task definition ${family} has cpu '${cpu}', which Fargate does not offer; use one of ${fargateSizes.map(([value]) => value).join(", ")}`,
    );
  }
  const [, from, to, step] = sizes;
  if (memoryMiB < from || memoryMiB > to || (memoryMiB - from) % step !== 0) {
    throw new InputError(
      `task definition ${family} has cpu ${cpuUnits} with memory ${memoryMiB} MiB, which Fargate does not offer; with cpu ${cpuUnits} use ${from}–${to} MiB in steps of ${step}`,
    );
  }
}
