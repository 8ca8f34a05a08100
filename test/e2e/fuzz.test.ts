/**
 * Fuzz test of the compiled binary's request surfaces (issue 10 §4): `/e`, `/l`, `/s` of `goma server` and
 * the unix socket of `goma proxy`. Bounded and reproducible: a seeded PRNG drives a few thousand cases
 * in seconds. The seed is fixed ({@link DEFAULT_SEED}: every CI run makes the same cases); it is printed,
 * and `GOMA_FUZZ_SEED=<n>` runs (or replays) another one (`GOMA_FUZZ_CASES` changes the count).
 *
 * Checked throughout: the server and proxy stay up; no 5xx (or 429) for a client's mistake, only 200,
 * 400 or 413; every socket connection is answered or closed; nothing is written outside the stack's own
 * dirs (requests name cwd and outputs in a sentinel dir that must never appear); the server's and the
 * proxy's peak RSS (VmHWM from /proc: the high-water mark over the whole run, not a sample) stay bounded. Every `/e` case carries an input the server cannot have, so no
 * fuzzed request ever runs a command: it is refused or answered with missing_input.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { existsSync, readdirSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { gzipSync, deflateRawSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goma } from "../../lib/goma/proto.ts";
import { serializeBlob, blobHashKey, FILE_CHUNK_SIZE } from "../../lib/goma/file-blob.ts";
import { startStack, type GomaStack } from "./harness.ts";
import { localTokenPath, readLocalToken } from "../../lib/auth/local-token.ts";

/** The seed when GOMA_FUZZ_SEED is unset: fixed, so that a CI failure replays exactly. */
const DEFAULT_SEED = 20261002;
const SEED = Number(process.env.GOMA_FUZZ_SEED || DEFAULT_SEED);
const CASES = Number(process.env.GOMA_FUZZ_CASES || 2500);
const SOCKET_CASES = Math.ceil(CASES / 8);
/** Limits the checks hold the processes to. */
const MAX_SERVER_RSS = 1024 * 1024 * 1024;
const MAX_PROXY_RSS = 768 * 1024 * 1024;
const HUNG_MS = 20_000;

let stack: GomaStack;
let proj: string;
let outside: string;

/** mulberry32: small, fast, good enough to drive a fuzzer; the whole run follows from SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, pick, bytes, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

/**
 * Peak RSS in bytes (VmHWM: the most the process has ever had resident) of the process whose command
 * line contains all of `words`, from /proc.
 */
function peakRssOf(words: string[]): number {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ");
    } catch {
      continue;
    }
    if (!words.every((w) => cmd.includes(w))) continue;
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    if (m) return Number(m[1]) * 1024;
  }
  throw new Error(`no process with ${words.join(" ")} in /proc`);
}

const bigChunk = serializeBlob({ blobType: 3, offset: 0, content: new Uint8Array(FILE_CHUNK_SIZE).fill(1), fileSize: FILE_CHUNK_SIZE });
const smallChunk = serializeBlob({ blobType: 3, offset: 0, content: Buffer.from("int x;\n"), fileSize: 7 });
const storedKeys = [blobHashKey(bigChunk), blobHashKey(smallChunk)];
/** 80 MiB of zeros, gzipped once (about 80 KB): inflates past the server's 64 MiB body limit. */
const gzipBomb = gzipSync(new Uint8Array(80 * 1024 * 1024));

/** A random string: mostly plausible, sometimes hostile (NUL, huge, `..`, absolute, invalid UTF-16). */
function str(r: Rng, plausible: string): string {
  switch (r.int(10)) {
    case 0: return plausible + "\0x";
    case 1: return "x".repeat(r.pick([256, 5000, 140_000]));
    case 2: return r.pick(["../../etc/passwd", "/etc/shadow", `${outside}/x.o`, "..", "", ".goma/run.sh"]);
    case 3: return String.fromCharCode(...Array.from({ length: 1 + r.int(20) }, () => r.int(0x10000)));
    default: return plausible;
  }
}

function randomBlob(r: Rng): goma.IFileBlob {
  const type = r.pick([0, 1, 2, 3, 4, 99]);
  const b: goma.IFileBlob = { blobType: type };
  if (r.chance(0.8)) b.fileSize = r.pick([0, 7, -1, -(2 ** 40), 2 ** 28, 2 ** 52, FILE_CHUNK_SIZE * 3, r.int(1000)]);
  if (r.chance(0.5)) b.content = r.bytes(r.int(64));
  if (r.chance(0.3)) b.offset = r.pick([0, 7, -1, 2 ** 40]);
  if (r.chance(0.5)) b.hashKey = Array.from({ length: r.pick([1, 2, 3, 128, 300]) }, () => r.chance(0.7) ? r.pick(storedKeys) : "f".repeat(64));
  return b;
}

