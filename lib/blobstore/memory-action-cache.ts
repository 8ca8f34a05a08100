/**
 * An action cache in memory: for unit tests, and for a server that keeps nothing on disk
 * (store-stack.ts, `inMemory`). Entries are kept serialized, so a caller changing a returned result
 * cannot change the cache, and keyed by (instance name, action digest) like the disk cache. It is an
 * {@link EvictableActionCache} (keys `ac:<instance name>\0<hash>/<size>`), so it can sit under a size limit.
 *
 * Spec: REAPI ActionCache.GetActionResult / UpdateActionResult; reference/reapi-buildbarn.md §2.3.
 */
import { type Digest, digestKey } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import type { ActionResultMessage, EvictableActionCache, StoredEntry } from "./cas.ts";
import R = build.bazel.remote.execution.v2;

/** An in-memory action cache; the last writer wins. */
export class MemoryActionCache implements EvictableActionCache {
  readonly #entries = new Map<string, { data: Uint8Array; mtimeMs: number }>();
  /** Always 0: kept for the same counters as the disk cache (an entry in memory cannot rot). */
  readonly corruptEntries = 0;

  /** Number of stored entries. */
  get size(): number {
    return this.#entries.size;
  }

  entryKey(instanceName: string, actionDigest: Digest): string {
    return `ac:${instanceName}\0${digestKey(actionDigest)}`;
  }

  entrySizeBytes(result: ActionResultMessage): number {
    return R.ActionResult.encode(result).finish().byteLength;
  }

  async listEntries(): Promise<StoredEntry[]> {
    return [...this.#entries].map(([key, e]) => ({ key, sizeBytes: e.data.byteLength, mtimeMs: e.mtimeMs }));
  }

  async removeEntry(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    const e = this.#entries.get(this.entryKey(instanceName, actionDigest));
    return e && R.ActionResult.decode(e.data);
  }

  async put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    this.#entries.set(this.entryKey(instanceName, actionDigest), { data: R.ActionResult.encode(result).finish(), mtimeMs: Date.now() });
  }
}
