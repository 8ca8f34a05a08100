/**
 * `/e`: one ExecReq (goma_data.proto) → one REAPI action → one ExecResp, as remoteexec_proxy does
 * (reference/goma-protocol.md §3), with the current REAPI fields (`Command.output_paths`,
 * `Action.platform`; the legacy `output_files` and `Command.platform` are filled too for old servers).
 *
 * Stages, in order: resolve inputs (→ `missing_input` when the server lacks content it needs) → build
 * the Action, a pure function (lib/server/action.ts: input root, tree, wrapper, manifest, Command from
 * {@link ExecAdapter.buildCommand}, Action) → run it: look up the action cache → upload what the CAS
 * lacks → Execute → convert the ActionResult (lib/server/result.ts).
 */
import { posix as path } from "node:path";
import { goma, type IExecReq, type IExecResp, type IFileBlob } from "../goma/proto.ts";
import { R, rpc } from "../reapi/proto.ts";
import { type Digest, digestKey, digestOf, sha256Hex } from "../digest/digest.ts";
import { Code, GomaError, wrap } from "../util/status.ts";
import { serializeBlob } from "../goma/file-blob.ts";
import type { FileStore } from "./file-store.ts";
import { buildAction, toolchainSpecsByPath, type ActionBlob, type BuiltAction, type CommandBuilder, type ResolvedInput } from "./action.ts";
import { DEFAULT_ENV_PREFIXES, isUnder, tokenizeRoot } from "./exec-root.ts";
import { ROOT_TOKEN, WRAPPER_PATH } from "./wrapper.ts";
import { actionResultToExecResp } from "./result.ts";
import type { Reapi } from "./reapi.ts";
import { compilerTypeOf } from "../compiler/registry.ts";
import { assembleFile, checkExecReq } from "./limits.ts";
import { validateBlob } from "../goma/file-blob.ts";
import { log } from "../util/log.ts";

const T = goma.FileBlob.BlobType;
const CachePolicy = goma.ExecReq.CachePolicy;

/** Options of {@link ExecAdapter}. */
export interface ExecAdapterOptions {
  reapi: Reapi;
  files: FileStore;
  /** Directories the worker provides (see exec-root.ts); default {@link DEFAULT_ENV_PREFIXES}. */
  envPrefixes?: string[];
  /** Platform properties sent in Action.platform and Command.platform; default `{ OSFamily: "linux" }`. */
  platform?: Record<string, string>;
  /** Action timeout in seconds (remoteexec_proxy: 15 min). */
  actionTimeoutSec?: number;
  /** Cap on `missing_input` per response (remoteexec_proxy --exec-missing-input-limit, default 100). */
  missingInputLimit?: number;
  /** How the backend is named in error messages, e.g. `REAPI 127.0.0.1:8980`; default `the REAPI backend`. */
  backendName?: string;
  /** The REAPI instance name, quoted in error messages (default ""). */
  instanceName?: string;
}

/** Counters shown on the server's status page. */
export interface ExecStats {
  requests: number;
  missingInputReplies: number;
  cacheHits: number;
  executed: number;
  errors: number;
}

/** Environment variables of the request that reach the compiler (Goma's "server-important" envs + locale). */
const FORWARDED_ENV = /^(LANG|LC_[A-Z_]+|LANGUAGE|LIBRARY_PATH|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|OBJC_INCLUDE_PATH|DEPENDENCIES_OUTPUT|SUNPRO_DEPENDENCIES|SOURCE_DATE_EPOCH)$/;
/** The locale, which reaches every compiler (its messages). */
const LOCALE_ENV = /^(LANG|LC_[A-Z_]+|LANGUAGE)$/;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
/** Buildbarn's scheduler when no worker serves the instance name and platform (reference/reapi-buildbarn.md §3). */
const NO_WORKER = /No workers exist for instance name/i;
/** Execute calls per `/e` when the backend keeps reporting blobs lost since the upload (see step 7). */
const MAX_EXECUTE_ATTEMPTS = 4;

