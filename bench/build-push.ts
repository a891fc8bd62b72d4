// Prints how long build-push takes for its three paths, run as the runner runs it against the local registry:
// a fresh build of the small test image (build cache busted), a re-run that skips the build, and a promotion.
// Usage: node bench/build-push.ts [rounds]
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { ensureBaseImage, shellBase } from "../test/support/base-images.ts";
import { startLocalRegistry } from "../test/support/local-registry.ts";
import { repositoryRoot, runAction } from "../test/support/run-action.ts";

const rounds = Number(process.argv[2] ?? 3);
const registry = await startLocalRegistry("bench");
await ensureBaseImage(shellBase);
const timings: Record<string, number[]> = { build: [], "skipped re-run": [], promotion: [] };

async function timed(name: string, inputs: Record<string, string>): Promise<void> {
  const started = performance.now();
  const run = await runAction("actions/build-push", { inputs });
  if (run.exitCode !== 0) throw new Error(`${name} failed:\n${run.log}`);
  timings[name]?.push(performance.now() - started);
}

try {
  for (let round = 0; round < rounds; round++) {
    const sha = randomBytes(20).toString("hex");
    const repository = `${registry.address}/bench/hello`;
    const build = {
      repository,
      sha,
      context: "e2e/fixtures/hello",
      builder: "buildah",
      "build-args": `GREETING=${sha}`,
    };
    await timed("build", { ...build, environment: "staging" });
    await timed("skipped re-run", { ...build, environment: "staging" });
    await timed("promotion", { repository, sha, environment: "prod", "promote-from": "staging" });
  }
} finally {
  await registry.stop();
}
const bundle = await stat(`${repositoryRoot}/actions/build-push/dist/index.js`);
console.log(`build-push, ${rounds} rounds (ms: median / min / max), action process start included`);
for (const [name, values] of Object.entries(timings)) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(
    `  ${name.padEnd(16)} ${median.toFixed(0)} / ${(sorted[0] ?? 0).toFixed(0)} / ${(sorted.at(-1) ?? 0).toFixed(0)}`,
  );
}
console.log(`  bundle           ${bundle.size} bytes (${(bundle.size / 1024 / 1024).toFixed(2)} MiB)`);
