/**
 * Hashes compiler binaries and walks their symlink chains, to build `CompilerInfo.hash`,
 * `subprograms` and `toolchain` (Goma's EXECUTABLE_BINARY resources). Compiler binaries are large
 * (cc1plus is ~35 MB), so content is streamed, and hashes are remembered per (path, size, mtime, inode).
 *
 * Spec: Goma `client/compiler_info_builder.cc` (local/real compiler hash, ResourceInfo);
 * reference/goma-protocol.md §5 ("Resources").
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { ToolchainFile } from "./types.ts";

/** Links followed before a chain is called a loop (Linux gives ELOOP after 40). */
const MAX_LINKS = 40;

const hashMemo = new Map<string, Promise<string>>();

/**
 * The lowercase hex SHA-256 and size of a file's content, following symlinks. Streams the content;
 * remembers the hash while the file's size, mtime and inode stay the same.
 *
 * @param file path of a regular file (or a symlink to one).
 * @returns `{ hash, size }` with `size` in bytes.
 * @throws the fs error (ENOENT, EACCES…) when the file cannot be read.
 */
export async function sha256File(file: string): Promise<{ hash: string; size: number }> {
  const st = await fsp.stat(file);
  const memoKey = `${path.resolve(file)}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  let p = hashMemo.get(memoKey);
  if (!p) {
    p = new Promise<string>((resolve, reject) => {
      const h = createHash("sha256");
      createReadStream(file)
        .on("data", (chunk) => h.update(chunk))
        .on("end", () => resolve(h.digest("hex")))
        .on("error", reject);
    });
    hashMemo.set(memoKey, p);
    p.catch(() => hashMemo.delete(memoKey));
  }
  return { hash: await p, size: st.size };
}

/**
 * The toolchain entries needed to run `file`: one symlink entry per link in its chain (starting with
 * `file` itself if it is a link), then the real file (`realpath(file)`) with its hash.
 *
 * @param file an absolute path.
 * @returns entries in chain order; the last is the real file.
 * @throws the fs error when a link or the real file cannot be read; Error on a symlink loop.
 * @example
 * await toolchainChain("/usr/bin/gcc")
 * // [{ path: "/usr/bin/gcc", symlinkTarget: "gcc-12", … }, { path: "/usr/bin/gcc-12", … },
 * //  { path: "/usr/bin/x86_64-linux-gnu-gcc-12", hash: "…", size: 1301496, isExecutable: true }]
 */
export async function toolchainChain(file: string): Promise<ToolchainFile[]> {
  const out: ToolchainFile[] = [];
  let cur = file;
  for (let n = 0; ; n++) {
    const st = await fsp.lstat(cur);
    if (!st.isSymbolicLink()) break;
    if (n >= MAX_LINKS) throw new Error(`too many levels of symbolic links at ${file}`);
    const target = await fsp.readlink(cur);
    out.push({ path: cur, hash: "", size: 0, isExecutable: false, symlinkTarget: target });
    cur = path.resolve(path.dirname(cur), target);
  }
  const real = await fsp.realpath(file);
  out.push(await regularFile(real));
  return out;
}

/** The toolchain entry of a regular file. */
async function regularFile(real: string): Promise<ToolchainFile> {
  const st = await fsp.stat(real);
  const { hash, size } = await sha256File(real);
  return { path: real, hash, size, isExecutable: (st.mode & 0o111) !== 0 };
}

/**
 * Appends `entries` to `list`, skipping paths already present (first occurrence wins).
 * @example appendUnique([a], [a, b]) // [a, b]
 * @internal
 */
export function appendUnique(list: ToolchainFile[], entries: readonly ToolchainFile[]): ToolchainFile[] {
  const seen = new Set(list.map((e) => e.path));
  for (const e of entries) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    list.push(e);
  }
  return list;
}
