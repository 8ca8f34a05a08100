/**
 * One compile task, top to bottom (Goma's compile_task states INIT → SETUP → FILE_REQ → CALL_EXEC →
 * FILE_RESP → FINISHED, reference/goma-protocol.md §4.2): the compiler's type (lib/compiler/registry.ts;
 * none: local) → parse flags → CompilerInfo → inputs →
 * ExecReq → `/e` with the missing-input protocol (§2.4) → outputs → answer. Any failure of goma answers
 * `local`, so `goma cc` runs the compiler itself: a build never fails because goma failed.
 */
import { relative, isAbsolute, resolve } from "node:path";
import { goma, type IExecReq } from "../goma/proto.ts";
import type { GomaHttpClient } from "../goma/http-client.ts";
import type { CompilerInfo, CompilerFlags } from "../compiler/types.ts";
import { compilerTypeFor, unknownCompilerReason } from "../compiler/implementations.ts";
import type { CcRequest, CcResponse } from "../ipc/protocol.ts";
import { Code, GomaError } from "../util/status.ts";
import type { FileHashCache } from "./file-hash-cache.ts";
import type { TaskLog, TaskRecord } from "./tasks.ts";
import { writeOutputs } from "./outputs.ts";
import { isOutage, type Breaker } from "./breaker.ts";
import type { IncludeProcessor } from "../include/index.ts";
import { log } from "../util/log.ts";
import { compileSettings } from "../config/proxy-config.ts";
import { localCacheKey, type LocalOutputCache, type CachedResult } from "./local-output-cache.ts";

/** The proxy-wide state a task uses. */
export interface TaskContext {
  http: GomaHttpClient;
  files: FileHashCache;
  tasks: TaskLog;
  /** GOMA_CACHE_DIR: where CompilerInfo is cached. */
  cacheDir: string;
  /** Hash keys the server is known to hold (sent hash-only). */
  serverHas: Set<string>;
  compilerProxyId: string;
  /** false: always list inputs with the compiler's -M (GOMA_USE_INCLUDE_PROCESSOR=false). */
  includeProcessor?: boolean;
  /** The proxy's include processor (its caches live as long as the proxy). */
  includes: IncludeProcessor;
  /** Pauses remote compiles while the server keeps failing. */
  breaker?: Breaker;
  /** Goma's LocalOutputCache (GOMA_LOCAL_OUTPUT_CACHE_DIR); undefined when off. */
  localCache?: LocalOutputCache;
  /** The proxy's GOMA_FALLBACK (lib/config/proxy-config.ts `ProxyConfig.fallback`); default true. */
  fallback?: boolean;
}

