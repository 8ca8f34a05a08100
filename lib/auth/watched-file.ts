/**
 * A secret file (token list, signing secret, bearer token, service-account JSON, TLS material) that is
 * re-read when it changes, so rotating a credential needs no restart. Each {@link WatchedFile.get} stats
 * the file (a few microseconds) and re-reads and re-parses it only when its identity changed: mtime, size,
 * inode or ctime — an atomic rename or an in-place rewrite both count.
 *
 * A re-read that fails (file gone for a moment, half-written, unparsable) keeps the last good value and
 * records the error in {@link WatchedFile.lastError}; only the first read throws. Contents are never
 * logged.
 */
import { readFileSync, statSync } from "node:fs";
import { Code, GomaError } from "../util/status.ts";
import { log } from "../util/log.ts";

/** Parses the bytes of the file; throws (any error) when they are not acceptable. */
export type FileParser<T> = (bytes: Buffer) => T;

/** Identity of a file version: changes when the file is rewritten or replaced. */
export function fileStamp(path: string): string {
  const st = statSync(path);
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** A parsed file, refreshed on change. Safe to share; not thread-bound. */
export class WatchedFile<T> {
  #stamp = "";
  #value?: { v: T };
  /** The error of the last failed re-read (the last good value is still served), else undefined. */
  lastError?: string;
  /** How many times the file was (re-)read successfully. */
  loads = 0;

  /**
   * Reads the file once.
   * @param what how messages name the file, e.g. `the token file (--remoteexec-token-file)`.
   * @throws {GomaError} FailedPrecondition `Failed to read <what> "<path>": <reason>`.
   */
  constructor(readonly path: string, readonly what: string, private readonly parse: FileParser<T>) {
    this.get();
  }

  /**
   * The current value, re-read first when the file changed.
   * @throws {GomaError} FailedPrecondition only when no good value was ever read.
   */
  get(): T {
    let stamp: string;
    try {
      stamp = fileStamp(this.path);
    } catch (e) {
      return this.#failed(e);
    }
    if (stamp === this.#stamp && this.#value) return this.#value.v;
    try {
      const v = this.parse(readFileSync(this.path));
      this.#value = { v };
      this.#stamp = stamp;
      this.loads++;
      if (this.lastError) log.info(`${this.what} "${this.path}" is readable again`);
      this.lastError = undefined;
      return v;
    } catch (e) {
      return this.#failed(e);
    }
  }

  #failed(e: unknown): T {
    const msg = `Failed to read ${this.what} "${this.path}": ${e instanceof Error ? e.message : String(e)}`;
    if (!this.#value) throw new GomaError(Code.FailedPrecondition, msg, { cause: e });
    if (this.lastError !== msg) log.warn(`${msg}; keeping the version read before`);
    this.lastError = msg;
    return this.#value.v;
  }
}
