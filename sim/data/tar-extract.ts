import { spawn } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  symlink,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { createGunzip } from "node:zlib";

/**
 * A streaming extractor for OCI/Docker image layers (ustar, pax and GNU long names), written for this simulator
 * instead of shelling out to GNU tar because a layer needs more than `tar -x`: whiteouts (`.wh.<name>` deletes a
 * lower layer's file, `.wh..wh..opq` empties a directory of lower layers' content), a file replacing a directory,
 * and every path resolved inside the root folder (symbolic links followed as a chroot would, never out of it).
 * Ownership, modes (with setuid bits), symbolic links, hard links and modification times are preserved; device
 * nodes and FIFOs are created with mknod/mkfifo; extended attributes are not applied.
 */

export type LayerCompression = "gzip" | "zstd" | "none";

export interface ExtractResult {
  /** sha256 of the uncompressed tar stream: the layer's diff_id. */
  diffId: string;
  entries: number;
  whiteouts: number;
}

const BLOCK = 512;

/** Pulls exact byte counts out of an async stream of chunks, hashing everything it reads. */
class ByteReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  readonly hash: Hash = createHash("sha256");

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    return true;
  }

  /** Exactly `count` bytes, or undefined at the end of the stream. */
  async read(count: number): Promise<Buffer | undefined> {
    while (this.pendingBytes < count) if (!(await this.fill())) return undefined;
    const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = all.length > count ? [all.subarray(count)] : [];
    this.pendingBytes = all.length - count;
    return all.subarray(0, count);
  }

  /** Hands `count` bytes to `sink` chunk by chunk. */
  async stream(count: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    let left = count;
    while (left > 0) {
      if (this.pendingBytes === 0 && !(await this.fill())) throw new Error("layer tar ended inside a file");
      const chunk = this.pending.shift() as Buffer;
      this.pendingBytes -= chunk.length;
      if (chunk.length > left) {
        this.pending.unshift(chunk.subarray(left));
        this.pendingBytes += chunk.length - left;
        await sink(chunk.subarray(0, left));
        left = 0;
      } else {
        await sink(chunk);
        left -= chunk.length;
      }
    }
  }

  async skip(count: number): Promise<void> {
    await this.stream(count, async () => undefined);
  }

  /** Reads to the end so the hash covers the whole stream. */
  async drain(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    while (await this.fill()) {
      this.pending = [];
      this.pendingBytes = 0;
    }
  }
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if ((field[0] as number) & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit set.
    let value = (field[0] as number) & 0x7f;
    for (let index = 1; index < field.length; index++) value = value * 256 + (field[index] as number);
    return value;
  }
  const text = cString(block, start, length).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function parsePax(data: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(offset, space).toString("utf8"), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, offset + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals > 0) result[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return result;
}

/** Splits an archive path into safe components: no leading slash, no `.` and no `..`. */
export function safeComponents(path: string): string[] {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts;
}

/**
 * Resolves `components` under `root` the way a process chrooted into `root` would, following symbolic links of
 * parent folders (and of the last component if `followLast`), so that nothing lands outside `root`.
 */