/** The `/e` adapter. Stateless apart from the file store and counters; safe for concurrent calls. */
export class ExecAdapter {
  readonly stats: ExecStats = { requests: 0, missingInputReplies: 0, cacheHits: 0, executed: 0, errors: 0 };
  private readonly envPrefixes: string[];
  private readonly platform: { name: string; value: string }[];

  constructor(private readonly opts: ExecAdapterOptions) {
    this.envPrefixes = opts.envPrefixes ?? DEFAULT_ENV_PREFIXES;
    this.platform = Object.entries(opts.platform ?? { OSFamily: "linux" })
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.value < b.value ? -1 : 1));
  }

  /**
   * Handles one ExecReq. A compile that ran (whatever its exit code) and a missing-input reply are
   * results; request problems come back as `error=BAD_REQUEST` with `error_message`.
   * @throws {GomaError} InvalidArgument (→ HTTP 400) for a request over a limit of lib/server/limits.ts
   * (NUL bytes, E2BIG-sized arguments, over-long paths, blob sizes that contradict their content);
   * other codes for infrastructure failures (the HTTP layer maps them to 5xx; the client retries).
   */
  async exec(req: IExecReq): Promise<IExecResp> {
    this.stats.requests++;
    checkExecReq(req);
    const cwd = req.cwd ?? "";
    if (!cwd.startsWith("/")) return badRequest(`cwd must be an absolute path, got "${cwd}"`);
    if (!req.arg?.length) return badRequest("arg is empty: nothing to run");
    const specs = toolchainSpecsByPath(req, cwd);

    // 1. Inputs: a digest for each, or a missing_input entry.
    const resolved = this.resolveInputs(req, cwd, specs);
    if ("missing" in resolved) return this.missingReply(resolved.missing);

    // 2-4. Input root, tree, Command and Action (pure: lib/server/action.ts).
    const built = buildAction(req, cwd, resolved.inputs, {
      envPrefixes: this.envPrefixes,
      platform: this.platform,
      actionTimeoutSec: this.opts.actionTimeoutSec ?? 900,
      command: this.commandBuilder(req, cwd),
    });
    if ("badRequest" in built) return badRequest(built.badRequest);

    // 5-7. Action cache, upload, Execute.
    return this.run(req, cwd, built);
  }

  /**
   * The Command builder for `req` (the compiler's remote policy, {@link ExecAdapter.buildCommand}):
   * what {@link buildAction} calls once the input root is known.
   */
  commandBuilder(req: IExecReq, cwd: string): CommandBuilder {
    const specs = toolchainSpecsByPath(req, cwd);
    return (root, outputFiles, outputDirs) => this.buildCommand(req, cwd, root, outputFiles, outputDirs, specs);
  }

  /**
   * Every input of `req` with its Digest, or the inputs the server lacks content for (the client
   * sends them again: ExecResp.missing_input). Embedded contents are stored in the file store.
   * @throws {GomaError} InvalidArgument for an invalid embedded FileBlob.
   */
  private resolveInputs(req: IExecReq, cwd: string, specs: Map<string, goma.IToolchainSpec>):
    { inputs: ResolvedInput[] } | { missing: { name: string; reason: string }[] } {
    const inputs: ResolvedInput[] = [];
    const missing: { name: string; reason: string }[] = [];
    for (const inp of req.input ?? []) {
      const r = this.resolveInput(inp, cwd, specs);
      if (typeof r === "string") missing.push({ name: inp.filename ?? "", reason: r });
      else inputs.push(r);
    }
    return missing.length ? { missing } : { inputs };
  }

  /**
   * Runs a built action: the action cache first (unless STORE_ONLY), then uploads what the CAS lacks,
   * then Execute, and converts the ActionResult (lib/server/result.ts).
   */
  private async run(req: IExecReq, cwd: string, built: BuiltAction): Promise<IExecResp> {
    const { root, actionDigest, blobs } = built;
    const policy = req.cachePolicy ?? CachePolicy.LOOKUP_AND_STORE;
    const convert = (ar: InstanceType<typeof R.ActionResult> | R.IActionResult, cacheHit: number) =>
      actionResultToExecResp(ar, { reapi: this.opts.reapi, files: this.opts.files, cwd, root, outputsByRel: built.outputsByRel, actionDigest, cacheHit,
        rootTokenFile: rootTokenFileOf(built.command) });

    // 5. Action cache. A hit whose outputs cannot be read intact (gone, or corrupt: the REAPI client
    // verifies every digest) is a miss: the action runs again, past the backend's own cache lookup.
    let skipCacheLookup = policy === CachePolicy.STORE_ONLY;
    if (policy !== CachePolicy.STORE_ONLY) {
      const hit = await this.opts.reapi.getActionResult(actionDigest, { inlineStdout: true, inlineStderr: true })
        .catch((e) => { throw this.backendError("GetActionResult", e); });
      if (hit) {
        const resp = await convert(hit, goma.ExecResp.CacheSource.STORAGE_CACHE).catch((e) => {
          const err = GomaError.from(e);
          if (err.code !== Code.NotFound && err.code !== Code.DataLoss) throw e;
          log.warn(`action ${digestKey(actionDigest)}: cached result unusable (${err.rawMessage}); running it again`);
          return undefined;
        });
        if (resp) {
          this.stats.cacheHits++;
          return resp;
        }
        skipCacheLookup = true;
      }
    }

    // 6. Upload what the CAS lacks.
    const absent = await this.opts.reapi.findMissingBlobs([...blobs.values()].map((b) => b.digest))
      .catch((e) => { throw this.backendError("FindMissingBlobs", e); });
    const uploads: { digest: Digest; data: Uint8Array }[] = [];
    const lost: { name: string; reason: string }[] = [];
    for (const d of absent) {
      const b = blobs.get(d.hash);
      const data = b?.bytes ?? b?.input?.content();
      if (data) uploads.push({ digest: d, data });
      else if (b?.input) lost.push({ name: b.input.filename, reason: "content not in the server's file cache" });
    }
    if (lost.length) return this.missingReply(lost);
    await this.opts.reapi.uploadBlobs(uploads).catch((e) => { throw this.backendError("uploading inputs", e); });

    // 7. Execute. A blob the backend lost since FindMissingBlobs (found corrupt and removed, or evicted)
    // comes back as MISSING. It is uploaded again from what this server holds (with this action's own
    // small blobs: the backend finds losses one stage at a time, Action, Command, Directories, files) and
    // Execute is retried, as long as each round names blobs not re-sent yet (at most
    // MAX_EXECUTE_ATTEMPTS); inputs this server no longer holds are asked from the client (missing_input).
    let resp: R.IExecuteResponse | undefined;
    const resent = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      let lostNow: Digest[] = [];
      let failure: GomaError | undefined;
      try {
        resp = await this.opts.reapi.execute(actionDigest, { skipCacheLookup });
        const status = resp.status;
        if (status && status.code) {
          failure = new GomaError(status.code as Code, status.message ?? "");
          const missingNow = missingFromStatus(status, blobs);
          const ask = missingNow.filter((m) => !m.held);
          if (ask.length) return this.missingReply(ask);
          lostNow = missingNow.map((m) => m.digest);
        }
      } catch (e) {
        // The Action or Command itself: a call error naming the digest (no PreconditionFailure on the call).
        failure = GomaError.from(e);
        if (failure.code === Code.FailedPrecondition) lostNow = heldDigestsNamedIn(failure.rawMessage, blobs);
      }
      if (!failure) break;
      const fresh = lostNow.filter((d) => !resent.has(d.hash));
      if (!fresh.length || fresh.length < lostNow.length || attempt >= MAX_EXECUTE_ATTEMPTS) {
        throw this.backendError(resp === undefined || !resp.status?.code ? "Execute" : "remote execution", failure);
      }
      const again = new Map(fresh.map((d) => [d.hash, d]));
      for (const b of blobs.values()) if (b.bytes && !resent.has(b.digest.hash)) again.set(b.digest.hash, b.digest);
      for (const h of again.keys()) resent.add(h);
      log.warn(`action ${digestKey(actionDigest)}: the backend lost ${fresh.map(digestKey).slice(0, 3).join(", ")}` +
        `${fresh.length > 3 ? ", …" : ""}; uploading ${again.size} blobs again (attempt ${attempt + 1})`);
      const uploadsAgain = [...again.values()].map((d) => ({ digest: d, data: (blobs.get(d.hash)?.bytes ?? blobs.get(d.hash)?.input?.content())! }));
      await this.opts.reapi.uploadBlobs(uploadsAgain).catch((e) => { throw this.backendError("uploading inputs again", e); });
      resp = undefined;
    }
    if (!resp?.result) throw new GomaError(Code.Internal, "Remote execution returned no result");
    this.stats.executed++;
    return convert(resp.result, resp.cachedResult ? goma.ExecResp.CacheSource.STORAGE_CACHE : goma.ExecResp.CacheSource.NO_CACHE);
  }

  /**
   * A backend failure as the client will read it (it becomes the proxy's local-fallback reason): the
   * step, the backend and instance name, and the backend's own message; the gRPC code is kept. When no
   * worker matches the platform (Buildbarn: FAILED_PRECONDITION, or UNAVAILABLE while the scheduler is
   * young, "No workers exist for instance name prefix … platform …"), the message names the instance
   * name and the platform properties sent, which must equal a worker's exactly.
   */
  private backendError(step: string, err: unknown): GomaError {
    this.stats.errors++;
    const e = GomaError.from(err);
    if (e.code === Code.Canceled) return e;
    const backend = this.opts.backendName ?? "the REAPI backend";
    const instance = JSON.stringify(this.opts.instanceName ?? "");
    const sent = this.platform.map((p) => `${p.name}=${p.value}`).join(",") || "(none)";
    if (NO_WORKER.test(e.rawMessage)) {
      return new GomaError(e.code, `no worker of ${backend} matches instance name ${instance} and platform ${sent} ` +
        `(the worker's platform must equal these properties exactly; set them with --platform-property): ${e.rawMessage}`, { cause: e });
    }
    return wrap(e, `${step} on ${backend} (instance name ${instance}) failed`);
  }

  /** Digest and content source of one input, or the reason it is missing. */
  private resolveInput(inp: goma.ExecReq.IInput, cwd: string, specs: Map<string, goma.IToolchainSpec>): ResolvedInput | string {
    const filename = inp.filename ?? "";
    const abs = path.resolve(cwd, filename);
    const files = this.opts.files;
    let key = inp.hashKey ?? "";
    if (inp.content) {
      const problem = validateBlob(inp.content);
      if (problem) throw new GomaError(Code.InvalidArgument, `bad request: input ${JSON.stringify(filename.slice(0, 60))}: invalid FileBlob: ${problem}`);
      const bytes = serializeBlob(inp.content);
      key = sha256Hex(bytes);
      files.put(key, bytes);
    }
    const spec = specs.get(abs);
    const content = () => contentOf(files, key, inp.content ?? undefined, filename);
    let digest = key ? files.getDigest(key) : undefined;
    if (!digest && spec?.hash) digest = { hash: spec.hash, sizeBytes: Number(spec.size ?? 0) };
    if (!digest) {
      const data = content();
      if (!data) return key ? `hash_key ${key} not in the server's file cache` : "no content and no hash_key";
      digest = digestOf(data);
      if (key) files.setDigest(key, digest);
    }
    return { filename, abs, digest, isExecutable: !!spec?.isExecutable, content };
  }

  /**
   * Where a worker finds the compiler `abs`: itself when it is inside the input root or under an env
   * prefix; else, for a toolchain symlink elsewhere (`~/bin/gcc -> /usr/bin/gcc`, a directory of links on
   * PATH), the first path along its symlink chain that is (`/usr/bin/gcc`), which keeps the name the
   * compiler driver goes by (`clang++`). A worker has neither the client's home nor its /tmp.
   */
  private reachableCompiler(abs: string, root: string, specs: Map<string, goma.IToolchainSpec>): string {
    const reachable = (p: string) => isUnder(p, root) || this.envPrefixes.some((e) => p.startsWith(e));
    let p = abs;
    for (let hop = 0; hop < 40 && !reachable(p); hop++) {
      const target = specs.get(p)?.symlinkPath;
      if (!target) return abs;
      p = path.resolve(path.dirname(p), target);
    }
    return reachable(p) ? p : abs;
  }

  /**
   * The Command: the wrapper, then argv with the compiler's path (toolchain_specs[0] in ATS mode) and the
   * client root tokenized; the environment the wrapper and compiler need (the compiler type's
   * RemotePolicy, lib/compiler/compiler-type.ts), sorted; outputs sorted.
   */
  private buildCommand(req: IExecReq, cwd: string, root: string, outputFiles: string[], outputDirs: string[],
    specs: Map<string, goma.IToolchainSpec>): R.ICommand {
    const args = [...(req.arg ?? [])];
    const first = req.toolchainSpecs?.[0]?.path || req.commandSpec?.localCompilerPath;
    let argv0: string | undefined;
    if (first && (req.toolchainIncluded || !args[0]!.includes("/"))) {
      const abs = path.resolve(cwd, first);
      args[0] = this.reachableCompiler(abs, root, specs);
      if (args[0] !== abs) argv0 = abs;
    }
    const tokenized = args.map((a) => tokenizeRoot(a, root, ROOT_TOKEN));
    const env = new Map<string, string>([["PATH", DEFAULT_PATH], ["WORK_DIR", path.relative(root, cwd) || "."]]);
    // The compiler's type (lib/compiler/registry.ts, by command_spec.name, else argv[0]) says how the
    // wrapper runs it: where the prefix map goes, whether argv[0] stays the client's, its dep file.
    const remote = compilerTypeOf(req.commandSpec?.name ?? path.basename(args[0]!))?.remote;
    if (remote && remote.prefixMap !== "none") {
      env.set("GOMA_CLIENT_ROOT", root);
      if (remote.prefixMap === "last") env.set("GOMA_PREFIX_MAP_LAST", "1");
      const depFile = remote.depFile(req.arg ?? [], req.expectedOutputFiles ?? []);
      if (depFile) env.set("GOMA_DEP_FILE", tokenizeRoot(depFile, root, ROOT_TOKEN));
    }
    if (remote?.keepArgv0 && argv0 !== undefined) env.set("GOMA_ARGV0", argv0);
    // The locale, and what the type says can change its outputs (no type: Goma's gcc-style list).
    const forwarded = (k: string) => (remote ? LOCALE_ENV.test(k) || remote.forwardsEnv(k) : FORWARDED_ENV.test(k));
    const forwardedValues: string[] = [];
    for (const kv of req.env ?? []) {
      const eq = kv.indexOf("=");
      if (eq > 0 && forwarded(kv.slice(0, eq))) {
        env.set(kv.slice(0, eq), tokenizeRoot(kv.slice(eq + 1), root, ROOT_TOKEN));
        forwardedValues.push(env.get(kv.slice(0, eq))!);
      }
    }
    // Outputs that cannot depend on the checkout's path (the type says when): the root stays out of the
    // Action, so another checkout of the same sources hits the action cache (issue 12 §4).
    if (env.has("GOMA_CLIENT_ROOT") && remote?.rootIndependent(tokenized, root, ROOT_TOKEN, forwardedValues)) env.delete("GOMA_CLIENT_ROOT");
    const sortedOutputs = [...new Set(outputFiles)].sort();
    const sortedDirs = [...new Set(outputDirs)].sort();
    return {
      arguments: [WRAPPER_PATH, ...tokenized],
      environmentVariables: [...env.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value })),
      outputPaths: [...new Set([...sortedOutputs, ...sortedDirs])].sort(),
      outputFiles: sortedOutputs,
      outputDirectories: sortedDirs,
      platform: { properties: this.platform },
    };
  }

  private missingReply(missing: { name: string; reason: string }[]): IExecResp {
    this.stats.missingInputReplies++;
    const limit = this.opts.missingInputLimit ?? 100;
    const kept = limit > 0 ? missing.slice(0, limit) : missing;
    return {
      result: { exitStatus: -1 },
      missingInput: kept.map((m) => m.name),
      missingReason: kept.map((m) => m.reason),
    };
  }
}

