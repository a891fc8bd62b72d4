// Installs what the README's two commands need on a fresh machine: Debian packages (when running as root; otherwise
// a message naming them) and each npm package of the repository. Plain JavaScript for any Node: it runs before
// node_modules (and the Node 24 of the `node` devDependency) exist.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "..");

/** Debian packages by the command (or file) that shows they are installed. */
const systemPackages = {
  buildah: { check: "buildah", purpose: "builds the images" },
  "docker-registry": { check: "docker-registry", purpose: "the local OCI registry images are pushed to" },
  postgresql: { check: "/usr/lib/postgresql", purpose: "the reference app's database" },
  chromium: { check: "chromium", purpose: "the dashboard's browser tests" },
  curl: { check: "curl", purpose: "the workflows' smoke-test steps, in the local pipeline" },
};

const onPath = (command) =>
  command.startsWith("/")
    ? existsSync(command)
    : spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

export function ensureSystemPackages(names = Object.keys(systemPackages)) {
  const missing = names.filter((name) => !onPath(systemPackages[name].check));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    const lines = missing.map((name) => `  ${name}: ${systemPackages[name].purpose}`).join("\n");
    console.error(
      `Missing Debian packages:\n${lines}\nInstall them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    process.exit(1);
  }
  console.log(`Installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
}

/** Every folder of the repository with its own package-lock.json, the root first. */
export function npmPackageFolders() {
  const candidates = [".", "reference-app/api", "reference-app/web", "infra"];
  return candidates
    .map((folder) => join(root, folder))
    .filter((folder) => existsSync(join(folder, "package-lock.json")));
}

export function ensureNpmPackages() {
  for (const folder of npmPackageFolders()) {
    const installed = join(folder, "node_modules/.package-lock.json");
    const lock = join(folder, "package-lock.json");
    if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) continue;
    console.log(`npm ci in ${folder === root ? "." : folder.slice(root.length + 1)}`);
    run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: folder });
  }
}

/** The environment in which the repository's tools run: Node 24 and the local binaries first on PATH. */
export function toolEnvironment() {
  return { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.status !== 0) {
    console.error(`${command} ${args.join(" ")} failed (exit code ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}
