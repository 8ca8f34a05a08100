/**
 * A content-addressable store on local disk: blob `h` lives at `<dir>/<h[0:2]>/<h>`, read-only (0444).
 * Every write verifies the digest and is atomic (temporary file in `<dir>/tmp`, then rename), so an entry
 * under its final name is always complete.
 *
 * Integrity (a disk flips bits, a process writes through a file): every read *for use* verifies the
 * content against the digest: `get()`, `read()` (hashed while streaming; the last chunk is held back
 * until the hash matched), `materialize()` (the bytes an action sees are hashed: a small blob is read, verified and written out, a larger one copied and the copy hashed) and `verify()`. A blob
 * that does not match is removed, counted in {@link DiskCas.corruptBlobs}, logged, and from then on
 * missing, so clients upload it again (FindMissingBlobs) or the action runs again. `put()`/`putFile()`
 * verify a stored blob before keeping it and replace a wrong one. `has()`/`findMissing()` only check the
 * size (they would otherwise read the whole store on every request), as Bazel's disk cache and
 * bb-storage's local store do. Inputs are materialized as copies, never hard links: an action (root
 * ignores the 0444 mode) can never change a stored blob. The empty blob always exists and is never
 * stored. This backs the embedded REAPI server (lib/backend/), usually under a size limit
 * (size-limited-store.ts: this store is an {@link EvictableCas}, its entry keys are the blob files' paths).
 *
 * Spec: REAPI ContentAddressableStorage semantics, empty blob rule; reference/reapi-buildbarn.md §1.5.
 */
