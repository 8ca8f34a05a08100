/**
 * Goma's LocalOutputCache (client `local_output_cache.cc`, reference/goma-protocol.md §4.5): results of
 * successful compiles kept on the proxy's disk, so that an identical compile is answered without asking
 * the server. Off unless `GOMA_LOCAL_OUTPUT_CACHE_DIR` is set, as in Goma.
 *
 * Key: lowercase hex SHA-256 of the serialized ExecReq after the compile type's ExecReqNormalizer
 * (lib/compiler/normalize.ts for gcc, clang and fake).
 *
 * Layout: `<dir>/<first 2 hex chars of the key>/<key>`, one file per entry (not Goma's proto: entries are
 * ours alone):
 *
 *     32 bytes   SHA-256 of the header
 *     4 bytes    big-endian length N of the header
 *     N bytes    header, JSON {@link EntryHeader} (sizes and SHA-256 of every part below)
 *     …          the parts: each output file's content in header order, then stdout, then stderr
 *
 * Every read checks the header's digest, the key and the digest of every part (so every byte is covered
 * once, and a hit hashes its outputs once); an entry that fails any
 * check is a miss and is removed (counted in `corrupt`), never served. Writes go to a temporary name in
 * the same directory and are renamed into place, so a reader, a crash or two concurrent stores of the
 * same key never leave a torn entry. GC (Goma's rule): once the entries exceed the maximum size or item
 * count, the least recently used are removed until both are at or below the threshold. Use is the entry
 * file's mtime (touched on every hit), so the order survives restarts.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { join, resolve } from "node:path";
import { goma, type IExecReq } from "../goma/proto.ts";
import { log } from "../util/log.ts";
import { normalizeExecReq } from "../compiler/normalize.ts";
import type { ExecReqNormalizer } from "../compiler/compiler-type.ts";
import type { LocalOutputCacheLimits } from "../config/proxy-config.ts";

/** One stored output file. `name` is as in the ExecReq's expected_output_files (cwd-relative or absolute). */
export interface CachedFile {
  name: string;
  content: Uint8Array;
  isExecutable: boolean;
}

/** What an entry holds: the outputs of a successful compile and what the compiler printed. */
export interface CachedResult {
  files: CachedFile[];
  /** Always 0: only successful compiles are stored. */
  exitStatus: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** The JSON header of an entry file (see the module comment). Sizes in bytes, digests lowercase hex SHA-256. */
export interface EntryHeader {
  v: 1;
  key: string;
  exitStatus: number;
  files: { name: string; size: number; sha256: string; isExecutable: boolean }[];
  stdout: { size: number; sha256: string };
  stderr: { size: number; sha256: string };
}

/**
 * Size limits (bytes and entries); GC starts above `max*` and stops at or below `threshold*`. Read from
 * Goma's variables by lib/config/proxy-config.ts `localOutputCacheLimitsFromEnv`.
 */
export type LocalCacheLimits = LocalOutputCacheLimits;

/** Counters shown on the dashboard (/statz). */
export interface LocalCacheStats {
  hits: number;
  misses: number;
  stores: number;
  /** Entries that failed verification on read (removed). */
  corrupt: number;
  /** Entries removed by GC. */
  evicted: number;
  /** Stores or reads that failed with an I/O error (the compile was unaffected). */
  errors: number;
  /** Results not stored because one entry would exceed the size threshold. */
  tooLarge: number;
  /** Entries and bytes currently known (after the start-up scan). */
  entries: number;
  bytes: number;
}

/**
 * The default ExecReqNormalizer, {@link normalizeExecReq} (lib/compiler/normalize.ts), under its old name.
 * A compile's own type supplies the normalizer the task uses (CompilerType.normalizer).
 */
export const normalizeForLocalCache: ExecReqNormalizer = normalizeExecReq;

/**
 * The local cache's key of an ExecReq: lowercase hex SHA-256 of the serialized normalized request.
 * @param normalize the compile's type's ExecReqNormalizer (CompilerType.normalizer); default {@link normalizeExecReq}.
 */
export function localCacheKey(req: IExecReq, normalize: ExecReqNormalizer = normalizeExecReq): string {
  return createHash("sha256").update(goma.ExecReq.encode(normalize(req)).finish()).digest("hex");
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Serializes an entry (see the module comment). */
export function encodeEntry(key: string, r: CachedResult): Uint8Array {
  const header: EntryHeader = {
    v: 1,
    key,
    exitStatus: r.exitStatus,
    files: r.files.map((f) => ({ name: f.name, size: f.content.byteLength, sha256: sha256(f.content), isExecutable: f.isExecutable })),
    stdout: { size: r.stdout.byteLength, sha256: sha256(r.stdout) },
    stderr: { size: r.stderr.byteLength, sha256: sha256(r.stderr) },
  };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const parts = [...r.files.map((f) => f.content), r.stdout, r.stderr];
  const bodyLen = 4 + h.byteLength + parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(32 + bodyLen);
  new DataView(out.buffer).setUint32(32, h.byteLength);
  out.set(h, 36);
  let off = 36 + h.byteLength;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  out.set(createHash("sha256").update(h).digest(), 0);
  return out;
}

/**
 * Parses and verifies an entry read from disk.
 * @returns the result, or a string saying why the entry is not valid for `key` (corrupt, truncated, another key).
 */
export function decodeEntry(key: string, data: Uint8Array): CachedResult | string {
  if (data.byteLength < 36) return `truncated (${data.byteLength} bytes)`;
  const hLen = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(32);
  if (36 + hLen > data.byteLength) return "header overruns the entry";
  const digest = createHash("sha256").update(data.subarray(36, 36 + hLen)).digest();
  if (!digest.equals(data.subarray(0, 32))) return "header digest mismatch";
  let h: EntryHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(data.subarray(36, 36 + hLen))) as EntryHeader;
  } catch {
    return "header is not JSON";
  }
  if (h?.v !== 1 || h.key !== key || !Array.isArray(h.files) || h.exitStatus !== 0) return "header is not an entry for this key";
  let off = 36 + hLen;
  const take = (p: { size: number; sha256: string }): Uint8Array | undefined => {
    if (!p || !Number.isSafeInteger(p.size) || p.size < 0 || off + p.size > data.byteLength) return undefined;
    const b = data.subarray(off, off + p.size);
    off += p.size;
    return sha256(b) === p.sha256 ? b : undefined;
  };
  const files: CachedFile[] = [];
  for (const f of h.files) {
    const content = take(f);
    if (!content || typeof f.name !== "string" || !f.name) return `output ${JSON.stringify(f?.name)} fails its digest`;
    files.push({ name: f.name, content, isExecutable: f.isExecutable === true });
  }
  const stdout = take(h.stdout);
  const stderr = take(h.stderr);
  if (!stdout || !stderr) return "stdout or stderr fails its digest";
  if (off !== data.byteLength) return "trailing bytes";
  return { files, exitStatus: 0, stdout, stderr };
}

