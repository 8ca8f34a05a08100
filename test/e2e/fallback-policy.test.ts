/**
 * Goma's GOMA_FALLBACK=false through the compiled binary: when the remote compile cannot happen (here the
 * server is down, or no proxy answers at all), the compile fails with goma's reason on stderr instead of
 * running locally — the way a CI proves that everything ran remotely — while steps that are never remote
 * (a link, -E) still run. And GOMA_USE_LOCAL=false (Goma's "never race or run locally when remote can
 * serve"): a remotable compile runs remotely, a link locally.
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

test("GOMA_FALLBACK=false with no proxy answering: the compile fails naming the proxy, links and -E still run", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "goma-noproxy-")); // no proxy listens on its socket
  try {
    const env = { GOMA_TMP_DIR: tmp, GOMA_FALLBACK: "false" };
    const r = await cc(["gcc", "-c", "a.c", "-o", "noproxy.o"], env);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^goma: no goma proxy answered on ${tmp}/\\S+ \\(.+\\), and GOMA_FALLBACK=false forbids a local compile$`));
    assert.equal(existsSync(join(proj, "noproxy.o")), false);
    const link = await cc(["gcc", "a.c", "-o", "noproxy-prog"], env);
    assert.equal(link.code, 0, link.stderr);
    assert.ok(existsSync(join(proj, "noproxy-prog")));
    const pre = await cc(["gcc", "-E", "a.c"], env);
    assert.equal(pre.code, 0, pre.stderr);
    assert.match(pre.stdout, /int main/);
    // Without GOMA_FALLBACK=false the same compile runs locally: a build never fails because goma is down.
    const dflt = await cc(["gcc", "-c", "a.c", "-o", "noproxy.o"], { GOMA_TMP_DIR: tmp });
    assert.equal(dflt.code, 0, dflt.stderr);
    assert.ok(existsSync(join(proj, "noproxy.o")));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("GOMA_USE_LOCAL=false: a remotable compile runs remotely (no local run), a link still runs locally", async () => {
  const full = await startStack();
  try {
    const env = { ...full.env, GOMA_USE_LOCAL: "false" };
    const r = await run([gomaBin(), "cc", "gcc", "-c", "a.c", "-o", "uselocal.o"], { cwd: proj, env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(proj, "uselocal.o")));
    const link = await run([gomaBin(), "cc", "gcc", "uselocal.o", "-o", "uselocal"], { cwd: proj, env });
    assert.equal(link.code, 0, link.stderr);
    assert.ok(existsSync(join(proj, "uselocal")));
    const tasks = await full.tasks() as (Awaited<ReturnType<GomaStack["tasks"]>>[number] & { localMs?: number })[];
    const compile = tasks.find((t) => t.argv.includes("uselocal.o") && t.argv.includes("-c"));
    assert.equal(compile?.outcome, "remote", JSON.stringify(compile));
    assert.equal(compile?.localMs, undefined, "no local run");
    // The link's report arrives after goma cc exits (fire and forget): wait for its row.
    let linkRow = tasks.find((t) => t.argv.includes("uselocal") && !t.argv.includes("-c"));
    for (const deadline = Date.now() + 30_000; !linkRow && Date.now() < deadline;) {
      linkRow = (await full.tasks()).find((t) => t.argv.at(-1) === "uselocal");
    }
    assert.equal(linkRow?.outcome, "direct");
  } finally {
    await full.stop();
  }
});
