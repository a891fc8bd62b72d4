import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { ToolkitError } from "../errors.ts";
import type { CommandRunner } from "../process/command.ts";
import type { Reporter } from "../report/reporter.ts";

/** Where scanners are looked for and installed: the runner's PATH plus a tools folder of our own. */
export interface ToolEnvironment {
  /** PATH and the rest of the environment the scanners run with. */
  env: NodeJS.ProcessEnv;
  /** Folder installs go to (<toolsDir>/bin is searched after PATH). */
  toolsDir: string;
  run: CommandRunner;
  reporter: Reporter;
  signal?: AbortSignal;
  /** process.arch, for release archives. */
  arch?: string;
}

export const toolsBin = (tools: ToolEnvironment) => join(tools.toolsDir, "bin");

/** PATH with the tools folder appended, so what we installed is found and what the runner has comes first. */
export function toolPath(tools: ToolEnvironment): string {
  return [tools.env.PATH ?? "", toolsBin(tools), join(tools.toolsDir, "semgrep-venv", "bin")]
    .filter(Boolean)
    .join(delimiter);
}

export async function findExecutable(program: string, path: string): Promise<string | undefined> {
  for (const folder of path.split(delimiter).filter(Boolean)) {
    const candidate = join(folder, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

async function runOrFail(tools: ToolEnvironment, program: string, args: string[], env: NodeJS.ProcessEnv) {
  const result = await tools.run(program, args, { env, signal: tools.signal, tailLines: 15 });
  if (result.exitCode !== 0) {
    throw new ToolkitError(
      `${program} ${args.join(" ")} failed (exit code ${result.exitCode}); last lines:\n${result.tail.join("\n")}`,
    );
  }
}

/** semgrep with pipx (on GitHub's runners), else pip into our tools folder; pinned to `version`. */
export async function installSemgrep(version: string, tools: ToolEnvironment): Promise<string> {
  const path = toolPath(tools);
  const env = { ...tools.env, PATH: path };
  const spec = `semgrep==${version}`;
  await mkdir(toolsBin(tools), { recursive: true });
  if (await findExecutable("pipx", path)) {
    tools.reporter.info(`installing ${spec} with pipx`);
    await runOrFail(tools, "pipx", ["install", "--force", spec], {
      ...env,
      PIPX_BIN_DIR: toolsBin(tools),
      PIPX_HOME: join(tools.toolsDir, "pipx"),
    });
  } else if (await findExecutable("python3", path)) {
    // A virtual environment of our own: `pip install --user` is refused by PEP 668 system Pythons (Ubuntu 24.04).
    tools.reporter.info(`installing ${spec} with pip in a virtual environment (pipx is not on PATH)`);
    const venv = join(tools.toolsDir, "semgrep-venv");
    await runOrFail(tools, "python3", ["-m", "venv", venv], env);
    await runOrFail(tools, join(venv, "bin", "pip"), ["install", "--quiet", spec], env);
  } else {
    throw new ToolkitError(
      `cannot install semgrep: neither pipx nor python3 is on PATH; install Python (actions/setup-python) or semgrep itself before this step`,
    );
  }
  const installed = await findExecutable("semgrep", path);
  if (!installed)
    throw new ToolkitError(`installing ${spec} left no semgrep executable on PATH or in ${toolsBin(tools)}`);
  return installed;
}

/** gitleaks is a Go binary: the linux archive of its GitHub release, pinned to `version`. */
export async function installGitleaks(version: string, tools: ToolEnvironment): Promise<string> {
  const arch = (tools.arch ?? process.arch) === "arm64" ? "arm64" : "x64";
  const bare = version.replace(/^v/, "");
  const url = `https://github.com/gitleaks/gitleaks/releases/download/v${bare}/gitleaks_${bare}_linux_${arch}.tar.gz`;
  const bin = toolsBin(tools);
  await mkdir(bin, { recursive: true });
  const archive = join(tools.toolsDir, `gitleaks_${bare}.tar.gz`);
  const env = { ...tools.env, PATH: toolPath(tools) };
  tools.reporter.info(`installing gitleaks ${bare} from ${url}`);
  await runOrFail(tools, "curl", ["-sSfL", "--retry", "3", "-o", archive, url], env);
  await runOrFail(tools, "tar", ["-xzf", archive, "-C", bin, "gitleaks"], env);
  const installed = await findExecutable("gitleaks", bin);
  if (!installed) throw new ToolkitError(`the gitleaks ${bare} archive held no gitleaks executable`);
  return installed;
}

/** The scanner's path: found on PATH or in our tools folder, else installed when allowed, else a clear error. */
export async function resolveScanner(
  program: "semgrep" | "gitleaks",
  options: { install: boolean; version: string; howToInstall: string },
  tools: ToolEnvironment,
): Promise<string> {
  const found = await findExecutable(program, toolPath(tools));
  if (found) return found;
  if (!options.install) {
    throw new ToolkitError(
      `${program} is not on PATH; set install: true (installs ${program} ${options.version}), or install it before this step: ${options.howToInstall}`,
    );
  }
  return program === "semgrep"
    ? installSemgrep(options.version, tools)
    : installGitleaks(options.version, tools);
}
