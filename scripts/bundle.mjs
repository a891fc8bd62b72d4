#!/usr/bin/env node
// Regenerates every action bundle with ncc: src/entries/<name>.ts → actions/<name>/dist/index.js, and the one-step
// action's entry (src/entries/ship.ts, when present) → dist/index.js. `--out DIR` writes them under DIR instead, which
// the bundle freshness test uses to compare a fresh build with the committed one.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ncc from "@vercel/ncc";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const outRoot = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : root;

/** Where each entry's bundle goes, relative to the repository root. */
export async function bundleTargets() {
  const entries = (await readdir(join(root, "src/entries"))).filter((file) => file.endsWith(".ts"));
  return entries.map((file) => {
    const name = file.replace(/\.ts$/, "");
    return {
      name,
      entry: join(root, "src/entries", file),
      dist: name === "ship" ? "dist" : `actions/${name}/dist`,
    };
  });
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
