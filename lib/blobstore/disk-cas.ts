/**
 * A content-addressable store on local disk: blob `h` lives at `<dir>/<h[0:2]>/<h>`, read-only (0444).
 * Every write verifies the digest and is atomic (temporary file in `<dir>/tmp`, then rename), so an entry
 * under its final name is always complete; reads check the size as well. The empty blob always exists
 * and is never stored. This backs the embedded REAPI server (lib/backend/).
 *
 * Spec: REAPI ContentAddressableStorage semantics, empty blob rule; reference/reapi-buildbarn.md §1.5.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { chmod, copyFile, link, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestKey, digestOf } from "../digest/digest.ts";
import { Code, GomaError } from "../util/status.ts";
import { commitTemp, prepareTmpDir, tempPath, writeFileAtomic } from "./atomic-file.ts";
import type { Cas } from "./cas.ts";
import { CasWriter } from "./cas-writer.ts";

/**
 * A disk CAS rooted at one directory. Safe for concurrent use within and across processes.
 * Spec: REAPI ContentAddressableStorage (empty blob always present); reference/reapi-buildbarn.md §1.5.
 */
export class DiskCas implements Cas {
  /** The store's root directory. */
  readonly dir: string;
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

  /** The path a blob is (or would be) stored at. */
  pathOf(d: Digest): string {
    return join(this.dir, d.hash.slice(0, 2), d.hash);
  }

  /** True when the blob is stored with the right size (always for the empty blob). */
  async has(d: Digest): Promise<boolean> {
    if (d.sizeBytes === 0) return true;
    try {
      return (await stat(this.pathOf(d))).size === d.sizeBytes;
    } catch {
      return false;
    }
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    const present = await Promise.all(digests.map((d) => this.has(d)));
    return digests.filter((_, i) => !present[i]);
  }

  async get(d: Digest): Promise<Uint8Array | undefined> {
    if (d.sizeBytes === 0) return new Uint8Array(0);
    try {
      const data = await readFile(this.pathOf(d));
      return data.byteLength === d.sizeBytes ? data : undefined;
    } catch {
      return undefined;
    }
  }

  async put(d: Digest, data: Uint8Array): Promise<void> {
    const got = digestOf(data);
    if (got.hash !== d.hash || got.sizeBytes !== d.sizeBytes) {
      throw new GomaError(Code.InvalidArgument,
        `Blob ${digestKey(d)} has data with digest ${digestKey(got)}`);
    }
    if (await this.has(d)) return;
    await writeFileAtomic(this.#tmpDir, this.pathOf(d), data, 0o444);
  }

  /**
   * Imports a file (e.g. an action output) by copying it, hashing the copy, and committing it.
   * @returns the file's digest.
   */
  async putFile(src: string): Promise<Digest> {
    const tmp = tempPath(this.#tmpDir);
    try {
      await copyFile(src, tmp);
      const hash = createHash("sha256");
      let sizeBytes = 0;
      for await (const chunk of createReadStream(tmp)) {
        hash.update(chunk as Buffer);
        sizeBytes += (chunk as Buffer).byteLength;
      }
      const d = { hash: hash.digest("hex"), sizeBytes };
      if (sizeBytes === 0 || (await this.has(d))) {
        await unlink(tmp);
      } else {
        await chmod(tmp, 0o444);
        await commitTemp(tmp, this.pathOf(d));
      }
      return d;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
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
   * `chunkBytes`.
   * @throws {GomaError} NotFound when absent; OutOfRange when `offset` is beyond the blob.
   */
  async *read(d: Digest, offset = 0, limit = 0, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
    if (offset < 0 || offset > d.sizeBytes) {
      throw new GomaError(Code.OutOfRange, `Read offset ${offset} is outside blob ${digestKey(d)}`);
    }
    const end = limit > 0 ? Math.min(d.sizeBytes, offset + limit) : d.sizeBytes;
    if (d.sizeBytes === 0 || offset === end) {
      if (!(await this.has(d))) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
      return;
    }
    const fh = await open(this.pathOf(d), constants.O_RDONLY).catch(() => {
      throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
    });
    try {
      for (let pos = offset; pos < end;) {
        const buf = Buffer.allocUnsafe(Math.min(chunkBytes, end - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
        if (bytesRead === 0) throw new GomaError(Code.DataLoss, `Blob ${digestKey(d)} is truncated on disk`);
        pos += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Places a blob at `dest` (which must not exist): a hard link for plain files (shares the read-only
   * inode), a copy with mode 0555 for executables. Falls back to copying when linking is impossible.
   * @throws {GomaError} NotFound when the blob is absent.
   */
  async materialize(d: Digest, dest: string, executable: boolean): Promise<void> {
    if (d.sizeBytes === 0) {
      await writeFile(dest, new Uint8Array(0), { mode: executable ? 0o555 : 0o444, flag: "wx" });
      return;
    }
    const src = this.pathOf(d);
    if (!(await this.has(d))) throw new GomaError(Code.NotFound, `Blob ${digestKey(d)} not found`);
    if (!executable) {
      try {
        await link(src, dest);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EXDEV" && code !== "EMLINK" && code !== "EPERM") throw err;
      }
    }
    await copyFile(src, dest, constants.COPYFILE_EXCL);
    await chmod(dest, executable ? 0o555 : 0o444);
  }
}
