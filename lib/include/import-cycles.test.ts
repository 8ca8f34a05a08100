import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The import graph of lib/: every `import … from "./x.ts"`, `import type …`, `export … from` and
 * side-effect `import "./x.ts"` line between our own files (packages and node: builtins are left out).
 * A type-only cycle costs nothing at run time, but it ties two modules so neither can move or be read
 * alone; lib/include keeps none.
 */
const LIB = path.resolve(import.meta.dir, "..");

/** Every .ts file under `dir` (tests and generated code left out), absolute. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "gen" && e.name !== "node_modules") out.push(...sources(p));
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/** file → the files it imports (relative specifiers only, resolved to absolute paths). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|^\s*import\s*["'](\.{1,2}\/[^"']+)["']/gm;
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    const deps = new Set<string>();
    for (const m of text.matchAll(spec)) deps.add(path.resolve(path.dirname(f), (m[1] ?? m[2])!));
    graph.set(f, [...deps].filter((d) => graph.has(d) || files.includes(d)));
  }
  return graph;
}

/** The strongly connected components with more than one file (Tarjan), each sorted, as paths relative to lib/. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(path.relative(LIB, w));
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe("import graph", () => {
  test("the walker sees a cycle through `import type` lines", () => {
    const g = new Map([["/a.ts", ["/b.ts"]], ["/b.ts", ["/c.ts"]], ["/c.ts", ["/a.ts"]], ["/d.ts", ["/a.ts"]]]);
    assert.deepEqual(cycles(g).map((c) => c.map((p) => path.basename(p))), [["a.ts", "b.ts", "c.ts"]]);
    const lines = importGraph(sources(path.join(LIB, "include")));
    assert.ok(lines.get(path.join(LIB, "include", "index.ts"))!.includes(path.join(LIB, "include", "scanner.ts")));
  });

  test("lib/include has no import cycle, type-only ones included", () => {
    const inInclude = cycles(importGraph(sources(LIB))).filter((c) => c.some((p) => p.startsWith("include/")));
    assert.deepEqual(inInclude, []);
  });
});
