/**
 * A streaming write of one CAS blob, as ByteStream Write needs: chunks go to a temporary file while
 * being hashed, and `commit()` moves the file into place only when size and SHA-256 match the expected
 * digest. Until then nothing is visible in the store.
 *
 * Spec: google.bytestream.ByteStream.Write for REAPI (the server verifies the uploaded digest);
 * reference/reapi-buildbarn.md §1.6.
 */
import { createHash, type Hash } from "node:crypto";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { type Digest, digestKey } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import type { BlobWriter } from "./cas.ts";

/** One in-progress blob upload to a disk CAS. Not safe for concurrent `write` calls: await each one. */
export class CasWriter implements BlobWriter {
  /** The blob being written. */
  readonly digest: Digest;
  /** Bytes accepted so far. */
  committedBytes = 0;
  readonly #tmp: string;
  readonly #fh: FileHandle;
  readonly #hash: Hash = createHash("sha256");
  readonly #commit: (tmp: string) => Promise<void>;
  #closed = false;

  private constructor(digest: Digest, tmp: string, fh: FileHandle, commit: (tmp: string) => Promise<void>) {
    this.digest = digest;
    this.#tmp = tmp;
    this.#fh = fh;
    this.#commit = commit;
  }

  /**
   * Opens a temporary file at `tmp` (mode 0444); `commit(tmp)` is called to publish it once verified.
   * @internal use DiskCas.createWriter.
   */
  static async create(digest: Digest, tmp: string, commit: (tmp: string) => Promise<void>): Promise<CasWriter> {
    const fh = await open(tmp, "wx", 0o444);
    return new CasWriter(digest, tmp, fh, commit);
  }

  /**
   * Appends a chunk.
   * @throws {GomaError} InvalidArgument when the data would exceed the digest's size.
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new GomaError(Code.FailedPrecondition, `Write of ${digestKey(this.digest)} is closed`);
    if (this.committedBytes + chunk.byteLength > this.digest.sizeBytes) {
      throw new GomaError(Code.InvalidArgument,
        `Blob ${digestKey(this.digest)} received more than ${this.digest.sizeBytes} bytes`);
    }
    let off = 0;
    while (off < chunk.byteLength) {
      const { bytesWritten } = await this.#fh.write(chunk, off, chunk.byteLength - off);
      off += bytesWritten;
    }
    this.#hash.update(chunk);
    this.committedBytes += chunk.byteLength;
  }

  /**
   * Verifies the data and publishes the blob.
   * @throws {GomaError} InvalidArgument when the size or hash differs from the digest (the data is
   * discarded).
   */
  async commit(): Promise<void> {
    this.#closed = true;
    await this.#fh.close();
    const hash = this.#hash.digest("hex");
    if (this.committedBytes !== this.digest.sizeBytes || hash !== this.digest.hash) {
      await unlink(this.#tmp).catch(() => {});
      throw new GomaError(Code.InvalidArgument,
        `Blob ${digestKey(this.digest)} has data with digest ${hash}/${this.committedBytes}`);
    }
    try {
      await this.#commit(this.#tmp);
    } catch (err) {
      await unlink(this.#tmp).catch(() => {});
      throw err;
    }
  }

  /** Discards the upload. Idempotent. */
  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close().catch(() => {});
    await unlink(this.#tmp).catch(() => {});
  }
}
