import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ToolkitError } from "../errors.ts";
import { CommandNotFoundError, type CommandRunner } from "../process/command.ts";
import type { RegistryCredentials } from "./registry-client.ts";

export type BuilderName = "docker" | "buildah";
export const builderChoices = ["auto", "docker", "buildah"] as const;
export type BuilderChoice = (typeof builderChoices)[number];

export interface BuildRequest {
  context: string;
  dockerfile: string;
  /** Reference the image is built and pushed as: `<repository>:<primary tag>`. */
  reference: string;
  registry: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  push: boolean;
  /** Plain-HTTP registry (loopback). */
  insecure: boolean;
  credentials?: RegistryCredentials;
  /** A folder for the builder's temporary files (RUNNER_TEMP). */
  workDir: string;
}

export interface BuildOutcome {
  /** Digest of the pushed manifest; absent when not pushed. */
  digest?: string;
}

export interface BuilderEnvironment {
  run: CommandRunner;
  /** Environment of the builder processes (BUILDAH_ISOLATION, STORAGE_DRIVER, DOCKER_CONFIG … are honoured). */
  env: NodeJS.ProcessEnv;
  /** Whether the kernel offers overlayfs; without it buildah needs the vfs storage driver. */
  overlayAvailable: boolean;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export class BuildError extends ToolkitError {}
export class BuilderUnavailableError extends ToolkitError {}

const pairs = (flag: string, values: Record<string, string>) =>
  Object.entries(values).flatMap(([key, value]) => [flag, `${key}=${value}`]);

/** buildah global options: chroot isolation and vfs storage make it work in unprivileged containers too. */
export function buildahGlobalArgs(env: NodeJS.ProcessEnv, overlayAvailable: boolean): string[] {
  return env.STORAGE_DRIVER || overlayAvailable ? [] : ["--storage-driver", "vfs"];
}

export function buildahBuildArgs(request: BuildRequest, env: NodeJS.ProcessEnv): string[] {
  return [
    "build",
    "--isolation",
    env.BUILDAH_ISOLATION || "chroot",
    // Docker format: OCI image configs drop HEALTHCHECK, and ECR and Docker both accept schema 2 manifests.
    "--format",
    "docker",
    "--layers",
    "--file",
    request.dockerfile,
    "--tag",
    request.reference,
    ...pairs("--build-arg", request.buildArgs),
    ...pairs("--label", request.labels),
    ...(request.target ? ["--target", request.target] : []),
    request.context,
  ];
}

export function buildahPushArgs(request: BuildRequest, digestFile: string, authFile?: string): string[] {
  return [
    "push",
    "--digestfile",
    digestFile,
    ...(request.insecure ? ["--tls-verify=false"] : []),
    ...(authFile ? ["--authfile", authFile] : []),
    request.reference,
    `docker://${request.reference}`,
  ];
}

export function buildxBuildArgs(request: BuildRequest, metadataFile: string): string[] {
  return [
    "buildx",
    "build",
    "--file",
    request.dockerfile,
    "--tag",
    request.reference,
    ...pairs("--build-arg", request.buildArgs),
    ...pairs("--label", request.labels),
    ...(request.target ? ["--target", request.target] : []),
    // Without these buildx wraps even one image in an index with attestations, which ECR basic scanning rejects.
    "--provenance=false",
    "--sbom=false",
    "--metadata-file",
    metadataFile,
    request.push ? "--push" : "--load",
    request.context,
  ];
}

async function succeeds(environment: BuilderEnvironment, program: string, args: string[]): Promise<boolean> {
  try {
    return (await environment.run(program, args, { env: environment.env })).exitCode === 0;
  } catch (error) {
    if (error instanceof CommandNotFoundError) return false;
    throw error;
  }
}

/** `auto` takes docker buildx when a Docker engine answers (GitHub runners), else buildah (daemonless). */
export async function selectBuilder(
  choice: BuilderChoice,
  environment: BuilderEnvironment,
): Promise<BuilderName> {
  const docker = async () =>
    (await succeeds(environment, "docker", ["buildx", "version"])) &&
    (await succeeds(environment, "docker", ["info", "--format", "{{.ServerVersion}}"]));
  const buildah = () => succeeds(environment, "buildah", ["version"]);
  if (choice === "docker") {
    if (await docker()) return "docker";
    throw new BuilderUnavailableError(
      "builder 'docker' needs docker buildx and a running Docker engine, and none answered; use builder: buildah or auto",
    );
  }
  if (choice === "buildah") {
    if (await buildah()) return "buildah";
    throw new BuilderUnavailableError(
      "builder 'buildah' was not found; install it (apt-get install buildah)",
    );
  }
  if (await docker()) return "docker";
  if (await buildah()) return "buildah";
  throw new BuilderUnavailableError(
    "no image builder found: install docker with buildx (GitHub-hosted runners have it) or buildah (apt-get install buildah)",
  );
}

async function checked(
  environment: BuilderEnvironment,
  program: string,
  args: string[],
  what: string,
  input?: string,
): Promise<void> {
  const result = await environment.run(program, args, {
    env: environment.env,
    onLine: environment.onLine,
    signal: environment.signal,
    tailLines: 15,
    ...(input === undefined ? {} : { input }),
  });
  if (result.exitCode !== 0) {
    throw new BuildError(
      `${what} failed (exit code ${result.exitCode}); last lines:\n${result.tail.join("\n")}`,
    );
  }
}

export async function buildWithBuildah(
  request: BuildRequest,
  environment: BuilderEnvironment,
): Promise<BuildOutcome> {
  const global = buildahGlobalArgs(environment.env, environment.overlayAvailable);
  await checked(
    environment,
    "buildah",
    [...global, ...buildahBuildArgs(request, environment.env)],
    "buildah build",
  );
  if (!request.push) return {};
  const id = randomUUID();
  const digestFile = join(request.workDir, `digest-${id}`);
  const authFile = request.credentials ? join(request.workDir, `auth-${id}.json`) : undefined;
  try {
    if (authFile && request.credentials) {
      const auth = Buffer.from(`${request.credentials.username}:${request.credentials.password}`).toString(
        "base64",
      );
      await writeFile(authFile, JSON.stringify({ auths: { [request.registry]: { auth } } }), { mode: 0o600 });
    }
    await checked(
      environment,
      "buildah",
      [...global, ...buildahPushArgs(request, digestFile, authFile)],
      "buildah push",
    );
    return { digest: (await readFile(digestFile, "utf8")).trim() };
  } finally {
    await rm(digestFile, { force: true });
    if (authFile) await rm(authFile, { force: true });
  }
}

export async function buildWithDocker(
  request: BuildRequest,
  environment: BuilderEnvironment,
): Promise<BuildOutcome> {
  const metadataFile = join(request.workDir, `metadata-${randomUUID()}.json`);
  const login = request.push && request.credentials;
  if (login && request.credentials) {
    await checked(
      environment,
      "docker",
      ["login", request.registry, "--username", request.credentials.username, "--password-stdin"],
      `docker login ${request.registry}`,
      request.credentials.password,
    );
  }
  try {
    await checked(environment, "docker", buildxBuildArgs(request, metadataFile), "docker buildx build");
    if (!request.push) return {};
    return { digest: readBuildxDigest(await readFile(metadataFile, "utf8")) };
  } finally {
    await rm(metadataFile, { force: true });
    if (login) await environment.run("docker", ["logout", request.registry], { env: environment.env });
  }
}

/** buildx writes the pushed manifest's digest as `containerimage.digest` in its metadata file. */
export function readBuildxDigest(metadataJson: string): string {
  const digest = (JSON.parse(metadataJson) as Record<string, unknown>)["containerimage.digest"];
  if (typeof digest !== "string" || !digest.startsWith("sha256:")) {
    throw new BuildError("docker buildx wrote no containerimage.digest in its metadata file");
  }
  return digest;
}

export const builders: Record<
  BuilderName,
  (request: BuildRequest, env: BuilderEnvironment) => Promise<BuildOutcome>
> = {
  docker: buildWithDocker,
  buildah: buildWithBuildah,
};
