import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expandResponseFiles, splitResponseFile } from "./response-file.ts";
import { parseFlags } from "./parse-flags.ts";

describe("splitResponseFile()", () => {
  const CASES: [string, string[]][] = [
    ["", []],
    ["  \n\t ", []],
    ["-c a.c", ["-c", "a.c"]],
    ["-c\na.c\r\n-o\ta.o\f-g\v-O2", ["-c", "a.c", "-o", "a.o", "-g", "-O2"]],
    [`"-DX=a b"`, ["-DX=a b"]],
    [`'-DY=c d'`, ["-DY=c d"]],
    [`-DZ="q"uoted'x'`, ["-DZ=quotedx"]],
    [`a\\ b`, ["a b"]],
    [`"a\\"b"`, ['a"b']],
    [`'it\\'s'`, ["it's"]], // libiberty: a backslash escapes inside single quotes too
    [`"" x ''`, ["", "x", ""]],
    [`-DS=\\"str\\"`, ['-DS="str"']],
    [`"it's" 'say "hi"'`, ["it's", 'say "hi"']],
    ["a\\\\b", ["a\\b"]],
    ["multi\nline \"quoted\nnewline\"", ["multi", "line", "quoted\nnewline"]],
  ];
  for (const [text, want] of CASES) {
    test(`splitResponseFile() splits ${JSON.stringify(text)}`, () => {
      assert.deepEqual(splitResponseFile(text), want);
    });
  }
});

describe("expandResponseFiles()", () => {
  let dir = "";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "goma-rsp-"));
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(path.join(dir, "top.rsp"), `-c "my dir/a.c" @sub/inner.rsp -o 'out/a.o'\n`);
    // Nested names are relative to cwd, not to the response file's directory.
    fs.writeFileSync(path.join(dir, "sub", "inner.rsp"), `-DA=1 @sub/innermost.rsp`);
    fs.writeFileSync(path.join(dir, "sub", "innermost.rsp"), `-I inc`);
    fs.writeFileSync(path.join(dir, "loop.rsp"), `@loop.rsp`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("expandResponseFiles() expands nested files relative to cwd", () => {
    assert.deepEqual(expandResponseFiles(["gcc", "@top.rsp", "-g"], dir), {
      args: ["gcc", "-c", "my dir/a.c", "-DA=1", "-I", "inc", "-o", "out/a.o", "-g"],
    });
  });

  test("expandResponseFiles() never expands argv[0] or a lone @", () => {
    assert.deepEqual(expandResponseFiles(["@top.rsp", "@"], dir), { args: ["@top.rsp", "@"] });
  });

  test("expandResponseFiles() reports a missing file", () => {
    assert.deepEqual(expandResponseFiles(["gcc", "@missing.rsp"], dir), {
      error: "cannot read response file missing.rsp: ENOENT",
    });
  });

  test("expandResponseFiles() stops a cycle", () => {
    assert.deepEqual(expandResponseFiles(["gcc", "@loop.rsp"], dir), {
      error: "response file @loop.rsp is nested more than 32 deep",
    });
  });

  test("parseFlags() parses the expanded command", () => {
    const f = parseFlags(["gcc", "@top.rsp"], dir);
    assert.equal(f.unsupported, undefined);
    assert.equal(f.input, "my dir/a.c");
    assert.equal(f.output, "out/a.o");
    assert.deepEqual(f.defines, [{ kind: "D", value: "A=1" }]);
    assert.deepEqual(f.includeDirs.angle, ["inc"]);
    assert.deepEqual(f.args, ["gcc", "-c", "my dir/a.c", "-DA=1", "-I", "inc", "-o", "out/a.o"]);
  });

  test("parseFlags() runs locally when a response file is missing", () => {
    assert.equal(parseFlags(["gcc", "-c", "a.c", "@nope.rsp"], dir).unsupported, "cannot read response file nope.rsp: ENOENT");
  });
});
