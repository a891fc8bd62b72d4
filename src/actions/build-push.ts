import { readFile } from "node:fs/promises";
import * as core from "@actions/core";
import { ecrClient } from "../aws/clients.ts";
import { systemClock } from "../clock.ts";
import { type BuildPushOptions, buildPush } from "../image/build-push.ts";
import { builderChoices } from "../image/builders.ts";
import { parseKeyValueLines } from "../image/labels.ts";
import type { RegistryLogin } from "../image/registry-auth.ts";
import { parseRepository } from "../image/repository.ts";
import { buildPushSummaryRows } from "../image/summary.ts";
import { validateEnvironment, validateSha } from "../image/tags.ts";
import { runCommand } from "../process/command.ts";
import {
  actionReporter,
  booleanInput,
  cancellationSignal,
  choiceInput,
  gitHubRun,
  input,
  listInput,
  requiredInput,
} from "./shell.ts";

function registryLogin(repository: ReturnType<typeof parseRepository>): RegistryLogin {
  const username = input("username");
  const password = input("password");
  if (password) core.setSecret(password);
  const ecr = choiceInput("ecr-login", ["auto", "true", "false"] as const);
  if (ecr === "true" || (ecr === "auto" && repository.ecr && !username)) {
    return { kind: "ecr", client: ecrClient(repository.ecr ? { region: repository.ecr.region } : {}) };
  }
  if (username || password) return { kind: "password", username, password };
  return { kind: "anonymous" };
}

async function overlayAvailable(): Promise<boolean> {
  return (await readFile("/proc/filesystems", "utf8").catch(() => "")).includes("overlay");
}

export async function run(): Promise<void> {
  const github = gitHubRun();
  const repository = parseRepository(requiredInput("repository"));
  const promoteFrom = input("promote-from");
  const options: BuildPushOptions = {
    repository,
    environment: validateEnvironment(requiredInput("environment")),
    sha: validateSha(input("sha") || github.sha),
    context: input("context") || ".",
    dockerfile: input("dockerfile"),
    buildArgs: parseKeyValueLines(input("build-args"), "build-args"),
    labels: parseKeyValueLines(input("labels"), "labels"),
    target: input("target") || undefined,
    builder: choiceInput("builder", builderChoices),
    push: booleanInput("push"),
    extraTags: listInput("extra-tags"),
    promoteFrom: promoteFrom ? validateEnvironment(promoteFrom, "promote-from") : undefined,
    sourceUrl: github.repositoryUrl,
    workDir: github.tempDir,
  };
  const result = await buildPush(options, {
    clock: systemClock,
    reporter: actionReporter,
    run: runCommand,
    login: registryLogin(repository),
    builderEnv: process.env,
    overlayAvailable: await overlayAvailable(),
    signal: cancellationSignal(),
  });
  core.setOutput("image", result.image);
  core.setOutput("digest", result.digest ?? "");
  core.setOutput("image-ref", result.imageRef ?? "");
  core.setOutput("tags", result.tags.join("\n"));
  core.setOutput("built", String(result.outcome === "built"));
  core.setOutput("outcome", result.outcome);
  await core.summary
    .addHeading("build-push", 3)
    .addTable(buildPushSummaryRows(result, github.commitUrl(result.sha)))
    .addLink("Workflow run", github.runUrl)
    .write();
}
