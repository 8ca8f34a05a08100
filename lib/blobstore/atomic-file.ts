/**
 * Atomic file creation for the disk stores: write to a temporary file in the store's own `tmp/`
 * directory (same file system), then `rename` into place, so a crash mid-write never leaves a partial
 * entry under its final name. Readers additionally check sizes, which catches files truncated by a
 * power loss before the data reached the disk (no fsync, for speed).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Temporary files older than this are assumed abandoned by a crashed process: 1 hour. */
const STALE_TMP_MS = 60 * 60 * 1000;

/**
 * Creates `tmpDir` and removes temporary files left behind by crashed writers (older than one hour, so
 * that another process's in-flight write to a shared store is left alone).
 */
export async function prepareTmpDir(tmpDir: string): Promise<void> {
  await mkdir(tmpDir, { recursive: true });
  const now = Date.now();
  for (const name of await readdir(tmpDir)) {
    const p = join(tmpDir, name);
    try {
      if (now - (await stat(p)).mtimeMs > STALE_TMP_MS) await rm(p, { force: true, recursive: true });
    } catch {
      // raced with another cleaner or writer: fine
    }
  }
}

/** A fresh path in `tmpDir` for one write. */
export function tempPath(tmpDir: string): string {
  return join(tmpDir, randomUUID());
}

/**
 * Moves a finished temporary file to `dest`, creating `dest`'s directory. Replacing an existing file is
 * atomic (rename(2)).
 */
export async function commitTemp(tmp: string, dest: string): Promise<void> {
  try {
    await rename(tmp, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmp, dest);
  }
}

/**
 * Writes `data` to `dest` atomically with file mode `mode` (e.g. 0o444 for CAS entries).
 * @throws the underlying OS error (the temporary file is removed).
 */
export async function writeFileAtomic(tmpDir: string, dest: string, data: Uint8Array, mode: number): Promise<void> {
  const tmp = tempPath(tmpDir);
  try {
    await writeFile(tmp, data, { mode });
    await commitTemp(tmp, dest);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** {@link commitTemp} with synchronous calls (for small entries: a rename costs less than an async call). */
export function commitTempSync(tmp: string, dest: string): void {
  try {
    renameSync(tmp, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(dirname(dest), { recursive: true });
    renameSync(tmp, dest);
  }
}

/**
 * {@link writeFileAtomic} with synchronous calls, for small entries (a CAS blob of a few KiB, an
 * action-cache entry): the same temporary file and rename.
 * @throws the underlying OS error (the temporary file is removed).
 */
export function writeFileAtomicSync(tmpDir: string, dest: string, data: Uint8Array, mode: number): void {
  const tmp = tempPath(tmpDir);
  try {
    writeFileSync(tmp, data, { mode, flag: "wx" });
    commitTempSync(tmp, dest);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw err;
  }
}
