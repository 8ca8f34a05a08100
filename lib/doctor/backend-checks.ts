/**
 * `goma doctor`'s backend checks, run by `goma server` (`GET /api/doctor/backend`, with the server's own
 * address, credentials, instance name and platform) or by `goma doctor --remoteexec-addr …` directly:
 *
 * 1. reachable, TLS and credentials accepted, GetCapabilities on the instance name;
 * 2. REAPI version range (the server needs `output_paths`: ≥ 2.1) and digest function SHA256;
 * 3. the instance name as sent (`""` vs Goma's `"."`);
 * 4. a tiny real action (a compiler's `--version` through goma's wrapper with its environment manifest,
 *    as a compile runs, with the server's platform) end to end; when no worker
 *    takes it, variants of the platform (OSFamily casing, without container-image, empty) tell a platform
 *    mismatch from a missing worker or a wrong instance name;
 * 5. with `scheduler` (goma server --buildbarn-scheduler, goma doctor --buildbarn-scheduler): what
 *    Buildbarn's scheduler offers (platform queues, workers) next to what the server sends.
 *
 * Spec: REAPI Capabilities, Execution; reference/reapi-buildbarn.md §2, §3, §4.5;
 * reference/goma-protocol.md §6 items 3–6.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { digestOf, type Digest } from "../digest/digest.ts";
import { WRAPPER_PATH, WRAPPER_SCRIPT, ENV_MISMATCH_EXIT } from "../server/wrapper.ts";
import { R } from "../reapi/proto.ts";
import type { ReapiClient } from "../reapi/client.ts";
import { Code, codeName, GomaError } from "../util/status.ts";
import { fail, pass, skip, warn, type CheckResult } from "./check.ts";
import { runSchedulerChecks, type SchedulerCheckOptions } from "./scheduler-checks.ts";

/** What the checks need to know about the backend. */
export interface BackendCheckOptions {
  /** Shown in messages, e.g. `127.0.0.1:8980` or `the embedded backend`. */
  target: string;
  instanceName: string;
  /** The platform the server sends (Action.platform). */
  platform: Record<string, string>;
  /** Whether TLS / a bearer token are configured (for the fix lines). */
  tls: boolean;
  /** Whether a CA file was given (else the system roots are used). */
  caCert?: boolean;
  bearer: boolean;
  /** Budget for each RPC step, ms (default 20 s); the tiny action gets twice this. */
  timeoutMs?: number;
  /** The embedded backend's sandbox (lib/backend/sandbox.ts); undefined for an external backend. */
  sandbox?: { kind: string; describe: string; hide?: string[] };
  /** Also read this Buildbarn scheduler's BuildQueueState (lib/doctor/scheduler-checks.ts). */
  scheduler?: Omit<SchedulerCheckOptions, "instanceName" | "platform">;
}

