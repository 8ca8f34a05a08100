/**
 * `goma proxy stats` (like `ccache -s` / `-z`) through the compiled binary, after real compiles: counts
 * by outcome, hit rate, time, bytes, the top reasons for local runs; steps goma cc runs itself (a link,
 * `-E`, stdin input, `GOMA_DISABLED`) reported after the run; compiles run while no proxy answered, counted by the
 * next proxy from goma cc's spool; `--zero`. Plus: the cc path's static imports stay lean.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStack, gomaBin, run, type GomaStack } from "./harness.ts";

let stack: GomaStack;
let proj: string;

interface Summary {
  steps: number;
  counts: Record<string, number>;
  hitRatePercent: number | null;
  timeMs: { remote: number; local: number };
  bytes: { sent: number; received: number };
  localReasons: { reason: string; count: number }[];
}

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-stats-"));
  writeFileSync(join(proj, "a.c"), "int twice(int x) { return 2 * x; }\nint main(void) { return twice(0); }\n");
  writeFileSync(join(proj, "bad.c"), "int main(void) { return undeclared_thing; }\n");
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

const cc = (args: string[], env: Record<string, string> = stack.env) => run([gomaBin(), "cc", ...args], { cwd: proj, env });

async function stats(env = stack.env): Promise<Summary> {
  const r = await run([gomaBin(), "proxy", "stats", "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

/** Reads the stats until `ok` holds (goma cc's reports arrive after it exits), at most 30 s. */
async function statsWhen(ok: (s: Summary) => boolean, env = stack.env): Promise<Summary> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await stats(env);
    if (ok(s) || Date.now() > deadline) return s;
  }
}

test("goma proxy stats counts every outcome, the hit rate, time, bytes and the reasons for local runs; --zero resets", async () => {
  const s0 = await stats();
  assert.equal(s0.steps, 0);
  assert.equal(s0.hitRatePercent, null);

  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "a.o"])).code, 0); // remote
  rmSync(join(proj, "a.o"));
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "a.o"])).code, 0); // cache hit
  assert.notEqual((await cc(["gcc", "-c", "bad.c", "-o", "bad.o"])).code, 0); // remote, compiler error
  assert.equal((await cc(["gcc", "a.o", "-o", "prog"])).code, 0); // link: local at once
  const pre = await cc(["gcc", "-E", "a.c"]); // -E: local at once
  assert.equal(pre.code, 0);
  assert.match(pre.stdout, /twice/);
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "disabled.o"], { ...stack.env, GOMA_DISABLED: "true" })).code, 0);
  const stdin = await run([gomaBin(), "cc", "gcc", "-x", "c", "-c", "-", "-o", "stdin.o"], { cwd: proj, env: stack.env, stdin: "int from_stdin;\n" });
  assert.equal(stdin.code, 0, stdin.stderr); // stdin input: local at once
  // The proxy answers local (a dep file it cannot name); goma cc then reports the local run's time.
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "deps.o"], { ...stack.env, DEPENDENCIES_OUTPUT: join(proj, "deps.d") })).code, 0);

  const s = await statsWhen((x) => x.counts.direct === 4 && x.timeMs.local > 0);
  assert.equal(s.counts.remote, 2);
  assert.equal(s.counts.cacheHit, 1);
  assert.equal(s.counts.local, 1);
  assert.equal(s.counts.direct, 4);
  assert.equal(s.counts.remoteErrors, 1);
  assert.equal(s.counts.localFallback, 0);
  assert.equal(s.steps, 8);
  assert.equal(s.hitRatePercent, 33.3);
  assert.ok(s.timeMs.remote > 0 && s.timeMs.local > 0, JSON.stringify(s.timeMs));
  assert.ok(s.bytes.sent > 0 && s.bytes.received > 0, JSON.stringify(s.bytes));
  const reasons = new Map(s.localReasons.map((r) => [r.reason, r.count]));
  assert.equal(reasons.get("not a compile (no -c): link or other step"), 1);
  assert.equal(reasons.get("preprocess only (-E)"), 1);
  assert.equal(reasons.get("GOMA_DISABLED is set"), 1);
  assert.equal(reasons.get("input is stdin"), 1);
  assert.ok([...reasons.keys()].some((r) => r.startsWith("DEPENDENCIES_OUTPUT is set")), [...reasons.keys()].join("\n"));

  // The local run the proxy decided on carries goma cc's time and exit code; the link is a task row too.
  const tasks = await stack.tasks() as (Awaited<ReturnType<GomaStack["tasks"]>>[number] & { localMs?: number; stderr?: string })[];
  const deps = tasks.find((t) => t.argv.includes("deps.o"));
  assert.equal(deps?.outcome, "local");
  assert.equal(typeof deps?.localMs, "number");
  assert.equal(deps?.exitCode, 0);
  const link = tasks.find((t) => t.argv.includes("prog"));
  assert.equal(link?.outcome, "direct");
  assert.equal(link?.exitCode, 0);
  const bad = tasks.find((t) => t.argv.includes("bad.o"));
  assert.match(bad?.stderr ?? "", /undeclared_thing/);

  const table = await run([gomaBin(), "proxy", "stats"], { env: stack.env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Steps +8$/m);
  assert.match(table.stdout, /^ {2}cache hit +1 +12\.5 %$/m);
  assert.match(table.stdout, /^Cache hit rate +33\.3 %/m);
  assert.match(table.stdout, /^Time on remote compiles +\d+\.\d\d s$/m);
  assert.match(table.stdout, /^Bytes sent to the server +[\d.]+ (B|KiB|MiB)$/m);
  assert.match(table.stdout, /^Top reasons for local runs:\n( +\d+ {2}.+\n)+/m);
  assert.match(table.stdout, /^ +1 {2}not a compile \(no -c\): link or other step$/m);

  const zero = await run([gomaBin(), "proxy", "stats", "--zero"], { env: stack.env });
  assert.equal(zero.code, 0, zero.stderr);
  assert.match(zero.stdout, /^Steps +8$/m, "--zero prints the statistics it resets");
  assert.match(zero.stdout, /Statistics zeroed\./);
  const z = await stats();
  assert.equal(z.steps, 0);
  assert.equal(z.counts.remote, 0);
  assert.deepEqual(z.localReasons, []);
  assert.deepEqual(z.bytes, { sent: 0, received: 0 });
  assert.equal(z.hitRatePercent, null);
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "a.o"])).code, 0); // the same action again: a hit
  const again = await stats();
  assert.equal(again.counts.cacheHit, 1);
  assert.equal(again.hitRatePercent, 100);
});

