/**
 * A content-addressable store in memory: for unit tests, and for a server that keeps nothing on disk
 * (store-stack.ts, `inMemory`). It has the same contract as the disk store (disk-cas.ts): puts verify
 * the digest, reads for use verify the content (a copy is kept, so a caller changing its buffer cannot
 * change the store), the empty blob always exists and is never stored, outputs are imported and inputs
 * materialized as verified copies with mode 0444/0555. It is an {@link EvictableCas}, so it can sit
 * under a size limit (keys `cas:<hash>/<size>`).
 *
 * Spec: REAPI ContentAddressableStorage semantics, empty blob rule; reference/reapi-buildbarn.md §1.5.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, open, unlink, writeFile } from "node:fs/promises";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";
import type { BlobWriter, EvictableCas, StoredEntry } from "./cas.ts";

/** One stored blob and when it was written (ms since the epoch). */
interface Stored {
  data: Uint8Array;
  mtimeMs: number;
}

/** An in-memory CAS. Safe for concurrent use within one process. */
export class MemoryCas implements EvictableCas {
  readonly #blobs = new Map<string, Stored>();
  /** Blobs found corrupt (content not matching the digest) and removed since creation. */
  corruptBlobs = 0;

  /** Number of stored blobs (the empty blob is never stored). */
  get size(): number {
    return this.#blobs.size;
  }