function randomExecReq(r: Rng): goma.IExecReq {
  const req: goma.IExecReq = {
    commandSpec: { name: r.pick(["gcc", "clang", "", "sh"]), version: "1", target: "x86_64-linux-gnu" },
    cwd: r.chance(0.9) ? str(r, `${outside}/proj`) : "relative/dir",
    arg: Array.from({ length: r.int(8) }, (_, i) => str(r, i === 0 ? "gcc" : r.pick(["-c", "a.c", "-o", "a.o", "-Iinc", "-DX=1"]))),
    env: Array.from({ length: r.int(4) }, () => str(r, r.pick(["LANG=C", "CPATH=/usr/include", "PATH=/bin"]))),
    input: Array.from({ length: r.int(4) }, () => ({
      filename: str(r, r.pick(["a.c", "inc/a.h", "/usr/include/stdio.h"])),
      hashKey: r.chance(0.5) ? r.pick(storedKeys) : r.bytes(8).join(""),
      ...(r.chance(0.4) ? { content: randomBlob(r) } : {}),
    })),
    expectedOutputFiles: Array.from({ length: r.int(3) }, () => str(r, r.pick(["a.o", `${outside}/abs.o`, "../up.o"]))),
    expectedOutputDirs: r.chance(0.1) ? [str(r, "out")] : [],
    toolchainIncluded: r.chance(0.8),
    toolchainSpecs: r.chance(0.7) ? [{ path: str(r, "/usr/bin/gcc"), hash: "0".repeat(64), size: r.pick([1, -1, 2 ** 50]), isExecutable: true }] : [],
    cachePolicy: r.pick([0, 1, 2, 3, 4, 7]) as goma.ExecReq.CachePolicy, // 0 and 7 are not in the enum: a client mistake
  };
  // The guard: an input no server can hold, so the request never reaches execution.
  req.input!.push({ filename: "zz-fuzz-guard.h", hashKey: `${r.int(1e9)}`.padStart(64, "e") });
  return req;
}

/** One HTTP case: path, body and headers. */
function httpCase(r: Rng): { path: string; body: Uint8Array; headers: Record<string, string> } {
  const path = r.pick(["/e", "/e", "/e", "/l", "/l", "/s", "/s", "/ping", "/sl"]);
  let body: Uint8Array;
  if (path === "/e") body = goma.ExecReq.encode(randomExecReq(r)).finish();
  else if (path === "/l") {
    const n = r.pick([0, 1, 5, 40, 255, 256, 257, 1100, 3000]);
    body = goma.LookupFileReq.encode({ hashKey: Array.from({ length: n }, () => r.chance(0.8) ? storedKeys[0]! : str(r, "k")) }).finish();
  } else if (path === "/s") body = goma.StoreFileReq.encode({ blob: Array.from({ length: r.pick([0, 1, 2, 10, 257]) }, () => randomBlob(r)) }).finish();
  else body = r.bytes(r.int(32));
  // Byte-level damage: flips, truncation, garbage.
  if (r.chance(0.25) && body.byteLength) {
    body = body.slice();
    for (let k = 0; k < 1 + r.int(4); k++) body[r.int(body.byteLength)] = r.int(256);
  }
  if (r.chance(0.1)) body = body.subarray(0, r.int(body.byteLength + 1));
  if (r.chance(0.05)) body = r.bytes(r.int(4096));
  const headers: Record<string, string> = { "content-type": "binary/x-protocol-buffer" };
  switch (r.int(8)) {
    case 0: headers["content-encoding"] = "gzip"; body = gzipSync(body); break;
    case 1: headers["content-encoding"] = "deflate"; body = deflateRawSync(body); break;
    case 2: headers["content-encoding"] = r.pick(["gzip", "deflate", "br", "x-bogus"]); break; // not actually encoded
    case 3: if (r.chance(0.2)) { headers["content-encoding"] = "gzip"; body = gzipBomb; } break; // a bomb
  }
  if (r.chance(0.5)) headers["accept-encoding"] = r.pick(["gzip", "deflate", "identity", "br"]);
  return { path, body, headers };
}

function frame(header: unknown, raw?: string): Buffer {
  const json = Buffer.from(raw ?? JSON.stringify(header));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  return Buffer.concat([head, json]);
}

/** One socket case: bytes to send; always half-closed, so an incomplete frame is answered, not waited for. */
function socketCase(r: Rng): Buffer {
  const argv = [r.pick(["gcc", "clang", "g++", "/nonexistent/cc"]), ...Array.from({ length: r.int(6) }, () =>
    str(r, r.pick(["-c", "-o", "missing.o", "missing.c", "-E", "-M", "-I", "-x", "c", "@rsp", "-"])))];
  const req = { v: r.pick([1, 1, 1, 2, 0]), argv, cwd: r.pick([proj, "/nonexistent", "rel", 5]), env: r.chance(0.9) ? { PATH: process.env.PATH ?? "/usr/bin:/bin" } : "x", umask: 18, pid: 1 };
  switch (r.int(8)) {
    case 0: return Buffer.from(r.bytes(r.int(64)));
    case 1: { const f = frame(req); return f.subarray(0, r.int(f.length)); }
    case 2: return frame(null, r.pick(["null", "5", "[]", '"x"', "{", "{}", '{"control":7}', '{"control":"stats"}']));
    case 3: { const f = frame(req); f.writeUInt32LE(r.pick([0, 1, 0x7fffffff, 0xffffffff, f.length + 100]), 0); return f; }
    default: return frame(req);
  }
}

