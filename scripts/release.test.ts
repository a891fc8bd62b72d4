import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { node24, repositoryRoot } from "../test/support/run-action.ts";

// scripts/release.mjs run against a temporary git repository. That repository has no bundles and no test suite, so
// the bundle freshness check is replaced through RELEASE_BUNDLE_CHECK (a shell command: `true` = fresh, `false` =
// stale) and the tests through RELEASE_TEST_COMMAND or --skip-tests, as the script documents.

const releaseScript = join(repositoryRoot, "scripts/release.mjs");

let repo: string;
let remote: string;
let notesDir: string;

function git(args: string[], cwd = repo): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function commit(file: string, subject: string): string {
  mkdirSync(dirname(join(repo, file)), { recursive: true });
  writeFileSync(join(repo, file), `${subject}\n`, { flag: "a" });
  git(["add", file]);
  git(["commit", "-q", "-m", subject]);
  return git(["rev-parse", "HEAD"]);
}

function release(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(node24, [releaseScript, ...args], {
    cwd: repo,
    encoding: "utf8",
    env: { ...process.env, RELEASE_BUNDLE_CHECK: "true", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const tagType = (tag: string, cwd = repo) => git(["cat-file", "-t", `refs/tags/${tag}`], cwd);
const tagCommit = (tag: string, cwd = repo) => git(["rev-parse", `refs/tags/${tag}^{commit}`], cwd);
const tags = (cwd = repo) => git(["tag", "--list"], cwd).split("\n").filter(Boolean).sort();

beforeEach(() => {
  const base = mkdtempSync(join(tmpdir(), "release-test-"));
  repo = join(base, "repo");
  remote = join(base, "remote.git");
  notesDir = join(base, "notes");
  mkdirSync(repo);
  git(["init", "-q", "--bare", remote], base);
  git(["init", "-q", "-b", "main"]);
  git(["config", "user.name", "Release Test"]);
  git(["config", "user.email", "release@example.invalid"]);
  git(["config", "commit.gpgsign", "false"]);
  git(["config", "tag.gpgsign", "false"]);
  git(["remote", "add", "origin", remote]);
  commit("src/deploy/watch.ts", "deploy-ecs watches alarms itself");
  commit("README.md", "README: how to pin");
});

describe("release", () => {
  it("creates the annotated vX.Y.Z, the plain floating vX, and notes grouped with short SHAs", () => {
    const head = git(["rev-parse", "HEAD"]);
    const notesFile = join(notesDir, "v1.0.0.md");
    const run = release(["v1.0.0", "--skip-tests", "--notes", notesFile]);
    expect(run.stderr).toContain("v1.0.0 (annotated)");
    expect(run.status).toBe(0);
    expect(tags()).toEqual(["v1", "v1.0.0"]);
    expect(tagType("v1.0.0")).toBe("tag");
    expect(tagType("v1")).toBe("commit");
    expect(tagCommit("v1.0.0")).toBe(head);
    expect(tagCommit("v1")).toBe(head);
    const notes = readFileSync(notesFile, "utf8");
    expect(run.stdout).toBe(notes);
    expect(notes).toContain("# v1.0.0\n\nFirst release: 2 commits.");
    expect(notes).toContain(
      `## Actions\n\n- deploy-ecs watches alarms itself (${git(["rev-parse", "--short=7", "HEAD~1"])})`,
    );
    expect(notes).toContain(`## Documentation\n\n- README: how to pin (${head.slice(0, 7)})`);
    expect(notes).toContain(`uses: org/toolkit/actions/deploy-ecs@${head} # v1.0.0`);
    expect(git(["tag", "-l", "--format=%(contents)", "v1.0.0"])).toContain("- README: how to pin");
  });

  it("moves vX to the next release and keeps the previous vX.Y.Z where it was; notes cover only the new commits", () => {
    expect(release(["v1.0.0", "--skip-tests", "--notes", join(notesDir, "a.md")]).status).toBe(0);
    const first = git(["rev-parse", "HEAD"]);
    const fix = commit("sim/codedeploy.ts", "sim: rollback keeps the blue task set");
    const workflow = commit(".github/workflows/deploy.yml", "deploy workflow: smoke tests with retries");
    const run = release(["v1.1.0", "--skip-tests", "--notes", join(notesDir, "b.md")]);
    expect(run.status).toBe(0);
    expect(tagCommit("v1")).toBe(workflow);
    expect(tagType("v1")).toBe("commit");
    expect(tagCommit("v1.0.0")).toBe(first);
    expect(tagCommit("v1.1.0")).toBe(workflow);
    expect(run.stdout).toContain("2 commits since v1.0.0.");
    expect(run.stdout).toContain(
      `## Simulator\n\n- sim: rollback keeps the blue task set (${fix.slice(0, 7)})`,
    );
    expect(run.stdout).toContain(
      `## Reusable workflows\n\n- deploy workflow: smoke tests with retries (${workflow.slice(0, 7)})`,
    );
    expect(run.stdout).not.toContain("deploy-ecs watches alarms itself");
  });

  it("a prerelease gets its annotated tag and moves no floating tag", () => {
    const run = release(["v2.0.0-rc.1", "--skip-tests", "--notes", join(notesDir, "rc.md")]);
    expect(run.status).toBe(0);
    expect(tags()).toEqual(["v2.0.0-rc.1"]);
  });

  it("--push pushes vX.Y.Z and force-pushes the moved vX", () => {
    expect(release(["v1.0.0", "--skip-tests", "--push", "--notes", join(notesDir, "a.md")]).status).toBe(0);
    expect(tags(remote)).toEqual(["v1", "v1.0.0"]);
    const next = commit("src/tags/rules.ts", "check-tags: TAG019");
    const run = release(["v1.0.1", "--skip-tests", "--push", "--notes", join(notesDir, "b.md")]);
    expect(run.status).toBe(0);
    expect(tags(remote)).toEqual(["v1", "v1.0.0", "v1.0.1"]);
    expect(tagCommit("v1", remote)).toBe(next);
    expect(tagType("v1.0.1", remote)).toBe("tag");
    expect(tagType("v1", remote)).toBe("commit");
  });

  it("runs the tests unless told not to, and refuses when they fail, creating no tag", () => {
    const passing = release(["v1.0.0", "--notes", join(notesDir, "a.md")], { RELEASE_TEST_COMMAND: "true" });
    expect(passing.stderr).toContain("release: tests: true");
    expect(passing.status).toBe(0);
    commit("src/x.ts", "x");
    const failing = release(["v1.0.1", "--notes", join(notesDir, "b.md")], {
      RELEASE_TEST_COMMAND: "exit 3",
    });
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain("release: the tests failed (exit 3); fix them first");
    expect(tags()).toEqual(["v1", "v1.0.0"]);
  });

  it.each([
    [["1.2.3"], "version '1.2.3' is not semver vX.Y.Z"],
    [["v1.2"], "version 'v1.2' is not semver vX.Y.Z"],
    [["v01.2.3"], "version 'v01.2.3' is not semver vX.Y.Z"],
    [["v1.2.3", "v1.2.4"], "one version only"],
    [["--force", "v1.2.3"], "unknown option --force"],
    [[], "no version"],
  ])("refuses %j", (args, message) => {
    const run = release([...args, "--skip-tests"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(tags()).toEqual([]);
  });

  it("refuses a dirty working tree", () => {
    writeFileSync(join(repo, "README.md"), "edited\n");
    const run = release(["v1.0.0", "--skip-tests"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("the working tree is not clean");
    expect(run.stderr).toContain("M README.md");
    expect(tags()).toEqual([]);
  });

  it("refuses an existing tag, locally or on the remote, and a version older than the latest of its line", () => {
    expect(release(["v1.1.0", "--skip-tests", "--notes", join(notesDir, "a.md")]).status).toBe(0);
    commit("src/y.ts", "y");
    const existing = release(["v1.1.0", "--skip-tests"]);
    expect(existing.status).toBe(1);
    expect(existing.stderr).toContain("tag v1.1.0 already exists");
    const older = release(["v1.0.5", "--skip-tests"]);
    expect(older.status).toBe(1);
    expect(older.stderr).toContain("v1.0.5 is not newer than v1.1.0, the latest v1 release");
    git(["push", "-q", "origin", "v1.1.0"]);
    git(["tag", "-d", "v1.1.0"]);
    const remoteOnly = release(["v1.1.0", "--skip-tests", "--push"]);
    expect(remoteOnly.status).toBe(1);
    expect(remoteOnly.stderr).toContain("tag v1.1.0 already exists on origin");
  });

  it("refuses stale bundles before tagging", () => {
    const run = release(["v1.0.0", "--skip-tests"], { RELEASE_BUNDLE_CHECK: "false" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "the bundles are stale (RELEASE_BUNDLE_CHECK failed); run `npm run bundle` and commit",
    );
    expect(tags()).toEqual([]);
  });
});
