import { readFile } from "node:fs/promises";
import * as core from "@actions/core";
import { ecrClient } from "../aws/clients.ts";
import { systemClock } from "../clock.ts";
import { type BuildPushOptions, type BuildPushResult, buildPush } from "../image/build-push.ts";
import { builderChoices } from "../image/builders.ts";
import { parseKeyValueLines } from "../image/labels.ts";
import type { RegistryLogin } from "../image/registry-auth.ts";
import { parseRepository } from "../image/repository.ts";
import { buildPushSummaryRows } from "../image/summary.ts";
import { validateEnvironment, validateSha } from "../image/tags.ts";
import { runCommand } from "../process/command.ts";
import {
  actionReporter,
  cancellationSignal,
  finishStage,
  type GitHubRun,
  gitHubRun,
  type Inputs,
  runnerInputs,
} from "./shell.ts";

function registryLogin(inputs: Inputs, repository: ReturnType<typeof parseRepository>): RegistryLogin {
  const username = inputs.text("username");
  const password = inputs.text("password");
  if (password) core.setSecret(password);
  const ecr = inputs.choice("ecr-login", ["auto", "true", "false"] as const);
  if (ecr === "true" || (ecr === "auto" && repository.ecr && !username)) {
    return { kind: "ecr", client: ecrClient(repository.ecr ? { region: repository.ecr.region } : {}) };
  }
  if (username || password) return { kind: "password", username, password };
  return { kind: "anonymous" };
}

async function overlayAvailable(): Promise<boolean> {
  return (await readFile("/proc/filesystems", "utf8").catch(() => "")).includes("overlay");
}

/** Every build-push input, read and validated before anything is built. */
export function buildPushOptions(
  inputs: Inputs,
  github: GitHubRun,
): BuildPushOptions & { login: RegistryLogin } {
  const repository = parseRepository(inputs.required("repository"));
  const promoteFrom = inputs.text("promote-from");
  return {
    repository,
    environment: validateEnvironment(inputs.required("environment")),
    sha: validateSha(inputs.text("sha") || github.sha),
    context: inputs.text("context") || ".",
    dockerfile: inputs.text("dockerfile"),
    buildArgs: parseKeyValueLines(inputs.text("build-args"), "build-args"),
    labels: parseKeyValueLines(inputs.text("labels"), "labels"),
    target: inputs.text("target") || undefined,
    builder: inputs.choice("builder", builderChoices),
    push: inputs.boolean("push"),
    extraTags: inputs.list("extra-tags"),
    promoteFrom: promoteFrom ? validateEnvironment(promoteFrom, "promote-from") : undefined,
    sourceUrl: github.repositoryUrl,
    workDir: github.tempDir,
    login: registryLogin(inputs, repository),
  };
}

/** Builds (or reuses, or promotes) and pushes; appends its section to the job summary. */
export async function buildPushStage(
  options: ReturnType<typeof buildPushOptions>,
  github: GitHubRun,
  signal: AbortSignal,
): Promise<BuildPushResult> {
  const { login, ...buildOptions } = options;
  const result = await buildPush(buildOptions, {
    clock: systemClock,
    reporter: actionReporter,
    run: runCommand,
    login,
    builderEnv: process.env,
    overlayAvailable: await overlayAvailable(),
    signal,
  });
  await core.summary
    .addHeading("build-push", 3)
    .addTable(buildPushSummaryRows(result, github.commitUrl(result.sha)))
    .write();
  return result;
}

export const buildPushOutputs = (result: BuildPushResult): Record<string, string> => ({
  image: result.image,
  digest: result.digest ?? "",
  "image-ref": result.imageRef ?? "",
  tags: result.tags.join("\n"),
  built: String(result.outcome === "built"),
  outcome: result.outcome,
});

export async function run(): Promise<void> {
  const github = gitHubRun();
  const result = await buildPushStage(buildPushOptions(runnerInputs, github), github, cancellationSignal());
  await finishStage({ outputs: buildPushOutputs(result) }, github);
}
