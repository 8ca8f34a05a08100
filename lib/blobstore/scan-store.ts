/**
 * Lists the entry files of a disk store laid out as `<dir>/<xx>/<name>` (disk-cas.ts,
 * disk-action-cache.ts), for a size limit's initial accounting (size-limited-store.ts).
 */
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { StoredEntry } from "./cas.ts";

/**
 * Every entry file of a disk store (`<dir>/<xx>/<name>`; tmp/ and other directories skipped), keyed by
 * its path. A missing `dir` has no entries.
 */
export async function scanStore(dir: string): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  const subs = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  for (const sub of subs) {
    if (!sub.isDirectory() || sub.name.length !== 2) continue;
    const names = await readdir(join(dir, sub.name)).catch(() => [] as string[]);
    for (const name of names) {
      const key = join(dir, sub.name, name);
      const st = await stat(key).catch(() => undefined);
      if (st?.isFile()) out.push({ key, sizeBytes: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}
