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

export const input = (name: string): string => core.getInput(name);
export function requiredInput(name: string): string {
  const value = core.getInput(name);
  if (!value) throw new InputError(`input ${name} is required; set it in the step's with:`);
  return value;
}

export function booleanInput(name: string): boolean {
  const value = core.getInput(name).trim().toLowerCase();
  if (["true", "yes", "1"].includes(value)) return true;
  if (["false", "no", "0"].includes(value)) return false;
  throw new ToolkitError(`input ${name} is '${value}'; use true or false`);
}

/** A list input: one item per line or comma-separated. */
export function listInput(name: string): string[] {
  return core
    .getInput(name)
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

export function choiceInput<T extends string>(name: string, choices: readonly T[]): T {
  const value = core.getInput(name).trim();
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ToolkitError(`input ${name} is '${value}'; use one of ${choices.join(", ")}`);
}

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