function sendSocket(socketPath: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socketPath);
    const got: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`proxy connection hung ${HUNG_MS / 1000} s`)); }, HUNG_MS);
    s.on("connect", () => s.end(bytes));
    s.on("data", (c: Buffer) => got.push(c));
    s.on("error", () => {});
    s.on("close", () => { clearTimeout(timer); resolve(Buffer.concat(got)); });
  });
}

before(async () => {
  stack = await startStack();
  proj = mkdtempSync(join(tmpdir(), "goma-e2e-fuzz-proj-"));
  writeFileSync(join(proj, "rsp"), "-c missing.c\n");
  outside = join(stack.tmp, "outside-must-not-exist");
});

after(async () => {
  await stack?.stop();
  if (proj) rmSync(proj, { recursive: true, force: true });
});

test(`fuzz /e, /l, /s and the proxy socket (seed ${SEED}; replay with GOMA_FUZZ_SEED=${SEED})`, async () => {
  console.log(`fuzz seed ${SEED} (${CASES} HTTP cases, ${SOCKET_CASES} socket cases): replay with GOMA_FUZZ_SEED=${SEED}`);
  const r = prng(SEED);
  const base = `http://127.0.0.1:${stack.serverPort}/cxx-compiler-service`;
  const serverWords = ["server", "--port", String(stack.serverPort)];
  // A loopback server without --auth-* wants its user's local token (lib/auth/local-token.ts), as the proxy sends it.
  const token = readLocalToken(localTokenPath({ ...process.env, ...stack.env }));
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  for (const blob of [bigChunk, smallChunk]) {
    const s = await fetch(`${base}/s`, { method: "POST", headers: auth, body: Buffer.from(goma.StoreFileReq.encode({ blob: [goma.FileBlob.decode(blob)] }).finish()) });
    assert.equal(s.status, 200);
    await s.arrayBuffer();
  }
  const statuses = new Map<number, number>();
  const msByPath = new Map<string, number>();
  const cases = Array.from({ length: CASES }, () => httpCase(r));
  const started = Date.now();
  for (let i = 0; i < cases.length; i += 8) {
    await Promise.all(cases.slice(i, i + 8).map(async (c, k) => {
      const t0 = performance.now();
      const res = await fetch(base + c.path, { method: "POST", body: Buffer.from(c.body), headers: { ...c.headers, ...auth } });
      const data = await res.arrayBuffer();
      msByPath.set(c.path, Math.round((msByPath.get(c.path) ?? 0) + performance.now() - t0));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok([200, 400, 413].includes(res.status), `case ${i + k} (${c.path}, seed ${SEED}): HTTP ${res.status}: ${Buffer.from(data).toString("utf8").slice(0, 300)}`);
      assert.ok(data.byteLength <= 80 * 1024 * 1024, `case ${i + k}: a ${data.byteLength}-byte response`);
    }));
  }
  const peakServer = peakRssOf(serverWords);
  console.log(`HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))} in ${Date.now() - started} ms (summed ms per path ${JSON.stringify(Object.fromEntries(msByPath))}); server peak RSS ${(peakServer / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(peakServer < MAX_SERVER_RSS, `server RSS reached ${peakServer} bytes`);

  const socketPath = join(stack.env.GOMA_TMP_DIR!, "goma.ipc");
  const kinds = new Map<string, number>();
  for (let i = 0; i < SOCKET_CASES; i += 8) {
    const batch = Array.from({ length: Math.min(8, SOCKET_CASES - i) }, () => socketCase(r));
    await Promise.all(batch.map(async (bytes) => {
      const answer = await sendSocket(socketPath, bytes);
      let kind = "closed";
      if (answer.length >= 4) kind = String(JSON.parse(answer.subarray(4, 4 + answer.readUInt32LE(0)).toString("utf8"))?.kind ?? "control");
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      assert.notEqual(kind, "closed", `socket case closed without an answer (seed ${SEED}): ${bytes.subarray(0, 80).toString("latin1")}`);
    }));
  }
  const peakProxy = peakRssOf(["proxy", "run"]);
  console.log(`socket answers ${JSON.stringify(Object.fromEntries(kinds))}; proxy peak RSS ${(peakProxy / 2 ** 20).toFixed(0)} MiB`);

  // Still up, and nothing written where a request pointed.
  const ping = await fetch(`${base}/ping`, { method: "POST", headers: auth });
  assert.equal(ping.status, 200, "the server is still up");
  assert.equal((await stack.stats()).total >= 0, true, "the proxy is still up");
  assert.equal(existsSync(outside), false, `a request made something write to ${outside}`);
  assert.deepEqual(readdirSync(stack.tmp).sort(), ["proxy-cache", "server", "tmp"], "nothing beside the stack's own dirs");
  assert.ok(peakProxy < MAX_PROXY_RSS, `proxy RSS reached ${peakProxy} bytes`);
});