/**
 * The root-relative path of the output in which the wrapper wrote the root as `ROOT_TOKEN` (the dep file of
 * a root-independent compile: `GOMA_DEP_FILE` set, `GOMA_CLIENT_ROOT` not), or undefined.
 */
export function rootTokenFileOf(command: R.ICommand): string | undefined {
  const env = new Map((command.environmentVariables ?? []).map((v) => [v.name ?? "", v.value ?? ""]));
  const dep = env.get("GOMA_DEP_FILE");
  if (!dep || env.has("GOMA_CLIENT_ROOT")) return undefined;
  const rel = dep.startsWith(`${ROOT_TOKEN}/`) ? dep.slice(ROOT_TOKEN.length + 1) : path.join(env.get("WORK_DIR") ?? ".", dep);
  return path.normalize(rel);
}

function badRequest(message: string): IExecResp {
  return { error: goma.ExecResp.ExecError.BAD_REQUEST, errorMessage: [message], result: { exitStatus: -1 } };
}

/**
 * A file's content from an embedded blob or the file store (FILE, or FILE_META with all chunks), or
 * undefined when the server lacks a piece (the client resends it).
 * @throws {GomaError} InvalidArgument when a FILE_META contradicts its chunks (lib/server/limits.ts).
 */
function contentOf(files: FileStore, key: string, embedded: IFileBlob | undefined, name: string): Uint8Array | undefined {
  const top = embedded ?? (key ? files.get(key) : undefined);
  if (!top) return undefined;
  if (top.blobType === T.FILE) return top.content ?? new Uint8Array();
  if (top.blobType !== T.FILE_META) return undefined;
  return assembleFile(top, (k) => files.get(k), name);
}

