/**
 * Read-through decorators: reads are served by a fast store (local disk or memory) and, where it misses,
 * by a slow one (a remote CAS, a shared disk), whose blob is then copied into the fast store so the next
 * read is local. Writes go to the slow store, the one of record, as in bb-storage's ReadCachingBlobAccess
 * (reference/style.md §1); the fast store is only a cache of it and may lose anything (eviction). A CAS
 * blob never changes, so a filled copy cannot go stale; an action-cache entry can be replaced, so the
 * action cache's writes also go to the fast one.
 * Integrity is each store's own: both verify what they serve, and the fast store verifies what it is
 * filled with.
 *
 * Spec: REAPI ContentAddressableStorage / ActionCache semantics (a blob or entry present in either store
 * is present).
 */
import type { Digest } from "../digest/digest.ts";
import type { ActionCache, ActionResultMessage, Cas } from "./cas.ts";
import { ForwardingActionCache, ForwardingCas } from "./forwarding.ts";

/** A CAS that reads through `fast` into `slow` and writes to `slow`. */
export class ReadThroughCas extends ForwardingCas {
  readonly #fast: Cas;

  /**
   * @param fast the cache, filled on reads.
   * @param slow the store of record: every write goes there.
   */
  constructor(fast: Cas, slow: Cas) {
    super(slow);
    this.#fast = fast;
  }

  /** Copies `d` from the slow store into the fast one (streaming). False when the slow store lacks it. */
  async #fill(d: Digest): Promise<boolean> {
    if (!(await this.base.has(d))) return false;
    const w = await this.#fast.createWriter(d);
    try {
      for await (const chunk of this.base.read(d)) await w.write(chunk);
      await w.commit();
      return true;
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /** Missing from both stores. */
  override async findMissing(digests: Digest[]): Promise<Digest[]> {
    const notFast = await this.#fast.findMissing(digests);
    return notFast.length ? this.base.findMissing(notFast) : [];
  }

  override async has(d: Digest): Promise<boolean> {
    return (await this.#fast.has(d)) || this.base.has(d);
  }

  override async verify(d: Digest): Promise<boolean> {
    return (await this.#fast.verify(d)) || this.base.verify(d);
  }

  /** From the fast store, else from the slow one (then stored in the fast one). */
  override async get(d: Digest): Promise<Uint8Array | undefined> {
    const hit = await this.#fast.get(d);
    if (hit) return hit;
    const data = await this.base.get(d);
    if (data) await this.#fast.put(d, data);
    return data;
  }

  /** Streams from the fast store, after filling it from the slow one when it lacks the blob. */
  override async *read(d: Digest, offset?: number, limit?: number, chunkBytes?: number): AsyncGenerator<Uint8Array> {
    if (!(await this.#fast.has(d)) && !(await this.#fill(d))) {
      yield* this.base.read(d, offset, limit, chunkBytes); // absent there too: the slow store's own NotFound
      return;
    }
    yield* this.#fast.read(d, offset, limit, chunkBytes);
  }

  /** Materializes from the fast store, after filling it from the slow one when it lacks the blob. */
  override async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    if (!(await this.#fast.has(d))) await this.#fill(d);
    await this.#fast.materialize(d, dest, executable);
  }

  override pin(digests: Digest[]): () => void {
    const fast = this.#fast.pin(digests);
    const slow = super.pin(digests);
    return () => {
      fast();
      slow();
    };
  }

  // put, putFile and createWriter are ForwardingCas's: they go to the slow store.
}

/** An action cache that reads through `fast` into `slow` and writes to `slow`. */
export class ReadThroughActionCache extends ForwardingActionCache {
  readonly #fast: ActionCache;

  /**
   * @param fast the cache, filled on reads.
   * @param slow the action cache of record: every write goes there.
   */
  constructor(fast: ActionCache, slow: ActionCache) {
    super(slow);
    this.#fast = fast;
  }

  /** From the fast cache, else from the slow one (then stored in the fast one). */
  override async get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    const hit = await this.#fast.get(instanceName, actionDigest);
    if (hit) return hit;
    const result = await this.base.get(instanceName, actionDigest);
    if (result) await this.#fast.put(instanceName, actionDigest, result);
    return result;
  }

  /** Stores in the slow cache, then in the fast one, which would otherwise keep serving a replaced entry. */
  override async put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    await super.put(instanceName, actionDigest, result);
    await this.#fast.put(instanceName, actionDigest, result);
  }
}
