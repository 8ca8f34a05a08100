/**
 * lib/include keeps no import cycle, type-only ones included: a type-only cycle costs nothing at run
 * time, but it ties two modules so neither can move or be read alone. The graph is lib/util/import-graph.ts's
 * (every `import … from`, `import type …`, `export … from`, side-effect and literal dynamic import between
 * our own files).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileCycles, importsOf, libImportGraph } from "../util/import-graph.ts";

const REPO = path.resolve(import.meta.dir, "../..");

describe("import graph", () => {
  test("the walker sees a cycle through `import type` lines", () => {
    const edges = [
      ...importsOf("lib/x/a.ts", 'import type { B } from "./b.ts";'),
      ...importsOf("lib/x/b.ts", 'import { c } from "./c.ts";'),
      ...importsOf("lib/x/c.ts", 'export type { A } from "./a.ts";'),
      ...importsOf("lib/x/d.ts", 'import "./a.ts";'),
    ];
    assert.deepEqual(fileCycles(edges), [["lib/x/a.ts", "lib/x/b.ts", "lib/x/c.ts"]]);
    const lib = libImportGraph(REPO);
    assert.ok(lib.some((e) => e.from === "lib/include/index.ts" && e.to === "lib/include/scanner.ts"));
  });

  test("lib/ has no import cycle at all but through a compiler type's on-demand load() of its own full half", () => {
    // CompilerTypeDescriptor.load (lib/compiler/<type>/descriptor.ts → ./index.ts) closes a loop that only
    // compiler_proxy walks at run time; every other loop would tie modules together.
    const loader = (e: { from: string; to: string }) => /^lib\/compiler\/[^/]+\/descriptor\.ts$/.test(e.from) && e.to === e.from.replace(/descriptor\.ts$/, "index.ts");
    const all = libImportGraph(REPO);
    assert.ok(all.filter(loader).length >= 3, "the three types' loaders are seen");
    assert.deepEqual(fileCycles(all.filter((e) => !loader(e))), []);
  });

  test("lib/include has no import cycle, type-only ones included", () => {
    const inInclude = fileCycles(libImportGraph(REPO)).filter((c) => c.some((p) => p.startsWith("lib/include/")));
    assert.deepEqual(inInclude, []);
  });
});
