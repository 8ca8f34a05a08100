import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getCompilerInfo, parseFlags } from "../compiler/index.ts";
import type { CompilerFlags, CompilerInfo } from "../compiler/types.ts";
import { IncludeProcessor } from "./index.ts";

/**
 * Include manifests (IncludeProcessorOptions.manifests): a compile scanned before is answered from the
 * stats its last scan made while they all still match, and scanned again as soon as one does not — a
 * header edited, a header added earlier on the search path (shadowing), a header removed, an mtime-only
 * change; a scan that saw a freshly modified path leaves no manifest. The list is always the one a fresh
 * processor finds.
 */
const ENV = { ...process.env } as Record<string, string>;
for (const v of ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]) delete ENV[v];
const OLD = new Date("2020-01-01T00:00:00Z");
let base = "";
let proj = "";
let compile: { flags: CompilerFlags; info: CompilerInfo };
let infoDir = "";

/** Gives `rel` (files and directories under proj) an old mtime, so that no path is "racy" (fs-cache.ts RACY_MS). */
const age = (...rel: string[]) => {
  for (const f of rel) fs.utimesSync(path.join(proj, f), OLD, OLD);
};
const ALL = ["a.c", "first", "second", "second/h.h", "second/g.h", "."];

before(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "goma-include-manifest-"));
  infoDir = path.join(base, "info");
  const flags = parseFlags(["gcc", "-O1", "-Ifirst", "-Isecond", "-c", "a.c", "-o", "a.o"], path.join(base, "p"));
  fs.mkdirSync(path.join(base, "p"));
  compile = { flags, info: await getCompilerInfo(flags, path.join(base, "p"), ENV, infoDir) };
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

beforeEach(() => {
  proj = path.join(base, "p");
  fs.rmSync(proj, { recursive: true, force: true });
  fs.mkdirSync(path.join(proj, "first"), { recursive: true });
  fs.mkdirSync(path.join(proj, "second"));
  fs.writeFileSync(path.join(proj, "a.c"), '#include "h.h"\nint main(void) { return N; }\n');
  fs.writeFileSync(path.join(proj, "second", "h.h"), "#define N 1\n");
  fs.writeFileSync(path.join(proj, "second", "g.h"), "int g;\n");
  age(...ALL);
});

const scan = (p: IncludeProcessor) => p.scanInputs(compile.flags, compile.info, proj, ENV);
const fresh = async () => (await scan(new IncludeProcessor())).files;
const pick = (s: Record<string, number>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, s[k]]));
const rel = (files: string[]) => files.filter((f) => f.startsWith(proj + "/")).map((f) => path.relative(proj, f));