/** The answer for `goma cc`: header plus stdout/stderr payload. */
export interface TaskAnswer {
  header: CcResponse;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

/** Goma's "client-important" environment, forwarded in ExecReq.env (§4.3). */
const CLIENT_ENV = /^(LANG|LC_[A-Z_]+|LANGUAGE|LIBRARY_PATH|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|OBJC_INCLUDE_PATH|SOURCE_DATE_EPOCH)$/;
/** A file modified within this many ms is "new": sent with content (GOMA_COMPILER_PROXY_NEW_FILE_THRESHOLD). */
const NEW_FILE_MS = 300_000;
/** At most this many `/e` calls per task (first try + missing-input rounds + retries, kMaxExecRetry = 4). */
const MAX_EXEC_CALLS = 5;

/** A failure that means "compile locally, not a goma failure": the local compiler shows the real error. */
class LocalOnly extends Error {}

/**
 * `GOMA_FALLBACK=false` (the compile's environment, else the proxy's; Goma's requester_env.fallback):
 * a compile goma should have run remotely and could not fails with goma's reason instead of running
 * locally — how a CI proves that everything ran remotely. Steps that are never remote (links, `-E`,
 * flags goma does not handle) still run locally.
 */
function fallbackAllowed(env: Record<string, string>, ctx: TaskContext): boolean {
  return compileSettings(env, ctx.fallback ?? true).fallback;
}

/** Runs one compile task and returns the answer for `goma cc`. Never throws. */
export async function runTask(req: CcRequest, ctx: TaskContext): Promise<TaskAnswer> {
  const t = ctx.tasks.start(req.argv, req.cwd, req.pid);
  const stage = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      t.stages[name] = Math.round((performance.now() - t0) * 10) / 10;
    }
  };
  try {
    const notText = notUtf8(req);
    if (notText) return local(ctx, t, "local", notText);
    // The compiler's type (lib/compiler/registry.ts) parses, identifies and lists; no type: an unknown
    // compiler, run locally with that reason, never treated as gcc.
    const type = await compilerTypeFor(req.argv[0] ?? "");
    if (!type) return local(ctx, t, "local", req.argv.length ? unknownCompilerReason(req.argv[0]!) : "empty command line");
    const flags = await stage("flags", () => type.parseFlags(req.argv, req.cwd));
    if (flags.unsupported) return local(ctx, t, "local", flags.unsupported);
    // While remote compiles are paused, a compile runs locally at once, unless the local output cache may
    // answer it (it never needs the server): then the breaker is asked again after a miss.
    const paused = ctx.breaker?.blocked();
    if (paused && !ctx.localCache) return local(ctx, t, "localFallback", paused, req.env);
    const envDeps = ["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"].find((k) => req.env[k]);
    if (envDeps) return local(ctx, t, "local", `${envDeps} is set: the compiler would write a dep file goma cannot name`);
    const info = await stage("info", () =>
      type.compilerInfo(flags, req.cwd, req.env, ctx.cacheDir).catch((e) => {
        throw new GomaError(GomaError.from(e).code, `compiler info: ${GomaError.from(e).rawMessage}`);
      }));
    // True when the include processor listed the inputs: its stats are then this compile's (listInputs).
    let scanned = false;
    const inputs = await stage("inputs", async () => {
      // Our include processor first; where it gives up, the compiler's own -M (never a guessed list).
      if (ctx.includeProcessor !== false) {
        const scan = await type.scanInputs(flags, info, req.cwd, req.env, ctx.includes);
        scanned = !scan.fallback;
        if (!scan.fallback) return scan.files;
        t.includeFallback = scan.fallback;
      }
      return type.discoverInputs(flags, info, req.cwd, req.env).catch((e) => {
        const err = GomaError.from(e);
        if (err.code === Code.FailedPrecondition) throw new LocalOnly(`preprocessing fails; the local compiler reports it: ${firstLine(err.rawMessage)}`);
        throw err;
      });
    });
    const [execReq, listed] = await stage("request", async () =>
      [buildExecReq(req, flags, info, ctx), await listInputs(inputs, info, req.cwd, ctx, scanned)] as const);
    const expected = { allowed: flags.outputs, required: [flags.output, ...(flags.depFile !== undefined ? [flags.depFile] : [])] };
    const lc = ctx.localCache;
    if (lc && execReq.cachePolicy !== goma.ExecReq.CachePolicy.STORE_ONLY) {
      // Goma's LocalOutputCache: an identical request (lib/proxy/local-output-cache.ts) answered before.
      const hit = await stage("localCache", () =>
        lc.lookup(localCacheKey({ ...execReq, input: listed.map((e) => ({ filename: e.name, hashKey: e.hashKey })) }, type.normalizer)));
      if (hit) {
        const answer = await stage("outputs", () => writeOutputs(resultOf(hit), req.cwd, req.umask, ctx.http, expected)).then(
          () => {
            ctx.tasks.finish(t, "cacheHit", { exitCode: 0, stderr: hit.stderr, localCacheHit: true });
            return done(0, hit.stdout, hit.stderr);
          },
          // Cannot happen for a verified entry of this key; if it does, the server answers instead.
          (e) => void log.warn(`task ${t.id}: local output cache hit not written: ${GomaError.from(e).rawMessage}`),
        );
        if (answer) return answer;
      }
    }
    if (lc) {
      const stillPaused = ctx.breaker?.blocked();
      if (stillPaused) return local(ctx, t, "localFallback", stillPaused, req.env);
    }
    // The breaker hears only about the exchange with the server, and each outage once (lib/proxy/breaker.ts).
    const ticket = ctx.breaker?.begin();
    const { resp, sent } = await stage("exec", () => execWithMissingInputs(execReq, listed, req.cwd, ctx, t)).catch((e) => {
      if (isOutage(e)) ctx.breaker?.failure(GomaError.from(e).rawMessage, ticket);
      throw e;
    });
    ctx.breaker?.success();
    const result = resp.result!;
    const written = await stage("outputs", () => writeOutputs(result, req.cwd, req.umask, ctx.http, expected));
    const cacheHit = resp.cacheHit === goma.ExecResp.CacheSource.STORAGE_CACHE || resp.cacheHit === goma.ExecResp.CacheSource.MEM_CACHE;
    const stdout = result.stdoutBuffer ?? new Uint8Array();
    const stderr = result.stderrBuffer ?? new Uint8Array();
    if (lc && result.exitStatus === 0) {
      // Keyed by the request that produced these outputs. Registered before the answer goes out, so an
      // identical compile that comes meanwhile waits for it; written after (lib/proxy/local-output-cache.ts).
      const entry: CachedResult = { files: written.map((w) => ({ name: w.name, content: w.data, isExecutable: w.isExecutable })), exitStatus: 0, stdout, stderr };
      void lc.store(localCacheKey(sent, type.normalizer), entry);
    }
    ctx.tasks.finish(t, cacheHit ? "cacheHit" : "remote", { exitCode: result.exitStatus, stderr });
    return done(result.exitStatus, stdout, stderr);
  } catch (e) {
    if (e instanceof LocalOnly) return local(ctx, t, "local", e.message);
    if (e instanceof GomaError) return local(ctx, t, "localFallback", e.rawMessage, req.env);
    return local(ctx, t, "failed", `goma internal error: ${(e as Error)?.stack ?? String(e)}`, req.env);
  }
}

