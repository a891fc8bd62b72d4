#!/usr/bin/env node
// Cuts a release of the toolkit from the current commit:
//
//   node scripts/release.mjs vX.Y.Z [--push] [--remote origin] [--notes FILE] [--skip-tests]
//
// 1. Refuses a dirty working tree, a version that is not vX.Y.Z semver, a tag that already exists (locally, or on
//    the remote with --push) and a version not newer than the latest release of its major line.
// 2. Checks that the committed bundles are fresh (scripts/bundle.mjs --out to a temporary folder, compared byte for
//    byte with every actions/<name>/dist and dist/) and that the tests pass (`npm test`).
// 3. Creates the annotated tag vX.Y.Z (immutable: never moved) and moves the floating major tag vX to the same commit
//    as a plain (lightweight) tag, so it can move on the next release; a prerelease (vX.Y.Z-rc.1) moves nothing.
// 4. Writes release notes from the commits since the previous release tag, grouped by the part of the repository
//    they change, with short SHAs, to FILE (default .tmp/release-notes-vX.Y.Z.md) and to stdout.
// 5. With --push, pushes vX.Y.Z and force-pushes vX (only vX is forced) in one atomic push.
//
// Checks are replaceable for the script's own test (scripts/release.test.ts), which runs it on a temporary
// repository that has no bundles or test suite:
//   RELEASE_BUNDLE_CHECK  shell command that replaces the bundle freshness check (exit 0 = fresh)
//   RELEASE_TEST_COMMAND  shell command that replaces `npm test`
//   --skip-tests          skips the tests altogether (only for that test; a real release runs them)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

class ReleaseError extends Error {}