test("compiles run while no proxy answered are counted by the next proxy (goma cc's spool)", async () => {
  await stack.stopProxy();
  assert.equal((await cc(["gcc", "-c", "a.c", "-o", "down.o"])).code, 0);
  assert.ok(existsSync(join(proj, "down.o")));
  assert.equal((await cc(["gcc", "down.o", "-o", "down-prog"])).code, 0);
  assert.ok(existsSync(join(stack.env.GOMA_TMP_DIR!, "goma_cc_unreached.jsonl")), "goma cc spooled the runs");
  const start = await run([gomaBin(), "proxy", "start"], { env: stack.env });
  assert.equal(start.code, 0, start.stderr);
  try {
    const s = await stats();
    assert.equal(s.counts.unreachable, 1);
    assert.equal(s.counts.direct, 1, "the link while the proxy was down");
    assert.ok(s.localReasons.some((r) => r.reason.startsWith("no goma proxy answered")), JSON.stringify(s.localReasons));
    assert.equal(existsSync(join(stack.env.GOMA_TMP_DIR!, "goma_cc_unreached.jsonl")), false, "counted once, then removed");
    const table = await run([gomaBin(), "proxy", "stats"], { env: stack.env });
    assert.match(table.stdout, /^ {2}proxy unreachable +1 +50\.0 %$/m);
  } finally {
    const stop = await run([gomaBin(), "proxy", "stop"], { env: stack.env });
    assert.equal(stop.code, 0, stop.stderr);
  }
});

test("goma proxy stats without a proxy says so and exits 1", async () => {
  const env = { ...stack.env, GOMA_TMP_DIR: mkdtempSync(join(tmpdir(), "goma-noproxy-")) };
  const r = await run([gomaBin(), "proxy", "stats"], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /goma proxy is not running .*goma proxy start/);
  rmSync(env.GOMA_TMP_DIR, { recursive: true, force: true });
});