const SHA256 = 1;
/** Words in grpc-js / OpenSSL errors that point at TLS. */
const TLS_WORDS = /certificate|self[- ]signed|SSL|TLS|ServerName|handshake|wrong version number|ALPN|packet length/i;
/** Buildbarn's (and the embedded backend's) words when no worker serves an instance name and platform. */
const NO_WORKERS = /No workers exist/i;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GomaError(Code.DeadlineExceeded, `${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Classifies a failed first call (Capabilities): names the layer that refused and its fix. */
export function connectionProblem(e: GomaError, o: BackendCheckOptions): { id: string; title: string; evidence: string; fix: string } {
  const m = e.rawMessage;
  const evidence = `${codeName(e.code)}: ${m.slice(0, 300)}`;
  if (TLS_WORDS.test(m)) {
    return {
      id: "backend.tls", title: "backend TLS", evidence,
      fix: o.tls
        ? `the backend's certificate does not chain to ${o.caCert ? "--remoteexec-ca-cert" : "the system roots (give --remoteexec-ca-cert)"}, names another host (--remoteexec-tls-server-name), or the backend wants a client certificate (--remoteexec-client-cert/--remoteexec-client-key)`
        : "the backend speaks TLS with a certificate the system does not trust (give --remoteexec-ca-cert), or speaks plaintext while goma uses TLS (give --insecure-remoteexec)",
    };
  }
  if (e.code === Code.Unauthenticated) {
    return {
      id: "backend.credentials", title: "backend credentials", evidence,
      fix: o.bearer
        ? "the backend refuses the bearer token: check --remoteexec-token-file (expired JWT?) or --service-account-json and its token endpoint"
        : "the backend wants credentials: give --remoteexec-token-file (Buildbarn JWT) or --service-account-json (RBE), or mTLS with --remoteexec-client-cert/--remoteexec-client-key",
    };
  }
  if (e.code === Code.PermissionDenied) {
    return { id: "backend.credentials", title: "backend credentials", evidence, fix: `the credentials are valid but not allowed on instance "${o.instanceName}": ask the backend's admin, or use another --remote-instance-name` };
  }
  if (e.code === Code.InvalidArgument && /instance name/i.test(m)) {
    return { id: "backend.instance", title: "backend instance name", evidence, fix: `the backend does not know instance name "${o.instanceName}": set --remote-instance-name to one it serves (Buildbarn: a key of the frontend's schedulers map)` };
  }
  if (e.code === Code.Unimplemented) {
    return { id: "backend.reachable", title: "backend reachable", evidence, fix: `${o.target} answers gRPC but has no REAPI Capabilities service: is --remoteexec-addr the frontend (Buildbarn: bb_storage, port 8980), not the scheduler or a cache-only service?` };
  }
  return {
    id: "backend.reachable", title: "backend reachable", evidence,
    fix: /ECONNREFUSED|connection refused|No connection established|Failed to connect/i.test(m)
      ? `nothing accepts connections at ${o.target}: start the backend (scripts/buildbarn/start.sh) or fix --remoteexec-addr`
      : `check that ${o.target} is a REAPI endpoint and reachable from the server (firewall, DNS, TLS vs plaintext)`,
  };
}

/** True when a TCP connection to `host:port` opens within 3 s (unix and odd targets: false). */
async function tcpOpen(target: string): Promise<boolean> {
  const m = /^(?:dns:(?:\/\/[^/]*\/)?)?\[?([^\]]+?)\]?:(\d+)$/.exec(target);
  if (!m) return false;
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const s = connect({ host: m[1], port: Number(m[2]), timeout: 3000 });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.once("timeout", () => done(false));
  });
}

const fmtPlatform = (p: Record<string, string>) =>
  `{${Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(", ")}}`;

/** A compiler of this machine for the tiny action: the first of gcc, cc, clang, g++, clang++ in /usr/bin, /bin. */
export function tinyActionCompiler(): string | undefined {
  for (const name of ["gcc", "cc", "clang", "g++", "c++", "clang++"]) {
    for (const dir of ["/usr/bin", "/bin"]) {
      const p = `${dir}/${name}`;
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // next
      }
    }
  }
  return undefined;
}

/**
 * Uploads and executes `<compiler> --version` the way goma server runs a compile: through the wrapper
 * `.goma/run.sh`, with an environment manifest holding the compiler's SHA-256, so the embedded
 * backend's command rule (lib/backend/command-policy.ts) accepts it without an exception, and a worker
 * whose compiler differs says so (exit 125). Resolves with the response and its stdout/stderr, or throws.
 */