/** The answer for a compile goma ran: exit code and the compiler's output. */
function done(exitCode: number, stdout: Uint8Array, stderr: Uint8Array): TaskAnswer {
  return { header: { kind: "done", exitCode, stdoutLength: stdout.byteLength, stderrLength: stderr.byteLength }, stdout, stderr };
}

/** A local output cache entry as an ExecResult, so that its outputs pass the same checks as the server's. */
function resultOf(hit: CachedResult): goma.IExecResult {
  return {
    exitStatus: hit.exitStatus,
    stdoutBuffer: hit.stdout,
    stderrBuffer: hit.stderr,
    output: hit.files.map((f) => ({ filename: f.name, isExecutable: f.isExecutable, blob: { blobType: goma.FileBlob.BlobType.FILE, content: f.content, fileSize: f.content.byteLength } })),
  };
}

function local(ctx: TaskContext, t: TaskRecord, outcome: "local" | "localFallback" | "failed", reason: string, env?: Record<string, string>): TaskAnswer {
  if (outcome !== "local" && env !== undefined && !fallbackAllowed(env, ctx)) {
    const why = `goma: the remote compile failed and GOMA_FALLBACK=false forbids a local one: ${reason}\n`;
    ctx.tasks.finish(t, "failed", { reason: `GOMA_FALLBACK=false: ${reason}`, exitCode: 1 });
    const stderr = new TextEncoder().encode(why);
    return { header: { kind: "done", exitCode: 1, stdoutLength: 0, stderrLength: stderr.byteLength }, stdout: new Uint8Array(), stderr };
  }
  ctx.tasks.finish(t, outcome, { reason });
  return { header: { kind: "local", reason, id: t.id } };
}

/** A lone low surrogate U+DC80..U+DCFF: a byte that was not valid UTF-8, escaped by `goma cc` (lib/cc/bytes.ts). */
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/**
 * Why a compile whose argv, cwd or forwarded environment is not valid UTF-8 runs locally, or "". REAPI
 * names files and arguments with proto3 strings, which must be UTF-8 (Buildbarn rejects anything else),
 * so such a compile cannot be described remotely; `goma cc` runs it with the exact bytes.
 */