test("the goma cc path imports no protobufjs, grpc-js, consola, citty, node:net or node:crypto", async () => {
  // Imports from the entry (cmd/goma.ts loads cmd/cc.ts for `goma cc`), walked through the sources with
  // Bun's own import scanner (our modules whether imported statically or on demand); packages and builtins
  // imported on demand there are the non-Bun fallbacks only (Bun.connect and Bun.spawn on Bun).
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const seen = new Set<string>();
  const external = new Set<string>();
  const dynamic = new Set<string>();
  const typeLoaders = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.path.startsWith(".")) {
        // A compiler type's descriptor loads the type's full half on demand, which only compiler_proxy asks
        // for (lib/compiler/implementations.ts): recorded, not followed.
        if (imp.kind === "dynamic-import" && /lib\/compiler\/[^/]+\/descriptor\.ts$/.test(file) && imp.path === "./index.ts") {
          typeLoaders.add(file.slice(repo.length + 1));
          continue;
        }
        walk(resolve(dirname(file), imp.path)); // our own modules, static or loaded on demand (exec-bytes.ts)
        continue;
      }
      if (imp.kind === "dynamic-import") dynamic.add(`${file.slice(repo.length + 1)} → ${imp.path}`);
      else external.add(imp.path);
    }
  };
  walk(join(repo, "cmd/cc.ts"));
  // cmd/goma.ts itself, without following its dynamic import of the full CLI.
  for (const imp of transpiler.scanImports(readFileSync(join(repo, "cmd/goma.ts"), "utf8"))) {
    if (imp.kind !== "dynamic-import" && imp.path.startsWith(".")) walk(resolve(repo, "cmd", imp.path));
  }
  for (const bad of ["protobufjs", "@grpc/grpc-js", "consola", "citty", "prom-client", "node:net", "net", "node:crypto", "crypto"]) {
    assert.equal(external.has(bad), false, `${bad} is imported on the cc path (${[...external].join(", ")})`);
  }
  assert.deepEqual([...external].sort(), ["node:fs", "node:path"].filter((m) => external.has(m)).sort(), `unexpected imports: ${[...external].join(", ")}`);
  // goma cc knows the compiler types by name only (masquerade): their loaders are reached, never called.
  assert.deepEqual([...typeLoaders].sort(), ["lib/compiler/clang/descriptor.ts", "lib/compiler/fake/descriptor.ts", "lib/compiler/gcc/descriptor.ts"]);
  assert.deepEqual([...dynamic].sort(), [
    "lib/cc/connect.ts → node:net", // off Bun only
    "lib/cc/exec-bytes.ts → bun:ffi", // only for an argv with non-UTF-8 bytes
    "lib/cc/local.ts → node:child_process", // off Bun only
  ].sort());
});

test("malformed reports on the proxy's socket are ignored; the proxy keeps answering", async () => {
  const env = stack.env;
  const start = await run([gomaBin(), "proxy", "start"], { env });
  assert.equal(start.code, 0, start.stderr);
  try {
    const { createConnection } = await import("node:net");
    const sock = join(env.GOMA_TMP_DIR!, "goma.ipc");
    const frame = (json: string) => {
      const body = Buffer.from(json);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.byteLength);
      return Buffer.concat([len, body]);
    };
    for (const json of ['{"v":1,"report":null}', '{"v":1,"report":"x"}', '{"v":1,"report":{"argv":[1,{}],"ms":"x","id":"7"}}', "null", '"str"', "[]", '{"report":{"id":1e308}}']) {
      await new Promise<void>((resolve) => {
        const s = createConnection(sock, () => s.end(frame(json)));
        s.on("data", () => {});
        s.on("close", () => resolve());
        s.on("error", () => resolve());
      });
    }
    const s = await stats();
    assert.equal(s.counts.failed, 0);
    // Only the report whose id is no number counts, as a step run at once with no argv; the rest are dropped.
    assert.equal(s.counts.direct, 1, JSON.stringify(s.counts));
    assert.equal(s.steps, 1);
  } finally {
    assert.equal((await run([gomaBin(), "proxy", "stop"], { env })).code, 0);
  }
});

test("goma cc's report of a local run is fire and forget: it exits before the proxy reads, and the report is whole", async () => {
  // A stand-in for the proxy that accepts but reads nothing until goma cc has exited.
  const { createServer } = await import("node:net");
  const dir = mkdtempSync(join(tmpdir(), "goma-e2e-notify-"));
  const sock = join(dir, "standin.ipc");
  const accepted: import("node:net").Socket[] = [];
  let onAccept = () => {};
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.pause();
    accepted.push(s);
    onAccept();
  });
  await new Promise<void>((res) => server.listen(sock, res));
  try {
    const env = { ...stack.env, GOMA_TMP_DIR: dir, GOMA_COMPILER_PROXY_SOCKET_NAME: sock };
    for (const argv of [["gcc", "-E", "a.c"], ["gcc", "a.c", "-o", "standin-prog"]]) {
      const r = await cc(argv, env); // resolves once goma cc has exited
      assert.equal(r.code, 0, r.stderr);
      if (accepted.length === 0) await new Promise<void>((res) => (onAccept = res));
      const s = accepted.shift()!;
      const chunks: Buffer[] = [];
      s.on("data", (b: Buffer) => chunks.push(b));
      await new Promise<void>((res) => s.on("end", res).on("close", res).on("error", () => res()).resume());
      s.end();
      const all = Buffer.concat(chunks);
      const len = all.readUInt32LE(0);
      assert.equal(all.byteLength, 4 + len, "one complete frame");
      const { report } = JSON.parse(all.subarray(4).toString("utf8")) as { report: { outcome: string; reason: string; argv: string[]; exitCode: number } };
      assert.equal(report.outcome, "direct");
      assert.deepEqual(report.argv, argv);
      assert.equal(report.exitCode, 0);
      assert.match(report.reason, argv[1] === "-E" ? /^preprocess only/ : /^not a compile/);
    }
    // It counted the write as delivered: nothing was spooled for the next proxy (it would count the run twice).
    assert.equal(existsSync(join(dir, "goma_cc_unreached.jsonl")), false);
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
    rmSync(dir, { recursive: true, force: true });
  }
});
