/**
 * End to end: an infrastructure failure on the worker is a goma failure (local fallback with the
 * reason), never the compile's result. The server runs in its own mount namespace with its cache dir —
 * CAS, action cache and the action directories the compiler writes into — on a 2 MiB tmpfs: a real
 * full disk. A compile whose object is 3 MiB then fails remotely with `No space left on device`; before,
 * the user's build failed with that message (recorded as "remote", exit 1).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;

/** The server in a private mount namespace (user namespace too when not root), cache dir on a tmpfs. */
const onTinyTmpfs = (cmd: string[], cacheDir: string) => [
  "unshare", ...(process.getuid?.() === 0 ? ["-m"] : ["-r", "-m"]),
  "sh", "-c", 'mount -t tmpfs -o size=2m goma-full "$0" && exec "$@"', cacheDir, ...cmd,
];

before(async () => {
  stack = await startStack({ serverWrap: onTinyTmpfs });
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-enospc-"));
  writeFileSync(join(proj, "big.c"), "char big[3 << 20] = { 1 };\nint main(void) { return big[0] - 1; }\n");
  writeFileSync(join(proj, "small.c"), "int small(int x) { return x + 1; }\n");
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

test("a full disk on the server (ENOSPC while the compiler writes its object) falls back to a local compile with the reason", async () => {
  const args = ["gcc", "-O2", "-c", "big.c", "-o", "big.o"];
  const r = await run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, `the build must not fail because the server's disk is full:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /No space left/, "the remote failure is not shown as the compile's");
  const viaGoma = readFileSync(join(proj, "big.o"));
  const l = await run(args, { cwd: proj });
  assert.equal(l.code, 0, l.stderr);
  assert.ok(viaGoma.equals(readFileSync(join(proj, "big.o"))), "the object equals a local compile's");
  const task = (await stack.tasks()).find((t) => t.argv.includes("big.c"));
  assert.equal(task?.outcome, "localFallback", JSON.stringify(task));
  assert.match(task?.reason ?? "", /No space left on device/);
  assert.match(task?.reason ?? "", /infrastructure/);

  // The server is still up and compiles what fits.
  const s = await run([gomaBin(), "cc", "gcc", "-c", "small.c", "-o", "small.o"], { cwd: proj, env: stack.env });
  assert.equal(s.code, 0, s.stderr);
  assert.equal((await stack.tasks()).find((t) => t.argv.includes("small.c"))?.outcome, "remote");
});
