import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { basename, join, matchesGlob, resolve } from "node:path";

/**
 * Third-party actions have no bundle here and no GitHub to talk to: each gets a local equivalent that gives the
 * later steps what they rely on. One table, printed in docs/local-pipeline.md; anything else is an error naming the
 * action.
 */

export interface EquivalentContext {
  workspace: string;
  /** This clone of the toolkit. */
  toolkitRoot: string;
  /** The toolkit's name in `uses:` and `repository:` (org/toolkit). */
  toolkitRepo: string;
  /** Where uploads (SARIF, artifacts) are copied. */
  outputDir: string;
  /** What configure-aws-credentials exports locally (endpoint, region, static credentials). */
  awsEnv: Record<string, string>;
  log: (line: string) => void;
}

export interface EquivalentResult {
  outputs?: Record<string, string>;
  /** Variables for the job's later steps, as GITHUB_ENV would set them. */
  env?: Record<string, string>;
  /** Folders of the workspace that stand for another folder (`.toolkit` → this clone) in later `uses: ./…`. */
  aliases?: Record<string, string>;
}

interface Equivalent {
  /** What it stands for on GitHub, and what it does here (the docs table). */
  github: string;
  local: string;
  run(inputs: Record<string, string>, context: EquivalentContext): EquivalentResult;
}

/** A file lands in `target` by its name; a folder's contents land in `target` (as upload-artifact stores them). */
const copyInto = (source: string, target: string) => {
  mkdirSync(target, { recursive: true });
  if (statSync(source).isDirectory()) cpSync(source, target, { recursive: true });
  else cpSync(source, join(target, basename(source)));
};

const paths = (value: string, workspace: string) =>
  value
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("!"))
    .map((line) => resolve(workspace, line));

