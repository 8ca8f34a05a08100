/**
 * The storage interfaces of goma's blob stores: a content-addressable store of blobs keyed by digest
 * ({@link Cas}), and an action cache of `ActionResult`s keyed by instance name and action digest
 * ({@link ActionCache}). One interface per role, many implementations and decorators, as bb-storage's
 * BlobAccess (reference/style.md §1, §5.3):
 *
 * - stores: disk-cas.ts / disk-action-cache.ts (the embedded backend's), memory-cas.ts /
 *   memory-action-cache.ts (tests, and `inMemory` servers);
 * - decorators, each extending {@link ForwardingCas} / {@link ForwardingActionCache} from forwarding.ts:
 *   size-limited-store.ts (a byte budget shared by a CAS and an AC, size-limit.ts, with LRU eviction),
 *   read-through-cas.ts (a fast store filled from a slow one);
 * - store-stack.ts builds the stack from the server's store settings, in one place.
 *
 * The embedded backend (lib/backend/) sees only these interfaces. Besides REAPI's FindMissing/Get/Put,
 * {@link Cas} carries what the backend needs to stay streaming and to run actions: ranged streaming reads
 * (ByteStream Read), streaming writers (ByteStream Write), importing a file (an action's outputs) and
 * placing a verified copy of a blob at a path (an action's inputs). A store that keeps blobs elsewhere
 * implements those through its own bytes (memory-cas.ts shows how). The size limit needs one more
 * capability, which only local stores have: {@link EvictableStore} (list the entries, remove one).
 *
 * Spec: REAPI ContentAddressableStorage and ActionCache semantics; reference/reapi-buildbarn.md §1.5,
 * §2.3 (the CAS is shared across instance names, the AC is keyed by instance name).
 */
import type { Digest } from "../digest/digest.ts";
import type { build } from "../reapi/proto.ts";

/** `build.bazel.remote.execution.v2.ActionResult` as a plain message. */
export type ActionResultMessage = build.bazel.remote.execution.v2.IActionResult;

/**
 * One streaming upload of a blob (ByteStream Write): chunks are appended and hashed, nothing is visible
 * in the store until {@link BlobWriter.commit} verified size and SHA-256 against {@link BlobWriter.digest}.
 * Not safe for concurrent `write` calls: await each one.
 */
export interface BlobWriter {
  /** The blob being written. */
  readonly digest: Digest;
  /** Bytes accepted so far. */
  readonly committedBytes: number;
  /**
   * Appends a chunk.
   * @throws {GomaError} InvalidArgument when the data would exceed the digest's size; FailedPrecondition
   * after `commit()` or `abort()`.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Verifies the data and publishes the blob.
   * @throws {GomaError} InvalidArgument when the size or hash differs from the digest (the data is discarded).
   */
  commit(): Promise<void>;
  /** Discards the upload. Idempotent. */
  abort(): Promise<void>;
}

/**
 * A content-addressable blob store. The empty blob always exists (and is never stored). Every read *for
 * use* (`get`, `read`, `materialize`, `verify`) checks the content against the digest: a stored blob that
 * does not match is removed and from then on missing, so clients upload it again. `has`/`findMissing`
 * may check only the size (they would otherwise read the whole store on every request).
 * Concurrency: every method may be called concurrently; writing the same blob twice is harmless.
 */
