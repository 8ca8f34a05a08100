/**
 * The shared libraries a compiler binary loads, so that they too are part of every action's key.
 *
 * clang's code lives almost entirely in `libLLVM-N.so` and `libclang-cpp.so.N` (the `clang` executable
 * is ~150 KB); cc1 links libisl, libmpc, libmpfr, libgmp. Two workers with the same compiler executable
 * but different builds of those libraries could compile differently; Goma's CompilerInfo listed ELF
 * dependencies for the same reason (reference/goma-protocol.md §5, EXECUTABLE_BINARY resources). The
 * dynamic loader's own answer is used (`ldd`, glibc's resolver with the system's ld.so.cache), for the
 * compiler and its subprograms only — trusted binaries the proxy runs anyway.
 */
import { runCaptured } from "./run-captured.ts";

/**
 * Absolute paths of the shared libraries `binary` loads (and the dynamic loader), as `ldd` resolves them,
 * in ldd's order. A static binary, a script, or an `ldd` that is missing or fails gives `[]`: the
 * compiler's own hash still keys the action.
 * @example await sharedLibraries("/usr/lib/llvm-14/bin/clang") // ["/lib/x86_64-linux-gnu/libclang-cpp.so.14", …]
 */
export async function sharedLibraries(binary: string, env: Record<string, string>): Promise<string[]> {
  let out: string;
  try {
    const r = await runCaptured(["ldd", binary], { cwd: "/", env: { PATH: env.PATH || "/usr/bin:/bin", LC_ALL: "C" }, timeoutMs: 10_000 });
    if (r.code !== 0) return [];
    out = r.stdout;
  } catch {
    return [];
  }
  return parseLdd(out);
}

/**
 * Parses `ldd` output: `name => /path (0x…)` and `/path (0x…)` lines; skips the vDSO and unresolved
 * (`not found`) entries.
 * @internal
 */
export function parseLdd(text: string): string[] {
  const libs: string[] = [];
  for (const line of text.split("\n")) {
    const m = /=>\s*(\/\S+)\s+\(0x/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m && !libs.includes(m[1]!)) libs.push(m[1]!);
  }
  return libs;
}
