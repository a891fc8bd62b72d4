import * as core from "@actions/core";
import { context } from "@actions/github";
import { InputError, ToolkitError } from "../errors.ts";
import type { Reporter } from "../report/reporter.ts";

/** The Reporter the core modules write to, on the runner's log. */
export const actionReporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  group: (title, work) => core.group(title, work),
  secret: (value) => core.setSecret(value),
};

/** Where an action reads its inputs: the runner's INPUT_* variables, or a stage of the one-step action (ship). */
export type InputReader = (name: string) => string;

export interface Inputs {
  text(name: string): string;
  required(name: string): string;
  boolean(name: string): boolean;
  /** A list input: one item per line or comma-separated. */
  list(name: string): string[];
  choice<T extends string>(name: string, choices: readonly T[]): T;
}

/** `nameOf` gives the name the user wrote, when a stage reads an input under another name. */
export function inputsFrom(read: InputReader, nameOf: (name: string) => string = (name) => name): Inputs {
  return {
    text: read,
    required(name) {
      const value = read(name);
      if (!value) throw new InputError(`input ${nameOf(name)} is required; set it in the step's with:`);
      return value;
    },
    boolean(name) {
      const value = read(name).trim().toLowerCase();
      if (["true", "yes", "1"].includes(value)) return true;
      if (["false", "no", "0"].includes(value)) return false;
      throw new InputError(`input ${nameOf(name)} is '${value}'; use true or false`);
    },
    list: (name) =>
      read(name)
        .split(/[\n,]/)
        .map((item) => item.trim())
        .filter(Boolean),
    choice<T extends string>(name: string, choices: readonly T[]): T {
      const value = read(name).trim();
      if ((choices as readonly string[]).includes(value)) return value as T;
      throw new InputError(`input ${nameOf(name)} is '${value}'; use one of ${choices.join(", ")}`);
    },
  };
}

/** The step's own inputs, as the runner passes them. */
export const runnerInputs = inputsFrom((name) => core.getInput(name));

export interface GitHubRun {
  sha: string;
  repositoryUrl: string;
  runUrl: string;
  commitUrl: (sha: string) => string;
  workspace: string;
  tempDir: string;
}

export function gitHubRun(): GitHubRun {
  const { serverUrl, repo, runId } = context;
  const repositoryUrl = `${serverUrl}/${repo.owner}/${repo.repo}`;
  return {
    sha: context.sha,
    repositoryUrl,
    runUrl: `${repositoryUrl}/actions/runs/${runId}`,
    commitUrl: (sha) => `${repositoryUrl}/commit/${sha}`,
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    tempDir: process.env.RUNNER_TEMP || process.env.TMPDIR || "/tmp",
  };
}

/**
 * What a stage of an action gives back: its outputs and, when its gate or deployment failed, why. The single
 * actions finish with it; the one-step action (ship) chains stages and stops at the first failure.
 */
export interface StageResult {
  outputs: Record<string, string>;
  failure?: string;
}

export function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

/** Outputs, the run link under the summary, and the step's failure when the stage failed. */
export async function finishStage(result: StageResult, github: GitHubRun): Promise<void> {
  setOutputs(result.outputs);
  await core.summary.addLink("Workflow run", github.runUrl).write();
  if (result.failure) throw new ToolkitError(result.failure);
}

/** Aborted when the workflow is cancelled: the runner sends SIGINT, then SIGTERM, then kills the step. */
export function cancellationSignal(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      core.warning(`received ${signal}: cancelling`);
      controller.abort(new ToolkitError(`cancelled by ${signal}`));
    });
  }
  return controller.signal;
}

/**
 * Runs an action's body. An error the user can fix fails the step with its message alone; anything else is a bug
 * and keeps its stack trace.
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof ToolkitError) {
      core.setFailed(error.message);
    } else {
      core.setFailed(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
  }
}