export const equivalents: Record<string, Equivalent> = {
  "actions/checkout": {
    github: "clones the repository at github.sha into the workspace (or into `path`)",
    local:
      "the workspace is already the checkout of github.sha (this clone, or a throwaway clone holding the commit); `repository: <the toolkit>` with `path` (the toolkit next to the app, at the workflow's commit) makes `path` a link to this clone of the toolkit",
    run(inputs, context) {
      const repository = inputs.repository ?? "";
      if (!inputs.path) {
        if (repository && repository.toLowerCase() !== context.toolkitRepo.toLowerCase())
          throw new Error(`checkout of '${repository}': the local run has only this clone and the toolkit`);
        context.log(
          `workspace ${context.workspace} is the checkout${inputs.ref ? ` of ${inputs.ref}` : ""} (no clone needed)`,
        );
        return {};
      }
      if (repository && repository.toLowerCase() !== context.toolkitRepo.toLowerCase())
        throw new Error(
          `checkout of '${repository}' into ${inputs.path}: the local run knows only ${context.toolkitRepo}`,
        );
      const target = resolve(context.workspace, inputs.path);
      if (resolve(context.workspace) === resolve(context.toolkitRoot)) {
        // The workspace is the toolkit itself: nothing is written into it; `uses: ./<path>/…` resolves to it.
        context.log(
          `${inputs.path} is this clone of ${context.toolkitRepo} itself: ./${inputs.path}/… resolves to ./…`,
        );
        return { aliases: { [target]: context.toolkitRoot } };
      }
      if (existsSync(target) && lstatSync(target).isSymbolicLink()) rmSync(target);
      if (!existsSync(target)) symlinkSync(context.toolkitRoot, target);
      context.log(`${inputs.path} → ${context.toolkitRoot} (this clone of ${context.toolkitRepo})`);
      return { aliases: { [target]: context.toolkitRoot } };
    },
  },
  "aws-actions/configure-aws-credentials": {
    github: "assumes `role-to-assume` through GitHub OIDC and exports temporary credentials and the region",
    local:
      "exports AWS_ENDPOINT_URL (the simulator), static test credentials and the region; the role is not assumed (the simulator accepts any signed request)",
    run(inputs, context): EquivalentResult {
      const region = inputs["aws-region"] || context.awsEnv.AWS_REGION || "";
      context.log(
        `role ${inputs["role-to-assume"] || "(none)"} not assumed: AWS_ENDPOINT_URL=${context.awsEnv.AWS_ENDPOINT_URL ?? "(unset)"}, region ${region}`,
      );
      const account = /^arn:aws:iam::(\d{12}):/.exec(inputs["role-to-assume"] ?? "")?.[1];
      const outputs: Record<string, string> = account ? { "aws-account-id": account } : {};
      return { env: { ...context.awsEnv, AWS_REGION: region, AWS_DEFAULT_REGION: region }, outputs };
    },
  },
  "github/codeql-action/upload-sarif": {
    github: "uploads SARIF results to code scanning",
    local: "copies the SARIF file(s) into `<output>/sarif/`",
    run(inputs, context) {
      const target = join(context.outputDir, "sarif");
      for (const file of paths(inputs.sarif_file || "results.sarif", context.workspace)) {
        if (!existsSync(file)) {
          context.log(`no SARIF at ${file}: nothing to upload`);
          continue;
        }
        copyInto(file, target);
        context.log(`SARIF ${file} → ${target}`);
      }
      return {};
    },
  },
  "actions/upload-artifact": {
    github: "stores files as a run artifact",
    local: "copies `path` into `<output>/artifacts/<name>/`",
    run(inputs, context) {
      const name = inputs.name || "artifact";
      const target = join(context.outputDir, "artifacts", name);
      let copied = 0;
      for (const file of paths(inputs.path ?? "", context.workspace)) {
        if (!existsSync(file)) continue;
        copyInto(file, target);
        copied++;
      }
      if (!copied && inputs["if-no-files-found"] === "error")
        throw new Error(`upload-artifact '${name}': no files found at '${inputs.path}'`);
      context.log(`artifact ${name}: ${copied} path(s) → ${target}`);
      return { outputs: { "artifact-id": name } };
    },
  },
  "actions/download-artifact": {
    github: "downloads a run artifact",
    local:
      "copies `<output>/artifacts/<name>/` (or every artifact matching `pattern`) into `path` (`<path>/<name>/` unless `merge-multiple`)",
    run(inputs, context) {
      const root = join(context.outputDir, "artifacts");
      const target = resolve(context.workspace, inputs.path || ".");
      const all = existsSync(root) ? readdirSync(root) : [];
      let names: string[];
      if (inputs.name) {
        if (!all.includes(inputs.name))
          throw new Error(`download-artifact: no artifact '${inputs.name}' in this run`);
        names = [inputs.name];
      } else if (inputs.pattern) {
        names = all.filter((name) => matchesGlob(name, inputs.pattern as string));
      } else names = all;
      const merge = Boolean(inputs.name) || inputs["merge-multiple"] === "true";
      for (const name of names) {
        const into = merge ? target : join(target, name);
        mkdirSync(into, { recursive: true });
        cpSync(join(root, name), into, { recursive: true });
      }
      context.log(`artifact(s) ${names.join(", ") || "(none)"} → ${target}`);
      return { outputs: { "download-path": target } };
    },
  },
  "actions/setup-node": {
    github: "installs the requested Node.js",
    local: "uses this machine's Node 24 (the `node` devDependency, first on PATH)",
    run(_inputs, context) {
      const version = execFileSync("node", ["--version"], { encoding: "utf8" }).trim();
      context.log(`node ${version} from PATH`);
      return { outputs: { "node-version": version } };
    },
  },
};

/** `owner/repo[/path]@ref` → the table's key (`owner/repo[/path]`), or undefined when there is no equivalent. */
export function equivalentFor(uses: string): { key: string; equivalent: Equivalent } | undefined {
  const key = uses.replace(/@.*$/, "");
  const equivalent = equivalents[key.toLowerCase()];
  return equivalent ? { key, equivalent } : undefined;
}