export function notUtf8(req: Pick<CcRequest, "argv" | "cwd" | "env">): string {
  const show = (s: string) => JSON.stringify(s).replace(/\\udc([89a-f][0-9a-f])/g, "\\x$1");
  const i = req.argv.findIndex((a) => ESCAPED_BYTE.test(a));
  if (i >= 0) return `argument ${i} ${show(req.argv[i]!)} is not valid UTF-8: REAPI names are UTF-8 strings, so it compiles locally with its exact bytes`;
  if (ESCAPED_BYTE.test(req.cwd)) return `the working directory ${show(req.cwd)} is not valid UTF-8: REAPI names are UTF-8 strings, so it compiles locally`;
  const bad = Object.entries(req.env).find(([k, v]) => CLIENT_ENV.test(k) && ESCAPED_BYTE.test(v));
  if (bad) return `${bad[0]} is not valid UTF-8: REAPI strings are UTF-8, so it compiles locally`;
  return "";
}

function firstLine(s: string): string {
  return s.split("\n").find((l) => l.trim()) ?? s;
}

/** The ExecReq for a compile, inputs not yet attached (Goma's SETUP). */
function buildExecReq(req: CcRequest, flags: CompilerFlags, info: CompilerInfo, ctx: TaskContext): IExecReq {
  const env = Object.entries(req.env).filter(([k]) => CLIENT_ENV.test(k) && k !== "PWD").map(([k, v]) => `${k}=${v}`);
  const { useSuccess, storeOnly } = compileSettings(req.env);
  const P = goma.ExecReq.CachePolicy;
  return {
    commandSpec: {
      name: info.name,
      version: info.version,
      target: info.target,
      binaryHash: new TextEncoder().encode(info.hash),
      localCompilerPath: info.localPath,
      size: info.size,
      ...(info.lang === "c++" ? { cxxSystemIncludePath: info.systemIncludePaths } : { systemIncludePath: info.systemIncludePaths }),
    },
    arg: flags.args,
    env,
    cwd: req.cwd,
    subprogram: info.subprograms.map((s) => ({ path: s.path, binaryHash: s.hash, size: s.size })),
    requesterInfo: {
      apiVersion: 2,
      pid: req.pid,
      compilerProxyId: ctx.compilerProxyId,
      dimensions: ["os:linux"],
      pathStyle: goma.RequesterInfo.PathStyle.POSIX_STYLE,
      buildId: req.env.AUTONINJA_BUILD_ID || undefined,
    },
    cachePolicy: storeOnly ? P.STORE_ONLY : useSuccess ? P.LOOKUP_AND_STORE_SUCCESS : P.LOOKUP_AND_STORE,
    hermeticMode: true,
    expectedOutputFiles: flags.outputs,
    toolchainIncluded: true,
    toolchainSpecs: info.toolchain.map((f) =>
      f.symlinkTarget !== undefined ? { path: f.path, symlinkPath: f.symlinkTarget } : { path: f.path, hash: f.hash, size: f.size, isExecutable: f.isExecutable }),
  };
}

/** One input as the ExecReq names it, with its hash key ("" for a toolchain file: its digest is in toolchain_specs). */
interface ListedInput {
  name: string;
  abs: string;
  hashKey: string;
  /** ms since the epoch; 0 for toolchain files. */
  mtimeMs: number;
  toolchain: boolean;
}

/**
 * The inputs and toolchain files as the ExecReq lists them (cwd-relative when under cwd), hashed through
 * the file hash cache, sorted by name. With `scanned` (the include processor just listed them), each
 * file's stat is the scan's when it has one (IncludeProcessor `seenStat`), not a second stat.
 * @throws {GomaError} FailedPrecondition when an input cannot be read.
 */
