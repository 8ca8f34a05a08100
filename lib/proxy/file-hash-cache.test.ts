import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileHashCache } from "./file-hash-cache.ts";

/** FileHashCache: an entry is reused while the file's stat is unchanged, whether the cache stats it or the caller hands a stat in. */
const dir = mkdtempSync(join(tmpdir(), "goma-file-hash-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const seenOf = (p: string) => {
  const s = statSync(p);
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, dir: false };
};

describe("FileHashCache", () => {
  test("FileHashCache.get(): hashed once while unchanged; an edit (new content, same size) is hashed again", async () => {
    const p = join(dir, "a.h");
    writeFileSync(p, "int a;\n");
    const c = new FileHashCache();
    const first = await c.get(p);
    assert.equal((await c.get(p)).hashKey, first.hashKey);
    assert.deepEqual(c.stats, { hits: 1, misses: 1 });
    writeFileSync(p, "int b;\n");
    utimesSync(p, new Date(2021, 0, 1), new Date(2021, 0, 1));
    const edited = await c.get(p);
    assert.notEqual(edited.hashKey, first.hashKey);
    assert.equal(c.stats.misses, 2);
  });

  test("FileHashCache.get(path, seen): a stat the caller just took that matches the entry is a hit; one of a new version hashes the file again", async () => {
    const p = join(dir, "b.h");
    writeFileSync(p, "int a;\n");
    const c = new FileHashCache();
    const first = await c.get(p, seenOf(p));
    assert.equal((await c.get(p, seenOf(p))).hashKey, first.hashKey);
    assert.deepEqual(c.stats, { hits: 1, misses: 1 });
    writeFileSync(p, "int b;\n"); // same size
    utimesSync(p, new Date(2021, 0, 1), new Date(2021, 0, 1));
    const edited = await c.get(p, seenOf(p));
    assert.notEqual(edited.hashKey, first.hashKey);
    assert.equal(edited.hashKey, (await new FileHashCache().get(p)).hashKey);
    assert.deepEqual(c.stats, { hits: 1, misses: 2 });
    assert.equal((await c.get(p, { ...seenOf(p), dir: true })).hashKey, edited.hashKey, "a directory's stat is never taken as the file's: stat'ed itself");
    assert.deepEqual(c.stats, { hits: 2, misses: 2 });
  });
});
