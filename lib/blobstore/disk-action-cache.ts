/**
 * An action cache on local disk. Entries are serialized `ActionResult`s keyed by instance name and action
 * digest, like Buildbarn's AC (the CAS is shared across instance names; the AC is not). The file name is
 * `sha256(instanceName + "\0" + hash/size)`, so any instance name (with slashes, or empty) maps to one
 * safe path: `<dir>/<k[0:2]>/<k>`. Writes are atomic (temporary file, then rename).
 *
 * Integrity: a protobuf with one flipped byte often still decodes (to another path, another digest), so
 * each file is `"GOMAAC1\n"`, the SHA-256 of the serialized ActionResult (32 bytes), then the
 * ActionResult. An entry whose checksum does not match is a miss: it is removed, counted in
 * {@link DiskActionCache.corruptEntries} and logged. Entries without the header (older goma) are misses
 * too, removed silently.
 *
 * Under a size limit (size-limited-store.ts) this is an {@link EvictableActionCache} whose entry keys are
 * the entry files' paths.
 *
 * Spec: REAPI ActionCache.GetActionResult / UpdateActionResult; reference/reapi-buildbarn.md §2.3.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestKey, sha256Hex } from "../digest/digest.ts";
import { log } from "../util/log.ts";
import { build } from "../reapi/proto.ts";
import { prepareTmpDir, writeFileAtomicSync } from "./atomic-file.ts";
import type { ActionResultMessage, EvictableActionCache, StoredEntry } from "./cas.ts";
import { scanStore } from "./scan-store.ts";
import R = build.bazel.remote.execution.v2;

/** The header of an entry file: format tag, then the payload's SHA-256. */
const MAGIC = Buffer.from("GOMAAC1\n");
const HEADER_BYTES = MAGIC.byteLength + 32;

/**
 * A disk action cache rooted at one directory. Safe for concurrent use; the last writer wins.
 * Spec: REAPI ActionCache keyed by (instance_name, action_digest); reference/reapi-buildbarn.md §2.3.
 */
export class DiskActionCache implements EvictableActionCache {
  /** The cache's root directory. */
  readonly dir: string;
  /** Entries found corrupt (checksum mismatch) and removed since open. */
  corruptEntries = 0;
  readonly #tmpDir: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#tmpDir = join(dir, "tmp");
  }

  /** Opens (creating if needed) a disk action cache in `dir`. */
  static async open(dir: string): Promise<DiskActionCache> {
    const ac = new DiskActionCache(dir);
    await prepareTmpDir(ac.#tmpDir);
    return ac;
  }

  /** The file an entry is (or would be) stored in. */
  pathOf(instanceName: string, actionDigest: Digest): string {
    const k = sha256Hex(`${instanceName}\0${digestKey(actionDigest)}`);
    return join(this.dir, k.slice(0, 2), k);
  }

  /** The entry key for a size limit: the entry's file path ({@link DiskActionCache.pathOf}). */
  entryKey(instanceName: string, actionDigest: Digest): string {
    return this.pathOf(instanceName, actionDigest);
  }

  /** Bytes the entry file for `result` takes: header and serialized ActionResult. */
  entrySizeBytes(result: ActionResultMessage): number {
    return HEADER_BYTES + R.ActionResult.encode(result).finish().byteLength;
  }

  /** Every stored entry file (tmp/ skipped), for a size limit's initial accounting. */
  listEntries(): Promise<StoredEntry[]> {
    return scanStore(this.dir);
  }

  /** Removes the entry file `key` (a path from {@link DiskActionCache.entryKey}); an absent one is ignored. */
  async removeEntry(key: string): Promise<void> {
    if (!key.startsWith(`${this.dir}/`)) throw new RangeError(`"${key}" is not an entry of the action cache in "${this.dir}"`);
    await unlink(key).catch(() => {});
  }

  /**
   * The stored result, or undefined when absent, in an older format, or corrupt (checksum mismatch or
   * undecodable: removed and counted). A miss, never a changed result.
   */
  async get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    const path = this.pathOf(instanceName, actionDigest);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      return undefined;
    }
    if (data.byteLength < HEADER_BYTES || !data.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
      await unlink(path).catch(() => {});
      return undefined;
    }
    const payload = data.subarray(HEADER_BYTES);
    const sum = createHash("sha256").update(payload).digest();
    let result: ActionResultMessage | undefined;
    if (sum.equals(data.subarray(MAGIC.byteLength, HEADER_BYTES))) {
      try {
        result = R.ActionResult.decode(payload);
      } catch {
        // a checksummed entry that does not decode: written by something else; treated as corrupt
      }
    }
    if (!result) {
      this.corruptEntries++;
      log.warn(`AC integrity: entry for action ${digestKey(actionDigest)} (instance "${instanceName}") is corrupt on disk: ` +
        `removed, a miss (${this.corruptEntries} corrupt entries since start)`);
      await unlink(path).catch(() => {});
      return undefined;
    }
    return result;
  }

  /** Stores (replaces) a result atomically, with its checksum. */
  async put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    const payload = R.ActionResult.encode(result).finish();
    const sum = createHash("sha256").update(payload).digest();
    const data = Buffer.concat([MAGIC, sum, payload]);
    const path = this.pathOf(instanceName, actionDigest);
    writeFileAtomicSync(this.#tmpDir, path, data, 0o644); // a few hundred bytes: cheaper than an async write
  }
}
