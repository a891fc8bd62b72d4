import type { TestProject } from "vitest/node";
import { ensureBaseImage, shellBase } from "./base-images.ts";
import { startLocalRegistry } from "./local-registry.ts";

declare module "vitest" {
  export interface ProvidedContext {
    registry: string;
  }
}

/** One real registry for the end-to-end tests, and the locally built base images their Dockerfiles start from. */
export default async function setup(project: TestProject) {
  const registry = await startLocalRegistry();
  await ensureBaseImage(shellBase);
  project.provide("registry", registry.address);
  return () => registry.stop();
}
