import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getCompilerInfo, parseFlags, parseSearchList, includeRulesOf } from "../../compiler/index.ts";
import { FsCache } from "./fs-cache.ts";
import { ppOptions } from "../pp-options.ts";
import { ProbeCache } from "../probe/probe.ts";
import { newCounters } from "../stats.ts";
import { buildSearchPath } from "./search-path.ts";

/**
 * Each configuration is run through the real compiler (`-E -v`) and through buildSearchPath; the two
 * lists must be equal, quote-only part and <…> part alike.
 */
const BASE_ENV = { ...process.env } as Record<string, string>;
for (const v of ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]) delete BASE_ENV[v];

let root = "";
let cacheDir = "";
const counters = newCounters();
const files = new FsCache(counters);
const probes = new ProbeCache(counters);
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "goma-search-"));
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-search-info-"));
  for (const d of ["i1", "i2", "q1", "s1", "a1", "cp", "ce", "sub/x"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.symlinkSync("/usr/include", path.join(root, "usrinc"));
  fs.symlinkSync("i1", path.join(root, "i1link"));
  fs.writeFileSync(path.join(root, "file"), "");
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const CONFIGS: [string, string[], Record<string, string>][] = [
  ["-I, -iquote, -isystem, -idirafter in order", ["-Ii1", "-iquote", "q1", "-Ii2", "-isystem", "s1", "-idirafter", "a1"], {}],
  ["a -I dir that is a system dir is dropped", ["-Ii1", "-I/usr/include", "-Ii2"], {}],
  ["a -I dir reached through a symlink to a system dir", ["-Iusrinc", "-Ii1"], {}],
  ["duplicate -I dirs, also through a symlink", ["-Ii1", "-Ii2", "-Ii1link", "-Ii1"], {}],
  ["-isystem moves a standard dir forward", ["-isystem", "/usr/include", "-Ii1"], {}],
  ["-idirafter of a standard dir", ["-idirafter", "/usr/include", "-idirafter", "a1"], {}],
  ["-iquote of a system dir and of the first -I dir", ["-iquote", "/usr/include", "-iquote", "i1", "-Ii1"], {}],
  ["missing dirs and files are ignored", ["-Inope", "-Ifile", "-iquote", "nope2", "-Ii1"], {}],
  ["-I and -isystem of the same dir", ["-Ii1", "-isystem", "i1"], {}],
  ["CPATH after -I, C_INCLUDE_PATH / CPLUS_INCLUDE_PATH after -isystem", ["-Ii1", "-isystem", "s1"], { CPATH: "cp:i2", C_INCLUDE_PATH: "ce:/usr/include", CPLUS_INCLUDE_PATH: "ce:/usr/include" }],
  ["an empty CPATH element is the cwd", ["-Ii1"], { CPATH: ":cp" }],
  ["the same dir as -iquote and, through a symlink, as -I", ["-iquote", "i1", "-Ii1link"], {}],
  ["-I through a symlink, then -isystem of the real dir", ["-Ii1link", "-isystem", "i1", "-idirafter", "i1"], {}],
];

for (const cc of ["gcc", "clang", "g++", "clang++"]) {
  describe(`buildSearchPath() against ${cc} -E -v`, () => {
    for (const [name, flags, extraEnv] of CONFIGS) {
      test(`buildSearchPath() ${cc}: ${name}`, async () => {
        const env = { ...BASE_ENV, ...extraEnv };
        const argv = [cc, ...flags, "-c", "x.c"];
        const parsed = parseFlags(argv, root);
        const info = await getCompilerInfo(parsed, root, BASE_ENV, cacheDir);
        const pp = ppOptions(parsed.args);
        const probe = await probes.get(info, parsed.lang, pp.probeArgs, parsed.infoFlags, root, BASE_ENV);
        files.newEpoch();
        const got = buildSearchPath(includeRulesOf(info.family)!, parsed.lang, root, env, probe.std, pp.dirs, undefined, files);
        const r = spawnSync(cc, [...flags, "-x", parsed.lang, "-E", "-v", "/dev/null", "-o", "/dev/null"], { cwd: root, env, encoding: "utf8" });
        const want = parseSearchList(r.stderr, root)!;
        const abs = got.dirs.map((d) => path.resolve(d.fs));
        assert.deepEqual({ quote: abs.slice(0, got.angleStart), system: abs.slice(got.angleStart) }, want);
      });
    }
  });
}
