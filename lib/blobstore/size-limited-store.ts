/**
 * The decorators that put a store under a {@link CacheSizeLimit} (size-limit.ts): every write is
 * reported as the newest entry (and waits for eviction to keep up), every read or check for use makes
 * the entry the newest, and pins keep an in-flight action's inputs from eviction. What they wrap is any
 * store with the {@link EvictableStore} capability (disk-cas.ts, memory-cas.ts …), which the budget
 * removes entries from. Everything else, integrity checks included, is the wrapped store's.
 *
 * Spec: none (policy); the LRU order and block accounting are documented in size-limit.ts.
 */
import type { Digest } from "../digest/digest.ts";
import type { ActionResultMessage, BlobWriter, EvictableActionCache, EvictableCas } from "./cas.ts";
import { ForwardingActionCache, ForwardingCas } from "./forwarding.ts";
import { CacheSizeLimit } from "./size-limit.ts";

/** A CAS whose blobs count against a shared {@link CacheSizeLimit}. Create with `withSizeLimit` or directly. */
export class SizeLimitedCas extends ForwardingCas {
  readonly #cas: EvictableCas;
  readonly #limit: CacheSizeLimit;

  constructor(base: EvictableCas, limit: CacheSizeLimit) {
    super(base);
    this.#cas = base;
    this.#limit = limit;
  }

  /** The budget this store counts against. */
  get limit(): CacheSizeLimit {
    return this.#limit;
  }

  #used(d: Digest): void {
    if (d.sizeBytes > 0) this.#limit.used(this.#cas.entryKey(d));
  }

  #stored(d: Digest): Promise<void> {
    return d.sizeBytes > 0 ? this.#limit.stored(this.#cas.entryKey(d), d.sizeBytes, this.#cas) : Promise.resolve();
  }

  override async findMissing(digests: Digest[]): Promise<Digest[]> {
    const missing = await super.findMissing(digests);
    if (missing.length === 0) {
      for (const d of digests) this.#used(d);
    } else {
      const absent = new Set(missing.map((d) => `${d.hash}/${d.sizeBytes}`));
      for (const d of digests) if (!absent.has(`${d.hash}/${d.sizeBytes}`)) this.#used(d);
    }
    return missing;
  }

  override async has(d: Digest): Promise<boolean> {
    const ok = await super.has(d);
    if (ok) this.#used(d);
    return ok;
  }

  override async verify(d: Digest): Promise<boolean> {
    const ok = await super.verify(d);
    if (ok) this.#used(d);
    return ok;
  }

  override async get(d: Digest): Promise<Uint8Array | undefined> {
    const data = await super.get(d);
    if (data) this.#used(d);
    return data;
  }

  /** Stores the blob, then accounts it; resolves once eviction brought the total under the limit. */
  override async put(d: Digest, data: Uint8Array): Promise<void> {
    await super.put(d, data);
    await this.#stored(d);
  }

  override async putFile(src: string, opts?: { noFollow?: boolean }): Promise<Digest> {
    const d = await super.putFile(src, opts);
    await this.#stored(d);
    return d;
  }

  /** A writer whose `commit()` accounts the blob once the wrapped store published it. */
  override async createWriter(d: Digest): Promise<BlobWriter> {
    const w = await super.createWriter(d);
    return {
      digest: w.digest,
      get committedBytes() { return w.committedBytes; },
      write: (chunk) => w.write(chunk),
      commit: async () => {
        await w.commit();
        await this.#stored(d);
      },
      abort: () => w.abort(),
    };
  }

  /** Streams as the wrapped store does; a read that reached the end makes the blob the newest. */
  override async *read(d: Digest, offset?: number, limit?: number, chunkBytes?: number): AsyncGenerator<Uint8Array> {
    yield* super.read(d, offset, limit, chunkBytes);
    this.#used(d);
  }

  override async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    await super.materialize(d, dest, executable);
    this.#used(d);
  }

  /** Keeps `digests` from eviction by the budget (and by anything below) until released. */
  override pin(digests: Digest[]): () => void {
    const mine = this.#limit.pin(digests.map((d) => this.#cas.entryKey(d)));
    const below = super.pin(digests);
    return () => {
      mine();
      below();
    };
  }
}

/** An action cache whose entries count against a shared {@link CacheSizeLimit}. */
export class SizeLimitedActionCache extends ForwardingActionCache {
  readonly #ac: EvictableActionCache;
  readonly #limit: CacheSizeLimit;

  constructor(base: EvictableActionCache, limit: CacheSizeLimit) {
    super(base);
    this.#ac = base;
    this.#limit = limit;
  }

  override async get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    const result = await super.get(instanceName, actionDigest);
    if (result) this.#limit.used(this.#ac.entryKey(instanceName, actionDigest));
    return result;
  }

  /** Stores the entry, then accounts it; resolves once eviction brought the total under the limit. */
  override async put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    await super.put(instanceName, actionDigest, result);
    await this.#limit.stored(this.#ac.entryKey(instanceName, actionDigest), this.#ac.entrySizeBytes(result), this.#ac);
  }
}

/**
 * Puts a CAS and an action cache under one shared budget: accounts for what they hold, enforces the
 * limit, and returns the two decorated stores (use those from now on: writes and reads that bypass them
 * are not accounted) with the budget.
 * @param maxBytes the limit in bytes (> 0), e.g. `--cache-max-size-mb` × 2^20.
 * @throws {RangeError} when `maxBytes` is not a positive safe integer.
 * @example
 * const { cas, ac, limit } = await withSizeLimit(10 * 2 ** 30, await DiskCas.open(d1), await DiskActionCache.open(d2));
 */
export async function withSizeLimit(maxBytes: number, cas: EvictableCas, ac: EvictableActionCache):
  Promise<{ cas: SizeLimitedCas; ac: SizeLimitedActionCache; limit: CacheSizeLimit }> {
  const limit = await CacheSizeLimit.create(maxBytes, [cas, ac]);
  return { cas: new SizeLimitedCas(cas, limit), ac: new SizeLimitedActionCache(ac, limit), limit };
}
