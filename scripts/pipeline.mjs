#!/usr/bin/env node
// The README's main job (`npm run pipeline`): installs what is missing, then runs the reference pipeline workflow
// locally with Node 24 (scripts/local-pipeline.ts): a local registry, the simulator provisioned from infra's
// templates running the reference app's images, and the workflow's jobs run by scripts/workflow-runner/.
import { ensureNpmPackages, ensureSystemPackages, run, toolEnvironment } from "./bootstrap.mjs";

ensureSystemPackages(["buildah", "docker-registry", "postgresql", "curl"]);
ensureNpmPackages();
run("node", ["scripts/local-pipeline.ts", ...process.argv.slice(2)], { env: toolEnvironment() });
