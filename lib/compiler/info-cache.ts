/**
 * The CompilerInfo cache: in memory, and on disk as one JSON file per key under
 * `<cacheDir>/compiler_info/<sha256 of key>.json`, so a restarted proxy does not re-probe every
 * compiler. An entry is reused only while the files it was built from (the real compiler and its
 * subprograms) keep their size and mtime; a corrupt file is ignored and rewritten.
 *
 * Concurrency: files are written to a temp name and renamed, so readers never see half a file, and
 * several proxies may share a cache dir.
 *
 * Spec: Goma `client/compiler_info_cache.cc` (`CompilerInfoCache::Key`, validity by FileStat);
 * reference/goma-protocol.md §4.3 (`GOMA_CACHE_DIR`), §5.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { CompilerInfo } from "./types.ts";

/** Bumped when the stored shape changes: older files are then ignored and rewritten. */
const FORMAT_VERSION = 2; // 2: the toolchain lists the shared libraries of the compiler and its subprograms

/** Size and mtime of one file an entry depends on (Goma FileStat). */
export interface FileStamp {
  /** Absolute path. */
  path: string;
  /** Bytes. */
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
}

/** One stored entry: the key text (to rule out hash collisions), the stamps and the info. */
interface StoredEntry {
  format: number;
  key: string;
  stamps: FileStamp[];
  info: CompilerInfo;
}

const memory = new Map<string, StoredEntry>();

/**
 * The cache file of `key`: `<cacheDir>/compiler_info/<sha256 hex of key>.json`.
 * @example cacheFileOf("/tmp/goma_cache", "k") // "/tmp/goma_cache/compiler_info/<64 hex>.json"
 */
export function cacheFileOf(cacheDir: string, key: string): string {
  return path.join(cacheDir, "compiler_info", `${createHash("sha256").update(key).digest("hex")}.json`);
}

/** The current stamp of `file`, or undefined if it cannot be stat'ed. @internal */
export async function stampOf(file: string): Promise<FileStamp | undefined> {
  // A synchronous stat: this runs for every compile (the compiler and its subprograms), and an awaited
  // stat costs a trip through the thread pool and the event loop, ten times the stat itself.
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? { path: file, size: st.size, mtimeMs: st.mtimeMs } : undefined;
}

async function stillValid(stamps: readonly FileStamp[]): Promise<boolean> {
  const now = await Promise.all(stamps.map((s) => stampOf(s.path)));
  return now.every((n, i) => n !== undefined && n.size === stamps[i]!.size && n.mtimeMs === stamps[i]!.mtimeMs);
}

function isStoredEntry(v: unknown, key: string): v is StoredEntry {
  if (!v || typeof v !== "object") return false;
  const e = v as Partial<StoredEntry>;
  const info = e.info as Partial<CompilerInfo> | undefined;
  return e.format === FORMAT_VERSION && e.key === key && Array.isArray(e.stamps) &&
    e.stamps.every((s) => s && typeof s.path === "string" && typeof s.size === "number" && typeof s.mtimeMs === "number") &&
    !!info && typeof info.localPath === "string" && typeof info.version === "string" &&
    typeof info.hash === "string" && Array.isArray(info.systemIncludePaths) &&
    Array.isArray(info.subprograms) && Array.isArray(info.toolchain) && typeof info.predefinedMacros === "string";
}

/**
 * The cached CompilerInfo of `key`, from memory or else from disk, if its stamps still match.
 *
 * @returns the cached info itself (not a copy: the caller, getCompilerInfo, hands out copies), or
 *   undefined on a miss (no entry, stale, unreadable or corrupt).
 * @internal used by compiler-info.ts.
 */
export async function lookupInfo(cacheDir: string, key: string): Promise<CompilerInfo | undefined> {
  const file = cacheFileOf(cacheDir, key);
  let entry = memory.get(file);
  if (!entry) {
    try {
      const parsed: unknown = JSON.parse(await fsp.readFile(file, "utf8"));
      if (isStoredEntry(parsed, key)) entry = parsed;
    } catch {
      // missing or corrupt: a miss; the next store rewrites the file
    }
  }
  if (!entry || !(await stillValid(entry.stamps))) {
    memory.delete(file);
    return undefined;
  }
  memory.set(file, entry);
  return entry.info;
}

/**
 * Stores `info` under `key` in memory and on disk (temp file + rename). A failure to write the disk
 * file is not an error: the info is still cached in memory.
 *
 * @param stamps the files the info was built from, checked by {@link lookupInfo}.
 * @internal used by compiler-info.ts.
 */
export async function storeInfo(cacheDir: string, key: string, stamps: FileStamp[], info: CompilerInfo): Promise<void> {
  const file = cacheFileOf(cacheDir, key);
  const entry: StoredEntry = { format: FORMAT_VERSION, key, stamps, info: structuredClone(info) };
  memory.set(file, entry);
  const tmp = `${file}.tmp.${process.pid}.${randomBytes(6).toString("hex")}`;
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(tmp, `${JSON.stringify(entry, null, 1)}\n`);
    await fsp.rename(tmp, file);
  } catch {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** The CompilerInfos this process holds in memory (copies), for the dashboard's /compilerinfoz. */
export function cachedCompilerInfos(): CompilerInfo[] {
  return [...memory.values()].map((e) => structuredClone(e.info));
}

/**
 * Forgets every in-memory entry, as a restarted proxy would; the disk files stay.
 * @internal for tests that prove a disk hit.
 */
export function clearMemoryCache(): void {
  memory.clear();
}
