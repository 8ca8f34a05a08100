import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseRoot, commonDir, DEFAULT_ENV_PREFIXES, tokenizeRoot } from "./exec-root.ts";
import { buildInputTree } from "./input-tree.ts";
import { digestOf } from "../digest/digest.ts";
import { R } from "../reapi/proto.ts";

test("commonDir() is the longest common directory", () => {
  assert.equal(commonDir("/a/b/c", "/a/b/d"), "/a/b");
  assert.equal(commonDir("/a/b", "/x"), "/");
  assert.equal(commonDir("/a/bc", "/a/b"), "/a");
});

test("chooseRoot() keeps system headers out of the root and the project in it", () => {
  const c = chooseRoot("/src/p/build", ["/src/p/build/a.o"], ["/src/p/a.c", "/usr/include/stdio.h", "/src/p/inc/a.h"], DEFAULT_ENV_PREFIXES);
  assert.equal(c.root, "/src/p");
  assert.deepEqual(c.inRoot, ["/src/p/a.c", "/src/p/inc/a.h"]);
  assert.deepEqual(c.envProvided, ["/usr/include/stdio.h"]);
});

test("chooseRoot() puts a project under /usr in its own root", () => {
  const c = chooseRoot("/usr/src/p", ["/usr/src/p/a.o"], ["/usr/src/p/a.c", "/usr/include/stdio.h"], DEFAULT_ENV_PREFIXES);
  assert.equal(c.root, "/usr/src/p");
  assert.deepEqual(c.envProvided, ["/usr/include/stdio.h"]);
});

test("chooseRoot() widens to / when inputs span unrelated trees (callers reject it)", () => {
  assert.equal(chooseRoot("/home/u/p", ["/home/u/p/a.o"], ["/opt/sdk/x.h"], DEFAULT_ENV_PREFIXES).root, "/");
});

test("tokenizeRoot() replaces whole path prefixes only", () => {
  assert.equal(tokenizeRoot("-I/src/p/inc", "/src/p", "@R@"), "-I@R@/inc");
  assert.equal(tokenizeRoot("/src/p", "/src/p", "@R@"), "@R@");
  assert.equal(tokenizeRoot("-I/src/project2", "/src/p", "@R@"), "-I/src/project2");
  assert.equal(tokenizeRoot("-fdebug-prefix-map=/src/p=.", "/src/p", "@R@"), "-fdebug-prefix-map=@R@=.");
  assert.equal(tokenizeRoot("/src/p/a:/src/p/b", "/src/p", "@R@"), "@R@/a:@R@/b");
});

test("buildInputTree() reproduces the Directory golden vector of reapi-buildbarn.md §1.5", () => {
  const hello = digestOf(Buffer.from("hello\n"));
  const tree = buildInputTree([{ path: "hello.txt", digest: hello, isExecutable: false }], ["sub"]);
  assert.equal(tree.rootDigest.hash, "d0df3781e5b0c17bb52a7f7ab0c4f53c9e0b035abc1b6bc555e4aabab0a64a69");
  assert.equal(tree.rootDigest.sizeBytes, 158);
});

test("buildInputTree() rejects paths that leave the root or clash", () => {
  const d = digestOf(Buffer.from("x"));
  assert.throws(() => buildInputTree([{ path: "../x", digest: d, isExecutable: false }]), /leaves the input root/);
  assert.throws(() => buildInputTree([{ path: "a", digest: d, isExecutable: false }, { path: "a/b", digest: d, isExecutable: false }]), /both a file and a directory/);
});

test("buildInputTree() carries symlinks as SymlinkNodes, sorted, beside files", () => {
  const d = digestOf(Buffer.from("x"));
  const tree = buildInputTree([{ path: "tools/real", digest: d, isExecutable: true }], [],
    [{ path: "tools/gcc", target: "/usr/bin/gcc" }, { path: "tools/cc", target: "gcc" }]);
  const tools = [...tree.directories.values()].map((e) => R.Directory.decode(e.bytes)).find((x) => x.symlinks.length)!;
  assert.deepEqual(tools.symlinks.map((l) => [l.name, l.target]), [["cc", "gcc"], ["gcc", "/usr/bin/gcc"]]);
  assert.deepEqual(tools.files.map((f) => f.name), ["real"]);
});
