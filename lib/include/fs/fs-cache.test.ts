import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { newCounters } from "../stats.ts";
import { FsCache, type LookupDeps } from "./fs-cache.ts";
import { LookupCache } from "./resolve.ts";

/**
 * FsCache and LookupCache, the file-system half of an IncludeProcessor: a path is stat'ed once per
 * epoch, a listing is reused while its directory is unchanged, a file is parsed once per version, and
 * a lookup is reused while every listing it consulted is current.
 */
const MODE = { rawStrings: false, digitSeparators: false };
const OLD = new Date("2020-01-01T00:00:00Z");
let dir = "";

/** Writes `text` to `name` (relative to the test dir) and backdates it and its directory past RACY_MS. */
function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  fs.utimesSync(p, OLD, OLD);
  fs.utimesSync(path.dirname(p), OLD, OLD);
  return p;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-fs-cache-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("FsCache", () => {
  test("FsCache.statPath(): once per path and epoch", () => {
    const counters = newCounters();
    const c = new FsCache(counters);
    const p = write("stat/a.h", "int a;\n");
    assert.equal(c.statPath(p)?.dir, false);
    assert.equal(c.statPath(path.dirname(p))?.dir, true);
    assert.equal(c.statPath(path.join(dir, "stat/none.h")), undefined);
    assert.equal(c.statPath(p)?.size, 7);
    assert.equal(counters.stats, 3);
    c.newEpoch();
    c.statPath(p);
    assert.equal(counters.stats, 4);
  });

  test("FsCache.isFileIn(): answered from the listing until the directory changes", () => {
    const counters = newCounters();
    const c = new FsCache(counters);
    write("list/a.h", "");
    const d = path.join(dir, "list");
    const deps: LookupDeps = { list: [], ok: true };
    assert.equal(c.isFileIn(d, "a.h", deps), true);
    assert.equal(c.isFileIn(d, "b.h"), false);
    assert.equal(c.isFileIn(dir, "list"), false, "a directory is not a file");
    assert.deepEqual([deps.ok, deps.list.length, counters.listingReads], [true, 1, 2]);
    c.newEpoch();
    assert.equal(c.isFileIn(d, "b.h"), false);
    assert.equal(counters.listingHits, 1, "same directory version: the listing is reused");
    assert.equal(c.listingCurrent(deps.list[0]!), true);
    write("list/b.h", ""); // a new header: the directory's mtime changes (backdated to another time)
    fs.utimesSync(d, new Date("2021-01-01T00:00:00Z"), new Date("2021-01-01T00:00:00Z"));
    c.newEpoch();
    assert.equal(c.listingCurrent(deps.list[0]!), false);
    assert.equal(c.isFileIn(d, "b.h"), true);
  });

  test("FsCache.parsedFile(): one parse per file version, reached by any path", () => {
    const counters = newCounters();
    const c = new FsCache(counters);
    const p = write("parse/g.h", "#ifndef G\n#define G\n#endif\n");
    fs.symlinkSync("g.h", path.join(dir, "parse/link.h"));
    const a = c.parsedFile(p, MODE, "");
    c.newEpoch();
    const b = c.parsedFile(path.join(dir, "parse/link.h"), MODE, "");
    assert.equal(a?.file.guard, "G");
    assert.equal(b?.file, a?.file);
    assert.equal(b?.id, a?.id);
    assert.deepEqual([counters.fileReads, counters.fileHits], [1, 1]);
    assert.equal(c.sizes()["cache.files"], 1);
    fs.writeFileSync(p, "int changed;\n");
    fs.utimesSync(p, OLD, new Date("2021-01-01T00:00:00Z"));
    c.newEpoch();
    assert.equal(c.parsedFile(p, MODE, "")?.file.guard, undefined, "a new version is parsed again");
    assert.equal(counters.fileReads, 2);
    assert.equal(c.parsedFile(path.join(dir, "parse/none.h"), MODE, ""), undefined);
    c.clear();
    assert.deepEqual(c.sizes(), { "cache.files": 0, "cache.dirs": 0, "cache.stats": 0 });
  });
});

describe("LookupCache", () => {
  test("LookupCache.cached(): reused while its listings are current, computed again after a change", () => {
    const counters = newCounters();
    const files = new FsCache(counters);
    const lookups = new LookupCache(files, counters);
    write("look/x/a.h", "");
    const d = path.join(dir, "look/x");
    let computed = 0;
    const find = () => lookups.cached(`k\0${d}`, (deps) => {
      computed++;
      return files.isFileIn(d, "b.h", deps) ? { raw: "b.h", fs: `${d}/b.h`, dirIdx: 0 } : null;
    });
    assert.equal(find(), null);
    files.newEpoch();
    assert.equal(find(), null);
    assert.deepEqual([computed, counters.lookupHits], [1, 1]);
    write("look/x/b.h", "");
    fs.utimesSync(d, new Date("2021-01-01T00:00:00Z"), new Date("2021-01-01T00:00:00Z"));
    files.newEpoch();
    assert.equal(find()?.fs, `${d}/b.h`);
    assert.equal(computed, 2);
    lookups.clear();
    find();
    assert.equal(computed, 3, "clear() forgets every lookup");
    assert.equal(lookups.normalizedPath("/usr/include/c++/12/bits/../vector"), "/usr/include/c++/12/vector");
  });
});