import { createHash } from "node:crypto";
import { chmodSync, closeSync, constants, createReadStream, fstatSync, openSync, unlinkSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { chmod, copyFile, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";
import { commitTemp, commitTempSync, prepareTmpDir, tempPath, writeFileAtomic, writeFileAtomicSync } from "./atomic-file.ts";
import type { EvictableCas, StoredEntry } from "./cas.ts";
import { scanStore } from "./scan-store.ts";
import { CasWriter } from "./cas-writer.ts";

/**
 * A disk CAS rooted at one directory. Safe for concurrent use within and across processes.
 * Spec: REAPI ContentAddressableStorage (empty blob always present); reference/reapi-buildbarn.md §1.5.
 */
export class DiskCas implements EvictableCas {
  /** The store's root directory. */
  readonly dir: string;
  /** Blobs found corrupt (content not matching the digest) and removed since open. */
  corruptBlobs = 0;
  readonly #tmpDir: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#tmpDir = join(dir, "tmp");
  }

  /** Opens (creating if needed) a disk CAS in `dir` and clears abandoned temporary files. */
  static async open(dir: string): Promise<DiskCas> {
    const cas = new DiskCas(dir);
    await prepareTmpDir(cas.#tmpDir);
    return cas;
  }

  /** A no-op: eviction is the size limit's (size-limited-store.ts), which pins above this store. */
  pin(_digests: Digest[]): () => void {
    return () => {};
  }

  /** The entry key of a blob for a size limit: its file path ({@link DiskCas.pathOf}). */
  entryKey(d: Digest): string {
    return this.pathOf(d);
  }

  /** Every stored blob file (tmp/ skipped), for a size limit's initial accounting. */
  listEntries(): Promise<StoredEntry[]> {
    return scanStore(this.dir);
  }

  /** Removes the blob file `key` (a path from {@link DiskCas.entryKey}); an absent one is ignored. */
  async removeEntry(key: string): Promise<void> {
    if (!key.startsWith(`${this.dir}/`)) throw new RangeError(`"${key}" is not an entry of the CAS in "${this.dir}"`);
    await unlink(key).catch(() => {});
  }

  /** The path a blob is (or would be) stored at. */
  pathOf(d: Digest): string {
    return join(this.dir, d.hash.slice(0, 2), d.hash);
  }

  /** True when the blob is stored with the right size (always for the empty blob). */
  async has(d: Digest): Promise<boolean> {
    return this.#hasSync(d);
  }

  /**
   * {@link DiskCas.has} without a trip through the thread pool: one stat(2) of a local file costs
   * microseconds, far less than an async call's scheduling (the miss path does dozens per action).
   */
  #hasSync(d: Digest): boolean {
    if (d.sizeBytes === 0) return true;
    try {
      return statSync(this.pathOf(d)).size === d.sizeBytes;
    } catch {
      return false;
    }
  }

  /**
   * Removes a blob whose content does not match its digest, so that it is missing from now on.
   * Concurrency: a correct copy committed by a racing writer may be removed too; it is then merely missing.
   */
  async #discard(d: Digest, got: string): Promise<void> {
    this.#discardSync(d, got);
  }

  /** {@link DiskCas.#discard}, synchronously: the blob is gone when it returns. */
  #discardSync(d: Digest, got: string): void {
    this.corruptBlobs++;
    log.warn(`CAS integrity: blob ${digestKey(d)} is corrupt on disk (content hashes to ${got}): removed; ` +
      `it will be uploaded or produced again (${this.corruptBlobs} corrupt blobs since start)`);
    try { unlinkSync(this.pathOf(d)); } catch { /* already gone */ }
  }

  /**
   * True when the blob is stored and its content matches the digest (stream-hashed). A stored blob that
   * does not match is removed and counted. The empty blob always verifies.
   */
  async verify(d: Digest): Promise<boolean> {
    if (d.sizeBytes === 0) return true;
    let got: Digest | undefined;
    try {
      got = d.sizeBytes <= SMALL_BLOB_BYTES ? digestOf(readFileSync(this.pathOf(d))) : await hashFile(this.pathOf(d));
    } catch {
      return false;
    }
    if (got.sizeBytes === d.sizeBytes && got.hash === d.hash) return true;
    if (got.sizeBytes === d.sizeBytes) await this.#discard(d, got.hash);
    return false;
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    return digests.filter((d) => !this.#hasSync(d));
  }

  /** The blob's bytes, verified against the digest; undefined when absent or corrupt (then removed). */
  async get(d: Digest): Promise<Uint8Array | undefined> {
    if (d.sizeBytes === 0) return new Uint8Array(0);
    let data: Uint8Array;
    try {
      data = d.sizeBytes <= SMALL_BLOB_BYTES ? readFileSync(this.pathOf(d)) : await readFile(this.pathOf(d));
    } catch {
      return undefined;
    }
    if (data.byteLength !== d.sizeBytes) return undefined;
    const got = digestOf(data);
    if (got.hash !== d.hash) {
      await this.#discard(d, got.hash);
      return undefined;
    }
    return data;
  }

  /**
   * Stores a verified blob. A blob already stored is kept only when its content verifies; a wrong one is
   * replaced (atomically).
   * @throws {GomaError} InvalidArgument when `data` does not match `d`.
   */
  async put(d: Digest, data: Uint8Array): Promise<void> {
    const got = digestOf(data);
    if (got.hash !== d.hash || got.sizeBytes !== d.sizeBytes) {
      throw new GomaError(Code.InvalidArgument,
        `Blob ${digestKey(d)} has data with digest ${digestKey(got)}`);
    }
    if (d.sizeBytes === 0 || (this.#hasSync(d) && (await this.verify(d)))) return;
    if (d.sizeBytes <= SMALL_BLOB_BYTES) writeFileAtomicSync(this.#tmpDir, this.pathOf(d), data, 0o444);
    else await writeFileAtomic(this.#tmpDir, this.pathOf(d), data, 0o444);
  }

  /**
   * Imports a file (e.g. an action output): copies it into the store's tmp/ while hashing it, then
   * commits it unless a verified copy is already stored. With `noFollow` the file is opened with
   * O_NOFOLLOW (a symlink fails with ELOOP), so an output is never read through a symlink.
   * @returns the file's digest.
   * @throws the OS error when `src` cannot be read (ELOOP for a symlink with `noFollow`, EISDIR …).
   */
  async putFile(src: string, opts: { noFollow?: boolean } = {}): Promise<Digest> {
    const small = this.#putSmallFile(src, opts);
    if (small) return small;
    const tmp = tempPath(this.#tmpDir);
    const fh = await open(src, constants.O_RDONLY | (opts.noFollow ? constants.O_NOFOLLOW : 0));
    try {
      if (!(await fh.stat()).isFile()) throw new GomaError(Code.InvalidArgument, `"${src}" is not a regular file`);
      const out = await open(tmp, "wx", 0o444);
      const hash = createHash("sha256");
      let sizeBytes = 0;
      try {
        const buf = Buffer.allocUnsafe(256 * 1024);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
          if (bytesRead === 0) break;
          const chunk = buf.subarray(0, bytesRead);
          hash.update(chunk);
          for (let off = 0; off < bytesRead;) off += (await out.write(chunk, off, bytesRead - off)).bytesWritten;
          sizeBytes += bytesRead;
        }
      } finally {
        await out.close();
      }
      const d = { hash: hash.digest("hex"), sizeBytes };
      if (sizeBytes === 0 || ((await this.has(d)) && (await this.verify(d)))) {
        await unlink(tmp);
      } else {
        await commitTemp(tmp, this.pathOf(d));
      }
      return d;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    } finally {
      await fh.close();
    }
  }

  /**
   * {@link DiskCas.putFile} for a file of at most {@link SMALL_BLOB_BYTES} (an object file, a dep file,
   * stdout), synchronously: opened once (O_NOFOLLOW with `noFollow`), read whole, hashed, and written to
   * tmp/ and renamed into place unless a verified copy is stored. Undefined for a larger file (the caller
   * streams it).
   */
  #putSmallFile(src: string, opts: { noFollow?: boolean }): Digest | undefined {
    const fd = openSync(src, constants.O_RDONLY | (opts.noFollow ? constants.O_NOFOLLOW : 0));
    let data: Buffer;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new GomaError(Code.InvalidArgument, `"${src}" is not a regular file`);
      if (st.size > SMALL_BLOB_BYTES) return undefined;
      // One byte more than the size: a file that grew since fstat is read to its end below.
      let buf = Buffer.allocUnsafe(st.size + 1);
      let n = 0;
      for (;;) {
        if (n === buf.byteLength) {
          const bigger = Buffer.allocUnsafe(buf.byteLength * 2);
          buf.copy(bigger, 0, 0, n);
          buf = bigger;
        }
        const got = readSync(fd, buf, n, buf.byteLength - n, null);
        if (got === 0) break;
        n += got;
      }
      data = buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
    const d = digestOf(data);
    if (d.sizeBytes === 0 || (this.#hasSync(d) && this.#verifySmallSync(d))) return d;
    writeFileAtomicSync(this.#tmpDir, this.pathOf(d), data, 0o444);
    return d;
  }

  /** {@link DiskCas.verify} of a stored small blob, synchronously (a corrupt one is removed and counted). */
  #verifySmallSync(d: Digest): boolean {
    let got: Digest;
    try {
      got = digestOf(readFileSync(this.pathOf(d)));
    } catch {
      return false;
    }
    if (got.sizeBytes === d.sizeBytes && got.hash === d.hash) return true;
    if (got.sizeBytes === d.sizeBytes) this.#discardSync(d, got.hash);
    return false;
  }

  /**
   * Starts a streaming write of a blob (ByteStream Write). Nothing is visible until `commit()`, which
   * verifies the digest.
   */
  async createWriter(d: Digest): Promise<CasWriter> {
    return CasWriter.create(d, tempPath(this.#tmpDir), (tmp) => commitTemp(tmp, this.pathOf(d)));
  }

  /**
   * Streams a blob's bytes from `offset`, at most `limit` bytes (0 = to the end), in chunks of
   * `chunkBytes`. A whole-blob read is hashed as it streams and the last chunk is yielded only once the
   * hash matched; a ranged read verifies the whole blob first. So a corrupt blob never reaches its end.
   * @throws {GomaError} NotFound when absent or corrupt (then removed); OutOfRange when `offset` is beyond
   * the blob.
   */
  async *read(d: Digest, offset = 0, limit = 0, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
    if (offset < 0 || offset > d.sizeBytes) {
      throw new GomaError(Code.OutOfRange, `Read offset ${offset} is outside blob ${digestKey(d)}`);
    }
    const end = limit > 0 ? Math.min(d.sizeBytes, offset + limit) : d.sizeBytes;
    const notFound = () => new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
    const corrupt = () => new GomaError(Code.NotFound, `Blob ${digestKey(d)} was corrupt on disk and is removed; upload it again`);
    if (d.sizeBytes === 0 || offset === end) {
      if (!(await this.has(d))) throw notFound();
      return;
    }
    const whole = offset === 0 && end === d.sizeBytes;
    if (!whole && !(await this.verify(d))) throw (await this.has(d)) ? notFound() : corrupt();
    const fh = await open(this.pathOf(d), constants.O_RDONLY).catch(() => {
      throw notFound();
    });
    const hash = whole ? createHash("sha256") : undefined;
    let held: Uint8Array | undefined;
    try {
      for (let pos = offset; pos < end;) {
        const buf = Buffer.allocUnsafe(Math.min(chunkBytes, end - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
        if (bytesRead === 0) throw new GomaError(Code.DataLoss, `Blob ${digestKey(d)} is truncated on disk`);
        pos += bytesRead;
        hash?.update(buf.subarray(0, bytesRead));
        if (held) yield held;
        held = buf.subarray(0, bytesRead);
      }
      if (hash) {
        const got = hash.digest("hex");
        if (got !== d.hash) {
          await this.#discard(d, got);
          throw corrupt();
        }
      }
      if (held) yield held;
    } finally {
      await fh.close();
    }
  }

  /**
   * Places a copy of a blob at `dest` (which must not exist), mode 0444 (0555 for executables), and
   * verifies the copy against the digest (a blob of at most 1 MiB is read and verified, and exactly the
   * verified bytes are written: {@link DiskCas.#materializeSmall}). Never a hard link: an action running as root could write
   * through a shared inode into the store (reflinks where the file system has them: copy-on-write).
   * Cost on this project's ext4 machine: 60 files (1.4 MiB, a lua compile's input root is smaller) take
   * 15 ms to copy and verify, against 0.4 ms to hard-link.
   * @throws {GomaError} NotFound when the blob is absent or corrupt (then removed from the store; `dest`
   * is removed too).
   */
  async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    const mode = executable ? 0o555 : 0o444;
    if (d.sizeBytes === 0) {
      await writeFile(dest, new Uint8Array(0), { mode, flag: "wx" });
      return;
    }
    if (d.sizeBytes <= SMALL_BLOB_BYTES) return this.#materializeSmall(d, dest, mode);
    try {
      await copyFile(this.pathOf(d), dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        await unlink(dest).catch(() => {});
        throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
      }
      throw err;
    }
    await chmod(dest, mode);
    const got = await hashFile(dest);
    if (got.sizeBytes !== d.sizeBytes || got.hash !== d.hash) {
      await unlink(dest).catch(() => {});
      if (got.sizeBytes === d.sizeBytes) await this.#discard(d, got.hash);
      throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found (it was corrupt on disk)`);
    }
  }

  /**
   * {@link DiskCas.materialize} of a small blob, synchronously: the stored bytes are read and verified
   * against the digest, and exactly those bytes are written to `dest` (created, O_EXCL), which is then
   * given `mode`. The action sees verified content, as with the copy-then-verify of larger blobs; a
   * corrupt blob is removed from the store and `dest` is not created.
   */
  #materializeSmall(d: Digest, dest: string, mode: number): void {
    let data: Buffer;
    try {
      data = readFileSync(this.pathOf(d));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
      throw err;
    }
    const got = digestOf(data);
    if (got.sizeBytes !== d.sizeBytes || got.hash !== d.hash) {
      if (got.sizeBytes === d.sizeBytes) this.#discardSync(d, got.hash);
      throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found (it was corrupt on disk)`);
    }
    const fd = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      for (let off = 0; off < data.byteLength;) off += writeSync(fd, data, off, data.byteLength - off);
    } catch (err) {
      closeSync(fd);
      try { unlinkSync(dest); } catch { /* gone already */ }
      throw err;
    }
    closeSync(fd);
    chmodSync(dest, mode); // the umask may have narrowed the mode given to open
  }
}

/**
 * Blobs up to this size are read, hashed and written with synchronous calls (1 MiB: a source file, a
 * header, an object file of a small TU): each takes microseconds on a local disk, less than scheduling
 * one async call through the thread pool, which the miss path would otherwise pay several times per
 * blob. Larger blobs keep the async (and, for materialize, copy-on-write) path.
 */
const SMALL_BLOB_BYTES = 1024 * 1024;

/** Files up to this size are hashed from one read; larger ones are streamed. */
const HASH_IN_ONE_READ_BYTES = 4 * 1024 * 1024;

/**
 * The digest of a file's content (SHA-256 and size).
 * @throws the OS error when the file cannot be read.
 */
async function hashFile(path: string): Promise<Digest> {
  const st = await stat(path);
  if (st.size <= HASH_IN_ONE_READ_BYTES) return digestOf(await readFile(path));
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).byteLength;
  }
  return { hash: hash.digest("hex"), sizeBytes };
}