async function tinyAction(reapi: ReapiClient, compiler: string, platform: Record<string, string>, timeoutMs: number, onStage?: (s: number) => void):
  Promise<{ response: R.IExecuteResponse; stdout: string; stderr: string }> {
  const props = Object.entries(platform).map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name === b.name ? (a.value < b.value ? -1 : 1) : a.name < b.name ? -1 : 1));
  const enc = new TextEncoder();
  const wrapper = enc.encode(WRAPPER_SCRIPT);
  const manifest = enc.encode(`${createHash("sha256").update(readFileSync(compiler)).digest("hex")}  ${compiler}\n`);
  const wrapperDigest = digestOf(wrapper), manifestDigest = digestOf(manifest);
  const gomaDir = R.Directory.encode({
    files: [{ name: "env-manifest", digest: manifestDigest }, { name: "run.sh", digest: wrapperDigest, isExecutable: true }],
  }).finish();
  const gomaDirDigest = digestOf(gomaDir);
  const dir = R.Directory.encode({ directories: [{ name: ".goma", digest: gomaDirDigest }] }).finish();
  const command = R.Command.encode({
    arguments: [WRAPPER_PATH, compiler, "--version"],
    environmentVariables: [{ name: "PATH", value: "/usr/local/bin:/usr/bin:/bin" }, { name: "WORK_DIR", value: "." }],
    outputPaths: [],
    platform: { properties: props },
  }).finish();
  const commandDigest = digestOf(command);
  const dirDigest = digestOf(dir);
  const action = R.Action.encode({
    commandDigest, inputRootDigest: dirDigest, platform: { properties: props },
    doNotCache: true, timeout: { seconds: 60 },
    // A fresh salt each run: the result must come from a worker, never from the action cache.
    salt: new TextEncoder().encode(`goma doctor ${Date.now()} ${Math.random()}`),
  }).finish();
  const actionDigest: Digest = digestOf(action);
  await reapi.uploadBlobs([
    { digest: commandDigest, data: command }, { digest: dirDigest, data: dir }, { digest: gomaDirDigest, data: gomaDir },
    { digest: wrapperDigest, data: wrapper }, { digest: manifestDigest, data: manifest }, { digest: actionDigest, data: action },
  ]);
  const ac = new AbortController();
  const response = await withTimeout(reapi.execute(actionDigest, { skipCacheLookup: true, onStage, signal: ac.signal }), timeoutMs, "Execute")
    .catch((e) => {
      ac.abort();
      throw e;
    });
  if (response.status?.code && NO_WORKERS.test(response.status.message ?? "")) throw new GomaError(response.status.code as Code, response.status.message ?? "");
  const res = response.result;
  const text = async (raw: Uint8Array | null | undefined, d: R.IDigest | null | undefined) => {
    if (raw?.length) return new TextDecoder().decode(raw);
    if (d?.hash && Number(d.sizeBytes ?? 0) > 0) return new TextDecoder().decode(await reapi.readBlob({ hash: d.hash, sizeBytes: Number(d.sizeBytes ?? 0) }));
    return "";
  };
  return { response, stdout: await text(res?.stdoutRaw, res?.stdoutDigest), stderr: await text(res?.stderrRaw, res?.stderrDigest) };
}


/** Platform variants to try when no worker takes the server's platform: [label, platform]. */
function variants(p: Record<string, string>): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [];
  const os = p.OSFamily;
  if (os !== undefined) {
    const flipped = os === os.toLowerCase() ? os.charAt(0).toUpperCase() + os.slice(1) : os.toLowerCase();
    out.push([`OSFamily=${flipped} instead of ${os}`, { ...p, OSFamily: flipped }]);
  }
  if ("container-image" in p) {
    const { ["container-image"]: _, ...rest } = p;
    out.push(["without container-image", rest]);
  }
  if (Object.keys(p).length) out.push(["an empty platform", {}]);
  if (os === undefined) out.push(["OSFamily=linux", { ...p, OSFamily: "linux" }]);
  return out;
}

/**
 * Runs the backend checks with `reapi` (a client bound to the instance name, with the server's
 * credentials). Never throws: every problem is a finding.
 */
export async function runBackendChecks(reapi: ReapiClient, o: BackendCheckOptions): Promise<CheckResult[]> {
  const out = await reapiChecks(reapi, o);
  if (o.scheduler) out.push(...await runSchedulerChecks({ ...o.scheduler, instanceName: o.instanceName, platform: o.platform }));
  return out;
}