  /** Total bytes of the stored blobs. */
  get totalBytes(): number {
    let n = 0;
    for (const b of this.#blobs.values()) n += b.data.byteLength;
    return n;
  }

  entryKey(d: Digest): string {
    return `cas:${digestKey(d)}`;
  }

  async listEntries(): Promise<StoredEntry[]> {
    return [...this.#blobs].map(([key, b]) => ({ key, sizeBytes: b.data.byteLength, mtimeMs: b.mtimeMs }));
  }

  async removeEntry(key: string): Promise<void> {
    this.#blobs.delete(key);
  }

  /** The stored bytes when they match `d`; a stored blob that does not match is removed and counted. */
  #verified(d: Digest): Uint8Array | undefined {
    if (d.sizeBytes === 0) return new Uint8Array(0);
    const b = this.#blobs.get(this.entryKey(d));
    if (!b) return undefined;
    const got = digestOf(b.data);
    if (got.hash === d.hash && got.sizeBytes === d.sizeBytes) return b.data;
    this.corruptBlobs++;
    log.warn(`CAS integrity: blob ${digestKey(d)} is corrupt in memory (content hashes to ${got.hash}): removed`);
    this.#blobs.delete(this.entryKey(d));
    return undefined;
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    return digests.filter((d) => d.sizeBytes !== 0 && this.#blobs.get(this.entryKey(d))?.data.byteLength !== d.sizeBytes);
  }

  async has(d: Digest): Promise<boolean> {
    return (await this.findMissing([d])).length === 0;
  }

  async verify(d: Digest): Promise<boolean> {
    return this.#verified(d) !== undefined;
  }

  /** A copy of the blob's bytes, verified; undefined when absent or corrupt (then removed). */
  async get(d: Digest): Promise<Uint8Array | undefined> {
    const data = this.#verified(d);
    return data && new Uint8Array(data);
  }

  /**
   * Stores a copy of a verified blob; a stored copy that does not verify is replaced.
   * @throws {GomaError} InvalidArgument when `data` does not match `d`.
   */
  async put(d: Digest, data: Uint8Array): Promise<void> {
    const got = digestOf(data);
    if (got.hash !== d.hash || got.sizeBytes !== d.sizeBytes) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(d)} has data with digest ${digestKey(got)}`);
    }
    this.#store(d, new Uint8Array(data));
  }

  #store(d: Digest, data: Uint8Array): void {
    if (d.sizeBytes === 0 || this.#verified(d)) return;
    this.#blobs.set(this.entryKey(d), { data, mtimeMs: Date.now() });
  }

  /**
   * Imports a file's content. With `noFollow` a symlink is refused (O_NOFOLLOW: ELOOP).
   * @throws the OS error when `src` cannot be read; {@link GomaError} InvalidArgument when it is not a
   * regular file.
   */
  async putFile(src: string, opts: { noFollow?: boolean } = {}): Promise<Digest> {
    const fh = await open(src, constants.O_RDONLY | (opts.noFollow ? constants.O_NOFOLLOW : 0));
    try {
      if (!(await fh.stat()).isFile()) throw new GomaError(Code.InvalidArgument, `"${src}" is not a regular file`);
      const data = new Uint8Array(await fh.readFile());
      const d = digestOf(data);
      this.#store(d, data);
      return d;
    } finally {
      await fh.close();
    }
  }

  async createWriter(d: Digest): Promise<BlobWriter> {
    return new MemoryBlobWriter(d, (data) => this.#store(d, data));
  }

  /**
   * Streams a verified blob from `offset`, at most `limit` bytes (0 = to the end), in chunks of
   * `chunkBytes`.
   * @throws {GomaError} NotFound when absent or corrupt; OutOfRange when `offset` is beyond the blob.
   */
  async *read(d: Digest, offset = 0, limit = 0, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
    if (offset < 0 || offset > d.sizeBytes) {
      throw new GomaError(Code.OutOfRange, `Read offset ${offset} is outside blob ${digestKey(d)}`);
    }
    const data = this.#verified(d);
    if (!data) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
    const end = limit > 0 ? Math.min(d.sizeBytes, offset + limit) : d.sizeBytes;
    for (let pos = offset; pos < end; pos += chunkBytes) yield data.slice(pos, Math.min(end, pos + chunkBytes));
  }

  /**
   * Writes a verified copy of a blob at `dest` (which must not exist), mode 0444 (0555 for executables).
   * @throws {GomaError} NotFound when the blob is absent or corrupt.
   */
  async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    const data = this.#verified(d);
    if (!data) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
    await writeBlobFile(dest, data, executable);
  }

  /** A no-op: nothing evicts from this store but a size limit above it, which pins itself. */
  pin(_digests: Digest[]): () => void {
    return () => {};
  }
}

/**
 * Writes `data` as a new file `dest` (which must not exist: `wx`), mode 0444 (0555 when `executable`),
 * the mode set again past the umask; a file whose mode cannot be set is removed. For the materialize() of
 * stores that hold blobs in memory or fetch them whole (memory-cas.ts, remote-cas.ts).
 * @throws the fs error (EEXIST when `dest` exists).
 */
export async function writeBlobFile(dest: string, data: Uint8Array, executable: boolean): Promise<void> {
  const mode = executable ? 0o555 : 0o444;
  await writeFile(dest, data, { mode, flag: "wx" });
  await chmod(dest, mode).catch(async (err) => {
    await unlink(dest).catch(() => {});
    throw err;
  });
}

/** A streaming upload into memory, verified at `commit()` like the disk store's CasWriter, then handed to `publish` (also remote-cas.ts's writer). */
export class MemoryBlobWriter implements BlobWriter {
  readonly digest: Digest;
  committedBytes = 0;
  readonly #chunks: Uint8Array[] = [];
  readonly #hash: Hash = createHash("sha256");
  readonly #publish: (data: Uint8Array) => void;
  #closed = false;

  constructor(digest: Digest, publish: (data: Uint8Array) => void) {
    this.digest = digest;
    this.#publish = publish;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new GomaError(Code.FailedPrecondition, `Write of ${digestKey(this.digest)} is closed`);
    if (this.committedBytes + chunk.byteLength > this.digest.sizeBytes) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(this.digest)} received more than ${this.digest.sizeBytes} bytes`);
    }
    this.#chunks.push(new Uint8Array(chunk));
    this.#hash.update(chunk);
    this.committedBytes += chunk.byteLength;
  }

  async commit(): Promise<void> {
    this.#closed = true;
    const hash = this.#hash.digest("hex");
    if (this.committedBytes !== this.digest.sizeBytes || hash !== this.digest.hash) {
      throw new GomaError(Code.InvalidArgument, `Blob ${digestKey(this.digest)} has data with digest ${hash}/${this.committedBytes}`);
    }
    this.#publish(Buffer.concat(this.#chunks));
  }

  async abort(): Promise<void> {
    this.#closed = true;
    this.#chunks.length = 0;
  }
}
