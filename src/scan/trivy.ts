import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolkitError } from "../errors.ts";
import { findExecutable, type ToolEnvironment, toolPath } from "./tools.ts";
import { type ParsedTrivyReport, parseTrivyReport } from "./trivy-report.ts";

export const trivyOnPath = async (tools: ToolEnvironment) =>
  Boolean(await findExecutable("trivy", toolPath(tools)));

/** `trivy image --format json` of the image, run when the runner has trivy; a non-zero exit is a scanner error. */
export async function runTrivy(image: string, tools: ToolEnvironment): Promise<ParsedTrivyReport> {
  const trivy = await findExecutable("trivy", toolPath(tools));
  if (!trivy) {
    throw new ToolkitError(
      "trivy is not on PATH; install it before this step (pinned by version, not through a floating action tag), pass a trivy-report file, or set trivy: false",
    );
  }
  const folder = await mkdtemp(join(tmpdir(), "trivy-"));
  const output = join(folder, "trivy.json");
  try {
    const args = ["image", "--format", "json", "--output", output, "--quiet", image];
    tools.reporter.info(`trivy ${args.join(" ")}`);
    const result = await tools.run(trivy, args, {
      env: { ...tools.env, PATH: toolPath(tools) },
      signal: tools.signal,
      tailLines: 15,
    });
    if (result.exitCode !== 0) {
      throw new ToolkitError(
        `trivy failed with exit code ${result.exitCode}; this is a scanner error, not a clean scan. Last lines:\n${result.tail.join("\n")}`,
      );
    }
    const text = await readFile(output, "utf8").catch(() => {
      throw new ToolkitError(
        `trivy exited with code 0 but wrote no report to ${output}; this is a scanner error`,
      );
    });
    return parseTrivyReport(text, "trivy's report");
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
