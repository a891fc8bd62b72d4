#!/usr/bin/env node
// The README's main job (`npm run pipeline`): installs what is missing, then runs the reference pipeline locally
// with Node 24 (scripts/local-pipeline.ts) against a local registry (and, as the toolkit grows, the simulator).
import { ensureNpmPackages, ensureSystemPackages, run, toolEnvironment } from "./bootstrap.mjs";

ensureSystemPackages(["buildah", "docker-registry"]);
ensureNpmPackages();
run("node", ["scripts/local-pipeline.ts", ...process.argv.slice(2)], { env: toolEnvironment() });