/** Entries up to this size (bytes) are read with synchronous calls (see {@link readSmall}). */
const SYNC_READ_MAX = 4 << 20;

/**
 * The whole file at `p` read synchronously when it holds at most {@link SYNC_READ_MAX} bytes, else
 * undefined (the caller reads it through the thread pool, so a huge entry does not hold the event loop).
 * An awaited readFile costs more than the read of a typical entry (lua5.4's lapi.c: ~0.3 ms).
 * @throws {Error} ENOENT & co. as readFile.
 */
function readSmall(p: string): Uint8Array | undefined {
  const fd = openSync(p, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > SYNC_READ_MAX) return undefined;
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    // Entries are renamed into place, never rewritten: a short read is a truncated entry (its checks fail).
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * The cache in one directory. Never throws from {@link lookup} or {@link store}: an I/O error is a miss or
 * a skipped store (counted in `errors`), so a build never fails because the cache did.
 */
export class LocalOutputCache {
  /** Known entries, least recently used first (Map order), with their sizes in bytes. */
  private index = new Map<string, number>();
  private bytes = 0;
  /** Stores in progress by key: a lookup of the same key waits for its entry. */
  private storing = new Map<string, Promise<void>>();
  private tmpSeq = 0;
  private readonly ready: Promise<void>;
  /** Stores and their GC run one after another, after the start-up scan (so the final state is the order's). */
  private queue: Promise<void>;
  readonly counters = { hits: 0, misses: 0, stores: 0, corrupt: 0, evicted: 0, errors: 0, tooLarge: 0 };

  /** Absolute path of the cache directory. */
  readonly dir: string;

  /** Scans `dir` (created 0700 if needed; relative to the current directory) in the background to learn the entries for GC. */
  constructor(dir: string, readonly limits: LocalCacheLimits) {
    this.dir = resolve(dir);
    this.ready = this.scan().catch((e) => {
      this.counters.errors++;
      log.warn(`local output cache ${dir}: scan failed: ${(e as Error).message}`);
    });
    this.queue = this.ready;
  }

  /** The entry's path for `key`. */
  pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), key);
  }

  private async scan(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const found: { key: string; size: number; used: number }[] = [];
    for (const sub of await readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of await readdir(join(this.dir, sub)).catch(() => [] as string[])) {
        const p = join(this.dir, sub, name);
        const st = await stat(p).catch(() => undefined);
        if (!st?.isFile()) continue;
        if (/^[0-9a-f]{64}$/.test(name)) found.push({ key: name, size: st.size, used: st.mtimeMs });
        else if (name.includes(".tmp-") && Date.now() - st.mtimeMs > 3_600_000) await unlink(p).catch(() => {}); // a crashed store
      }
    }
    found.sort((a, b) => a.used - b.used);
    // Entries stored or hit while the scan ran are already in the index, as most recently used.
    const during = [...this.index];
    this.index.clear();
    this.bytes = 0;
    for (const f of found) this.add(f.key, f.size);
    for (const [k, s] of during) this.add(k, s);
    await this.gc();
  }

  private add(key: string, size: number): void {
    this.forget(key);
    this.index.set(key, size);
    this.bytes += size;
  }

  private forget(key: string): void {
    const s = this.index.get(key);
    if (s === undefined) return;
    this.index.delete(key);
    this.bytes -= s;
  }

  /**
   * The verified result stored under `key`, or undefined (a miss). A corrupt entry is removed and is a miss.
   */
  async lookup(key: string): Promise<CachedResult | undefined> {
    await this.storing.get(key);
    const p = this.pathOf(key);
    let data: Uint8Array;
    try {
      data = readSmall(p) ?? new Uint8Array(await readFile(p));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.counters.errors++;
      this.counters.misses++;
      return undefined;
    }
    const r = decodeEntry(key, data);
    if (typeof r === "string") {
      this.counters.corrupt++;
      this.counters.misses++;
      log.warn(`local output cache: entry ${p} is corrupt (${r}): removed`);
      this.forget(key);
      await unlink(p).catch(() => {});
      return undefined;
    }
    this.counters.hits++;
    const size = data.byteLength;
    this.add(key, size); // most recently used
    const now = new Date();
    void utimes(p, now, now).catch(() => {});
    return r;
  }

  /**
   * Stores a successful result under `key` (temp file + rename), then runs GC if a limit is exceeded.
   * Results with a non-zero exit status are ignored; so is a second store of a key already being stored,
   * and an entry larger than the size threshold.
   * Stores are queued: the entry is registered at once (a {@link lookup} of the key waits for it), written
   * in turn. Resolves when written and collected; never rejects.
   */
  store(key: string, r: CachedResult): Promise<void> {
    if (r.exitStatus !== 0 || this.storing.has(key)) return Promise.resolve();
    const done = this.queue.then(async () => {
      try {
        await this.write(key, r);
      } finally {
        this.storing.delete(key);
      }
      await this.gc().catch((e) => {
        this.counters.errors++;
        log.warn(`local output cache: GC failed: ${(e as Error).message}`);
      });
    });
    this.storing.set(key, done);
    this.queue = done;
    return done;
  }

  /** Resolves once every store queued so far is written and collected (the proxy's stop waits for it). */
  drain(): Promise<void> {
    return this.queue;
  }

  private async write(key: string, r: CachedResult): Promise<void> {
    const p = this.pathOf(key);
    const tmp = `${p}.tmp-${process.pid}-${this.tmpSeq++}`;
    try {
      const data = encodeEntry(key, r);
      if (data.byteLength > this.limits.thresholdBytes) {
        // It would push every other entry out and then itself: not kept.
        this.counters.tooLarge++;
        return;
      }
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, "w", 0o600);
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
      await rename(tmp, p);
      this.counters.stores++;
      this.add(key, data.byteLength);
    } catch (e) {
      this.counters.errors++;
      log.warn(`local output cache: cannot store ${p}: ${(e as Error).message}`);
      await unlink(tmp).catch(() => {});
    }
  }

  /** Removes least recently used entries while above a maximum, down to the thresholds (run from the queue). */
  private async gc(): Promise<void> {
    const l = this.limits;
    if (this.bytes <= l.maxBytes && this.index.size <= l.maxItems) return;
    while (this.index.size && (this.bytes > l.thresholdBytes || this.index.size > l.thresholdItems)) {
      const key = this.index.keys().next().value as string;
      this.forget(key);
      await unlink(this.pathOf(key)).catch(() => {});
      this.counters.evicted++;
    }
  }

  /** Resolves once the start-up scan (and its GC) is done; for tests and the dashboard. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** The counters with the current number of entries and bytes. */
  stats(): LocalCacheStats {
    return { ...this.counters, entries: this.index.size, bytes: this.bytes };
  }
}
