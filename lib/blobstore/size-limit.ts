/**
 * A size limit with LRU eviction over a {@link DiskCas} and a {@link DiskActionCache} that share one
 * budget, so the embedded backend's disk never fills in normal use (issue 10 §3). Every entry (a CAS
 * blob or an AC entry, one file each) is kept in one least-recently-used order: writing or reading it
 * for use makes it the newest. When a write takes the total over `maxBytes`, the oldest entries are
 * removed until the total is at most {@link LOW_WATER_RATIO} × `maxBytes`, and the write completes only
 * after that, so a burst of writes cannot outrun eviction.
 *
 * Why hooks rather than a decorator over the `Cas` interface (reference/style.md §5.3): the backend uses
 * DiskCas-only operations (streaming writers, ranged reads, materialize, putFile), so a decorator would
 * have to re-implement all of them; the stores call `onStored`/`onUsed` instead, and this class owns the
 * policy.
 *
 * Never corrupt: eviction only unlinks whole entries, which were written atomically; an AC entry whose
 * blobs were evicted is a miss (its blobs no longer verify), never a half result. Blobs pinned by an
 * in-flight action ({@link CacheSizeLimit.pin}) are skipped. Sizes are counted in whole 4 KiB blocks, as
 * the file system allocates them. Concurrency: safe for concurrent writers within one process; another
 * process writing the same directories is not accounted until the next start.
 */
import type { Dirent } from "node:fs";
import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../digest/digest.ts";
import { log } from "../util/log.ts";
import type { DiskActionCache } from "./disk-action-cache.ts";
import type { DiskCas } from "./disk-cas.ts";

/** Eviction brings the total down to this fraction of the limit, so that it does not run on every write. */
export const LOW_WATER_RATIO = 0.9;
/** The default limit of `goma server`'s embedded CAS and AC together: 10 GiB. */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024 * 1024;
const BLOCK_BYTES = 4096;

/** Bytes a file of `sizeBytes` occupies: whole 4 KiB blocks. */
const onDisk = (sizeBytes: number) => Math.ceil(sizeBytes / BLOCK_BYTES) * BLOCK_BYTES;

/** Counters for the status page and tests. */
export interface CacheSizeStats {
  /** Bytes the entries occupy (4 KiB blocks). */
  totalBytes: number;
  entries: number;
  /** Entries removed by eviction since start. */
  evictedEntries: number;
  evictedBytes: number;
}

/** The LRU size limit of one CAS and one AC. Create with {@link CacheSizeLimit.attach}. */
export class CacheSizeLimit {
  /** The limit, bytes; eviction starts above it. */
  readonly maxBytes: number;
  readonly #lru = new Map<string, number>();
  readonly #pins = new Map<string, number>();
  #totalBytes = 0;
  #evictedEntries = 0;
  #evictedBytes = 0;
  #running: Promise<number> | undefined;

  private constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * Scans what `cas` and `ac` already hold (oldest modification first), enforces the limit, and hooks
   * into both stores so that every later write and use is accounted.
   * @param maxBytes the limit in bytes (> 0).
   * @throws {RangeError} when `maxBytes` is not a positive safe integer.
   */
  static async attach(maxBytes: number, cas: DiskCas, ac: DiskActionCache): Promise<CacheSizeLimit> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`Cache size limit must be a positive number of bytes, got ${maxBytes}`);
    const limit = new CacheSizeLimit(maxBytes);
    const found: { path: string; sizeBytes: number; mtimeMs: number }[] = [];
    for (const dir of [cas.dir, ac.dir]) found.push(...(await scanStore(dir)));
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) limit.#account(f.path, f.sizeBytes);
    cas.onStored = (d: Digest) => limit.stored(cas.pathOf(d), d.sizeBytes);
    cas.onUsed = (d: Digest) => limit.used(cas.pathOf(d));
    cas.pinner = (ds: Digest[]) => limit.pin(ds.map((d) => cas.pathOf(d)));
    ac.onStored = (path: string, sizeBytes: number) => limit.stored(path, sizeBytes);
    ac.onUsed = (path: string) => limit.used(path);
    await limit.#enforce();
    return limit;
  }

  /** The current counters. */
  stats(): CacheSizeStats {
    return { totalBytes: this.#totalBytes, entries: this.#lru.size, evictedEntries: this.#evictedEntries, evictedBytes: this.#evictedBytes };
  }

  #account(path: string, sizeBytes: number): void {
    const old = this.#lru.get(path);
    if (old !== undefined) {
      this.#totalBytes -= old;
      this.#lru.delete(path);
    }
    const bytes = onDisk(sizeBytes);
    this.#lru.set(path, bytes);
    this.#totalBytes += bytes;
  }

  /**
   * Records a committed entry (the newest) and evicts while the total is over the limit.
   * @returns once the total is back under the limit (or only pinned entries are left).
   */
  async stored(path: string, sizeBytes: number): Promise<void> {
    this.#account(path, sizeBytes);
    if (this.#totalBytes > this.maxBytes) await this.#enforce();
  }

  /** Marks an entry as just used (the newest). Unknown paths are ignored. */
  used(path: string): void {
    const bytes = this.#lru.get(path);
    if (bytes === undefined) return;
    this.#lru.delete(path);
    this.#lru.set(path, bytes);
  }

  /**
   * Keeps `paths` from being evicted until the returned function is called (idempotent). Pins nest.
   * @example
   * const release = limit.pin([cas.pathOf(d)]);
   * try { await cas.materialize(d, dest, false); } finally { release(); }
   */
  pin(paths: string[]): () => void {
    for (const p of paths) this.#pins.set(p, (this.#pins.get(p) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const p of paths) {
        const n = (this.#pins.get(p) ?? 1) - 1;
        if (n > 0) this.#pins.set(p, n);
        else this.#pins.delete(p);
      }
    };
  }

  /** Evicts until under the limit; one eviction pass runs at a time, later callers wait for it. */
  async #enforce(): Promise<void> {
    while (this.#totalBytes > this.maxBytes) {
      this.#running ??= this.#evictOnce().finally(() => { this.#running = undefined; });
      if ((await this.#running) === 0) return; // only pinned entries left
    }
  }

  /** Removes the oldest unpinned entries down to the low-water mark; returns how many. */
  async #evictOnce(): Promise<number> {
    const target = Math.floor(this.maxBytes * LOW_WATER_RATIO);
    const victims: string[] = [];
    let bytes = 0;
    for (const [path, size] of this.#lru) {
      if (this.#totalBytes <= target) break;
      if (this.#pins.has(path)) continue;
      this.#lru.delete(path);
      this.#totalBytes -= size;
      bytes += size;
      victims.push(path);
    }
    await Promise.all(victims.map((p) => unlink(p).catch(() => {})));
    this.#evictedEntries += victims.length;
    this.#evictedBytes += bytes;
    if (victims.length) {
      log.info(`cache size limit: evicted ${victims.length} least recently used entries (${mib(bytes)}); ` +
        `${mib(this.#totalBytes)} of ${mib(this.maxBytes)} in use`);
    }
    return victims.length;
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Every entry file of a disk store (`<dir>/<xx>/<name>`; tmp/ and other directories skipped). */
async function scanStore(dir: string): Promise<{ path: string; sizeBytes: number; mtimeMs: number }[]> {
  const out: { path: string; sizeBytes: number; mtimeMs: number }[] = [];
  const subs = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  for (const sub of subs) {
    if (!sub.isDirectory() || sub.name.length !== 2) continue;
    const names = await readdir(join(dir, sub.name)).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(dir, sub.name, name);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile()) out.push({ path, sizeBytes: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}
