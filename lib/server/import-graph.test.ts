import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Our modules imported by `file` (static or on demand; type-only imports are erased and not counted),
 * except a compiler type descriptor's on-demand `import("./index.ts")` of its full half, which only
 * compiler_proxy calls (CompilerTypeDescriptor.load, lib/compiler/implementations.ts).
 */
function importsOf(file: string): string[] {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const typeLoader = (i: { path: string; kind: string }) =>
    i.kind === "dynamic-import" && i.path === "./index.ts" && /lib\/compiler\/[^/]+\/descriptor\.ts$/.test(file);
  return transpiler.scanImports(readFileSync(file, "utf8"))
    .filter((i) => i.path.startsWith(".") && !typeLoader(i))
    .map((i) => resolve(dirname(file), i.path));
}

test("no import path leads from lib/server into the compiler's flag parser (the server asks the type's remote policy)", () => {
  const forbidden = ["lib/compiler/parse-flags.ts", "lib/compiler/flag-table.ts", "lib/compiler/flag-scan.ts"].map((f) => join(repo, f));
  const roots = readdirSync(join(repo, "lib/server"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(repo, "lib/server", f));
  assert.ok(roots.length > 5);
  const via = new Map<string, string>(roots.map((r) => [r, ""]));
  const queue = [...roots];
  for (let i = 0; i < queue.length; i++) {
    for (const dep of importsOf(queue[i]!)) {
      if (via.has(dep)) continue;
      via.set(dep, queue[i]!);
      queue.push(dep);
    }
  }
  const chain = (f: string): string[] => (via.get(f) ? [...chain(via.get(f)!), relative(repo, f)] : [relative(repo, f)]);
  for (const f of forbidden) assert.equal(via.has(f), false, `lib/server reaches ${relative(repo, f)}: ${chain(f).join(" → ")}`);
  // It does reach the light registry, which is where it learns the remote policy.
  assert.ok(via.has(join(repo, "lib/compiler/registry.ts")));
});
