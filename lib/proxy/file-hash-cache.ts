/**
 * The proxy's file hash cache: for each input file, its Goma hash key (of the top FileBlob) and its
 * REAPI digest, reused while the file's (device, inode, size, mtime) are unchanged, so that a header read
 * by a thousand compiles is hashed once. Like Goma's FileHashCache (compiler_proxy /filecachez).
 */
import { statSync } from "node:fs";
import { stat, readFile } from "node:fs/promises";
import { blobsForContent, type KeyedBlob } from "../goma/file-blob.ts";

/** What the cache knows about one file. */
export interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
  /** Hash key of the top blob (FILE, or FILE_META for files over 2 MiB). */
  hashKey: string;
  isExecutable: boolean;
}

/** A file with its blobs, for sending content. */
export interface FileContent {
  entry: FileEntry;
  top: KeyedBlob;
  chunks: KeyedBlob[];
}

/** Cache of {@link FileEntry} by absolute path. */
export class FileHashCache {
  private entries = new Map<string, { key: string; entry: FileEntry }>();
  readonly stats = { hits: 0, misses: 0 };

  /**
   * The entry for `absPath`, hashing the file when it is new or changed. The stat is synchronous: on
   * the warm path (every input of every compile, a local output cache hit included) one `statSync` costs a
   * few µs where an awaited `stat` costs a trip through the event loop (lua5.4's lapi.c: ~0.6 ms of 40).
   * @param seen a stat of `absPath` just taken by the caller (the include processor's, IncludeProcessor
   *   `seenStat`): when it matches the cached entry, no stat is made.
   * @throws {Error} ENOENT & co. when the file cannot be read.
   */
  async get(absPath: string, seen?: { dev: number; ino: number; size: number; mtimeMs: number; dir: boolean }): Promise<FileEntry> {
    const e = this.entries.get(absPath);
    if (e && seen && !seen.dir && e.key === `${seen.dev}:${seen.ino}:${seen.size}:${seen.mtimeMs}`) {
      this.stats.hits++;
      return e.entry;
    }
    const st = statSync(absPath);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (e && e.key === key) {
      this.stats.hits++;
      return e.entry;
    }
    this.stats.misses++;
    return (await this.load(absPath, key, st.mode)).entry;
  }

  /** Reads the file and returns its blobs (refreshing the entry). */
  async content(absPath: string): Promise<FileContent> {
    const st = await stat(absPath);
    return this.load(absPath, `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`, st.mode);
  }

  private async load(absPath: string, key: string, mode: number): Promise<FileContent> {
    const data = new Uint8Array(await readFile(absPath));
    const { top, chunks } = blobsForContent(data);
    const [, , , mtime] = key.split(":");
    const entry: FileEntry = {
      path: absPath,
      size: data.byteLength,
      mtimeMs: Number(mtime),
      hashKey: top.hashKey,
      isExecutable: (mode & 0o111) !== 0,
    };
    this.entries.set(absPath, { key, entry });
    return { entry, top, chunks };
  }

  /** Number of cached files. */
  get size(): number {
    return this.entries.size;
  }
}
