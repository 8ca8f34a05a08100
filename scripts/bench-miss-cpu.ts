/**
 * Server CPU per cache miss, in-process transport vs loopback gRPC (docs/bench/miss-path.md): for each
 * round and each mode (GOMA_SERVER_INPROC=true / false, interleaved), starts a stack (tests' harness:
 * dist/goma server with its embedded backend + proxy), warms it with one compile, then runs N
 * sequential misses of a tiny C file (a distinct constant each, `gcc -O2 -g -c`) through `goma cc` and
 * reads the server process's own utime+stime (children excluded) and its children's cutime+cstime from
 * /proc/<pid>/stat before and after. Prints ms per miss per round, the medians and their ratio.
 *
 *   node_modules/.bin/bun scripts/bench-miss-cpu.ts [N=30] [ROUNDS=3]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run, startStack } from "../test/e2e/harness.ts";

const n = Number(process.argv[2] ?? 30);
const rounds = Number(process.argv[3] ?? 3);
const CLK_TCK = 100;

/** [own utime+stime, children's cutime+cstime] of `pid`, ms. */
function cpuMs(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  // After "pid (comm) ": state is field 3, so utime (14) is index 11.
  const [ut, st, cut, cst] = [11, 12, 13, 14].map((i) => Number(f[i]));
  return [((ut! + st!) * 1000) / CLK_TCK, ((cut! + cst!) * 1000) / CLK_TCK];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, { own: number[]; children: number[] }> = { true: { own: [], children: [] }, false: { own: [], children: [] } };
const proj = mkdtempSync(join(tmpdir(), "goma-bench-miss-"));
let serial = 0;
try {
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? ["false", "true"] : ["true", "false"]) {
      const pidFile = join(proj, `server-${mode}-${r}.pid`);
      const stack = await startStack({
        env: { GOMA_SERVER_INPROC: mode },
        serverWrap: (cmd) => ["sh", "-c", 'echo $$ > "$0"; exec "$@"', pidFile, ...cmd],
      });
      try {
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        const compile = async () => {
          const src = join(proj, `m${serial}.c`);
          writeFileSync(src, `#include <stdio.h>\nint f(void) { printf("%d\\n", ${serial}); return ${serial++}; }\n`);
          const res = await run([gomaBin(), "cc", "gcc", "-O2", "-g", "-c", src, "-o", src.replace(/\.c$/, ".o")], { cwd: proj, env: stack.env });
          if (res.code !== 0) throw new Error(res.stderr);
        };
        await compile();
        const before = await stack.stats();
        const [own0, ch0] = cpuMs(pid);
        for (let i = 0; i < n; i++) await compile();
        const [own1, ch1] = cpuMs(pid);
        const after = await stack.stats();
        if (after.remote! - before.remote! !== n) throw new Error(`only ${after.remote! - before.remote!} of ${n} compiles were remote misses`);
        results[mode]!.own.push((own1 - own0) / n);
        results[mode]!.children.push((ch1 - ch0) / n);
        console.log(`round ${r + 1} GOMA_SERVER_INPROC=${mode}: server ${((own1 - own0) / n).toFixed(1)} ms/miss, children ${((ch1 - ch0) / n).toFixed(1)} ms/miss (load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
      } finally {
        await stack.stop();
      }
    }
  }
  const a = median(results.true!.own), b = median(results.false!.own);
  console.log(`median server CPU per miss: in-process ${a.toFixed(1)} ms, gRPC ${b.toFixed(1)} ms, ratio ${(a / b).toFixed(2)}`);
  console.log(`median children CPU per miss: in-process ${median(results.true!.children).toFixed(1)} ms, gRPC ${median(results.false!.children).toFixed(1)} ms`);
} finally {
  rmSync(proj, { recursive: true, force: true });
}
