#!/usr/bin/env node
// The README's test command (`npm test`): installs what is missing, then lint, type checks and every test —
// unit, end to end (bundled actions against real registries and the simulator), reference app and infra.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureNpmPackages, ensureSystemPackages, root, run, toolEnvironment } from "./bootstrap.mjs";

const started = Date.now();
ensureSystemPackages();
ensureNpmPackages();
const env = toolEnvironment();

console.log("\n== lint and format (biome)");
run("biome", ["check", "."], { env });

console.log("\n== type check (tsc)");
for (const project of [".", "reference-app/api", "reference-app/web", "infra"]) {
  if (existsSync(join(root, project, "tsconfig.json"))) run("tsc", ["--noEmit", "-p", project], { env });
}

console.log("\n== synthesize the infra templates (infra/cdk.out), which the simulator provisions");
run("npm", ["run", "--silent", "synth"], { cwd: join(root, "infra"), env });

console.log("\n== tests (vitest)");
const report = join(root, ".tmp", "vitest-report.json");
const vitest = spawnSync(
  "vitest",
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: "inherit", cwd: root, env },
);
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
if (existsSync(report)) {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, "utf8"));
  console.log(`\n${minutes} min`);
  console.log(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
}
process.exit(vitest.status ?? 1);
