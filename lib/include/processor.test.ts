import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getCompilerInfo, parseFlags } from "../compiler/index.ts";
import type { CompilerFlags, CompilerInfo } from "../compiler/types.ts";
import { IncludeProcessor } from "./index.ts";

/**
 * IncludeProcessor owns its caches: two processors share nothing (files, lookups, probes, counters),
 * the caches live as long as the processor, `clearFileCaches()` keeps the probes and `reset()` drops
 * them, and `probeCacheDir` keeps a probe for the next processor (the next proxy process).
 */
const ENV = { ...process.env } as Record<string, string>;
for (const v of ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]) delete ENV[v];
let proj = "";
let compile: { flags: CompilerFlags; info: CompilerInfo };

before(async () => {
  proj = fs.mkdtempSync(path.join(os.tmpdir(), "goma-include-processor-"));
  fs.mkdirSync(path.join(proj, "inc"));
  fs.writeFileSync(path.join(proj, "inc", "a.h"), "#pragma once\n#include <stddef.h>\n");
  fs.writeFileSync(path.join(proj, "a.c"), '#include "a.h"\n#if __has_builtin(__builtin_expect)\n#include "b.h"\n#endif\n');
  fs.writeFileSync(path.join(proj, "inc", "b.h"), "int b;\n");
  // Old timestamps: a file modified within the last 2 s is re-read by every scan (fs-cache.ts RACY_MS).
  const old = new Date("2020-01-01T00:00:00Z");
  for (const f of ["inc/a.h", "inc/b.h", "a.c", "inc", "."]) fs.utimesSync(path.join(proj, f), old, old);
  const flags = parseFlags(["gcc", "-O1", "-fno-ident", "-Iinc", "-c", "a.c", "-o", "a.o"], proj);
  compile = { flags, info: await getCompilerInfo(flags, proj, ENV, path.join(proj, "info")) };
});
after(() => fs.rmSync(proj, { recursive: true, force: true }));

const scan = (p: IncludeProcessor) => p.scanInputs(compile.flags, compile.info, proj, ENV);
const pick = (s: Record<string, number>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, s[k]]));

describe("IncludeProcessor", () => {
  test("IncludeProcessor: each processor has its own caches and counters, kept for its lifetime", async () => {
    const one = new IncludeProcessor();
    const first = await scan(one);
    assert.equal(first.fallback, undefined);
    assert.ok(first.files.includes(path.join(proj, "inc", "b.h")), first.files.join());
    assert.deepEqual(pick(one.stats(), "scans", "scansOk", "probes"), { scans: 1, scansOk: 1, probes: 1 });
    const reads = one.stats().fileReads!;
    assert.ok(reads >= 3, `a.c, a.h, b.h and stddef.h are read: ${reads}`);

    assert.deepEqual((await scan(one)).files, first.files);
    assert.deepEqual(pick(one.stats(), "scans", "probes", "fileReads"), { scans: 2, probes: 1, fileReads: reads }, "warm: no probe, no read");
    assert.ok(one.stats().fileHits! >= reads);

    const two = new IncludeProcessor();
    assert.deepEqual(two.stats()["cache.files"], 0, "a new processor starts empty");
    assert.deepEqual((await scan(two)).files, first.files);
    assert.deepEqual(pick(two.stats(), "scans", "probes", "fileReads"), { scans: 1, probes: 1, fileReads: reads }, "nothing shared with the first");
    assert.deepEqual(pick(one.stats(), "scans", "probes"), { scans: 2, probes: 1 }, "the first one's counters are its own");
  });

  test("IncludeProcessor: clearFileCaches() keeps the probe, reset() drops it too", async () => {
    const p = new IncludeProcessor();
    const files = (await scan(p)).files;
    const reads = p.stats().fileReads!;
    p.clearFileCaches();
    assert.equal(p.stats()["cache.files"], 0);
    assert.deepEqual((await scan(p)).files, files);
    assert.deepEqual(pick(p.stats(), "probes", "fileReads"), { probes: 1, fileReads: 2 * reads });
    p.reset();
    assert.deepEqual((await scan(p)).files, files);
    assert.deepEqual(pick(p.stats(), "probes", "fileReads"), { probes: 2, fileReads: 3 * reads });
  });

  test("IncludeProcessor with probeCacheDir: the next processor reads the probe from disk instead of running the compiler", async () => {
    const dir = path.join(proj, "include_probe");
    const before = new IncludeProcessor({ probeCacheDir: dir });
    const files = (await scan(before)).files;
    assert.equal(fs.readdirSync(dir).length, 1);
    const after = new IncludeProcessor({ probeCacheDir: dir });
    assert.deepEqual((await scan(after)).files, files);
    assert.deepEqual(pick(after.stats(), "probes", "probeCacheHits"), { probes: 0, probeCacheHits: 1 });
    const memoryOnly = new IncludeProcessor();
    await scan(memoryOnly);
    assert.deepEqual(pick(memoryOnly.stats(), "probes", "probeCacheHits"), { probes: 1, probeCacheHits: 0 }, "no disk cache unless given one");
  });
});

describe("IncludeProcessor probes and cwd", () => {
  /** A project dir with inc/q.h and a.c that asks the compiler about `query` (so a probe round runs). */
  function project(query: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-include-cwd-"));
    fs.mkdirSync(path.join(dir, "inc"));
    fs.writeFileSync(path.join(dir, "inc", "q.h"), "int q;\n");
    fs.writeFileSync(path.join(dir, "a.c"), `#if ${query} || 1\n#include "q.h"\n#endif\n`);
    return dir;
  }
  const scanIn = async (p: IncludeProcessor, dir: string, extra: string[] = []) => {
    const flags = parseFlags(["gcc", "-O1", "-fno-ident", ...extra, "-Iinc", "-c", "a.c", "-o", "a.o"], dir);
    return p.scanInputs(flags, await getCompilerInfo(flags, dir, ENV, path.join(dir, "info")), dir, ENV);
  };

  test("IncludeProcessor: a probe first run in a removed directory still answers a later compile's queries in its own cwd", async () => {
    const first = project("__has_builtin(__builtin_goma_cwd_first)");
    const second = project("__has_builtin(__builtin_goma_cwd_second)");
    try {
      const p = new IncludeProcessor();
      const a = await scanIn(p, first);
      assert.equal(a.fallback, undefined);
      assert.ok(a.files.includes(path.join(first, "inc", "q.h")), a.files.join());
      fs.rmSync(first, { recursive: true, force: true });
      const b = await scanIn(p, second);
      assert.equal(b.fallback, undefined, "the query round runs in an existing directory");
      assert.ok(b.files.includes(path.join(second, "inc", "q.h")), b.files.join());
      assert.deepEqual(pick(p.stats(), "probes", "queryRounds", "fallbacks"), { probes: 3, queryRounds: 2, fallbacks: 0 }, "one first round, one query round per compile");
    } finally {
      fs.rmSync(first, { recursive: true, force: true });
      fs.rmSync(second, { recursive: true, force: true });
    }
  });
});
