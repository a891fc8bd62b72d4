import { randomBytes } from "node:crypto";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repositoryRoot, runAction } from "../../test/support/run-action.ts";

/**
 * Releases of the reference app, built by the toolkit's own build-push bundle (run as the GitHub runner runs it),
 * and faulty releases: a copy of a component's source changed as a bad commit would change it.
 */

export type Component = "api" | "web";

export interface Release {
  component: Component;
  sha: string;
  /** `<registry>/valmetal/<component>:dev-<sha>`, the build-push `image` output. */
  image: string;
  digest: string;
}

/** A change to the source copy of a component, as a commit would make it (path relative to the component). */
export interface SourceEdit {
  file: string;
  edit(text: string): string;
}

export interface BuildRequest {
  registry: string;
  baseImage: string;
  component: Component;
  sha?: string;
  /** When given, the component is copied into `workDir` and edited before the build. */
  edits?: SourceEdit[];
  workDir: string;
  log?: (line: string) => void;
}

export function randomSha(): string {
  return randomBytes(20).toString("hex");
}

/** Files of a component's build context (what its Dockerfile copies); node_modules and dist stay behind. */
const contextFiles = [
  "Dockerfile",
  ".dockerignore",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "src",
];

async function editedCopy(component: Component, sha: string, edits: SourceEdit[], workDir: string) {
  const source = join(repositoryRoot, "reference-app", component);
  const copy = join(workDir, `${component}-${sha.slice(0, 8)}`);
  await mkdir(copy, { recursive: true });
  for (const file of contextFiles)
    await cp(join(source, file), join(copy, file), { recursive: true }).catch((error) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  for (const edit of edits) {
    const path = join(copy, edit.file);
    const before = await readFile(path, "utf8");
    const after = edit.edit(before);
    if (after === before)
      throw new Error(`the edit of ${edit.file} changed nothing: is the edit point still there?`);
    await writeFile(path, after);
  }
  return copy;
}

export async function buildRelease(request: BuildRequest): Promise<Release> {
  const { component } = request;
  const sha = request.sha ?? randomSha();
  const context = request.edits?.length
    ? await editedCopy(component, sha, request.edits, request.workDir)
    : join(repositoryRoot, "reference-app", component);
  const started = Date.now();
  const run = await runAction("actions/build-push", {
    inputs: {
      repository: `${request.registry}/valmetal/${component}`,
      environment: "dev",
      sha,
      context,
      builder: "buildah",
      "build-args": `BASE_IMAGE=${request.baseImage}`,
    },
  });
  if (run.exitCode !== 0) throw new Error(`build-push of ${component} ${sha} failed:\n${run.log}`);
  request.log?.(
    `built ${component} ${sha.slice(0, 8)} (${run.outputs.outcome}) in ${Date.now() - started} ms`,
  );
  return { component, sha, image: String(run.outputs.image), digest: String(run.outputs.digest) };
}

/** The bad commit of the scenario: `GET /api/equipment` throws, so the api answers 500 there (and 200 on /health). */
export const brokenEquipmentList: SourceEdit = {
  file: "src/routes/equipment.ts",
  edit: (text) =>
    text.replace(
      'app.get("/api/equipment", async (request, reply) => {',
      'app.get("/api/equipment", async (request, reply) => {\n    if (request.url) throw new Error("bad commit: the equipment list is broken");',
    ),
};
