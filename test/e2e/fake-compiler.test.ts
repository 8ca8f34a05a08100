/**
 * The fake compiler type (lib/compiler/fake) through the whole pipeline with no gcc involved: `goma cc`
 * → proxy → server → embedded backend (the toolchain command policy accepts `fake-cc` because the
 * registry's fake type claims it), the server's action cache on a second run, the local fallback with no
 * server, a failing compile as a result, and an unknown compiler run locally with that reason. Every
 * output is byte-identical to running the fake compiler locally.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";
import { writeFakeCompiler } from "../../lib/compiler/fake/compiler.ts";
import { DEFAULT_ENV_PREFIXES } from "../../lib/server/exec-root.ts";

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

// The worker's own toolchain dir: in /var/tmp, not under /tmp (which the sandbox replaces with its own,
// and where a checkout, CI's among them, may live), readable by the sandbox's user; given to the server
// as one more --env-prefix so that the compiler is the worker's, as /usr/bin/gcc is.
let toolchain = "";
let fakeCc = "";
before(() => {
  toolchain = mkdtempSync("/var/tmp/goma-fake-toolchain-");
  chmodSync(toolchain, 0o755);
  cleanup.push(() => rmSync(toolchain, { recursive: true, force: true }));
  fakeCc = writeFakeCompiler(join(toolchain, "bin"));
});

const serverArgs = () => [...DEFAULT_ENV_PREFIXES, `${toolchain}/`].flatMap((p) => ["--env-prefix", p]);

/** A project: m.c includes inc/a.h, which includes inc/b.h (and m.c again). */
function project(): string {
  const proj = mkdtempSync(join(tmpdir(), "goma-e2e-fake-"));
  cleanup.push(() => rmSync(proj, { recursive: true, force: true }));
  mkdirSync(join(proj, "inc"));
  writeFileSync(join(proj, "m.c"), `#fake-include "inc/a.h"\nunique ${process.pid} ${Date.now()} ${Math.random()}\n`);
  writeFileSync(join(proj, "inc/a.h"), '#fake-include "b.h"\n#fake-include "../m.c"\n');
  writeFileSync(join(proj, "inc/b.h"), "leaf\n");
  return proj;
}

const ARGS = () => [fakeCc, "-c", "m.c", "-o", "m.o", "-MF", "m.d"];

/** What the fake compiler writes when run locally (then removed). */
async function localOutputs(proj: string, args = ARGS()): Promise<[string, string]> {
  const r = await run(args, { cwd: proj });
  assert.equal(r.code, 0, r.stderr);
  return takeOutputs(proj);
}

function takeOutputs(proj: string): [string, string] {
  const out: [string, string] = [readFileSync(join(proj, "m.o"), "utf8"), readFileSync(join(proj, "m.d"), "utf8")];
  rmSync(join(proj, "m.o"));
  rmSync(join(proj, "m.d"));
  return out;
}

async function lastTask(stack: GomaStack) {
  return (await stack.tasks())[0]!;
}

test("a fake compile runs remotely on the embedded backend, then hits the action cache; outputs are the local ones", async () => {
  const stack = await startStack({ serverArgs: serverArgs() });
  cleanup.push(() => stack.stop());
  const proj = project();
  const want = await localOutputs(proj);
  assert.match(want[0], /^fake-cc object v1\nargs: -c m\.c -o m\.o -MF m\.d\nm\.c [0-9a-f]{64}\ninc\/a\.h [0-9a-f]{64}\ninc\/b\.h [0-9a-f]{64}\n$/);

  const first = await run([gomaBin(), "cc", ...ARGS()], { cwd: proj, env: stack.env });
  assert.equal(first.code, 0, first.stderr);
  const t1 = await lastTask(stack);
  assert.equal(t1.outcome, "remote", `${JSON.stringify(t1)}\n${stack.serverLog()}`);
  assert.deepEqual(takeOutputs(proj), want);

  const second = await run([gomaBin(), "cc", ...ARGS()], { cwd: proj, env: stack.env });
  assert.equal(second.code, 0, second.stderr);
  assert.equal((await lastTask(stack)).outcome, "cacheHit");
  assert.deepEqual(takeOutputs(proj), want);

  // A failing fake compile is a result (exit 1 and its message), not a goma failure.
  copyFileSync(join(proj, "m.c"), join(proj, "fail.c"));
  const failed = await run([gomaBin(), "cc", fakeCc, "-c", "fail.c", "-o", "m.o", "-MF", "m.d"], { cwd: proj, env: stack.env });
  assert.deepEqual([failed.code, failed.stderr], [1, 'fake-cc: fail.c: failing as asked (the name contains "fail")\n']);
  const t3 = await lastTask(stack);
  assert.deepEqual([t3.outcome, t3.exitCode], ["remote", 1]);
});

test("with no server the fake compile falls back to a local run with the same outputs", async () => {
  const stack = await startStack({ server: false });
  cleanup.push(() => stack.stop());
  const proj = project();
  const want = await localOutputs(proj);
  const r = await run([gomaBin(), "cc", ...ARGS()], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await lastTask(stack)).outcome, "localFallback");
  assert.deepEqual(takeOutputs(proj), want);
});

test("a compiler no type claims runs locally with that reason, never as gcc", async () => {
  const stack = await startStack({ serverArgs: serverArgs() });
  cleanup.push(() => stack.stop());
  const proj = project();
  const tool = join(proj, "mystery-tool");
  writeFileSync(tool, "#!/bin/sh\necho mystery \"$@\" > out.txt\n", { mode: 0o755 });
  const r = await run([gomaBin(), "cc", tool, "-c", "m.c"], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(proj, "out.txt"), "utf8"), "mystery -c m.c\n");
  // The task as the dashboard shows it (its page renders /api/tasks).
  const t = await lastTask(stack);
  assert.equal(t.outcome, "local");
  assert.equal(t.reason, 'unknown compiler "mystery-tool": no compiler type claims it (fake, clang, gcc)');
});
