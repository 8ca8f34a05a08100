/**
 * `goma doctor`'s check of the compilers it found against goma server's action sandbox: bubblewrap
 * gives each action a private /tmp (and hides the backend's data directory; as root also e.g. /root),
 * so a toolchain there does not exist for a sandboxed compile, which falls back to a local one.
 * Named with the path and the fix (lib/backend/sandbox.ts {@link hiddenBySandbox}).
 */
import type { CompilerInfo } from "../compiler/types.ts";
import { hiddenBySandbox, hiddenCompilerFix, SANDBOX_PRIVATE_DIRS } from "../backend/sandbox.ts";
import { warn, type CheckResult } from "./check.ts";

/** A compiler doctor found: its name, the path it was found at, its CompilerInfo. */
export interface FoundCompiler {
  name: string;
  path: string;
  info: Pick<CompilerInfo, "realPath" | "toolchain">;
}

/**
 * The first file of a compiler the sandbox hides, with the directory hiding it: the compiler as found
 * and the files it runs (the real binary, cc1/as, shared libraries; a symlink under /tmp to a visible
 * file is fine: the server runs the file it resolves to).
 */
export function hiddenToolchainFile(c: FoundCompiler, hide: readonly string[] = []): { path: string; dir: string } | undefined {
  const files = [c.info.realPath, ...c.info.toolchain.filter((f) => f.symlinkTarget === undefined).map((f) => f.path)];
  for (const path of files) {
    const dir = hiddenBySandbox(path, hide);
    if (dir !== undefined) return { path, dir };
  }
  return undefined;
}

/**
 * WARN `proxy.compiler.<name>.sandbox` for each compiler with a file the sandbox hides, unless the
 * server says its actions run unsandboxed (`backend.sandbox` not passing) or its backend is not the
 * embedded one (no `backend.sandbox` although the server answered).
 * @param sandbox the `backend.sandbox` check the server returned (its data: `{ kind, hide }`), if any.
 * @param serverOk whether the server answered (else its sandbox is unknown: the default, bubblewrap, is assumed).
 */
export function sandboxCompilerChecks(compilers: readonly FoundCompiler[], sandbox: CheckResult | undefined, serverOk: boolean): CheckResult[] {
  if (serverOk && sandbox?.status !== "pass") return [];
  const hide = Array.isArray(sandbox?.data?.hide) ? (sandbox.data.hide as string[]) : [];
  const out: CheckResult[] = [];
  for (const c of compilers) {
    const h = hiddenToolchainFile(c, hide);
    if (!h) continue;
    const what = SANDBOX_PRIVATE_DIRS.includes(h.dir) ? `the sandbox gives each action a private ${h.dir}` : `the sandbox hides ${h.dir}`;
    const file = h.path === c.path ? c.path : `${c.path} (${h.path})`;
    out.push(warn(`proxy.compiler.${c.name}.sandbox`, `compiler ${c.name} in the sandbox`,
      `${file} is under ${h.dir}: ${what}${sandbox ? "" : " (goma server's default, bubblewrap)"}, so remote compiles with it find no compiler and run locally`,
      hiddenCompilerFix(h.dir), { path: h.path, dir: h.dir }));
  }
  return out;
}
