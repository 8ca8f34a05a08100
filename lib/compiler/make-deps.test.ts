import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { depsOf, parseMakeDeps, type MakeRule } from "./make-deps.ts";

const CASES: [string, string, MakeRule[]][] = [
  ["one line", "a.o: a.c a.h\n", [{ targets: ["a.o"], deps: ["a.c", "a.h"] }]],
  ["no trailing newline", "a.o: a.c", [{ targets: ["a.o"], deps: ["a.c"] }]],
  ["continuations (gcc style)", "a.o: a.c /usr/include/stdio.h \\\n /usr/include/features.h \\\n  b.h\n",
    [{ targets: ["a.o"], deps: ["a.c", "/usr/include/stdio.h", "/usr/include/features.h", "b.h"] }]],
  ["continuation right after the colon", "a.o: \\\n  a.c \\\n  a.h\n", [{ targets: ["a.o"], deps: ["a.c", "a.h"] }]],
  ["CRLF line ends", "a.o: a.c \\\r\n a.h\r\n", [{ targets: ["a.o"], deps: ["a.c", "a.h"] }]],
  ["escaped spaces", "a.o: my\\ dir/a.c sp\\ ace/h.h\n", [{ targets: ["a.o"], deps: ["my dir/a.c", "sp ace/h.h"] }]],
  ["escaped #", "a.o: x\\#1.h\n", [{ targets: ["a.o"], deps: ["x#1.h"] }]],
  ["$$ is $", "a.o: cost$$.h\n", [{ targets: ["a.o"], deps: ["cost$.h"] }]],
  ["a backslash before another character is literal", "a.o: dir\\name.h\n", [{ targets: ["a.o"], deps: ["dir\\name.h"] }]],
  ["doubled backslashes before an escaped space", "a.o: a\\\\\\ b.h\n", [{ targets: ["a.o"], deps: ["a\\ b.h"] }]],
  ["doubled backslashes before a separator", "a.o: a\\\\ b.h\n", [{ targets: ["a.o"], deps: ["a\\", "b.h"] }]],
  ["escaped space in the target", "my\\ obj.o: a.c\n", [{ targets: ["my obj.o"], deps: ["a.c"] }]],
  ["several targets (-MT twice)", "a.o b.o: a.c\n", [{ targets: ["a.o", "b.o"], deps: ["a.c"] }]],
  ["a colon inside a dep is kept", "a.o: x:y.h\n", [{ targets: ["a.o"], deps: ["x:y.h"] }]],
  ["phony targets from -MP", "a.o: a.c a.h\n\na.h:\n", [{ targets: ["a.o"], deps: ["a.c", "a.h"] }, { targets: ["a.h"], deps: [] }]],
  ["comments and blank lines", "# generated\n\na.o: a.c # trailing\n", [{ targets: ["a.o"], deps: ["a.c"] }]],
  ["tabs separate", "a.o:\ta.c\tb.h\n", [{ targets: ["a.o"], deps: ["a.c", "b.h"] }]],
  ["empty", "", []],
];

describe("parseMakeDeps()", () => {
  for (const [name, text, want] of CASES) {
    test(`parseMakeDeps() ${name}`, () => {
      assert.deepEqual(parseMakeDeps(text), want);
    });
  }
});

describe("depsOf()", () => {
  test("depsOf() keeps first-seen order and drops duplicates", () => {
    assert.deepEqual(depsOf(parseMakeDeps("a.o: a.c a.h b.h a.h\nb.o: b.c a.h\n")), ["a.c", "a.h", "b.h", "b.c"]);
  });
});

describe("parseMakeDeps() on real compiler output", () => {
  // File names that need escaping in Make syntax: a space, a backslash before a space, '#', '$'.
  const NAMES = ["sp ace.h", "back\\ slash.h", "hash#1.h", "cost$.h"];
  for (const cc of ["gcc", "clang"]) {
    test(`parseMakeDeps() undoes ${cc}'s escaping`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-mk-"));
      try {
        for (const n of NAMES) fs.writeFileSync(path.join(dir, n), "");
        // clang reads a backslash in an #include as a separator, so it only gets the other names.
        const names = cc === "gcc" ? NAMES : NAMES.filter((n) => !n.includes("\\"));
        fs.writeFileSync(path.join(dir, "m.c"), names.map((n) => `#include "${n}"\n`).join(""));
        const r = spawnSync(cc, ["-M", "-nostdinc", "m.c", "-MT", "my obj.o"], { cwd: dir, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const [rule] = parseMakeDeps(r.stdout);
        assert.deepEqual(rule!.targets, ["my", "obj.o"], "-MT is written as given: Make would see two targets");
        assert.deepEqual(rule!.deps.filter((d) => !d.startsWith("/")), ["m.c", ...names]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
