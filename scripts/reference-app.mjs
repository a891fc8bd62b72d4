#!/usr/bin/env node
// `npm run reference-app`: installs what is missing, then runs the reference app locally (reference-app/dev.ts).
import { ensureNpmPackages, ensureSystemPackages, run, toolEnvironment } from "./bootstrap.mjs";

ensureSystemPackages(["postgresql"]);
ensureNpmPackages();
run("node", ["reference-app/dev.ts", ...process.argv.slice(2)], { env: toolEnvironment() });
