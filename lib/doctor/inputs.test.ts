import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { doctorInputs, explain } from "./inputs.ts";

let proj = "";
let env: Record<string, string> = {};
before(() => {
  proj = fs.mkdtempSync(path.join(os.tmpdir(), "goma-doctor-inputs-"));
  env = { ...(process.env as Record<string, string>), GOMA_CACHE_DIR: path.join(proj, ".cache") };
  fs.mkdirSync(path.join(proj, "inc"));
  fs.writeFileSync(path.join(proj, "inc/a.h"), "#pragma once\n");
  fs.writeFileSync(path.join(proj, "m.c"), '\n#include "a.h"\n#include <stddef.h>\n');
  fs.writeFileSync(path.join(proj, "bad.c"), "#include <nothere.h>\n");
});
after(() => fs.rmSync(proj, { recursive: true, force: true }));

describe("doctorInputs()", () => {
  test("doctorInputs() prints one input per line, the source first", async () => {
    const r = await doctorInputs(["gcc", "-Iinc", "-c", "m.c", "-o", "m.o"], { cwd: proj, env });
    const lines = r.stdout.trim().split("\n");
    assert.equal(r.code, 0);
    assert.equal(lines[0], path.join(proj, "m.c"));
    assert.ok(lines.includes(path.join(proj, "inc/a.h")));
    assert.ok(lines.some((l) => l.endsWith("/stddef.h")));
  });
  test("doctorInputs() --explain says from where each file is included", async () => {
    const r = await doctorInputs(["clang", "-Iinc", "-c", "m.c"], { cwd: proj, env, explain: true });
    assert.ok(r.stdout.includes(`${path.join(proj, "inc/a.h")}\t#include from ${path.join(proj, "m.c")}:2\n`), r.stdout);
    assert.ok(r.stdout.startsWith(`${path.join(proj, "m.c")}\tthe source file\n`));
  });
  test("doctorInputs() --compare runs -M and reports no difference", async () => {
    const r = await doctorInputs(["gcc", "-Iinc", "-c", "m.c"], { cwd: proj, env, compare: true });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^-M lists (\d+) files, the scanner \1: 0 missing, 0 extra\n$/);
  });
  test("doctorInputs() explains a fallback and a local-only command", async () => {
    const bad = await doctorInputs(["gcc", "-c", "bad.c"], { cwd: proj, env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /gives up \(error\): .*bad\.c:1: <nothere\.h>: No such file or directory/);
    const link = await doctorInputs(["gcc", "m.c", "-o", "m"], { cwd: proj, env });
    assert.equal(link.code, 1);
    assert.match(link.stderr, /compiles this command locally: /);
    assert.equal((await doctorInputs([], { cwd: proj, env })).code, 2);
  });
  test("explain() words each origin", () => {
    assert.equal(explain({ how: "preinclude" }), "included by the compiler itself before the source");
    assert.equal(explain({ how: "dependency" }), "read by the compiler without preprocessing (a sanitizer ignorelist, a -fprofile-list file)");
    assert.equal(explain({ how: "has_include", from: "/a.c", line: 3 }), "found by __has_include from /a.c:3 (must exist remotely too)");
    assert.equal(explain({ how: "include_next", from: "/x.h" }), "#include_next from /x.h");
  });
});
