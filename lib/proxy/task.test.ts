/**
 * The proxy's compile task (runTask) end to end in one process: the real flag parser, CompilerInfo
 * (the system gcc, probed once), include processor, ExecReq, `/e` with the missing-input protocol and
 * output writing, against a real server handler and ExecAdapter over the in-memory REAPI
 * (lib/server/fake-reapi.ts), reached through InProcessGomaClient (no socket). The fake backend's
 * "compiler" writes a deterministic object from the inputs it was given, so the test can tell what
 * reached the backend.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { CcRequest } from "../ipc/protocol.ts";
import { R } from "../reapi/proto.ts";
import { ExecAdapter } from "../server/exec.ts";
import { type FakeExecution, FakeReapi } from "../server/fake-reapi.ts";
import { FileStore } from "../server/file-store.ts";
import { createGomaHandler } from "../server/handler.ts";
import { InProcessGomaClient } from "../server/in-process-client.ts";
import { Code, GomaError } from "../util/status.ts";
import { IncludeProcessor } from "../include/index.ts";
import { FileHashCache } from "./file-hash-cache.ts";
import { runTask, type TaskContext } from "./task.ts";
import { TaskLog } from "./tasks.ts";

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();

/** The backend's compiler: `<out>` = "obj:" + the sorted root-relative inputs of the project, with their text. */
async function fakeCompile(x: FakeExecution): Promise<R.IActionResult> {
  const project = [...x.inputs].filter(([p]) => /^[ab]\.[ch]$/.test(p)).sort(([a], [b]) => (a < b ? -1 : 1));
  const obj = `obj:${project.map(([p, f]) => `${p}=${text(f.data)}`).join(";")}`;
  return { exitCode: 0, outputFiles: await Promise.all(x.command.outputPaths.map((p) => x.output(p, obj))) };
}

describe("runTask() against an in-process server over the fake REAPI", () => {
  let dir: string;
  let cacheDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "goma-task-"));
    cacheDir = await mkdtemp(join(tmpdir(), "goma-task-cache-"));
    await writeFile(join(dir, "a.c"), '#include "a.h"\nint main(void) { return A; }\n');
    await writeFile(join(dir, "a.h"), "#define A 0\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  });

  /** A proxy context wired to a fresh server and fake backend. */
  function wire(run = fakeCompile) {
    const reapi = new FakeReapi({ run });
    const files = new FileStore();
    const exec = new ExecAdapter({ reapi, files });
    const http = new InProcessGomaClient(createGomaHandler({ exec, files }));
    const ctx: TaskContext = {
      http, files: new FileHashCache(), tasks: new TaskLog(), cacheDir, serverHas: new Set(), compilerProxyId: "task-test",
      includes: new IncludeProcessor(),
    };
    return { reapi, exec, ctx };
  }

  const cc = (argv: string[], env: Record<string, string> = {}): CcRequest =>
    ({ v: 1, argv, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, umask: 0o022, pid: process.pid });

  test("a compile runs remotely: the inputs the include processor found reach the backend, the object is written", async () => {
    const { reapi, ctx } = wire();
    const ans = await runTask(cc(["gcc", "-c", "a.c", "-o", "a.o"]), ctx);
    assert.deepEqual(ans.header, { kind: "done", exitCode: 0, stdoutLength: 0, stderrLength: 0 });
    assert.equal(await readFile(join(dir, "a.o"), "utf8"), 'obj:a.c=#include "a.h"\nint main(void) { return A; }\n;a.h=#define A 0\n');
    assert.equal(reapi.callsOf("execute").length, 1);
    const [t] = ctx.tasks.list();
    assert.equal(t?.outcome, "remote");
  });

  test("the same compile again is answered by the action cache without Execute", async () => {
    const { reapi, ctx } = wire();
    await runTask(cc(["gcc", "-c", "a.c", "-o", "a.o"]), ctx);
    const ans = await runTask(cc(["gcc", "-c", "a.c", "-o", "a.o"]), ctx);
    assert.equal(ans.header.kind, "done");
    assert.equal(reapi.callsOf("execute").length, 1);
    assert.deepEqual(ctx.tasks.list().map((t) => t.outcome).sort(), ["cacheHit", "remote"]);
  });

  test("old inputs go hash-only; the server's missing_input makes the task resend them with content", async () => {
    const past = Date.now() / 1000 - 3600;
    await utimes(join(dir, "a.c"), past, past);
    await utimes(join(dir, "a.h"), past, past);
    const { exec, ctx } = wire();
    const ans = await runTask(cc(["gcc", "-c", "a.c", "-o", "b.o"]), ctx);
    assert.equal(ans.header.kind, "done");
    assert.equal(exec.stats.missingInputReplies, 1);
    assert.equal(ctx.tasks.list()[0]?.retries, 1);
    assert.match(await readFile(join(dir, "b.o"), "utf8"), /^obj:a\.c=/);
  });

  test("a backend failure makes the compile local, with the server's reason", async () => {
    const { reapi, ctx } = wire();
    reapi.failWith("getActionResult", new GomaError(Code.Unavailable, "backend is down"));
    const ans = await runTask(cc(["gcc", "-c", "a.c", "-o", "c.o"]), ctx);
    assert.equal(ans.header.kind, "local");
    assert.match((ans.header as { reason: string }).reason, /GetActionResult on the REAPI backend .*backend is down/);
    assert.equal(ctx.tasks.list()[0]?.outcome, "localFallback");
  });

  test("with GOMA_FALLBACK=false the same failure fails the compile with goma's reason instead", async () => {
    const { reapi, ctx } = wire();
    reapi.failWith("getActionResult", new GomaError(Code.Unavailable, "backend is down"));
    const ans = await runTask(cc(["gcc", "-c", "a.c", "-o", "c.o"], { GOMA_FALLBACK: "false" }), ctx);
    assert.equal(ans.header.kind, "done");
    assert.equal((ans.header as { exitCode: number }).exitCode, 1);
    assert.match(text(ans.stderr), /GOMA_FALLBACK=false forbids a local one: .*backend is down/);
  });

  test("a compile goma does not handle (preprocess only) runs locally without asking the server", async () => {
    const { reapi, ctx } = wire();
    const ans = await runTask(cc(["gcc", "-E", "a.c"]), ctx);
    assert.equal(ans.header.kind, "local");
    assert.equal(reapi.calls.length, 0);
    assert.equal(ctx.tasks.list()[0]?.outcome, "local");
  });
});
