import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { actionMetadata, node24, repositoryRoot } from "../test/support/run-action.ts";

const run = promisify(execFile);

async function listFiles(folder: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const files = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? listFiles(join(folder, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    ),
  );
  return files.flat().sort();
}

describe("committed action bundles", () => {
  it("match a fresh build of src/ byte for byte (run `npm run bundle` and commit when this fails)", async () => {
    const out = await mkdtemp(join(tmpdir(), "bundles-"));
    const { stdout } = await run(node24, [join(repositoryRoot, "scripts/bundle.mjs"), "--out", out], {
      cwd: repositoryRoot,
    });
    const dists = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("/index.js")[0] as string);
    expect(dists.length).toBeGreaterThan(0);
    for (const dist of dists) {
      const fresh = await listFiles(join(out, dist));
      expect(await listFiles(join(repositoryRoot, dist)), `${dist}: files`).toEqual(fresh);
      for (const file of fresh) {
        const committed = await readFile(join(repositoryRoot, dist, file), "utf8");
        expect(
          committed === (await readFile(join(out, dist, file), "utf8")),
          `${dist}/${file} is stale`,
        ).toBe(true);
      }
    }
  }, 180_000);

  it("are what every action.yml runs, on node24", async () => {
    const actions = await readdir(join(repositoryRoot, "actions"));
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) {
      const metadata = await actionMetadata(join(repositoryRoot, "actions", action));
      expect(metadata.runs.using, action).toBe("node24");
      expect(metadata.runs.main, action).toBe("dist/index.js");
      expect(await listFiles(join(repositoryRoot, "actions", action, "dist")), action).toContain("index.js");
      for (const [name, input] of Object.entries(metadata.inputs ?? {})) {
        expect(name, `${action} input names are kebab-case`).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(
          (input as { description?: string }).description,
          `${action}.${name} is documented`,
        ).toBeTruthy();
      }
    }
  });
});
