import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Code, GomaError } from "../util/status.ts";
import { getCompilerInfo } from "./compiler-info.ts";
import { depsArgs, discoverInputs } from "./discover-inputs.ts";
import { parseFlags } from "./parse-flags.ts";

const ENV = { ...process.env } as Record<string, string>;

describe("depsArgs()", () => {
  const CASES: [string[], string[]][] = [
    [["-c", "a.c", "-o", "a.o"], ["a.c"]],
    [["-c", "a.c", "-oa.o", "-MD", "-MF", "a.d", "-MT", "t", "-MQ", "q", "-MP"], ["a.c"]],
    [["-c", "a.c", "-MMD", "-MFa.d", "-MTt", "-MQq"], ["a.c"]],
    [["-c", "a.c", "-Wp,-MD,a.d", "-Wp,-MMD,b.d"], ["a.c"]],
    [["-c", "a.c", "-Wp,-MD,a.d,-DX"], ["a.c", "-Wp,-DX"]],
    [["-c", "a.c", "-Wp,-D_FORTIFY_SOURCE=2"], ["a.c", "-Wp,-D_FORTIFY_SOURCE=2"]],
    [["-c", "a.c", "-g", "-gsplit-dwarf"], ["a.c", "-g"]],
    [["-c", "-Iinc", "-I", "my dir", "-include", "f.h", "-DX=1", "-x", "c++", "a.c", "-std=c++17"],
      ["-Iinc", "-I", "my dir", "-include", "f.h", "-DX=1", "-x", "c++", "a.c", "-std=c++17"]],
  ];
  for (const [args, want] of CASES) {
    test(`depsArgs() turns ${args.join(" ")} into a -M run`, () => {
      assert.deepEqual(depsArgs(["gcc", ...args], "/tmp/d.d"), [...want, "-M", "-MF", "/tmp/d.d"]);
    });
  }
});

/** The compiler's own `-M` listing, parsed here independently of make-deps.ts, resolved against cwd. */
function ownListing(cc: string, args: string[], cwd: string): string[] {
  const r = spawnSync(cc, [...args, "-M"], { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const words = r.stdout.replace(/\\\n/g, " ").trim().split(/(?<!\\)\s+/).map((w) => w.replace(/\\ /g, " "));
  return [...new Set(words.slice(1).map((w) => path.resolve(cwd, w)))];
}

describe("discoverInputs() on a small project", () => {
  let proj = "";
  let tmp = "";
  const savedTmp = process.env.TMPDIR;
  before(() => {
    proj = fs.mkdtempSync(path.join(os.tmpdir(), "goma-proj-"));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "goma-tmp-"));
    process.env.TMPDIR = tmp; // where discoverInputs puts its dep file: checked to be left empty
    const files: Record<string, string> = {
      "src/main.c": '#include "local.h"\n#include <lib.h>\n#include "spaced.h"\n#include <stdio.h>\nint main(void) { return LIB + LOCAL + SPACED + FORCED; }\n',
      "src/main.cc": '#include "local.h"\n#include <lib.h>\n#include "spaced.h"\n#include <vector>\nint main() { return LIB + LOCAL + SPACED + FORCED; }\n',
      "src/local.h": "#define LOCAL 1\n",
      "inc/lib.h": "#define LIB 2\n",
      "my dir/spaced.h": "#define SPACED 3\n",
      "force.h": "#define FORCED 4\n",
      "src/broken.c": '#include "missing.h"\nint x;\n',
    };
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(proj, name)), { recursive: true });
      fs.writeFileSync(path.join(proj, name), text);
    }
    fs.mkdirSync(path.join(proj, "out"));
  });
  after(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(proj, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const [cc, src] of [["gcc", "src/main.c"], ["g++", "src/main.cc"], ["clang", "src/main.c"], ["clang++", "src/main.cc"]] as const) {
    test(`discoverInputs() lists what ${cc} -M lists for ${src}`, async () => {
      const common = ["-Iinc", "-I", "my dir", "-include", "force.h", "-DX=1", src];
      const flags = parseFlags([cc, "-c", ...common, "-o", "out/main.o", "-MD", "-MF", "out/main.d", "-g", "-gsplit-dwarf"], proj);
      assert.equal(flags.unsupported, undefined);
      const info = await getCompilerInfo(flags, proj, ENV, path.join(tmp, "cache"));
      const got = await discoverInputs(flags, info, proj, ENV);

      assert.deepEqual(got, ownListing(`/usr/bin/${cc}`, common, proj));
      assert.equal(got[0], path.join(proj, src), "the source comes first");
      for (const f of ["src/local.h", "inc/lib.h", "my dir/spaced.h", "force.h"]) {
        assert.ok(got.includes(path.join(proj, f)), `${f} is listed`);
      }
      const systemHeader = src.endsWith(".c") ? "/stdio.h" : "/vector";
      assert.ok(got.some((f) => f.endsWith(systemHeader) && info.systemIncludePaths.some((d) => f.startsWith(`${d}/`))),
        `${systemHeader} from a system dir`);
      for (const f of got) assert.equal(f, path.resolve(f), "absolute and normalized");
      assert.equal(new Set(got).size, got.length, "no duplicates");
      assert.deepEqual(fs.readdirSync(path.join(proj, "out")), [], "the compile's own outputs are not written");
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith("goma-deps-")), [], "the temp dep file is removed");
    });
  }

  for (const cc of ["gcc", "clang"]) {
    test(`discoverInputs() throws FailedPrecondition with ${cc}'s message for a missing header`, async () => {
      const flags = parseFlags([cc, "-c", "src/broken.c", "-o", "out/broken.o"], proj);
      const info = await getCompilerInfo(flags, proj, ENV, path.join(tmp, "cache"));
      const want = cc === "gcc" ? /missing\.h: No such file or directory/ : /'missing\.h' file not found/;
      await assert.rejects(discoverInputs(flags, info, proj, { ...ENV, LC_ALL: "C" }), (e: unknown) =>
        e instanceof GomaError && e.code === Code.FailedPrecondition && want.test(e.message) &&
        e.message.includes('Failed to list the inputs of "src/broken.c"'));
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith("goma-deps-")), []);
    });
  }
});