export async function resolveInRoot(root: string, components: string[], followLast = false): Promise<string> {
  const resolved: string[] = [];
  const queue = [...components];
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    if (part === "." || part === "") continue;
    const candidate = join(root, ...resolved, part);
    const isLast = queue.length === 0;
    if (!isLast || followLast) {
      const info = await lstat(candidate).catch(() => undefined);
      if (info?.isSymbolicLink()) {
        if (++links > 40) throw new Error(`too many symbolic links resolving ${components.join("/")}`);
        const target = await readlink(candidate);
        if (target.startsWith("/")) resolved.length = 0;
        queue.unshift(...target.split("/"));
        continue;
      }
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${program} ${args.join(" ")} exited ${code}`)),
    );
  });
}

async function removeExisting(path: string, keepDirectory: boolean): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (info.isDirectory() && keepDirectory) return;
  await rm(path, { recursive: true, force: true });
}

function decompressor(compression: LayerCompression): NodeJS.ReadWriteStream | undefined {
  if (compression === "gzip") return createGunzip();
  if (compression === "zstd") {
    const create = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream })
      .createZstdDecompress;
    if (!create) throw new Error("zstd layers need a Node.js with zlib.createZstdDecompress");
    return create();
  }
  return undefined;
}

/** Applies one layer (a tar file, possibly compressed) on top of `root`. */
export async function extractLayer(
  file: string,
  root: string,
  compression: LayerCompression,
): Promise<ExtractResult> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const transform = decompressor(compression);
  const source: Readable = transform ? (raw.pipe(transform) as unknown as Readable) : raw;
  raw.on("error", (error) => source.destroy(error));
  const reader = new ByteReader(source as AsyncIterable<Buffer>);
  const created = new Set<string>();
  const directories: Array<{ path: string; mode: number; uid: number; gid: number; mtime: number }> = [];
  let globalPax: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let entries = 0;
  let whiteouts = 0;

  for (;;) {
    const header = await reader.read(BLOCK);
    if (!header || header.every((byte) => byte === 0)) break;
    const type = String.fromCharCode(header[156] as number);
    const size = numeric(header, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      const data = (await reader.read(padded))?.subarray(0, size) ?? Buffer.alloc(0);
      if (type === "x") pax = { ...pax, ...parsePax(data) };
      else if (type === "g") globalPax = { ...globalPax, ...parsePax(data) };
      else if (type === "L") longName = cString(data, 0, data.length);
      else longLink = cString(data, 0, data.length);
      continue;
    }
    const attributes = { ...globalPax, ...pax };
    pax = {};
    const magic = header.subarray(257, 263).toString("latin1");
    const prefix = magic === "ustar\0" ? cString(header, 345, 155) : "";
    const shortName = cString(header, 0, 100);
    const name = longName ?? attributes.path ?? (prefix ? `${prefix}/${shortName}` : shortName);
    const linkName = longLink ?? attributes.linkpath ?? cString(header, 157, 100);
    longName = undefined;
    longLink = undefined;
    const mode = numeric(header, 100, 8) & 0o7777;
    const uid = attributes.uid !== undefined ? Number(attributes.uid) : numeric(header, 108, 8);
    const gid = attributes.gid !== undefined ? Number(attributes.gid) : numeric(header, 116, 8);
    const mtime = attributes.mtime !== undefined ? Number(attributes.mtime) : numeric(header, 136, 12);
    const dataSize = attributes.size !== undefined ? Number(attributes.size) : size;
    const dataPadded = Math.ceil(dataSize / BLOCK) * BLOCK;
    entries++;

    const components = safeComponents(name);
    const base = components[components.length - 1];
    if (!base) {
      await reader.skip(dataPadded);
      continue;
    }
    const parentPath = await resolveInRoot(root, components.slice(0, -1), true);

    if (base.startsWith(".wh.")) {
      whiteouts++;
      if (base === ".wh..wh..opq") {
        for (const child of await readdir(parentPath).catch(() => [] as string[])) {
          const childPath = join(parentPath, child);
          if (!created.has(childPath)) await rm(childPath, { recursive: true, force: true });
        }
      } else {
        await rm(join(parentPath, base.slice(4)), { recursive: true, force: true });
      }
      await reader.skip(dataPadded);
      continue;
    }

    await mkdir(parentPath, { recursive: true });
    const target = join(parentPath, base);
    for (let path = target; path.length > root.length && !created.has(path); path = dirname(path))
      created.add(path);
    switch (type) {
      case "0":
      case "\0":
      case "7": {
        await removeExisting(target, false);
        const handle = await open(target, "wx", 0o600);
        try {
          await reader.stream(dataSize, async (chunk) => {
            let written = 0;
            while (written < chunk.length) written += (await handle.write(chunk, written)).bytesWritten;
          });
          await handle.chown(uid, gid);
          await handle.chmod(mode);
          await handle.utimes(mtime, mtime);
        } finally {
          await handle.close();
        }
        await reader.skip(dataPadded - dataSize);
        break;
      }
      case "5": {
        await removeExisting(target, true);
        await mkdir(target, { recursive: true });
        directories.push({ path: target, mode, uid, gid, mtime });
        await reader.skip(dataPadded);
        break;
      }
      case "2": {
        await removeExisting(target, false);
        await symlink(linkName, target);
        await lchown(target, uid, gid);
        await lutimes(target, mtime, mtime);
        await reader.skip(dataPadded);
        break;
      }
      case "1": {
        await removeExisting(target, false);
        await link(await resolveInRoot(root, safeComponents(linkName)), target);
        await reader.skip(dataPadded);
        break;
      }
      case "3":
      case "4":
      case "6": {
        await removeExisting(target, false);
        if (type === "6") await run("mkfifo", ["-m", mode.toString(8), target]);
        else
          await run("mknod", [
            "-m",
            mode.toString(8),
            target,
            type === "3" ? "c" : "b",
            String(numeric(header, 329, 8)),
            String(numeric(header, 337, 8)),
          ]);
        await lchown(target, uid, gid);
        await reader.skip(dataPadded);
        break;
      }
      default:
        // Sparse files, volume headers and vendor types are not used by image builders; skip their data.
        await reader.skip(dataPadded);
    }
  }
  await reader.drain();
  for (const directory of directories.reverse()) {
    await lchown(directory.path, directory.uid, directory.gid);
    await chmod(directory.path, directory.mode);
    await lutimes(directory.path, directory.mtime, directory.mtime);
  }
  return { diffId: `sha256:${reader.hash.digest("hex")}`, entries, whiteouts };
}
