#!/usr/bin/env node
// Regenerates every action bundle with ncc (see bundleTargets). `--out DIR` writes them under DIR instead, which the
// bundle freshness test uses to compare a fresh build with the committed one.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ncc from "@vercel/ncc";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const outRoot = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : root;

/**
 * Where each entry's bundle goes: `<name>.ts` → actions/<name>/dist, `<name>.post.ts` (a post step) →
 * actions/<name>/dist/post, and `ship.ts` (the one-step action) → dist. Main bundles come first, since building one
 * replaces its whole folder.
 */
async function bundleTargets() {
  const entries = (await readdir(join(root, "src/entries"))).filter((file) => file.endsWith(".ts"));
  const targets = entries.map((file) => {
    const name = file.replace(/\.ts$/, "");
    const action = name.replace(/\.post$/, "");
    const dist = action === "ship" ? "dist" : `actions/${action}/dist`;
    return {
      name,
      entry: join(root, "src/entries", file),
      dist: name.endsWith(".post") ? `${dist}/post` : dist,
    };
  });
  return targets.sort((a, b) => a.dist.length - b.dist.length || a.dist.localeCompare(b.dist));
}

for (const target of await bundleTargets()) {
  const started = Date.now();
  let bundle;
  try {
    bundle = await ncc(target.entry, {
      quiet: true,
      minify: false,
      sourceMap: false,
      license: "licenses.txt",
    });
  } catch (error) {
    // ncc's errors start with the compiler's message and go on with its own minified source: keep the message.
    const message = String(error?.message ?? error)
      .split("\n")
      .slice(0, 6)
      .join("\n")
      .slice(0, 2000);
    console.error(`bundling ${target.entry} failed:\n${message}`);
    process.exit(1);
  }
  const { code, assets } = bundle;
  const dist = join(outRoot, target.dist);
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await writeFile(join(dist, "index.js"), code);
  for (const [file, asset] of Object.entries(assets)) {
    await mkdir(dirname(join(dist, file)), { recursive: true });
    await writeFile(join(dist, file), asset.source);
  }
  const size = Buffer.byteLength(code);
  console.log(`${target.dist}/index.js  ${(size / 1024).toFixed(0)} KiB  ${Date.now() - started} ms`);
}
