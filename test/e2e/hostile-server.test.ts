/**
 * End to end against a fake, hostile Goma server: the compiled proxy (dist/goma) talks to a small HTTP
 * server in this test that answers every `/e` with a crafted ExecResp. The proxy must write only the
 * outputs the compile expects (object, dep file), each once, never a path outside them; anything else, or
 * a missing expected output, is a goma failure: `goma cc` compiles locally and the task records why.
 */
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, inflateRawSync } from "node:zlib";
import { goma, type IExecReq, type IExecResp } from "../../lib/goma/proto.ts";
import { gomaBin, run, startStack, type GomaStack } from "./harness.ts";

const T = goma.FileBlob.BlobType;
const enc = (s: string) => new TextEncoder().encode(s);

let fake: Server;
let stack: GomaStack;
/** Where the test's files live: `proj/` is the build (cwd), `outside/` must stay empty. */
let top: string;
let proj: string;
let outside: string;
/** The next `/e` answer, built from the request the proxy sent. */
let answer: (req: IExecReq) => IExecResp;
let execCalls = 0;

/** A FILE output blob. */
const file = (filename: string, content: string, isExecutable = false): goma.ExecResult.IOutput =>
  ({ filename, isExecutable, blob: { blobType: T.FILE, content: enc(content), fileSize: content.length } });
const ok = (output: goma.ExecResult.IOutput[]): IExecResp => ({ result: { exitStatus: 0, output } });

before(async () => {
  fake = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      const ce = req.headers["content-encoding"];
      if (ce === "gzip") body = gunzipSync(body);
      else if (ce === "deflate") body = inflateRawSync(body);
      let out: Uint8Array = new Uint8Array();
      if (req.url?.endsWith("/e")) {
        execCalls++;
        out = goma.ExecResp.encode(answer(goma.ExecReq.decode(body))).finish();
      }
      res.writeHead(200, { "content-type": "binary/x-protocol-buffer" });
      res.end(out);
    });
  });
  const port = await new Promise<number>((resolve) => fake.listen(0, "127.0.0.1", () => {
    const a = fake.address();
    resolve(typeof a === "object" && a ? a.port : 0);
  }));
  stack = await startStack({ server: false, serverPort: port });
  top = mkdtempSync(join(tmpdir(), "goma-hostile-"));
  proj = join(top, "proj");
  outside = join(top, "outside");
  mkdirSync(proj);
  writeFileSync(join(proj, "x.c"), "int x(void) { return 42; }\n");
});

after(async () => {
  await stack?.stop();
  await new Promise((resolve) => fake?.close(resolve));
  if (top) rmSync(top, { recursive: true, force: true });
});

beforeEach(() => {
  for (const f of readdirSync(proj)) if (f !== "x.c") rmSync(join(proj, f), { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** The object a local compile writes for `args`, read and removed again. */
async function localObject(args: string[], out = "x.o"): Promise<Buffer> {
  const r = await run(args, { cwd: proj });
  assert.equal(r.code, 0, r.stderr);
  const data = readFileSync(join(proj, out));
  rmSync(join(proj, out));
  return data;
}

/**
 * Compiles through goma against the fake server's current answer and checks the outcome: exit 0, the
 * object is the local compiler's, nothing exists outside `proj/` or at `extraPaths`, and the task fell
 * back locally with a reason matching `reason`.
 */
async function expectLocalFallback(reason: RegExp, extraPaths: string[] = [], args = ["gcc", "-c", "x.c", "-o", "x.o"]) {
  const want = await localObject(args);
  const calls = execCalls;
  const r = await run([gomaBin(), "cc", ...args], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(execCalls - calls, 1, "the proxy asked the fake server");
  assert.equal(existsSync(outside), false, `nothing is written outside the build: ${outside}`);
  for (const p of extraPaths) assert.equal(existsSync(p), false, `${p} was written`);
  assert.ok(readFileSync(join(proj, "x.o")).equals(want), "x.o is the local compiler's object");
  const tasks = await stack.tasks();
  const last = tasks.filter((x) => x.argv.join(" ") === args.join(" ")).sort((a, b) => b.id - a.id)[0];
  assert.equal(last?.outcome, "localFallback", JSON.stringify(last));
  assert.match(last?.reason ?? "", reason);
  return last!;
}

test("a well-formed answer is written as the remote result (the fake server works)", async () => {
  answer = () => ok([file("x.o", "remote object\n")]);
  const r = await run([gomaBin(), "cc", "gcc", "-c", "x.c", "-o", "x.o"], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(proj, "x.o"), "utf8"), "remote object\n");
});

test("outputs outside the build (../, absolute) are never written; the missing x.o comes from a local compile", async () => {
  const abs = join(top, "abs-target");
  answer = () => ok([file("../outside/x", "escaped\n"), file(abs, "absolute\n"), file("../outside/run.sh", "#!/bin/sh\nid\n", true)]);
  await expectLocalFallback(/unexpected output "\.\.\/outside\/x"/, [abs]);
});

test("an unexpected name inside the build is not written", async () => {
  answer = () => ok([file("x.o", "remote object\n"), file("evil.sh", "#!/bin/sh\nid\n", true), file("sub/new.o", "x")]);
  await expectLocalFallback(/unexpected output "evil\.sh"/, [join(proj, "evil.sh"), join(proj, "sub")]);
});

test("an output named twice is a goma failure, whichever content comes last", async () => {
  answer = () => ok([file("x.o", "first\n"), file("./x.o", "second\n")]);
  await expectLocalFallback(/output "\.\/x\.o" is named twice/);
});

test("a missing expected output (the dep file of -MD) is a goma failure", async () => {
  answer = () => ok([file("x.o", "remote object\n")]);
  const t = await expectLocalFallback(/expected output "x\.d" is missing/, [], ["gcc", "-MD", "-c", "x.c", "-o", "x.o"]);
  assert.equal(t.exitCode, 0, "the exit code is the local compile's");
  assert.ok(existsSync(join(proj, "x.d")), "the local compile wrote the dep file");
});

test("a FILE_META claiming a huge size is a goma failure, and the proxy keeps serving", async () => {
  answer = () => ok([{ filename: "x.o", blob: { blobType: T.FILE_META, fileSize: 2 ** 40, hashKey: [] } }]);
  await expectLocalFallback(/output "x\.o"/);
  answer = () => ok([file("x.o", "remote object\n")]);
  const r = await run([gomaBin(), "cc", "gcc", "-c", "x.c", "-o", "x.o"], { cwd: proj, env: stack.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(proj, "x.o"), "utf8"), "remote object\n");
});

test("a failed remote compile (exit 1, no outputs) is the compile's result, not a fallback", async () => {
  answer = () => ({ result: { exitStatus: 1, stderrBuffer: enc("x.c:1: error: remote says no\n"), output: [] } });
  const r = await run([gomaBin(), "cc", "gcc", "-c", "x.c", "-o", "x.o"], { cwd: proj, env: stack.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /remote says no/);
  assert.equal(existsSync(join(proj, "x.o")), false);
});
