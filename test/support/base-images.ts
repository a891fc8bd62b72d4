import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "../../src/process/command.ts";

/**
 * Base images built locally from this machine's own files, because no public image registry is reachable here.
 * Each image is FROM scratch plus a few host binaries and the shared libraries they load, committed to buildah's
 * local storage under `localhost/...`, so a Dockerfile's `FROM` (or `ARG BASE_IMAGE`) can name it directly.
 */
export interface BaseImageSpec {
  /** Local image name, e.g. `localhost/toolkit-base/shell:1`. */
  name: string;
  /** Host executables copied to the same path in the image, with the shared libraries `ldd` lists for them. */
  executables: string[];
  /** Host files or folders copied as they are: [host path, path in the image]. */
  copies?: Array<[string, string]>;
  /** Symbolic links created in the image: [link path, target]. */
  links?: Array<[string, string]>;
  /** Unprivileged user created in /etc/passwd (uid and gid 1000), as the public node images have. */
  user?: string;
  env?: Record<string, string>;
}

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const workFolder = join(repositoryRoot, ".tmp", "base-images");

/** A shell and core utilities: enough for `RUN` steps in small test images. */
export const shellBase: BaseImageSpec = {
  name: "localhost/toolkit-base/shell:1",
  executables: ["/bin/sh", "/bin/cat", "/bin/echo", "/bin/ls", "/bin/mkdir", "/usr/bin/env", "/usr/bin/id"],
};

/**
 * Node.js 24 (the binary of the `node` devDependency) with npm, a shell and CA certificates: a stand-in for the
 * public `node:24-slim` image that the reference app's Dockerfiles use by default.
 */
export const nodeBase: BaseImageSpec = {
  name: "localhost/toolkit-base/node:24",
  executables: ["/bin/sh", "/bin/cat", "/bin/ls", "/bin/mkdir", "/bin/rm", "/usr/bin/env", "/usr/bin/id"],
  copies: [
    [join(repositoryRoot, "node_modules/node/bin/node"), "/usr/local/bin/node"],
    ["/usr/lib/node_modules/npm", "/usr/local/lib/node_modules/npm"],
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"],
  ],
  links: [
    ["/usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js"],
    ["/usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js"],
  ],
  user: "node",
  env: { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt" },
};

async function sharedLibraries(executable: string): Promise<string[]> {
  const { stdout } = await runCommand("ldd", [executable]);
  return [...stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((match) => match[1] as string);
}

function specHash(spec: BaseImageSpec): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
}

async function buildah(args: string[]): Promise<string> {
  const result = await runCommand("buildah", args);
  if (result.exitCode !== 0) throw new Error(`buildah ${args.join(" ")} failed:\n${result.tail.join("\n")}`);
  return result.stdout.trim();
}

async function existingHash(name: string): Promise<string | undefined> {
  const result = await runCommand("buildah", [
    "inspect",
    "--type",
    "image",
    "--format",
    '{{index .OCIv1.Config.Labels "toolkit.base.hash"}}',
    name,
  ]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** Builds the base image unless buildah already holds one made from the same spec. Returns its name. */
export async function ensureBaseImage(spec: BaseImageSpec): Promise<string> {
  const hash = specHash(spec);
  if ((await existingHash(spec.name)) === hash) return spec.name;

  const rootfs = join(workFolder, hash);
  await rm(rootfs, { recursive: true, force: true });
  const place = async (from: string, to: string) => {
    const target = join(rootfs, to);
    await mkdir(dirname(target), { recursive: true });
    if ((await stat(from)).isDirectory()) {
      await runCommand("cp", ["-a", from, target]);
    } else {
      await copyFile(from, target);
      await chmod(target, (await stat(from)).mode);
    }
  };
  for (const executable of spec.executables) {
    await place(executable, executable);
    for (const library of await sharedLibraries(executable)) await place(library, library);
  }
  for (const [from, to] of spec.copies ?? []) {
    await place(from, to);
    if (to.endsWith("/node"))
      for (const library of await sharedLibraries(from)) await place(library, library);
  }
  await mkdir(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
  await chmod(join(rootfs, "tmp"), 0o1777);
  await mkdir(join(rootfs, "etc"), { recursive: true });
  const passwd = ["root:x:0:0:root:/root:/bin/sh"];
  const group = ["root:x:0:"];
  if (spec.user) {
    passwd.push(`${spec.user}:x:1000:1000::/home/${spec.user}:/bin/sh`);
    group.push(`${spec.user}:x:1000:`);
    await mkdir(join(rootfs, "home", spec.user), { recursive: true });
  }
  await writeFile(join(rootfs, "etc/passwd"), `${passwd.join("\n")}\n`);
  await writeFile(join(rootfs, "etc/group"), `${group.join("\n")}\n`);
  for (const [link, target] of spec.links ?? []) {
    await mkdir(dirname(join(rootfs, link)), { recursive: true });
    await runCommand("ln", ["-sf", target, join(rootfs, link)]);
  }

  const container = await buildah(["from", "scratch"]);
  try {
    await buildah(["copy", container, rootfs, "/"]);
    if (spec.user) {
      await buildah(["copy", "--chown", "1000:1000", container, join(rootfs, "home"), "/home"]);
    }
    const config = ["config", "--label", `toolkit.base.hash=${hash}`];
    for (const [key, value] of Object.entries(spec.env ?? {})) config.push("--env", `${key}=${value}`);
    await buildah([...config, container]);
    await buildah(["commit", "--quiet", container, spec.name]);
  } finally {
    await runCommand("buildah", ["rm", container]);
  }
  await rm(rootfs, { recursive: true, force: true });
  return spec.name;
}
