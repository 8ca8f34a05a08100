/**
 * `goma bench`'s parts without building anything: the command line, the objects recipe's Makefile
 * (absolute paths, -MD, --prefix-map) and the medians and ratios.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchError, parseBenchArgs } from "../../lib/bench/args.ts";
import { checkout, KNOWN, resolveProjects } from "../../lib/bench/projects.ts";
import { median, p90, summarize, type BuildRecord } from "../../lib/bench/report.ts";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "goma-bench-unit-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("command line: defaults, -jN, NAME=VALUE forms, local always first, --prefix-map", () => {
  const d = parseBenchArgs([]);
  assert.deepEqual(d.projects, ["zlib", "lua5.4", "yaml-cpp"]);
  assert.deepEqual(d.tools, ["local", "goma", "ccache", "sccache"]);
  assert.equal(d.rounds, 3);
  assert.equal(d.prefixMap, false);
  const o = parseBenchArgs(["zlib", "-j3", "--tools=sccache,goma", "--rounds", "2", "--prefix-map", "--json=x.json"]);
  assert.deepEqual(o.projects, ["zlib"]);
  assert.equal(o.jobs, 3);
  assert.deepEqual(o.tools, ["local", "goma", "sccache"]);
  assert.equal(o.rounds, 2);
  assert.equal(o.prefixMap, true);
  assert.equal(o.json, "x.json");
  assert.equal(parseBenchArgs(["-j", "1"]).jobs, 1);
  assert.throws(() => parseBenchArgs(["--prefix-map=yes"]), (e: unknown) => e instanceof BenchError && e.exitCode === 2 && e.message === "--prefix-map takes no value");
  assert.throws(() => parseBenchArgs(["-j", "0"]), /-j wants a whole number ≥ 1, got '0'/);
});

test("objects recipe: a Makefile of absolute -MD compiles; --prefix-map adds -ffile-prefix-map=<tree>=.", () => {
  const src = join(dir, "zlib-src");
  mkdirSync(join(src, "test"), { recursive: true });
  for (const f of ["adler32.c", "deflate.c", "test/example.c"]) writeFileSync(join(src, f), "int x;\n");
  const [p] = resolveProjects([`zlib=${src}`], dir, "/nonexistent/dist/goma");
  assert.equal(p!.recipe, "objects");
  assert.equal(p!.objects, KNOWN.zlib);
  const root = join(dir, "w", "goma", "zlib");
  const co = checkout(p!, root, ["/x/goma", "cc"], 2, () => ({}), { prefixMap: true });
  assert.equal(co.compiles, 3);
  assert.equal(co.script, `exec make -s -f ${join(root, "_bench", "build.mk")} -j2`);
  const mk = readFileSync(join(root, "_bench", "build.mk"), "utf8");
  assert.ok(mk.includes(`\t/x/goma cc gcc -O2 -g -fPIC -D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN -I${root} -ffile-prefix-map=${root}=. -MD -c ${root}/test/example.c -o ${root}/_bench/out/test/example.o\n`), mk);
  assert.deepEqual(co.hitArgv!.slice(-4), ["-c", `${root}/deflate.c`, "-o", `${root}/_bench/out/deflate.o`]);
  const plain = checkout(p!, join(dir, "w", "local", "zlib"), [], 2, () => ({}));
  assert.ok(!readFileSync(join(dir, "w", "local", "zlib", "_bench", "build.mk"), "utf8").includes("prefix-map"));
  assert.equal(plain.hitArgv![0], "gcc");
});

test("medians, p90 and ratios against local", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 9);
  const b = (tool: BuildRecord["tool"], phase: BuildRecord["phase"], wallS: number, cpuS: number, round = 1): BuildRecord =>
    ({ project: "p", tool, round, phase, wallS, load1: 0, cpuS, buildCpuS: cpuS, daemonCpuS: {}, ...(tool === "local" ? {} : { counters: { compiles: 4, hits: phase === "warm" ? 4 : 0, misses: 0, fallbacks: 0 } }) });
  const s = summarize([b("local", "cold", 10, 8), b("local", "cold", 12, 8, 2), b("ccache", "cold", 12, 9), b("ccache", "warm", 1.1, 0.4)], ["local", "ccache"]);
  assert.deepEqual(s.local!.ratios, { coldWall: 1, coldCpu: 1 });
  assert.equal(s.local!.cold.wallS, 11);
  assert.deepEqual(s.ccache!.ratios, { coldWall: 1.091, coldCpu: 1.125, warmWall: 0.1, warmCpu: 0.05 });
  assert.equal(s.ccache!.warm!.hits, 4);
});
