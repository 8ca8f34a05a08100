/**
 * The one place that builds a server's store stack (reference/style.md §5.4): the local CAS and action
 * cache (disk under `dir`, or memory), under one shared size limit with LRU eviction, optionally in front
 * of slower stores of record (read-through). It takes plain options, so either flags or a typed
 * ServerConfig (lib/config) can feed it. Built inside-out, one layer per line:
 *
 *     DiskCas(dir/cas) | MemoryCas          the store: digests verified on read, wrong blobs replaced
 *       → SizeLimitedCas(budget)            shared CAS+AC budget, LRU eviction (when maxBytes > 0)
 *         → ReadThroughCas(local, slow)     misses filled from `slow`, writes to `slow` (when given)
 *
 * and the same for the action cache (DiskActionCache, checksummed entries | MemoryActionCache).
 *
 * Spec: REAPI ContentAddressableStorage / ActionCache; reference/reapi-buildbarn.md §1.5, §2.3.
 */
import { join } from "node:path";
import type { ActionCache, Cas, EvictableActionCache, EvictableCas } from "./cas.ts";
import { DiskActionCache } from "./disk-action-cache.ts";
import { DiskCas } from "./disk-cas.ts";
import { MemoryActionCache } from "./memory-action-cache.ts";
import { MemoryCas } from "./memory-cas.ts";
import { ReadThroughActionCache, ReadThroughCas } from "./read-through-cas.ts";
import { type CacheSizeStats, DEFAULT_CACHE_MAX_BYTES } from "./size-limit.ts";
import { withSizeLimit } from "./size-limited-store.ts";

const MIB = 1024 * 1024;

/** The store settings of a server (`goma server --data-dir`, `--cache-max-size-mb`). */
export interface StoreOptions {
  /** Root of the disk stores: `cas/` and `ac/` beneath it. Required unless `inMemory`. */
  dir?: string;
  /**
   * Size limit of the CAS and the AC together, bytes (4 KiB blocks counted); least recently used
   * entries are evicted beyond it. Default {@link DEFAULT_CACHE_MAX_BYTES} (10 GiB); 0: no limit.
   * Source: `--cache-max-size-mb` / `GOMA_SERVER_CACHE_MAX_SIZE_MB` × 2^20.
   */
  maxBytes?: number;
  /** Keep everything in memory (tests): `dir` is not used. */
  inMemory?: boolean;
  /** Stores of record behind the local ones: reads that miss locally fill from them, writes go to them. */
  slow?: { cas: Cas; ac: ActionCache };
}

/** Integrity and size counters of a store stack since it was built. */
export interface StoreStats {
  /** CAS blobs found corrupt and removed. */
  corruptBlobs: number;
  /** Action-cache entries found corrupt and removed. */
  corruptEntries: number;
  /** The size limit's counters; undefined without a limit. */
  size?: CacheSizeStats & { maxBytes: number };
}

/** A built store stack: the top of each chain, and its counters. */
export interface StoreStack {
  cas: Cas;
  ac: ActionCache;
  /** The current counters. */
  stats(): StoreStats;
  /** The chain, top first, e.g. `"SizeLimitedCas(10240 MiB) → DiskCas(/data/cas)"`, for logs and status pages. */
  describe: string;
}

/**
 * Builds the store stack for `opts`: opens (creating) the disk stores or makes memory ones, accounts
 * for what the disk already holds and enforces the limit before returning.
 * @throws {RangeError} when `maxBytes` is negative or not a safe integer, or when `dir` is missing
 * without `inMemory`; the OS error when `dir` cannot be created.
 */
export async function buildStoreStack(opts: StoreOptions): Promise<StoreStack> {
  const maxBytes = opts.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`Cache size limit must be 0 (none) or a positive number of bytes, got ${maxBytes}`);
  let local: { cas: EvictableCas & { corruptBlobs: number }; ac: EvictableActionCache & { corruptEntries: number } };
  const layers: string[] = [];
  if (opts.inMemory) {
    local = { cas: new MemoryCas(), ac: new MemoryActionCache() };
    layers.push("MemoryCas");
  } else {
    if (!opts.dir) throw new RangeError("A disk store needs a directory (dir), or inMemory: true");
    local = { cas: await DiskCas.open(join(opts.dir, "cas")), ac: await DiskActionCache.open(join(opts.dir, "ac")) };
    layers.push(`DiskCas(${join(opts.dir, "cas")})`);
  }
  let cas: Cas = local.cas;
  let ac: ActionCache = local.ac;
  let limit: Awaited<ReturnType<typeof withSizeLimit>>["limit"] | undefined;
  if (maxBytes > 0) {
    const limited = await withSizeLimit(maxBytes, local.cas, local.ac);
    ({ cas, ac, limit } = limited);
    layers.unshift(`SizeLimitedCas(${maxBytes % MIB === 0 ? `${maxBytes / MIB} MiB` : `${maxBytes} bytes`})`);
  }
  if (opts.slow) {
    cas = new ReadThroughCas(cas, opts.slow.cas);
    ac = new ReadThroughActionCache(ac, opts.slow.ac);
    layers.unshift("ReadThroughCas");
  }
  const bottom = local;
  return {
    cas,
    ac,
    describe: layers.join(" → "),
    stats: () => ({
      corruptBlobs: bottom.cas.corruptBlobs,
      corruptEntries: bottom.ac.corruptEntries,
      size: limit ? { ...limit.stats(), maxBytes: limit.maxBytes } : undefined,
    }),
  };
}