async function reapiChecks(reapi: ReapiClient, o: BackendCheckOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const timeoutMs = o.timeoutMs ?? 20_000;
  const t0 = performance.now();
  let caps: R.IServerCapabilities;
  try {
    caps = await withTimeout(reapi.getCapabilities(), timeoutMs, `GetCapabilities on ${o.target}`);
  } catch (err) {
    let e = GomaError.from(err);
    if (e.code === Code.Unavailable && /No connection established/.test(e.rawMessage) && !TLS_WORDS.test(e.rawMessage) && await tcpOpen(o.target)) {
      // Something listens, yet no gRPC connection: TLS on one side, plaintext on the other.
      e = new GomaError(e.code, `${e.rawMessage.trim()} — a TCP connection to ${o.target} succeeds, so the ${o.tls ? "TLS" : "plaintext"} handshake failed`);
      out.push(fail("backend.tls", "backend TLS", `${codeName(e.code)}: ${e.rawMessage}`.slice(0, 400), o.tls
        ? "the backend speaks plaintext (give --insecure-remoteexec) or wants another certificate setup"
        : "the backend speaks TLS while goma speaks plaintext (the default for loopback): give --remoteexec-ca-cert (or --remoteexec-tls-server-name) to use TLS",
      { target: o.target }));
      out.push(skip("backend.action", "backend tiny action", "not run: GetCapabilities failed"));
      return out;
    }
    const p = connectionProblem(e, o);
    out.push(fail(p.id, p.title, p.evidence, p.fix, { target: o.target, instanceName: o.instanceName }));
    out.push(skip("backend.action", "backend tiny action", "not run: GetCapabilities failed"));
    return out;
  }
  const ms = Math.round(performance.now() - t0);
  out.push(pass("backend.reachable", "backend reachable", `GetCapabilities on ${o.target}, instance name ${JSON.stringify(o.instanceName)}: ok in ${ms} ms` +
    `${o.tls ? ", TLS" : ", plaintext"}${o.bearer ? ", bearer token accepted" : ""}`, { target: o.target, ms }));

  const ver = (v?: { major?: number | null; minor?: number | null } | null) => (v ? `${v.major ?? 0}.${v.minor ?? 0}` : "?");
  const high = caps.highApiVersion;
  const highNum = (high?.major ?? 0) * 1000 + (high?.minor ?? 0);
  const range = `${ver(caps.lowApiVersion)}–${ver(high)}`;
  if (!high || highNum === 0) out.push(warn("backend.api", "backend REAPI version", "the backend reports no API version range", "goma needs REAPI ≥ 2.1 (Command.output_paths); check the backend's version", { range }));
  else if (highNum < 2001) out.push(fail("backend.api", "backend REAPI version", `API versions ${range}: below 2.1`, "goma sends Command.output_paths (REAPI 2.1); upgrade the backend", { range }));
  else out.push(pass("backend.api", "backend REAPI version", `API versions ${range} (goma needs ≥ 2.1 for output_paths)`, { range }));

  const fns = [...(caps.cacheCapabilities?.digestFunctions ?? []), caps.executionCapabilities?.digestFunction ?? 0].map(Number);
  if (fns.includes(SHA256)) out.push(pass("backend.digest", "backend digest function", "SHA256 supported"));
  else out.push(fail("backend.digest", "backend digest function", `digest functions ${JSON.stringify(fns)} lack SHA256`, "configure the backend for SHA256 (goma hashes with SHA-256 only)"));

  const sent = { instanceName: o.instanceName, platform: o.platform };
  if (o.instanceName === ".") {
    out.push(warn("backend.instance", "backend instance name", 'sent as "." — what Goma\'s Go server makes of an empty name', 'use --remote-instance-name "" (goma sends it verbatim) unless the backend really serves "."', sent));
  } else {
    out.push(pass("backend.instance", "backend instance name", `sent as ${JSON.stringify(o.instanceName)}${o.instanceName ? "" : " (empty: no prefix in resource names)"}`, sent));
  }

  if (caps.executionCapabilities && caps.executionCapabilities.execEnabled === false) {
    out.push(fail("backend.action", "backend tiny action", "the backend reports execution disabled (cache only)", "point --remoteexec-addr at a backend with workers (Buildbarn: bb_storage with a scheduler), or use this one as a cache with --remote-cache-addr (goma server then executes the actions itself)"));
    return out;
  }

  if (o.sandbox) {
    out.push(o.sandbox.kind === "none"
      ? warn("backend.sandbox", "backend sandbox", `actions run without a sandbox: ${o.sandbox.describe.replace(/^none: /, "")}`,
        "install bubblewrap (apt-get install bubblewrap) and restart goma server; with it each action runs with a read-only system, no network, as nobody when the server is root")
      : pass("backend.sandbox", "backend sandbox", o.sandbox.describe, { kind: o.sandbox.kind, hide: o.sandbox.hide ?? [] }));
  }

  // The tiny action.
  const compiler = tinyActionCompiler();
  if (!compiler) {
    out.push(skip("backend.action", "backend tiny action", "not run: no gcc, cc or clang in /usr/bin or /bin on the server to run --version of"));
    return out;
  }
  const what = `${compiler} --version (through goma's wrapper, with its environment manifest)`;
  let stage = 0;
  const a0 = performance.now();
  try {
    const { response, stdout, stderr } = await tinyAction(reapi, compiler, o.platform, timeoutMs * 2, (s) => (stage = s));
    const st = response.status;
    const exit = response.result?.exitCode ?? 0;
    const took = Math.round(performance.now() - a0);
    const firstLine = stdout.trim().split("\n")[0] ?? "";
    if (st?.code) {
      out.push(fail("backend.action", "backend tiny action", `Execute of ${what} answered ${codeName(st.code)}: ${st.message ?? ""}`.slice(0, 400), "see the backend's logs for this action"));
    } else if (exit === ENV_MISMATCH_EXIT) {
      out.push(fail("backend.action", "backend tiny action", `${what} exited ${exit}: ${stderr.split("\n").filter((l) => !l.startsWith("GOMA_EXEC_ROOT=")).join(" ").trim()}`.slice(0, 400),
        `the worker's ${compiler} differs from the server's (or is missing): workers need the same compiler packages as the clients (the same distribution image)`));
    } else if (exit !== 0 || !firstLine) {
      out.push(fail("backend.action", "backend tiny action", `${what} exited ${exit} with stdout ${JSON.stringify(stdout.slice(0, 100))}`,
        "the worker runs actions but not goma's wrapper: it needs /bin/bash, sha256sum and coreutils"));
    } else {
      out.push(pass("backend.action", "backend tiny action", `${what} ran on a worker with platform ${fmtPlatform(o.platform)} in ${took} ms: ${firstLine}`, { ms: took }));
    }
    return out;
  } catch (err) {
    const e = GomaError.from(err);
    if (e.code === Code.DeadlineExceeded) {
      const where = stage === 2 ? "queued (QUEUED) and no worker took it" : stage === 3 ? "a worker took it (EXECUTING) but did not finish" : "no answer";
      out.push(fail("backend.action", "backend tiny action", `${where} within ${(timeoutMs * 2) / 1000} s`,
        stage === 2 ? `the platform queue for ${fmtPlatform(o.platform)} exists but no worker serves it now: start the worker (scripts/buildbarn/start.sh worker) or check its logs` : "check the backend's scheduler and worker logs"));
      return out;
    }
    if (!NO_WORKERS.test(e.rawMessage)) {
      out.push(fail("backend.action", "backend tiny action", `${codeName(e.code)}: ${e.rawMessage}`.slice(0, 400), e.code === Code.Unimplemented
        ? `${o.target} is a cache-only REAPI service (no Execution service, e.g. bb_storage without schedulers): point --remoteexec-addr at a frontend with a scheduler and workers`
        : e.code === Code.Unavailable
          ? "the backend cannot execute (no scheduler behind the frontend?): start Buildbarn's scheduler and worker"
          : "see the backend's logs"));
      return out;
    }
    // No worker for (instance name, platform): find out which half is wrong.
    const offered = /this worker offers (\{.*\})/.exec(e.rawMessage)?.[1];
    for (const [label, p] of variants(o.platform)) {
      try {
        const r = await tinyAction(reapi, compiler, p, timeoutMs, () => {});
        if (!r.response.status?.code) {
          out.push(fail("backend.platform", "backend platform", `no worker for the server's platform ${fmtPlatform(o.platform)}, but one for ${label} ${fmtPlatform(p)}`,
            `start goma server with the worker's platform: ${Object.entries(p).map(([k, v]) => `--platform-property ${k}=${v}`).join(" ") || "no --platform-property and no --platform-container-image"} (or change the worker's platform to match)`,
            { sent: o.platform, works: p }));
          return out;
        }
      } catch {
        // try the next variant
      }
    }
    const evidence = `${e.rawMessage.slice(0, 300)}${offered ? "" : ` (also tried ${variants(o.platform).map(([l]) => l).join(", ")})`}`;
    out.push(fail(offered ? "backend.platform" : "backend.worker", offered ? "backend platform" : "backend worker", evidence, offered
      ? `the worker offers ${offered}: start goma server with those properties (--platform-property KEY=VALUE …)`
      : `no worker serves instance name ${JSON.stringify(o.instanceName)} with any of these platforms: is a worker running, and does its instanceNamePrefix match --remote-instance-name (Buildbarn's bb-deployments workers use "hardlinking" or "fuse")? Buildbarn's scheduler page lists its platform queues`,
    { sent: o.platform }));
    return out;
  }
}