async function listInputs(inputs: string[], info: CompilerInfo, cwd: string, ctx: TaskContext, scanned = false): Promise<ListedInput[]> {
  const toolchain = new Set(info.toolchain.filter((f) => f.symlinkTarget === undefined).map((f) => f.path));
  const out: ListedInput[] = [];
  for (const abs of new Set([...inputs, ...toolchain])) {
    const name = isAbsolute(abs) && abs.startsWith(cwd + "/") ? relative(cwd, abs) : abs;
    if (toolchain.has(abs)) {
      // Its digest travels in toolchain_specs (CompilerInfo hashed it): no FileBlob hash to compute,
      // no re-reading cc1 or libLLVM; the server asks for the content only if it needs it.
      out.push({ name, abs, hashKey: "", mtimeMs: 0, toolchain: true });
      continue;
    }
    const e = await ctx.files.get(abs, scanned ? ctx.includes.seenStat(abs) : undefined).catch((err) => {
      throw new GomaError(Code.FailedPrecondition, `input ${abs} cannot be read: ${(err as Error).message}`);
    });
    out.push({ name, abs, hashKey: e.hashKey, mtimeMs: e.mtimeMs, toolchain: false });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Sends the ExecReq, answering `missing_input` replies by resending those files with content, at most
 * {@link MAX_EXEC_CALLS} calls. Files the server is known to hold, and old files, go hash-only first;
 * new files (modified in the last 5 minutes) and files the server asked for go with content — over
 * 2 MiB as chunks uploaded with `/s` and a FILE_META in the request.
 * @returns the answer and the request that got it (the local output cache's key is that request's).
 * @throws {GomaError} when the server keeps failing, answers BAD_REQUEST, or an input vanished.
 */
async function execWithMissingInputs(req: IExecReq, listed: ListedInput[], cwd: string,
  ctx: TaskContext, t: TaskRecord): Promise<{ resp: goma.ExecResp; sent: IExecReq }> {
  const wantContent = new Set<string>();
  let lastError = "";
  for (let call = 0; call < MAX_EXEC_CALLS; call++) {
    const now = Date.now();
    const entries: goma.ExecReq.IInput[] = [];
    const byName = new Map<string, string>();
    for (const { name, abs, hashKey, mtimeMs, toolchain } of listed) {
      byName.set(name, abs);
      const send = wantContent.has(abs) || (!toolchain && !ctx.serverHas.has(hashKey) && now - mtimeMs < NEW_FILE_MS);
      if (!send) {
        entries.push({ filename: name, hashKey });
        continue;
      }
      const c = await ctx.files.content(abs).catch((err) => {
        throw new GomaError(Code.FailedPrecondition, `input ${abs} cannot be read: ${(err as Error).message}`);
      });
      if (c.chunks.length) {
        const keys = await ctx.http.storeFile(c.chunks.map((k) => k.blob));
        if (keys.some((k, i) => k !== c.chunks[i]!.hashKey)) throw new GomaError(Code.Internal, `server stored chunks of ${abs} under other keys`);
      }
      entries.push({ filename: name, hashKey: c.top.hashKey, content: c.top.blob });
    }
    entries.sort((a, b) => (a.filename! < b.filename! ? -1 : 1));
    const sent: IExecReq = { ...req, input: entries, requesterInfo: { ...req.requesterInfo, retry: call } };
    const resp = await ctx.http.exec(sent);
    if (resp.missingInput?.length) {
      t.retries++;
      for (const m of resp.missingInput) {
        const abs = byName.get(m) ?? resolve(cwd, m);
        wantContent.add(abs);
      }
      lastError = `server still missing ${resp.missingInput.length} inputs (${resp.missingInput.slice(0, 3).join(", ")})`;
      continue;
    }
    if (resp.error === goma.ExecResp.ExecError.BAD_REQUEST) {
      throw new GomaError(Code.InvalidArgument, `server refused the compile: ${(resp.errorMessage ?? []).join("; ") || "bad request"}`);
    }
    if (resp.errorMessage?.length) {
      t.retries++;
      lastError = resp.errorMessage.join("; ");
      continue;
    }
    if (!resp.result) throw new GomaError(Code.Internal, "server answered without a result");
    for (const e of entries) if (e.hashKey) ctx.serverHas.add(e.hashKey);
    return { resp, sent };
  }
  // The server answered every call: a problem of this request, not an outage (lib/proxy/breaker.ts).
  throw new GomaError(Code.Aborted, `gave up after ${MAX_EXEC_CALLS} calls: ${lastError}`);
}
