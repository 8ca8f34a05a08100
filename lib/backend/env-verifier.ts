/**
 * The embedded backend checks an action's environment manifest (`.goma/env-manifest`, lib/server/wrapper.ts)
 * itself, outside the action, before running it: each listed worker file's SHA-256 must equal the
 * manifest's. Results are kept in memory per file, keyed by its stat data (device, inode, size, mtime,
 * ctime), so a file is hashed once and then costs one stat per action (a synchronous stat(2): a manifest
 * lists every system header and compiler file of the compile, and an async call per line cost more CPU
 * than the action's other bookkeeping together). A verified manifest is passed to
 * the wrapper as `GOMA_ENV_VERIFIED=<sha256 of the manifest>` in the process environment (never in the
 * Command, whose variables the command rule limits), and the wrapper then skips its own check, so no
 * verification marker is written anywhere an action could forge one. A manifest that does not verify
 * is left to the wrapper, which names the differing files (exit 125 → the client compiles locally).
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";

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

/** Parsed manifests kept (by text) so a repeated manifest is not parsed again; the oldest is dropped. */
const MAX_PARSED_MANIFESTS = 256;

/** One file's known hash: `value` once hashing finished. */
interface FileHash {
  stamp: string;
  hash: Promise<string>;
  value?: string;
}

/** Verifies manifests against this machine's files. Safe for concurrent use. */
export class EnvVerifier {
  readonly #hashes = new Map<string, FileHash>();
  /** Manifest text → its lines as `{ want, path }`, or undefined for a line that is not `<sha256>  /path`. */
  readonly #parsed = new Map<string, ({ want: string; path: string } | undefined)[]>();

  #parse(text: string): ({ want: string; path: string } | undefined)[] {
    let lines = this.#parsed.get(text);
    if (!lines) {
      lines = text.split("\n").filter(Boolean).map((line) => {
        const m = /^([0-9a-f]{64}) {2}(\/.*)$/.exec(line);
        return m ? { want: m[1]!, path: m[2]! } : undefined;
      });
      if (this.#parsed.size >= MAX_PARSED_MANIFESTS) this.#parsed.delete(this.#parsed.keys().next().value!);
      this.#parsed.set(text, lines);
    }
    return lines;
  }

  /**
   * True when every `<sha256>  <path>` line of `text` matches the file at `path` (symlinks followed).
   * Each file is stat'ed (synchronously); only a file not hashed yet at its current stat data is read.
   */
  async verify(text: string): Promise<boolean> {
    const pending: { e: FileHash; want: string; path: string }[] = [];
    for (const line of this.#parse(text)) {
      if (!line) return false;
      const { want, path } = line;
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st || !st.isFile()) {
        this.#hashes.delete(path);
        return false;
      }
      const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      let e = this.#hashes.get(path);
      if (!e || e.stamp !== stamp) {
        const fresh: FileHash = { stamp, hash: hashFile(path) };
        fresh.hash.then((v) => { fresh.value = v; }, () => {});
        e = fresh;
        this.#hashes.set(path, e);
      }
      if (e.value !== undefined) {
        if (e.value !== want) return false;
      } else {
        pending.push({ e, want, path });
      }
    }
    for (const p of pending) {
      try {
        if ((await p.e.hash) !== p.want) return false;
      } catch {
        if (this.#hashes.get(p.path) === p.e) this.#hashes.delete(p.path);
        return false;
      }
    }
    return true;
  }
}
