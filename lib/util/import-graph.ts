/**
 * The import graph of goma's sources, for tests that keep its layering honest (style.md §5.1: imports
 * point one way, `cmd → config → {proxy, server, backend} → {compiler, include, goma, reapi, blobstore}
 * → {digest, platform, util}`). Reads `import … from`, `export … from`, side-effect `import "…"` and
 * dynamic `import("…")` with a literal path; only relative specifiers count (packages and `node:` are
 * not goma's). Test-only tooling: nothing on a runtime path imports it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One import: from a file to a file, both relative to the root, and whether only types are imported. */
export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

const STATIC = /(?:^|[\s;])(import|export)\s+(type\s+)?([^;"'`]*?)\s*from\s*["']([^"']+)["']/g;
const SIDE_EFFECT = /(?:^|[\s;])import\s*["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The source without block comments and `//` comment lines (a docstring's example is not an import). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * The relative imports of one file's text.
 * @param file the importing file's path relative to `root`.
 * @example importsOf("a/b.ts", 'import { x } from "../c.ts";') // [{ from: "a/b.ts", to: "c.ts", typeOnly: false }]
 */
export function importsOf(file: string, text: string, root = "."): ImportEdge[] {
  const out: ImportEdge[] = [];
  const src = code(text);
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith(".")) return;
    out.push({ from: file, to: relative(root, resolve(root, dirname(file), spec)), typeOnly });
  };
  for (const m of src.matchAll(STATIC)) {
    const names = m[3] ?? "";
    // `import type {…}`, or `import { type a, type b }` where every name is a type.
    const allTypes = Boolean(m[2]) || (/^\{[^}]*\}$/.test(names.trim()) && names.replace(/[{}\s]/g, "").split(",").filter(Boolean).every((n) => n.startsWith("type")));
    add(m[4]!, allTypes);
  }
  for (const m of src.matchAll(SIDE_EFFECT)) add(m[1]!, false);
  for (const m of src.matchAll(DYNAMIC)) add(m[1]!, false);
  return out;
}

/** Every `.ts` file under `dir` (recursively), tests and generated code included unless `skip` says no. */
export function sourceFiles(dir: string, skip: (path: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (skip(p)) continue;
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p, skip));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/**
 * The import edges among the non-test sources under `root/lib`, paths relative to `root`.
 * Test files (`*.test.ts`) are left out: they may import across layers.
 */
export function libImportGraph(root: string): ImportEdge[] {
  const files = sourceFiles(join(root, "lib"), (p) => p.endsWith(".test.ts"));
  return files.flatMap((f) => importsOf(relative(root, f), readFileSync(f, "utf8"), root));
}

/** The top-level directory of a path under lib/ (`lib/include/pp/x.ts` → `include`), else the path. */
export function libDirOf(path: string): string {
  const m = /^lib\/([^/]+)\//.exec(path);
  return m ? m[1]! : path;
}

/**
 * The strongly connected components (Tarjan) of more than one node of the graph `next` (node → the
 * nodes it points to), each sorted; nodes visited in sorted order, so the result is stable.
 */
export function stronglyConnected(next: ReadonlyMap<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string) => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** The graph of `edges` with the nodes `key` maps each end to (edges within one node dropped). */
function graphOf(edges: readonly ImportEdge[], key: (path: string) => string): Map<string, Set<string>> {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = key(e.from);
    const b = key(e.to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    next.get(a)!.add(b);
  }
  return next;
}

/**
 * The directory-level cycles: strongly connected components of more than one directory in the graph
 * whose nodes are lib/'s top-level directories. Each cycle's directories are sorted.
 */
export function directoryCycles(edges: readonly ImportEdge[]): string[][] {
  return stronglyConnected(graphOf(edges, libDirOf));
}

/**
 * The file-level cycles (type-only imports included: they tie two modules as much for a reader), each
 * a sorted list of paths as the edges name them.
 */
export function fileCycles(edges: readonly ImportEdge[]): string[][] {
  return stronglyConnected(graphOf(edges, (p) => p));
}

/** The edges from files in lib/`fromDir` to files in lib/`toDir` (top-level directories). */
export function edgesBetween(edges: readonly ImportEdge[], fromDir: string, toDir: string): ImportEdge[] {
  return edges.filter((e) => libDirOf(e.from) === fromDir && libDirOf(e.to) === toDir);
}
