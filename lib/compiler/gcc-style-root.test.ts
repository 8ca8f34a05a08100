import { test } from "node:test";
import assert from "node:assert/strict";
import { gccStyleRootIndependent as rootIndependent } from "./gcc-style-root.ts";
import { tokenizeRoot } from "../server/exec-root.ts";
import { ROOT_TOKEN } from "../server/wrapper.ts";

const ROOT = "/src/checkout-a";
/** rootIndependent of a command line written with the client's absolute paths, tokenized as the server does. */
const indep = (line: string, env: string[] = []) =>
  rootIndependent(line.split(" ").map((a) => tokenizeRoot(a, ROOT, ROOT_TOKEN)), ROOT, ROOT_TOKEN, env.map((v) => tokenizeRoot(v, ROOT, ROOT_TOKEN)));

test("no debug info and only relative names: independent; an absolute name under the root needs a macro map", () => {
  assert.equal(indep("gcc -O2 -c a.c -o a.o"), true);
  assert.equal(indep("gcc -O2 -Iinclude -c src/a.c -o /src/checkout-a/out/a.o -MD -MF /src/checkout-a/out/a.d"), true);
  assert.equal(indep("gcc -O2 -c /src/checkout-a/a.c -o a.o"), false, "__FILE__ would be absolute");
  assert.equal(indep("gcc -O2 -I/src/checkout-a/include -c a.c"), false);
  assert.equal(indep("gcc -O2 -I/src/checkout-a/include -c a.c -fmacro-prefix-map=/src/checkout-a=."), true);
  assert.equal(indep("gcc -O2 -I/src/checkout-a/include -c a.c -ffile-prefix-map=/src/checkout-a/=."), true);
  assert.equal(indep("gcc -O2 -c a.c", ["/src/checkout-a/include"]), false, "a CPATH under the root");
  assert.equal(indep("gcc -O2 -I/usr/include/foo -c a.c"), true, "outside the root: the same in every checkout");
});

test("debug info needs a debug or file prefix map of the root itself; the last -g level counts", () => {
  assert.equal(indep("gcc -g -O2 -c a.c"), false, "DW_AT_comp_dir is the cwd");
  assert.equal(indep("gcc -g -O2 -c a.c -g0"), true);
  assert.equal(indep("gcc -g0 -ggdb3 -c a.c"), false);
  assert.equal(indep("gcc -g -c a.c -fdebug-prefix-map=/src/checkout-a=."), true);
  assert.equal(indep("gcc -g -c /src/checkout-a/a.c -fdebug-prefix-map=/src/checkout-a=."), false, "__FILE__ not mapped");
  assert.equal(indep("gcc -g -c /src/checkout-a/a.c -fdebug-prefix-map=/src/checkout-a=. -fmacro-prefix-map=/src/checkout-a=."), true);
  assert.equal(indep("clang -gdwarf-4 -c /src/checkout-a/a.c -ffile-prefix-map=/src/checkout-a=/proj"), true);
  assert.equal(indep("gcc -gz -c a.c"), true, "-gz compresses; it turns nothing on");
  assert.equal(indep("gcc -gsplit-dwarf -c a.c"), false);
});

test("maps that keep the checkout's name, or name the root in the new prefix: dependent", () => {
  assert.equal(indep("gcc -g -c a.c -ffile-prefix-map=/src=/x"), false, "an ancestor of the root");
  assert.equal(indep("gcc -g -c a.c -ffile-prefix-map=/=/x"), false);
  assert.equal(indep("gcc -g -c a.c -ffile-prefix-map=/src/checkout-a/sub=."), false, "a part of the root only");
  assert.equal(indep("gcc -g -c a.c -ffile-prefix-map=/src/checkout-a=. -ffile-prefix-map=/other=/src/checkout-a"), false);
  assert.equal(indep("gcc -g -c a.c -ffile-prefix-map=/src/checkout-a=. -ffile-prefix-map=/other=/y"), true, "unrelated maps are harmless");
});

test("coverage, recorded switches and response files: dependent whatever the maps", () => {
  const maps = "-ffile-prefix-map=/src/checkout-a=.";
  for (const f of ["--coverage", "-fprofile-arcs", "-ftest-coverage", "-fprofile-generate", "-frecord-gcc-switches", "@args.rsp"]) {
    assert.equal(indep(`gcc -O2 -c a.c ${maps} ${f}`), false, f);
  }
});
