import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { directoryCycles, edgesBetween, importsOf, libImportGraph } from "./import-graph.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const graph = libImportGraph(ROOT);
const show = (es: { from: string; to: string }[]) => es.map((e) => `${e.from} → ${e.to}`).join("\n");

test("importsOf() reads static, type-only, re-export, side-effect and dynamic imports; skips packages and comments", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    'import { type C, type D } from "./c.ts";',
    'export { e } from "./e.ts";',
    'import "./side.ts";',
    'const m = await import("../dyn.ts");',
    'import { x } from "node:fs";',
    "/** @example import { no } from \"./doc.ts\" */",
    '// import { no } from "./line.ts";',
    "import {",
    "  multi,",
    '} from "./multi.ts";',
  ].join("\n");
  assert.deepEqual(importsOf("lib/p/f.ts", text).map((e) => [e.to, e.typeOnly]), [
    ["lib/p/a.ts", false], ["lib/b.ts", true], ["lib/p/c.ts", true], ["lib/p/e.ts", false], ["lib/p/multi.ts", false],
    ["lib/p/side.ts", false], ["lib/dyn.ts", false],
  ]);
});

test("directoryCycles() finds the directories that import each other, directly or around a loop", () => {
  const e = (from: string, to: string) => ({ from: `lib/${from}/x.ts`, to: `lib/${to}/y.ts`, typeOnly: false });
  assert.deepEqual(directoryCycles([e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d"), e("d", "e")]), [["a", "b", "c"]]);
  assert.deepEqual(directoryCycles([e("a", "b"), e("b", "c")]), []);
});

test("lib/goma and lib/auth do not import each other (the auth provider is passed into the HTTP client)", () => {
  assert.equal(show(edgesBetween(graph, "goma", "auth")), "");
  assert.equal(show(edgesBetween(graph, "auth", "goma")), "");
  const cycles = directoryCycles(graph);
  assert.ok(!cycles.some((c) => c.includes("goma") && c.includes("auth")), `cycle: ${JSON.stringify(cycles)}`);
});

test("lib/config sits below the code it configures: it imports only lib/util", () => {
  const out = graph.filter((e) => e.from.startsWith("lib/config/") && !e.to.startsWith("lib/config/") && !e.to.startsWith("lib/util/"));
  assert.equal(show(out), "");
  const cycles = directoryCycles(graph);
  assert.ok(!cycles.some((c) => c.includes("config")), `cycle: ${JSON.stringify(cycles)}`);
});
