/**
 * The storage interfaces of goma's blob stores: a content-addressable store of blobs keyed by digest,
 * and an action cache of `ActionResult`s keyed by instance name and action digest. Implementations live
 * beside this file (disk-cas.ts, disk-action-cache.ts); decorators (verifying, caching, metrics) wrap
 * them without changing the interface (reference/style.md §5.3).
 *
 * Spec: REAPI ContentAddressableStorage and ActionCache semantics; reference/reapi-buildbarn.md §1.5,
 * §2.3 (the CAS is shared across instance names, the AC is keyed by instance name).
 */
import type { Digest } from "../digest/digest.ts";
import type { build } from "../reapi/proto.ts";

/** `build.bazel.remote.execution.v2.ActionResult` as a plain message. */
export type ActionResultMessage = build.bazel.remote.execution.v2.IActionResult;

/**
 * A content-addressable blob store. The empty blob always exists. Concurrency: every method may be
 * called concurrently; writing the same blob twice is harmless.
 */
export interface Cas {
  /**
   * The subset of `digests` not stored (order kept, duplicates kept as given).
   * Spec: REAPI ContentAddressableStorage.FindMissingBlobs.
   */
  findMissing(digests: Digest[]): Promise<Digest[]>;
  /** The blob's bytes, or undefined when absent. */
  get(digest: Digest): Promise<Uint8Array | undefined>;
  /**
   * Stores a blob after checking that `data` matches `digest`.
   * @throws {GomaError} InvalidArgument when the data does not match the digest.
   */
  put(digest: Digest, data: Uint8Array): Promise<void>;
}

/**
 * An action cache. Entries are keyed by (instance name, action digest): the same action under two
 * instance names is two entries.
 */
export interface ActionCache {
  /** The stored result, or undefined on a miss. Spec: REAPI ActionCache.GetActionResult. */
  get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined>;
  /** Stores (replaces) a result. Spec: REAPI ActionCache.UpdateActionResult. */
  put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void>;
}
