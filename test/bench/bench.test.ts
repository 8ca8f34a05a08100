/**
 * `goma bench` as a user runs it: the compiled binary builds Debian's zlib (one round, -j2) with local
 * gcc, goma, ccache and sccache; the JSON must show every tool ran, goma's warm build served from its
 * cache, ratios against local, the extra figures (hit latency, stage times, client CPU per remote
 * compile, cross-checkout, RSS), a well-formed SVG, and nothing left behind (no temp dir, no daemon).
 * A PATH without ccache and sccache makes them reported missing, not faked. Bad flags: one line, exit 2.
 * The figures themselves are not asserted (benchmarks report them; this checks behaviour).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gomaBin, run } from "../e2e/harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "goma-bench-test-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Processes whose command line or environment mention `path` (what a bench run must not leave). */
function processesUsing(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.includes(path) || env.includes(path)) found.push(`${pid}: ${cmd.replace(/\0/g, " ")}`);
    } catch {
      // gone
    }
  }
  return found;
}

/** Checks that `svg` is one well-formed <svg> element: every tag closed in order, attributes quoted. */
function assertWellFormedSvg(svg: string): void {
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, "");
  assert.match(body, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:#\d+|amp|lt|gt|quot|apos);)/g;
  for (let m; (m = tag.exec(body)); ) {
    assert.ok(m[2], `stray '${m[0]}' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[1]) assert.equal(stack.pop(), m[2], `</${m[2]}> closes the wrong element`);
    else if (!m[4]) {
      if (!stack.length) roots++;
      stack.push(m[2]!);
    }
  }
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1);
}

test("goma bench zlib with local, goma, ccache and sccache: JSON, table and SVG, nothing left behind", async () => {
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  const json = join(dir, "bench.json");
  const svg = join(dir, "bench.svg");
  const r = await run([gomaBin(), "bench", "zlib", "--tools", "local,goma,ccache,sccache", "--rounds", "1", "-j", "2", "--hit-runs", "3", "--json", json, "--svg", svg], {
    cwd: REPO, env: { TMPDIR: tmp },
  });
  assert.equal(r.code, 0, r.stderr);

  const j = JSON.parse(readFileSync(json, "utf8"));
  assert.equal(j.schema, "goma-bench/1");
  assert.equal(j.machine.loadAvgStart.length, 3);
  assert.deepEqual(j.options.tools, ["local", "goma", "ccache", "sccache"]);
  for (const t of ["local", "goma", "ccache", "sccache"]) assert.equal(j.tools[t].available, true, `${t}: ${j.tools[t].missing}`);
  assert.equal(j.projects.length, 1);
  const p = j.projects[0];
  assert.equal(p.name, "zlib");
  assert.equal(p.recipe, "objects");
  assert.ok(p.units > 10, `zlib has ${p.units} translation units`);

  // Every tool ran: local once, each peer cold, warm and as a second checkout; times and CPU measured.
  const builds = (tool: string, phase: string) => p.builds.filter((b: { tool: string; phase: string }) => b.tool === tool && b.phase === phase);
  assert.equal(builds("local", "cold").length, 1);
  for (const t of ["goma", "ccache", "sccache"]) {
    for (const phase of ["cold", "warm", "checkout2"]) assert.equal(builds(t, phase).length, 1, `${t} ${phase}`);
  }
  for (const b of p.builds) {
    assert.ok(b.wallS > 0 && b.cpuS > 0 && b.buildCpuS >= 0 && b.load1 >= 0, JSON.stringify(b));
    if (b.tool !== "local") assert.equal(b.counters.compiles, p.units, `${b.tool} ${b.phase} saw every compile`);
  }
  // Cold builds miss, warm builds hit (all of them for ccache and sccache: nothing changed; goma's warm
  // build misses what a cold compile ran locally, should the loaded machine have made one fall back).
  for (const t of ["goma", "ccache", "sccache"]) {
    assert.equal(builds(t, "cold")[0].counters.hits, 0, `${t} cold`);
    const warm = builds(t, "warm")[0].counters;
    if (t === "goma") assert.ok(warm.hits > 0 && warm.hits + warm.misses + warm.fallbacks === p.units, JSON.stringify(warm));
    else assert.equal(warm.hits, p.units, `${t} warm`);
  }
  // goma's CPU includes its daemons: the proxy's and the server's (whose backend runs the compiles).
  const gomaCold = builds("goma", "cold")[0];
  assert.ok(gomaCold.daemonCpuS.proxy > 0 && gomaCold.daemonCpuS.server > 0, JSON.stringify(gomaCold.daemonCpuS));
  assert.ok(builds("sccache", "cold")[0].daemonCpuS.sccache > 0);

  // Medians and ratios against local.
  assert.equal(p.summary.local.ratios.coldWall, 1);
  for (const t of ["goma", "ccache", "sccache"]) {
    const s = p.summary[t];
    for (const k of ["coldWall", "coldCpu", "warmWall", "warmCpu"]) assert.ok(Number.isFinite(s.ratios[k]) && s.ratios[k] > 0, `${t} ${k}`);
    assert.ok(s.warm.hits > 0);
  }
  // The extra figures.
  assert.equal(p.hitLatency.file, "deflate.c");
  for (const t of ["local", "goma", "ccache", "sccache"]) assert.ok(p.hitLatency.tools[t].medianMs > 0, t);
  // goma's hits are served by the proxy's local output cache (the bench gives it one): no exec stage.
  const hitStages = p.hitLatency.tools.goma.stagesMs;
  assert.ok(typeof hitStages.localCache === "number" && hitStages.total > 0 && hitStages.exec === undefined, JSON.stringify(p.hitLatency.tools.goma));
  for (const t of ["goma", "ccache", "sccache"]) assert.equal(p.crossCheckout[t].compiles, p.units, t);
  assert.ok(p.goma.misses > 0 && p.goma.misses <= p.units, `${p.goma.misses} misses`);
  assert.ok(p.goma.hits > 0 && p.goma.hits <= p.units, `${p.goma.hits} hits`);
  assert.ok(p.goma.stagesMissMs.exec > 0 && p.goma.stagesMissMs.inputs >= 0 && p.goma.stagesHitMs.total > 0, JSON.stringify(p.goma));
  assert.ok(p.goma.clientCpuPerRemoteMs > 0);
  assert.ok(Number.isInteger(p.goma.includeFallbacks), "include-processor fallbacks counted");
  assert.ok(j.rssMiB.proxy > 0 && j.rssMiB.server > 0 && j.rssMiB.sccache > 0, JSON.stringify(j.rssMiB));

  // The table on stdout, the progress lines on stderr (not a terminal: one line per step).
  assert.match(r.stdout, /^\| zlib \| goma \| [\d.]+ \| [\d.]+ \|/m);
  assert.match(r.stdout, /client CPU per remote compile/);
  assert.match(r.stderr, /goma bench: \[1\/\d+\] zlib /);

  const s = readFileSync(svg, "utf8");
  assertWellFormedSvg(s);
  for (const label of ["zlib", "local", "goma cold", "goma warm", "ccache warm", "sccache cold"]) assert.ok(s.includes(`>${label}<`), label);

  // Nothing left: the run's temp dir is gone and no daemon it started still runs.
  assert.deepEqual(readdirSync(tmp), []);
  assert.deepEqual(processesUsing(tmp), []);
});

test("a peer that is not installed is named, not faked; a directory with a Makefile or a CMakeLists.txt is built", async () => {
  // A PATH with everything of the usual one except ccache and sccache.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const d of (process.env.PATH ?? "").split(":")) {
    if (!d.startsWith("/") || !existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (f === "ccache" || f === "sccache" || existsSync(join(bin, f))) continue;
      symlinkSync(join(d, f), join(bin, f));
    }
  }
  // Two small projects: one built by its Makefile, one by CMake.
  const src = { "a.c": "int a(int x) { return x * 3; }\n", "b.c": '#include "b.h"\nint b(void) { return B; }\n', "b.h": "#define B 7\n" };
  const mk = join(dir, "mkproj");
  const cm = join(dir, "cmproj");
  for (const d of [mk, cm]) {
    mkdirSync(d);
    for (const [f, text] of Object.entries(src)) writeFileSync(join(d, f), text);
  }
  writeFileSync(join(mk, "Makefile"), "all: a.o b.o\n%.o: %.c\n\t$(CC) -O2 -g -MD -c $(CURDIR)/$< -o $(CURDIR)/$@\n");
  writeFileSync(join(cm, "CMakeLists.txt"), "cmake_minimum_required(VERSION 3.13)\nproject(cmproj C)\nadd_library(cmproj STATIC a.c b.c)\n");
  const json = join(dir, "missing.json");
  const r = await run([gomaBin(), "bench", mk, cm, "--tools", "goma,ccache,sccache", "--rounds", "1", "-j", "2", "--json", json], {
    cwd: REPO, env: { PATH: bin },
  });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(json, "utf8"));
  assert.deepEqual(j.tools.ccache, { available: false, missing: "ccache: not installed (not on PATH)" });
  assert.deepEqual(j.tools.sccache, { available: false, missing: "sccache: not installed (not on PATH)" });
  assert.equal(j.tools.local.available, true);
  assert.equal(j.tools.goma.available, true);
  assert.match(r.stderr, /ccache: not installed/);
  assert.match(r.stdout, /sccache: not installed/);
  assert.deepEqual(j.projects.map((p: { name: string; recipe: string }) => [p.name, p.recipe]), [["mkproj", "make"], ["cmproj", "cmake"]]);
  for (const p of j.projects) {
    assert.deepEqual(Object.keys(p.summary), ["local", "goma"], p.name);
    assert.ok(p.builds.every((b: { tool: string }) => b.tool === "local" || b.tool === "goma"));
    const warm = p.builds.find((b: { tool: string; phase: string }) => b.tool === "goma" && b.phase === "warm");
    assert.deepEqual([warm.counters.compiles, warm.counters.hits], [2, 2], `${p.name}: ${JSON.stringify(warm.counters)}`);
    assert.equal(p.hitLatency, undefined, "no single-file compile for these recipes");
  }
});

test("bad command lines: one line, exit 2", async () => {
  for (const [args, msg] of [
    [["--bogus"], /^goma bench: unknown flag --bogus \(nearest: --tools\); see goma bench --help\n$/],
    [["--rounds", "zero"], /^goma bench: --rounds wants a whole number ≥ 1, got 'zero'\n$/],
    [["--tools", "local,distcc"], /^goma bench: unknown tool 'distcc' \(known: local, goma, ccache, sccache\)\n$/],
    [["no-such-project"], /^goma bench: unknown project 'no-such-project'/],
    [["--json"], /^goma bench: --json needs a value\n$/],
    [["--prefix-map=1"], /^goma bench: --prefix-map is a switch and takes no value \(got "--prefix-map=1"\)\n$/],
    [["--svg", "/nonexistent-dir/x.svg"], /^goma bench: \/nonexistent-dir\/x\.svg: no such directory \/nonexistent-dir\n$/],
  ] as [string[], RegExp][]) {
    const r = await run([gomaBin(), "bench", ...args], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  const h = await run([gomaBin(), "bench", "--help"], { cwd: dir });
  assert.equal(h.code, 0);
  for (const flag of ["--tools", "--rounds", "--jobs", "--json", "--svg", "--hit-runs", "--prefix-map"]) assert.ok(h.stdout.includes(flag), flag);
});
