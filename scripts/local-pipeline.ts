// The reference pipeline, run locally: every step is a committed action bundle run as the GitHub runner runs it.
// Stage of today: build the reference app's images once for dev (tagged with the commit SHA), show that a re-run
// rebuilds nothing, and promote the same digests to staging and prod.
import { execFileSync } from "node:child_process";
import { ensureBaseImage, nodeBase } from "../test/support/base-images.ts";
import { startLocalRegistry } from "../test/support/local-registry.ts";
import { type ActionRun, repositoryRoot, runAction } from "../test/support/run-action.ts";

const components = ["api", "web"] as const;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const say = (message: string) => console.log(`${elapsed()}  ${message}`);

function headSha(): string {
  const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repositoryRoot, encoding: "utf8" }).trim();
  if (!/^[0-9a-f]{40}$/.test(sha))
    throw new Error(`git rev-parse HEAD gave '${sha}': run from a clone with commits`);
  return sha;
}

async function step(title: string, inputs: Record<string, string>): Promise<ActionRun> {
  say(`▶ ${title}`);
  const stepStarted = Date.now();
  const run = await runAction("actions/build-push", {
    inputs,
    onLine: (line) => line && console.log(`${elapsed()}  │ ${line}`),
  });
  const seconds = ((Date.now() - stepStarted) / 1000).toFixed(1);
  if (run.exitCode !== 0) {
    const errors = run.annotations.filter((annotation) => annotation.level === "error");
    throw new Error(`${title} failed after ${seconds} s: ${errors.map((error) => error.message).join("; ")}`);
  }
  say(`✔ ${title} in ${seconds} s: ${run.outputs.outcome} ${run.outputs["image-ref"]}`);
  return run;
}

const registry = await startLocalRegistry("pipeline");
try {
  const sha = headSha();
  say(`local registry on ${registry.address}; commit ${sha}`);
  const baseImage = await ensureBaseImage(nodeBase);
  say(`base image ${baseImage} (stand-in for the public Node 24 image)`);
  const summaries: string[] = [];
  for (const component of components) {
    const repository = `${registry.address}/valmetal/${component}`;
    const common = {
      repository,
      sha,
      context: `reference-app/${component}`,
      "build-args": `BASE_IMAGE=${baseImage}`,
    };
    const dev = await step(`build ${component} for dev`, { ...common, environment: "dev" });
    await step(`re-run: ${component} for dev is already pushed`, { ...common, environment: "dev" });
    await step(`promote ${component} dev → staging`, {
      repository,
      sha,
      environment: "staging",
      "promote-from": "dev",
    });
    const prod = await step(`promote ${component} staging → prod`, {
      repository,
      sha,
      environment: "prod",
      "promote-from": "staging",
    });
    if (prod.outputs.digest !== dev.outputs.digest)
      throw new Error(`${component}: prod digest differs from dev's`);
    summaries.push(dev.summary, prod.summary);
  }
  console.log(`\n${summaries.join("\n")}`);
  say("pipeline done: one build per component, the same digest in dev, staging and prod");
} finally {
  await registry.stop();
}
