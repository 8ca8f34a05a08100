/**
 * Goma's GOMA_FALLBACK=false through the compiled binary: when the remote compile cannot happen (here the
 * server is down), the compile fails with goma's reason on stderr instead of running locally — the way a
 * CI proves that everything ran remotely — while steps that are never remote (a link) still run.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gomaBin, run, startStack, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;
before(async () => {
  stack = await startStack({ server: false });
  proj = mkdtempSync(join(tmpdir(), "goma-fallback-"));
  writeFileSync(join(proj, "a.c"), "int main(void) { return 0; }\n");
});
after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});
/** The task the proxy recorded last. */
const last = async () => (await stack.tasks()).reduce((a, b) => (b.id > a.id ? b : a));
const cc = (args: string[], env: Record<string, string> = {}) => run([gomaBin(), "cc", ...args], { cwd: proj, env: { ...stack.env, ...env } });

test("GOMA_FALLBACK=false: the server unreachable fails the compile with goma's reason, writing no object", async () => {
  const r = await cc(["gcc", "-c", "a.c", "-o", "a.o"], { GOMA_FALLBACK: "false" });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^goma: the remote compile failed and GOMA_FALLBACK=false forbids a local one: .*goma server/);
  assert.equal(existsSync(join(proj, "a.o")), false);
  const t = await last();
  assert.equal(t.outcome, "failed");
  assert.match(t.reason ?? "", /^GOMA_FALLBACK=false: /);
});

test("by default (and with GOMA_FALLBACK=true) the same compile runs locally", async () => {
  for (const env of [{}, { GOMA_FALLBACK: "true" }] as Record<string, string>[]) {
    rmSync(join(proj, "a.o"), { force: true });
    const r = await cc(["gcc", "-c", "a.c", "-o", "a.o"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(proj, "a.o")));
    assert.equal((await last()).outcome, "localFallback");
  }
});

test("GOMA_FALLBACK=false still runs the steps that are never remote (a link)", async () => {
  const r = await cc(["gcc", "a.o", "-o", "a"], { GOMA_FALLBACK: "0" });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(proj, "a")));
});
