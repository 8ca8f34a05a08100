/**
 * A size limit with LRU eviction shared by a CAS and an action cache, so the embedded backend's disk
 * never fills in normal use (issue 10 §3). Every entry (a CAS blob or an AC entry) is kept in one
 * least-recently-used order: writing it or reading it for use makes it the newest. When a write takes
 * the total over `maxBytes`, the oldest entries are removed until the total is at most
 * {@link LOW_WATER_RATIO} × `maxBytes`, and the write completes only after that, so a burst of writes
 * cannot outrun eviction.
 *
 * This file is the budget (the policy); the decorators that feed it sit in size-limited-store.ts
 * (`SizeLimitedCas`, `SizeLimitedActionCache` in size-limited-store.ts) over any store with the
 * {@link EvictableStore} capability (disk or memory). `withSizeLimit` (size-limited-store.ts) puts both on one budget.
 *
 * Never corrupt: eviction removes whole entries (written atomically by the stores); an AC entry whose
 * blobs were evicted is a miss (its blobs no longer verify), never a half result. Blobs pinned by an
 * in-flight action ({@link CacheSizeLimit.pin}) are skipped. Sizes are counted in whole 4 KiB blocks, as
 * a file system allocates them. Concurrency: safe for concurrent writers within one process; another
 * process writing the same directories is not accounted until the next start.
 */
import type { EvictableActionCache, EvictableCas, EvictableStore } from "./cas.ts";
import { log } from "../util/log.ts";

/** Eviction brings the total down to this fraction of the limit, so that it does not run on every write. */
export const LOW_WATER_RATIO = 0.9;
/** The default limit of `goma server`'s embedded CAS and AC together: 10 GiB. */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024 * 1024;
const BLOCK_BYTES = 4096;

/** Bytes an entry of `sizeBytes` occupies: whole 4 KiB blocks. */
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

/** One accounted entry: its size in blocks and the store that removes it. */
interface Entry {
  bytes: number;
  store: EvictableStore;
}

/**
 * The LRU byte budget of one or more stores. Create with {@link CacheSizeLimit.create} (or
 * `withSizeLimit`); the decorators of size-limited-store.ts report writes and uses to it.
 */
export class CacheSizeLimit {
  /** The limit, bytes; eviction starts above it. */
  readonly maxBytes: number;
  readonly #lru = new Map<string, Entry>();
  readonly #pins = new Map<string, number>();
  #totalBytes = 0;
  #evictedEntries = 0;
  #evictedBytes = 0;
  #running: Promise<number> | undefined;

  private constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * Accounts for what `stores` already hold (oldest modification first) and enforces the limit.
   * @param maxBytes the limit in bytes (> 0).
   * @param stores the stores sharing the budget; their entry keys must not collide (disk: paths).
   * @throws {RangeError} when `maxBytes` is not a positive safe integer.
   */
  static async create(maxBytes: number, stores: EvictableStore[]): Promise<CacheSizeLimit> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`Cache size limit must be a positive number of bytes, got ${maxBytes}`);
    const limit = new CacheSizeLimit(maxBytes);
    const found: { key: string; sizeBytes: number; mtimeMs: number; store: EvictableStore }[] = [];
    for (const store of stores) for (const e of await store.listEntries()) found.push({ ...e, store });
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) limit.#account(f.key, f.sizeBytes, f.store);
    await limit.#enforce();
    return limit;
  }

  /** The current counters. */
  stats(): CacheSizeStats {
    return { totalBytes: this.#totalBytes, entries: this.#lru.size, evictedEntries: this.#evictedEntries, evictedBytes: this.#evictedBytes };
  }

  #account(key: string, sizeBytes: number, store: EvictableStore): void {
    const old = this.#lru.get(key);
    if (old !== undefined) {
      this.#totalBytes -= old.bytes;
      this.#lru.delete(key);
    }
    const bytes = onDisk(sizeBytes);
    this.#lru.set(key, { bytes, store });
    this.#totalBytes += bytes;
  }

  /**
   * Records a written entry (the newest) of `store` and evicts while the total is over the limit.
   * @returns once the total is back under the limit (or only pinned entries are left).
   */
  async stored(key: string, sizeBytes: number, store: EvictableStore): Promise<void> {
    this.#account(key, sizeBytes, store);
    if (this.#totalBytes > this.maxBytes) await this.#enforce();
  }

  /** Marks an entry as just used (the newest). Unknown keys are ignored. */
  used(key: string): void {
    const e = this.#lru.get(key);
    if (e === undefined) return;
    this.#lru.delete(key);
    this.#lru.set(key, e);
  }

  /**
   * Keeps `keys` from being evicted until the returned function is called (idempotent). Pins nest.
   * @example
   * const release = limit.pin([cas.entryKey(d)]);
   * try { await cas.materialize(d, dest, false); } finally { release(); }
   */
  pin(keys: string[]): () => void {
    for (const k of keys) this.#pins.set(k, (this.#pins.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.#pins.get(k) ?? 1) - 1;
        if (n > 0) this.#pins.set(k, n);
        else this.#pins.delete(k);
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
    const victims: [string, Entry][] = [];
    let bytes = 0;
    for (const [key, e] of this.#lru) {
      if (this.#totalBytes <= target) break;
      if (this.#pins.has(key)) continue;
      this.#lru.delete(key);
      this.#totalBytes -= e.bytes;
      bytes += e.bytes;
      victims.push([key, e]);
    }
    await Promise.all(victims.map(([key, e]) => e.store.removeEntry(key).catch(() => {})));
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
