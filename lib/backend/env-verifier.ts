/**
 * The embedded backend checks an action's environment manifest (`.goma/env-manifest`, lib/server/wrapper.ts)
 * itself, outside the action, before running it: each listed worker file's SHA-256 must equal the
 * manifest's. Results are kept in memory per file, keyed by its stat data (device, inode, size, mtime,
 * ctime), so a file is hashed once and then costs one stat per action. A verified manifest is passed to
 * the wrapper as `GOMA_ENV_VERIFIED=<sha256 of the manifest>` in the process environment (never in the
 * Command, whose variables the command rule limits), and the wrapper then skips its own check, so no
 * verification marker is written anywhere an action could forge one. A manifest that does not verify
 * is left to the wrapper, which names the differing files (exit 125 → the client compiles locally).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

/** The SHA-256 (hex) of a manifest's text, as the wrapper computes it (`sha256sum < manifest`). */
export function manifestKey(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path).on("error", reject).on("data", (c) => h.update(c)).on("end", () => resolve(h.digest("hex")));
  });
}

/** Verifies manifests against this machine's files. Safe for concurrent use. */
export class EnvVerifier {
  readonly #hashes = new Map<string, { stamp: string; hash: Promise<string> }>();

  /** True when every `<sha256>  <path>` line of `text` matches the file at `path` (symlinks followed). */
  async verify(text: string): Promise<boolean> {
    const lines = text.split("\n").filter(Boolean);
    const results = await Promise.all(lines.map(async (line) => {
      const m = /^([0-9a-f]{64}) {2}(\/.*)$/.exec(line);
      if (!m) return false;
      const [, want, path] = m as unknown as [string, string, string];
      try {
        const st = await stat(path);
        if (!st.isFile()) return false;
        const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
        let e = this.#hashes.get(path);
        if (!e || e.stamp !== stamp) {
          e = { stamp, hash: hashFile(path) };
          this.#hashes.set(path, e);
        }
        return (await e.hash) === want;
      } catch {
        this.#hashes.delete(path);
        return false;
      }
    }));
    return results.every(Boolean);
  }
}
