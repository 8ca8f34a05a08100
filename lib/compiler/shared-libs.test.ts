import { test } from "node:test";
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { parseLdd, sharedLibraries } from "./shared-libs.ts";
import { getCompilerInfo, parseFlags } from "./index.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("parseLdd() keeps resolved libraries and the loader, skips the vDSO and unresolved names", () => {
  const out = [
    "\tlinux-vdso.so.1 (0x00007ffd)",
    "\tlibLLVM-14.so.1 => /lib/x86_64-linux-gnu/libLLVM-14.so.1 (0x00007f65)",
    "\tlibgone.so.1 => not found",
    "\t/lib64/ld-linux-x86-64.so.2 (0x00007f66)",
  ].join("\n");
  assert.deepEqual(parseLdd(out), ["/lib/x86_64-linux-gnu/libLLVM-14.so.1", "/lib64/ld-linux-x86-64.so.2"]);
});

test("sharedLibraries() gives [] for a script", async () => {
  assert.deepEqual(await sharedLibraries("/usr/bin/ldd", process.env as Record<string, string>), []);
});

test("clang's CompilerInfo toolchain covers libLLVM and libclang-cpp, gcc's covers cc1's libraries", async () => {
  const env = process.env as Record<string, string>;
  const cwd = mkdtempSync(join(tmpdir(), "goma-libs-"));
  const clang = await getCompilerInfo(parseFlags(["clang", "-c", "a.c"], cwd), cwd, env, join(cwd, "cache"));
  const clangPaths = clang.toolchain.map((f) => f.path);
  assert.ok(clangPaths.some((p) => /libLLVM-\d+\.so/.test(p)), `libLLVM in ${clangPaths.join(" ")}`);
  assert.ok(clangPaths.some((p) => /libclang-cpp\.so/.test(p)));
  const llvm = clang.toolchain.find((f) => f.symlinkTarget === undefined && /libLLVM/.test(f.path))!;
  assert.match(llvm.hash, /^[0-9a-f]{64}$/);
  assert.equal(llvm.path, realpathSync(llvm.path));
  const gcc = await getCompilerInfo(parseFlags(["gcc", "-c", "a.c"], cwd), cwd, env, join(cwd, "cache"));
  assert.ok(gcc.toolchain.some((f) => /libmpfr\.so/.test(f.path)), "cc1 loads libmpfr");
});
