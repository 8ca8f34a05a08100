import { test } from "node:test";
import assert from "node:assert/strict";
import { hiddenToolchainFile, sandboxCompilerChecks, type FoundCompiler } from "./sandbox-checks.ts";
import { pass, warn } from "./check.ts";

const file = (path: string, symlinkTarget?: string) => ({ path, hash: symlinkTarget ? "" : "h", size: 1, isExecutable: !symlinkTarget, symlinkTarget });
const tmpClang: FoundCompiler = { name: "clang", path: "/tmp/tc/bin/clang", info: { realPath: "/tmp/tc/bin/clang", toolchain: [file("/tmp/tc/bin/clang"), file("/usr/lib/libLLVM.so")] } };
const linkToUsr: FoundCompiler = { name: "gcc", path: "/tmp/tc/gcc", info: { realPath: "/usr/bin/gcc-12", toolchain: [file("/tmp/tc/gcc", "/usr/bin/gcc-12"), file("/usr/bin/gcc-12")] } };
const cc1InTmp: FoundCompiler = { name: "gcc", path: "/usr/bin/gcc", info: { realPath: "/usr/bin/gcc-12", toolchain: [file("/usr/bin/gcc-12"), file("/tmp/gcc/cc1")] } };
const bwrap = pass("backend.sandbox", "backend sandbox", "bubblewrap", { kind: "bwrap", hide: ["/root", "/root/.cache/goma"] });

test("hiddenToolchainFile() names a real file under /tmp or a hidden dir, not a symlink to a visible one", () => {
  assert.deepEqual(hiddenToolchainFile(tmpClang), { path: "/tmp/tc/bin/clang", dir: "/tmp" });
  assert.equal(hiddenToolchainFile(linkToUsr), undefined);
  assert.deepEqual(hiddenToolchainFile(cc1InTmp), { path: "/tmp/gcc/cc1", dir: "/tmp" });
  const rootClang = { ...tmpClang, path: "/root/tc/clang", info: { realPath: "/root/tc/clang", toolchain: [file("/root/tc/clang")] } };
  assert.equal(hiddenToolchainFile(rootClang), undefined);
  assert.deepEqual(hiddenToolchainFile(rootClang, ["/root", "/root/.cache/goma"]), { path: "/root/tc/clang", dir: "/root" });
  assert.equal(hiddenToolchainFile({ ...tmpClang, path: "/tmpx/clang", info: { realPath: "/tmpx/clang", toolchain: [] } }), undefined);
});

test("sandboxCompilerChecks() warns with the path and the fix, unless the server's actions run unsandboxed", () => {
  const [w] = sandboxCompilerChecks([tmpClang, linkToUsr], bwrap, true);
  assert.equal(w?.id, "proxy.compiler.clang.sandbox");
  assert.equal(w?.status, "warn");
  assert.match(w!.evidence, /^\/tmp\/tc\/bin\/clang is under \/tmp: the sandbox gives each action a private \/tmp, so remote compiles with it find no compiler and run locally$/);
  assert.equal(w!.fix, "install the toolchain outside /tmp, or run goma server with --exec-sandbox off on a trusted machine");
  assert.equal(sandboxCompilerChecks([tmpClang, linkToUsr], bwrap, true).length, 1, "the symlink to /usr/bin is fine");
  assert.match(sandboxCompilerChecks([cc1InTmp], bwrap, true)[0]!.evidence, /^\/usr\/bin\/gcc \(\/tmp\/gcc\/cc1\) is under \/tmp/);
  const off = warn("backend.sandbox", "backend sandbox", "actions run without a sandbox", "install bubblewrap");
  assert.deepEqual(sandboxCompilerChecks([tmpClang], off, true), [], "--exec-sandbox off: /tmp is the host's");
  assert.deepEqual(sandboxCompilerChecks([tmpClang], undefined, true), [], "an external backend (no backend.sandbox)");
  assert.match(sandboxCompilerChecks([tmpClang], undefined, false)[0]!.evidence, /\(goma server's default, bubblewrap\)/, "server unknown: the default assumed");
});