/**
 * Blobs named MISSING by a FAILED_PRECONDITION PreconditionFailure (`blobs/{hash}/{size}`) that belong to
 * this action: `held` when this server can upload them again (its own blobs, or inputs whose content it
 * still has), else `name` is the input to ask the client for.
 */
function missingFromStatus(status: { code?: number | null; details?: { type_url?: string | null; value?: Uint8Array | null }[] | null },
  blobs: Map<string, ActionBlob>): { name: string; reason: string; digest: Digest; held: boolean }[] {
  if (status.code !== Code.FailedPrecondition) return [];
  const out: { name: string; reason: string; digest: Digest; held: boolean }[] = [];
  for (const d of status.details ?? []) {
    if (!d.type_url?.endsWith("google.rpc.PreconditionFailure") || !d.value) continue;
    for (const v of rpc.PreconditionFailure.decode(d.value).violations ?? []) {
      const m = /^blobs\/([0-9a-f]{64})\/\d+$/.exec(v.subject ?? "");
      const b = m ? blobs.get(m[1]!) : undefined;
      if (v.type !== "MISSING" || !b) continue;
      const held = Boolean(b.bytes ?? b.input?.content());
      if (held || b.input) out.push({ name: b.input?.filename ?? "", reason: `CAS lost ${digestKey(b.digest)}`, digest: b.digest, held });
    }
  }
  return out;
}

/** This action's blobs, with bytes held here, whose `hash/size` appears in `message`. */
function heldDigestsNamedIn(message: string, blobs: Map<string, { digest: Digest; bytes?: Uint8Array }>): Digest[] {
  const out: Digest[] = [];
  for (const m of message.matchAll(/\b([0-9a-f]{64})\/\d+\b/g)) {
    const b = blobs.get(m[1]!);
    if (b?.bytes) out.push(b.digest);
  }
  return out;
}