const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** Where a changed path belongs in the notes, first match wins. */
const AREAS = [
  ["Actions", /^(actions\/|src\/|action\.yml$|dist\/)/],
  ["Reusable workflows", /^(\.github\/workflows\/|workflows\/)/],
  ["Simulator", /^sim\//],
  ["Reference app", /^reference-app\//],
  ["Infrastructure", /^infra\//],
  ["Documentation", /(^docs\/|\.md$)/],
  [
    "Tests and tooling",
    /^(e2e\/|test\/|scripts\/|bench\/|\.ci\/|package(-lock)?\.json$|biome\.json$|tsconfig)/,
  ],
];

function parseArguments(argv) {
  const options = { push: false, remote: "origin", notes: "", skipTests: false, version: "" };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === "--push") options.push = true;
    else if (argument === "--skip-tests") options.skipTests = true;
    else if (argument === "--remote") options.remote = argv[++index] ?? "";
    else if (argument === "--notes") options.notes = argv[++index] ?? "";
    else if (argument.startsWith("--")) throw new ReleaseError(`unknown option ${argument}`);
    else if (options.version)
      throw new ReleaseError(`one version only, got '${options.version}' and '${argument}'`);
    else options.version = argument;
  }
  if (!options.version) throw new ReleaseError("no version: node scripts/release.mjs vX.Y.Z [--push]");
  return options;
}

function git(root, args, { allowFailure = false } = {}) {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  if (result.status !== 0 && !allowFailure)
    throw new ReleaseError(`git ${args.join(" ")} failed: ${(result.stderr || result.stdout).trim()}`);
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function shell(root, command, what) {
  console.error(`release: ${what}: ${command}`);
  const result = spawnSync("sh", ["-c", command], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  return result.status === 0;
}

function compareVersions(a, b) {
  for (let index = 1; index <= 3; index++) {
    const difference = Number(a[index]) - Number(b[index]);
    if (difference !== 0) return difference;
  }
  if (a[4] === b[4]) return 0;
  if (!a[4]) return 1; // a release is newer than its prereleases
  if (!b[4]) return -1;
  return a[4] < b[4] ? -1 : 1;
}

function releaseTags(root) {
  return (git(root, ["tag", "--list", "v*"]) ?? "")
    .split("\n")
    .filter((tag) => SEMVER.test(tag))
    .map((tag) => ({ tag, version: SEMVER.exec(tag) }));
}

function listFiles(folder) {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .flatMap((entry) =>
      entry.isDirectory()
        ? listFiles(join(folder, entry.name)).map((file) => `${entry.name}/${file}`)
        : [entry.name],
    )
    .sort();
}

/** The stale bundle files: a fresh `scripts/bundle.mjs --out` build compared with the committed dist folders. */
function staleBundles(root) {
  const out = mkdtempSync(join(tmpdir(), "release-bundles-"));
  try {
    const stdout = execFileSync(process.execPath, [join(root, "scripts/bundle.mjs"), "--out", out], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const dists = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("/index.js")[0]);
    const stale = [];
    // A post bundle (actions/<name>/dist/post) is also inside its main dist folder: the Set reports it once.
    for (const dist of dists) {
      const fresh = listFiles(join(out, dist));
      const committed = listFiles(join(root, dist));
      for (const file of new Set([...fresh, ...committed])) {
        const a = join(out, dist, file);
        const b = join(root, dist, file);
        const same =
          fresh.includes(file) &&
          committed.includes(file) &&
          statSync(a).size === statSync(b).size &&
          readFileSync(a).equals(readFileSync(b));
        if (!same) stale.push(`${dist}/${file}`);
      }
    }
    if (dists.length === 0) stale.push("(scripts/bundle.mjs built nothing)");
    return [...new Set(stale)];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Release notes: the commits since the previous release, grouped by the part of the repository they change. */
function releaseNotes({ version, previous, commits, pinSha }) {
  const groups = new Map(AREAS.map(([name]) => [name, []]));
  groups.set("Other", []);
  for (const commit of commits) {
    const area = AREAS.find(([, pattern]) => commit.files.some((file) => pattern.test(file)))?.[0] ?? "Other";
    groups.get(area).push(`- ${commit.subject} (${commit.sha.slice(0, 7)})`);
  }
  const lines = [
    `# ${version}`,
    "",
    previous
      ? `${commits.length} commit${commits.length === 1 ? "" : "s"} since ${previous}.`
      : `First release: ${commits.length} commit${commits.length === 1 ? "" : "s"}.`,
  ];
  for (const [name, entries] of groups) {
    if (entries.length === 0) continue;
    lines.push("", `## ${name}`, "", ...entries);
  }
  lines.push(
    "",
    "## Pin this release",
    "",
    "```yaml",
    `uses: org/toolkit/actions/deploy-ecs@${pinSha} # ${version}`,
    `uses: org/toolkit/.github/workflows/deploy.yml@${pinSha} # ${version}`,
    "```",
    "",
  );
  return lines.join("\n");
}

function commitsSince(root, previous) {
  const range = previous ? [`${previous}..HEAD`] : ["HEAD"];
  const log = git(root, ["log", "--no-merges", "--format=%x1e%H%x1f%s", "--name-only", ...range]) ?? "";
  return log
    .split("\x1e")
    .filter((entry) => entry.trim())
    .map((entry) => {
      const [header, ...files] = entry.split("\n");
      const [sha, subject] = header.split("\x1f");
      return { sha, subject, files: files.map((file) => file.trim()).filter(Boolean) };
    });
}

function release(argv) {
  const options = parseArguments(argv);
  const { version } = options;
  const parsed = SEMVER.exec(version);
  if (!parsed) throw new ReleaseError(`version '${version}' is not semver vX.Y.Z (e.g. v1.4.0)`);
  const major = `v${parsed[1]}`;
  const prerelease = Boolean(parsed[4]);

  const root = git(process.cwd(), ["rev-parse", "--show-toplevel"]);
  const dirty = git(root, ["status", "--porcelain"]);
  if (dirty)
    throw new ReleaseError(
      `the working tree is not clean; commit or stash these first:\n${dirty.split("\n").slice(0, 10).join("\n")}`,
    );
  if (git(root, ["rev-parse", "-q", "--verify", `refs/tags/${version}`], { allowFailure: true }))
    throw new ReleaseError(
      `tag ${version} already exists: a release is never re-tagged; release the next version`,
    );
  if (options.push) {
    const remote = git(root, ["ls-remote", "--tags", options.remote, `refs/tags/${version}`]);
    if (remote)
      throw new ReleaseError(`tag ${version} already exists on ${options.remote}; release the next version`);
  }
  const sameMajor = releaseTags(root).filter((tag) => tag.version[1] === parsed[1]);
  const latest = sameMajor.sort((a, b) => compareVersions(b.version, a.version))[0];
  if (latest && compareVersions(parsed, latest.version) <= 0)
    throw new ReleaseError(`${version} is not newer than ${latest.tag}, the latest ${major} release`);

  if (process.env.RELEASE_BUNDLE_CHECK) {
    if (!shell(root, process.env.RELEASE_BUNDLE_CHECK, "bundle check (RELEASE_BUNDLE_CHECK)"))
      throw new ReleaseError(
        "the bundles are stale (RELEASE_BUNDLE_CHECK failed); run `npm run bundle` and commit",
      );
  } else {
    console.error("release: checking that the committed bundles match a fresh build");
    const stale = staleBundles(root);
    if (stale.length > 0)
      throw new ReleaseError(
        `stale bundles: ${stale.slice(0, 10).join(", ")}; run \`npm run bundle\` and commit`,
      );
  }
  if (options.skipTests) console.error("release: tests skipped (--skip-tests)");
  else {
    const command = process.env.RELEASE_TEST_COMMAND || "npm test";
    if (!shell(root, command, "tests"))
      throw new ReleaseError(`the tests failed (${command}); fix them first`);
  }

  const head = git(root, ["rev-parse", "HEAD"]);
  const previous = git(
    root,
    ["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*.[0-9]*.[0-9]*", "--exclude", "*-*", "HEAD"],
    { allowFailure: true },
  );
  const notes = releaseNotes({ version, previous, commits: commitsSince(root, previous), pinSha: head });
  const notesFile = resolve(root, options.notes || join(".tmp", `release-notes-${version}.md`));
  mkdirSync(dirname(notesFile), { recursive: true });
  writeFileSync(notesFile, notes);

  git(root, ["tag", "--annotate", version, "--file", notesFile, "--cleanup=verbatim", head]);
  if (!prerelease) git(root, ["tag", "--force", major, head]);
  if (options.push) {
    const refs = [`refs/tags/${version}`, ...(prerelease ? [] : [`+refs/tags/${major}:refs/tags/${major}`])];
    git(root, ["push", "--atomic", options.remote, ...refs]);
  }

  process.stdout.write(notes);
  const moved = prerelease
    ? "no floating tag moved (prerelease)"
    : `${major} → ${head.slice(0, 7)} (plain tag)`;
  console.error(
    `release: ${version} (annotated) at ${head.slice(0, 7)}; ${moved}; notes in ${relative(root, notesFile) || notesFile}` +
      (options.push ? `; pushed to ${options.remote}` : "; not pushed (--push)"),
  );
}

try {
  release(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ReleaseError)) throw error;
  console.error(`release: ${error.message}`);
  process.exit(1);
}
