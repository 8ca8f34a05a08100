/**
 * An action cache on local disk. Entries are serialized `ActionResult`s keyed by instance name and action
 * digest, like Buildbarn's AC (the CAS is shared across instance names; the AC is not). The file name is
 * `sha256(instanceName + "\0" + hash/size)`, so any instance name (with slashes, or empty) maps to one
 * safe path: `<dir>/<k[0:2]>/<k>`. Writes are atomic (temporary file, then rename).
 *
 * Spec: REAPI ActionCache.GetActionResult / UpdateActionResult; reference/reapi-buildbarn.md §2.3.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestKey, sha256Hex } from "../digest/digest.ts";
import { build } from "../reapi/proto.ts";
import { prepareTmpDir, writeFileAtomic } from "./atomic-file.ts";
import type { ActionCache, ActionResultMessage } from "./cas.ts";
import R = build.bazel.remote.execution.v2;

/**
 * A disk action cache rooted at one directory. Safe for concurrent use; the last writer wins.
 * Spec: REAPI ActionCache keyed by (instance_name, action_digest); reference/reapi-buildbarn.md §2.3.
 */
export class DiskActionCache implements ActionCache {
  /** The cache's root directory. */
  readonly dir: string;
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

  /** The stored result, or undefined when absent or unreadable (a corrupt entry is a miss). */
  async get(instanceName: string, actionDigest: Digest): Promise<ActionResultMessage | undefined> {
    let data: Uint8Array;
    try {
      data = await readFile(this.pathOf(instanceName, actionDigest));
    } catch {
      return undefined;
    }
    try {
      return R.ActionResult.decode(data);
    } catch {
      return undefined;
    }
  }

  /** Stores (replaces) a result atomically. */
  async put(instanceName: string, actionDigest: Digest, result: ActionResultMessage): Promise<void> {
    const data = R.ActionResult.encode(result).finish();
    await writeFileAtomic(this.#tmpDir, this.pathOf(instanceName, actionDigest), data, 0o644);
  }
}
