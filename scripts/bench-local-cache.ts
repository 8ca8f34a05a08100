/**
 * Proxy time per local-output-cache hit: starts a stack (tests' harness: dist/goma server + proxy) with
 * GOMA_LOCAL_OUTPUT_CACHE_DIR, compiles one file once (remote), then N more times (hits), and prints the
 * medians of the hits' stage times and durations from the proxy's /api/tasks (ms). With
 * GOMA_BENCH_SERVER_HITS=1 the local cache is off and the hits are the server's action-cache hits (for
 * comparison).
 *
 *   node_modules/.bin/bun scripts/bench-local-cache.ts DIR FILE.c [N=50] [-- extra gcc flags]
 *   node_modules/.bin/bun scripts/bench-local-cache.ts /tmp/lua/src lapi.c 50 -- -DLUA_USE_LINUX
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run } from "../test/e2e/harness.ts";

const [dir, file, nArg, dash, ...extra] = process.argv.slice(2);
if (!dir || !file) throw new Error("usage: bench-local-cache.ts DIR FILE.c [N] [-- flags]");
if (dash !== undefined && dash !== "--") throw new Error("extra gcc flags follow --");
const n = Number(nArg ?? 50);
const loc = mkdtempSync(join(tmpdir(), "goma-bench-loc-"));
const serverHits = process.env.GOMA_BENCH_SERVER_HITS === "1";
const stack = await startStack({ env: serverHits ? {} : { GOMA_LOCAL_OUTPUT_CACHE_DIR: loc } });
try {
  const args = ["gcc", "-O2", "-g", "-MD", ...extra, "-c", join(dir, file), "-o", join(dir, file.replace(/\.c$/, ".o"))];
  for (let i = 0; i <= n; i++) {
    const r = await run([gomaBin(), "cc", ...args], { cwd: dir, env: stack.env });
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const tasks = (await stack.tasks()) as unknown as { outcome: string; localCacheHit?: boolean; durationMs: number; stages: Record<string, number> }[];
  const hits = tasks.filter((t) => (serverHits ? t.outcome === "cacheHit" : t.localCacheHit));
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const stageNames = [...new Set(hits.flatMap((t) => Object.keys(t.stages)))];
  console.log(`${hits.length} ${serverHits ? "server action-cache" : "local-cache"} hits of ${file} (of ${tasks.length} tasks)`);
  for (const s of stageNames) console.log(`  ${s.padEnd(12)} ${median(hits.map((t) => t.stages[s] ?? 0)).toFixed(2)} ms`);
  console.log(`  ${"stages sum".padEnd(12)} ${median(hits.map((t) => Object.values(t.stages).reduce((a, b) => a + b, 0))).toFixed(2)} ms`);
  console.log(`  ${"task (ms)".padEnd(12)} ${median(hits.map((t) => t.durationMs)).toFixed(2)} ms  (whole ms: Date.now())`);
} finally {
  await stack.stop();
  rmSync(loc, { recursive: true, force: true });
}