describe("include manifests", () => {
  test("IncludeProcessor with manifests: a second scan of the same compile is answered from the manifest, with the same list", async () => {
    const p = new IncludeProcessor({ manifests: true });
    const first = await scan(p);
    assert.equal(first.fallback, undefined);
    assert.deepEqual(rel(first.files), ["a.c", "second/h.h"]);
    const reads = p.stats().fileReads;
    const second = await scan(p);
    assert.deepEqual(second.files, first.files);
    assert.deepEqual(pick(p.stats(), "scans", "scansOk", "manifestHits", "manifestStale", "fileReads"),
      { scans: 2, scansOk: 2, manifestHits: 1, manifestStale: 0, fileReads: reads });
    second.files.push("/changed/by/the/caller");
    assert.deepEqual((await scan(p)).files, first.files, "each answer is a copy");
  });

  test("IncludeProcessor.seenStat(): after a scan or a manifest check, the stat of each listed file as that scan saw it", async () => {
    const p = new IncludeProcessor({ manifests: true });
    for (let i = 0; i < 2; i++) {
      const { files } = await scan(p);
      for (const f of files.filter((f) => f.startsWith(proj))) {
        const st = fs.statSync(f);
        assert.deepEqual(p.seenStat(f), { dir: false, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }, f);
      }
    }
    assert.equal(p.stats().manifestHits, 1);
    assert.equal(p.seenStat(path.join(proj, "nowhere.h")), undefined);
  });

  test("IncludeProcessor without manifests (the default) keeps none", async () => {
    const p = new IncludeProcessor();
    await scan(p);
    await scan(p);
    assert.deepEqual(pick(p.stats(), "manifestHits", "manifestStale"), { manifestHits: 0, manifestStale: 0 });
  });

  test("include manifest: a header added earlier on the search path (shadowing the found one) is a stale manifest and the new header is listed", async () => {
    const p = new IncludeProcessor({ manifests: true });
    await scan(p);
    fs.writeFileSync(path.join(proj, "first", "h.h"), "#define N 2\n");
    const after = await scan(p);
    assert.deepEqual(rel(after.files), ["a.c", "first/h.h"]);
    assert.deepEqual(after.files, await fresh());
    assert.deepEqual(pick(p.stats(), "manifestHits", "manifestStale"), { manifestHits: 0, manifestStale: 1 });
  });

  test("include manifest: an edited header is scanned again and its new includes listed", async () => {
    const p = new IncludeProcessor({ manifests: true });
    await scan(p);
    fs.writeFileSync(path.join(proj, "second", "h.h"), '#include "g.h"\n#define N 1\n');
    const after = await scan(p);
    assert.deepEqual(rel(after.files), ["a.c", "second/h.h", "second/g.h"]);
    assert.deepEqual(after.files, await fresh());
    assert.equal(p.stats().manifestStale, 1);
    // Once the change has aged, the new scan's manifest answers again.
    age("second/h.h");
    await scan(p);
    const hits = p.stats().manifestHits;
    assert.deepEqual((await scan(p)).files, after.files);
    assert.equal(p.stats().manifestHits, hits + 1);
  });

  test("include manifest: an mtime-only change scans again and gives the same list; a removed header is not listed", async () => {
    const p = new IncludeProcessor({ manifests: true });
    const first = await scan(p);
    const later = new Date("2021-01-01T00:00:00Z");
    fs.utimesSync(path.join(proj, "second", "h.h"), later, later);
    assert.deepEqual((await scan(p)).files, first.files);
    assert.deepEqual(pick(p.stats(), "manifestHits", "manifestStale"), { manifestHits: 0, manifestStale: 1 });
    assert.deepEqual((await scan(p)).files, first.files);
    assert.equal(p.stats().manifestHits, 1, "the rescan left a manifest");

    fs.rmSync(path.join(proj, "second", "g.h")); // not included: the list stays, the directory changed
    assert.deepEqual((await scan(p)).files, first.files);
    assert.equal(p.stats().manifestStale, 2);
    fs.rmSync(path.join(proj, "second", "h.h"));
    const gone = await scan(p);
    assert.ok(gone.fallback, "h.h is missing: the scanner reports the compile's error");
  });

  test("include manifest: a scan that saw a freshly modified path leaves no manifest", async () => {
    const p = new IncludeProcessor({ manifests: true });
    fs.writeFileSync(path.join(proj, "second", "h.h"), "#define N 3\n"); // just now: racy
    await scan(p);
    await scan(p);
    assert.deepEqual(pick(p.stats(), "manifestHits", "manifestStale", "scansOk"), { manifestHits: 0, manifestStale: 0, scansOk: 2 });
  });

  test("include manifest: another compile (flags, cwd or environment) has its own manifest", async () => {
    const p = new IncludeProcessor({ manifests: true });
    await scan(p);
    const other = parseFlags(["gcc", "-O1", "-Isecond", "-c", "a.c", "-o", "a.o"], proj);
    assert.deepEqual(rel((await p.scanInputs(other, compile.info, proj, ENV)).files), ["a.c", "second/h.h"]);
    await p.scanInputs(compile.flags, compile.info, proj, { ...ENV, CPATH: path.join(proj, "first") });
    await p.scanInputs(compile.flags, compile.info, proj, { ...ENV, C_INCLUDE_PATH: path.join(proj, "first") });
    assert.deepEqual(pick(p.stats(), "manifestHits", "manifestStale"), { manifestHits: 0, manifestStale: 0 });
    await p.scanInputs(compile.flags, compile.info, proj, { ...ENV, MAKEFLAGS: " -j4 --jobserver-auth=3,4" });
    assert.equal(p.stats().manifestHits, 1, "a variable no scan reads is not part of the key");
    p.clearFileCaches();
    await scan(p);
    assert.equal(p.stats().manifestHits, 1, "clearFileCaches() drops the manifests");
  });
});