export interface Cas {
  /**
   * The subset of `digests` not stored (order kept, duplicates kept as given).
   * Spec: REAPI ContentAddressableStorage.FindMissingBlobs.
   */
  findMissing(digests: Digest[]): Promise<Digest[]>;
  /** True when the blob is stored with the right size (always for the empty blob). A cheap check. */
  has(digest: Digest): Promise<boolean>;
  /**
   * True when the blob is stored and its content matches the digest (the whole blob is hashed). A stored
   * blob that does not match is removed. The empty blob always verifies.
   */
  verify(digest: Digest): Promise<boolean>;
  /** The blob's bytes, verified against the digest; undefined when absent or corrupt (then removed). */
  get(digest: Digest): Promise<Uint8Array | undefined>;
  /**
   * Stores a blob after checking that `data` matches `digest`; a stored copy that does not verify is
   * replaced.
   * @throws {GomaError} InvalidArgument when the data does not match the digest.
   */
  put(digest: Digest, data: Uint8Array): Promise<void>;
  /**
   * Imports a file (e.g. an action output) and returns its digest; with `noFollow` a symlink is refused
   * (the file is opened with O_NOFOLLOW: ELOOP).
   * @throws the OS error when `src` cannot be read; {@link GomaError} InvalidArgument when it is not a
   * regular file.
   */
  putFile(src: string, opts?: { noFollow?: boolean }): Promise<Digest>;
  /** Starts a streaming write of a blob (ByteStream Write); nothing is visible until `commit()`. */
  createWriter(digest: Digest): Promise<BlobWriter>;
  /**
   * Streams a blob's bytes from `offset`, at most `limit` bytes (0 = to the end), in chunks of at most
   * `chunkBytes` (default 64 KiB). A corrupt blob never reaches its end: a whole-blob read holds its last
   * chunk back until the hash matched, a ranged read verifies the whole blob first.
   * Spec: google.bytestream.ByteStream.Read (read_offset, read_limit).
   * @throws {GomaError} NotFound when absent or corrupt (then removed); OutOfRange when `offset` is beyond
   * the blob.
   */
  read(digest: Digest, offset?: number, limit?: number, chunkBytes?: number): AsyncGenerator<Uint8Array>;
  /**
   * Places a verified copy of a blob at `dest` (which must not exist), mode 0444 (0555 for
   * executables). Never a hard link into the store: an action running as root could write through it.
   * @throws {GomaError} NotFound when the blob is absent or corrupt (`dest` is then removed).
   */
  materialize(digest: Digest, dest: string, executable: boolean): Promise<void>;
  /**
   * Keeps `digests` from being evicted (by a size limit) until the returned function is called; a no-op
   * for a store without a limit. An action pins its input files from the check that they are present
   * until they are materialized.
   */
  pin(digests: Digest[]): () => void;
}

/**
 * An action cache. Entries are keyed by (instance name, action digest): the same action under two
 * instance names is two entries. An entry that cannot be read intact is a miss, never a changed result.
 */
export interface ActionCache {
  /** The stored result, or undefined on a miss. Spec: REAPI ActionCache.GetActionResult. */
  get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined>;
  /** Stores (replaces) a result. Spec: REAPI ActionCache.UpdateActionResult. */
  put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void>;
}

/** One stored entry of an {@link EvictableStore}, as listed when a size limit starts. */
export interface StoredEntry {
  /** The store's key of the entry ({@link EvictableCas.entryKey} / {@link EvictableActionCache.entryKey}). */
  key: string;
  /** Bytes the entry holds (a disk store: the file's size). */
  sizeBytes: number;
  /** When it was last written, ms since the epoch (orders the initial LRU: oldest first). */
  mtimeMs: number;
}

/**
 * The capability a size limit needs from the store below it (size-limited-store.ts): list what is
 * stored, and remove one entry. Local stores (disk, memory) have it; a remote one does not. Keys are
 * opaque strings, unique across the CAS and the AC that share one budget (the disk stores use the
 * entry's file path).
 */
export interface EvictableStore {
  /** Every entry currently stored. */
  listEntries(): Promise<StoredEntry[]>;
  /** Removes one entry (atomically: a reader sees it whole or not at all). Absent keys are ignored. */
  removeEntry(key: string): Promise<void>;
}

/** A {@link Cas} that a size limit can evict from. */
export interface EvictableCas extends Cas, EvictableStore {
  /** The key of the entry that holds blob `digest` (present or not). */
  entryKey(digest: Digest): string;
}

/** An {@link ActionCache} that a size limit can evict from. */
export interface EvictableActionCache extends ActionCache, EvictableStore {
  /** The key of the entry for (instance name, action digest) (present or not). */
  entryKey(instanceName: string, actionDigest: Digest): string;
  /** Bytes the entry for `result` occupies once stored (a disk store: its file's size, header included). */
  entrySizeBytes(result: ActionResultMessage): number;
}
