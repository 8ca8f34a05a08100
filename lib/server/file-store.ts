/**
 * The server's goma file cache: hash_key → serialized FileBlob, in memory, least recently used first
 * out once `maxBytes` is exceeded (remoteexec_proxy's default is an in-memory LRU of 1 GiB,
 * reference/goma-protocol.md §3.7). Alongside it, the digest cache: hash_key → REAPI Digest of the
 * file content, so that a file seen once is never needed again while its blob is in the CAS.
 *
 * Nothing here persists: after a restart, clients get `missing_input` and resend (as upstream).
 */
import { goma, type IFileBlob } from "../goma/proto.ts";
import type { Digest } from "../digest/digest.ts";

/** An LRU map bounded by total `weight` (bytes) and entry count. */
class Lru<V> {
  private map = new Map<string, { v: V; w: number }>();
  private total = 0;
  constructor(private readonly maxWeight: number, private readonly maxEntries: number) {}
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  set(k: string, v: V, w: number): void {
    const old = this.map.get(k);
    if (old) {
      this.total -= old.w;
      this.map.delete(k);
    }
    this.map.set(k, { v, w });
    this.total += w;
    while ((this.total > this.maxWeight || this.map.size > this.maxEntries) && this.map.size > 1) {
      const [firstKey, first] = this.map.entries().next().value as [string, { v: V; w: number }];
      this.map.delete(firstKey);
      this.total -= first.w;
    }
  }
  get size(): number {
    return this.map.size;
  }
  get weight(): number {
    return this.total;
  }
}

/** Options of a {@link FileStore}. */
export interface FileStoreOptions {
  /** Upper bound of stored blob bytes (default 1 GiB). */
  maxBytes?: number;
  /** Upper bound of digest-cache entries (default 2,000,000, remoteexec_proxy's --max-digest-cache-entries). */
  maxDigestEntries?: number;
}

/** hash_key-addressed store of serialized FileBlobs plus the hash_key → content Digest cache. */
export class FileStore {
  private blobs: Lru<Uint8Array>;
  private digests: Lru<Digest>;

  constructor(opts: FileStoreOptions = {}) {
    this.blobs = new Lru(opts.maxBytes ?? 1024 * 1024 * 1024, Number.MAX_SAFE_INTEGER);
    this.digests = new Lru(Number.MAX_SAFE_INTEGER, opts.maxDigestEntries ?? 2_000_000);
  }

  /** Stores serialized FileBlob bytes under their hash key. */
  put(hashKey: string, bytes: Uint8Array): void {
    this.blobs.set(hashKey, bytes, bytes.byteLength);
  }

  /** The serialized blob for `hashKey`, or undefined. */
  getBytes(hashKey: string): Uint8Array | undefined {
    return this.blobs.get(hashKey);
  }

  /** The decoded blob for `hashKey`, or undefined. */
  get(hashKey: string): IFileBlob | undefined {
    const b = this.blobs.get(hashKey);
    return b ? goma.FileBlob.decode(b) : undefined;
  }

  /** Records the content digest of the file whose top blob has `hashKey`. */
  setDigest(hashKey: string, d: Digest): void {
    this.digests.set(hashKey, d, 1);
  }

  /** The content digest known for `hashKey`, or undefined. */
  getDigest(hashKey: string): Digest | undefined {
    return this.digests.get(hashKey);
  }

  /** Sizes for the status page. */
  stats(): { blobs: number; blobBytes: number; digests: number } {
    return { blobs: this.blobs.size, blobBytes: this.blobs.weight, digests: this.digests.size };
  }
}
