/**
 * `goma doctor`'s checks along the chain `goma cc` → proxy → server → backend, in that order, each
 * naming what it saw and the fix: credentials (lookup, file, `~`, `Bearer ` form, accepted by the server),
 * the proxy (socket answering, its health as of a ping it makes now, dashboard port free or ours, compilers
 * and their CompilerInfo), the server
 * (`/ping` and what 401/403/502/refused mean here), the backend through the server
 * (`GET /api/doctor/backend`), and a real compile of a tiny C file with the time of each stage.
 *
 * Spec: reference/goma-protocol.md §1.4–1.6 (statuses, auth, ping), §4.3–4.4 (env, dashboard), §6.
 */
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, join, resolve } from "node:path";
import { control, socketAlive } from "../proxy/daemon.ts";
import { proxySocketPath } from "../config/paths.ts";
import { DEFAULTS } from "../config/goma-env.ts";
import { resolveClientAuthorization, type ClientAuthorization } from "../auth/client-auth.ts";
import { serverBaseUrl, whoAmI } from "../auth/whoami.ts";
import { compilerTypeOf, getCompilerInfo, isCxxDriver, parseFlags } from "../compiler/index.ts";
import { GomaError } from "../util/status.ts";
import { fail, pass, skip, warn, type CheckResult } from "./check.ts";
import { portFree, portOwner } from "./port-owner.ts";
import type { FoundCompiler } from "./sandbox-checks.ts";

type Env = Record<string, string | undefined>;

/** What later checks need from earlier ones. */
export interface ChainState {
  auth: ClientAuthorization;
  proxy?: { dashboardPort: number; health: string };
  serverOk: boolean;
  serverStatus?: number;
  compilers: string[];
}

/** Credentials: the lookup result and the file behind it (the server's verdict comes with /ping). */
export function authChecks(env: Env): { results: CheckResult[]; auth: ClientAuthorization } {
  const auth = resolveClientAuthorization(env);
  const out: CheckResult[] = [];
  const raw = env.GOMA_HTTP_AUTHORIZATION_FILE;
  if (raw && raw.startsWith("~")) {
    out.push(warn("auth.tilde", "auth file path", `GOMA_HTTP_AUTHORIZATION_FILE="${raw}" starts with "~": goma expands it to ${auth.path}, but Goma's own client and quoted shell assignments do not`,
      `write it as an absolute path: GOMA_HTTP_AUTHORIZATION_FILE=${auth.path}`));
  }
  if (auth.error) {
    out.push(fail("auth.file", "credentials", auth.error, auth.source === "stored token"
      ? "fix the stored token's permissions or run goma auth login again"
      : `create the file with one line "Bearer <token>" (goma auth issue prints a token), fix the path, or unset GOMA_HTTP_AUTHORIZATION_FILE to use the stored token (goma auth login)`));
  } else if (auth.source === "none") {
    out.push(pass("auth.file", "credentials", "none configured (GOMA_HTTP_AUTHORIZATION_FILE unset, no stored token, no local token of a loopback server): fine for a server without auth"));
  } else if (!/^Bearer \S+$/.test(auth.header ?? "")) {
    out.push(fail("auth.file", "credentials", `${auth.source} ${auth.path}: its value is not of the form "Bearer <token>"`,
      `write "Bearer <token>" into ${auth.path} (goma server and Goma's server refuse anything else)`));
  } else {
    out.push(pass("auth.file", "credentials", `${auth.source} ${auth.path}: readable, "Bearer <token>" form`));
  }
  return { results: out, auth };
}

/**
 * Compilers on PATH and their CompilerInfo (what the proxy computes before a remote compile).
 * @param given `goma doctor --compiler PATH`: checked in place of PATH's compiler of the same name, and
 *   the one the real compile uses.
 * @returns the checks, the compilers to use (names, or the given path) and, for the sandbox check
 *   (sandbox-checks.ts), each one's path and info.
 */
export async function compilerChecks(env: Env, cacheDir: string, given?: string): Promise<{ results: CheckResult[]; found: string[]; compilers: FoundCompiler[] }> {
  const out: CheckResult[] = [];
  const found: string[] = [];
  const compilers: FoundCompiler[] = [];
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const cwd = tmpdir();
  const candidates: { name: string; path: string; run: string }[] = [];
  if (given !== undefined) {
    const path = resolve(given);
    candidates.push({ name: basename(path), path, run: path });
    if (!existsSync(path)) {
      out.push(fail(`proxy.compiler.${basename(path)}`, `compiler ${basename(path)}`, `${path} (--compiler) does not exist`, "give the path of an installed compiler"));
      candidates.pop();
    }
  }
  for (const name of ["gcc", "g++", "clang", "clang++"]) {
    if (given !== undefined && basename(given) === name) continue;
    const dir = dirs.find((d) => {
      try {
        accessSync(join(d, name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (dir) candidates.push({ name, path: join(dir, name), run: name });
  }
  for (const { name, path, run } of candidates) {
    try {
      const info = await getCompilerInfo(parseFlags([run, "-c", "doctor.c", "-o", "doctor.o"], cwd), cwd, env as Record<string, string>, cacheDir);
      found.push(run);
      compilers.push({ name, path, info });
      out.push(pass(`proxy.compiler.${name}`, `compiler ${name}`, `${path}: ${info.version}, target ${info.target}, ${info.toolchain.length} toolchain files`,
        { path, version: info.version, target: info.target }));
    } catch (e) {
      out.push(warn(`proxy.compiler.${name}`, `compiler ${name}`, `${path}: CompilerInfo failed: ${GomaError.from(e).rawMessage.slice(0, 200)}`,
        "compiles with it will run locally; check that it runs (`<compiler> --version`)"));
    }
  }
  if (!out.length) out.push(fail("proxy.compiler", "compilers", `none of gcc, g++, clang, clang++ on PATH (${dirs.join(delimiter)})`, "install gcc or clang (apt-get install gcc) or fix PATH"));
  return { results: out, found, compilers };
}

/** The proxy: socket answering, dashboard port. */
export async function proxyChecks(env: Env): Promise<{ results: CheckResult[]; proxy?: ChainState["proxy"] }> {
  const out: CheckResult[] = [];
  const sock = proxySocketPath(env);
  const wantPort = Number(env.GOMA_COMPILER_PROXY_PORT || DEFAULTS.dashboardPort);
  const portName = wantPort === 8088 ? " (8088 is listed as \"omniorb\" by netstat and /etc/services: that is goma's dashboard, not OmniORB)" : "";
  let proxy: ChainState["proxy"];
  if (await socketAlive(sock)) {
    // "health" makes the proxy ping the server now: its view may date from its last compile (the server
    // may have started since), and a stale "cannot reach goma server" would send the user the wrong way.
    const s = (await control(sock, "health")) as { health?: string; dashboardPort?: number; pid?: number; version?: string };
    proxy = { dashboardPort: Number(s.dashboardPort), health: String(s.health) };
    const ev = `answering on ${sock}${s.pid ? `, pid ${s.pid}` : ""}${s.version ? `, version ${s.version}` : ""}, health "${s.health}"`;
    out.push(s.health === "ok" ? pass("proxy.socket", "proxy", ev)
      : warn("proxy.socket", "proxy", ev, "the proxy cannot use the server: see the server checks below; compiles run locally meanwhile"));
    if (proxy.dashboardPort === wantPort) {
      out.push(pass("proxy.dashboard", "proxy dashboard", `http://127.0.0.1:${wantPort} is ours${portName}`));
    } else {
      const o = portOwner(wantPort);
      out.push(warn("proxy.dashboard", "proxy dashboard", `port ${wantPort} was taken${o?.pid ? ` by pid ${o.pid} (${o.command})` : ""}, so the proxy serves its dashboard on ${proxy.dashboardPort}${portName}`,
        `stop that process or set GOMA_COMPILER_PROXY_PORT to a free port; tools expecting ${wantPort} will not find goma`));
    }
  } else {
    const stale = existsSync(sock);
    out.push(fail("proxy.socket", "proxy", `no goma proxy answers on ${sock}${stale ? " (a stale socket file is there: the proxy died)" : ""}`,
      "start it: goma proxy start (goma cc runs every compile locally without it)"));
    if (await portFree(wantPort)) {
      out.push(pass("proxy.dashboard", "proxy dashboard", `port ${wantPort} is free for the proxy's dashboard${portName}`));
    } else {
      const o = portOwner(wantPort);
      out.push(warn("proxy.dashboard", "proxy dashboard", `port ${wantPort} is taken by ${o?.pid ? `pid ${o.pid} (${o.command})` : "another process"}${portName}; the proxy will move to the next free port`,
        `stop that process, or set GOMA_COMPILER_PROXY_PORT to a free port`, { owner: o }));
    }
  }
  return { results: out, proxy };
}

/** The server's /ping with our credentials, and what its answer means. */
export async function serverChecks(env: Env, auth: ClientAuthorization): Promise<{ results: CheckResult[]; ok: boolean; status?: number }> {
  const out: CheckResult[] = [];
  let base: string;
  try {
    base = serverBaseUrl(env);
  } catch (e) {
    out.push(skip("server.ping", "server /ping", `not run: ${GomaError.from(e).rawMessage}`));
    return { results: out, ok: false };
  }
  const url = `${base}/ping`;
  if (auth.error) {
    out.push(skip("server.ping", "server /ping", "not run: no credentials can be sent (see credentials above)"));
    return { results: out, ok: false };
  }
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: auth.header ? { authorization: auth.header } : {}, body: "", signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const msg = (e as Error).message;
    const refused = /ECONNREFUSED|Unable to connect|refused/i.test(msg + String((e as { code?: string }).code));
    out.push(fail("server.ping", "server /ping", `${url}: ${refused ? "connection refused" : msg}`, refused
      ? "nothing listens there: start goma server (goma server --port …) or fix GOMA_SERVER_HOST / GOMA_SERVER_PORT"
      : /certificate|SSL|TLS|wrong version/i.test(msg) ? "TLS mismatch: GOMA_USE_SSL=true against a plain-HTTP server (or the reverse), or an untrusted certificate"
        : "check that the host resolves and the port is reachable (firewall, http_proxy/no_proxy variables)"));
    return { results: out, ok: false };
  }
  const text = (await res.text()).trim().slice(0, 300);
  const ms = Math.round(performance.now() - t0);
  const s = res.status;
  if (s === 200) {
    out.push(pass("server.ping", "server /ping", `${url}: 200 in ${ms} ms`));
  } else if (s === 401) {
    out.push(fail("server.ping", "server /ping", `${url}: 401 ${text}`,
      auth.source === "none" ? (/local token/.test(text)
        ? "the server accepts only its own user's local token: run goma as the server's user, or start the server with --auth-tokens/--auth-secret and get a token from its admin (goma auth issue, goma auth login)"
        : "the server requires a token: get one from its admin (goma auth issue) and run goma auth login")
        : auth.source === "local token"
          ? `the server requires a token: it does not take your local token ${auth.path} (it was started with --auth-tokens/--auth-secret, or by another user); get a token from its admin (goma auth issue) and run goma auth login`
          : `the server refuses the token from ${auth.source} ${auth.path}: run goma auth info, then store a valid one (goma auth login) or fix GOMA_HTTP_AUTHORIZATION_FILE`));
  } else if (s === 403) {
    out.push(fail("server.ping", "server /ping", `${url}: 403 ${text}`, "something between you and the server (a reverse proxy, an ACL) forbids the request; Goma's client stops remote compiles for 10–20 min after a 403"));
  } else if (s === 502 || s === 503 || s === 504) {
    out.push(fail("server.ping", "server /ping", `${url}: ${s} ${text}`, s === 502
      ? "a proxy in between could not reach the server: goma_ctl's http_proxy (GOMACTL_USE_PROXY=true) drops the port — set GOMACTL_USE_PROXY=false; or an http_proxy variable routes this request: add the host to no_proxy"
      : "the server or a proxy in front of it is overloaded or restarting: retry, then check the server's log"));
  } else if (s === 404) {
    out.push(fail("server.ping", "server /ping", `${url}: 404`, "that is not a goma server's path: check GOMA_SERVER_HOST/GOMA_SERVER_PORT and GOMA_URL_PATH_PREFIX (must be /cxx-compiler-service)"));
  } else {
    out.push(fail("server.ping", "server /ping", `${url}: HTTP ${s} ${text}`, "see the server's log"));
  }
  if (s === 200) {
    const w = await whoAmI(env, 10_000);
    if (w.status === 200) {
      out.push(pass("auth.server", "server accepts credentials", w.user === null ? "the server runs without auth" : `the server says you are "${w.user}" (${w.tokenSource}${w.expiresAt ? `, expires ${w.expiresAt}` : ""})`));
    } else if (w.status === 404) {
      out.push(warn("auth.server", "server accepts credentials", "the server has no auth/info endpoint (not goma's server?)", "ping passed, so the credentials work; nothing to do"));
    } else {
      out.push(fail("auth.server", "server accepts credentials", `auth/info: ${w.status || ""} ${w.error ?? ""}`.trim(), "run goma auth info"));
    }
  }
  return { results: out, ok: s === 200, status: s };
}

/** The backend as the server sees it: `GET /api/doctor/backend`. */
export async function backendViaServer(env: Env, auth: ClientAuthorization): Promise<CheckResult[]> {
  const base = serverBaseUrl(env).replace(/\/cxx-compiler-service$/, "");
  const url = `${base}/api/doctor/backend`;
  try {
    const res = await fetch(url, { headers: auth.header ? { authorization: auth.header } : {}, signal: AbortSignal.timeout(120_000) });
    if (res.status === 404) return [warn("backend.server", "backend checks", `${url}: 404`, "the server is not goma's (or too old): run goma doctor --remoteexec-addr <backend> to check the backend directly")];
    if (res.status !== 200) return [fail("backend.server", "backend checks", `${url}: HTTP ${res.status} ${(await res.text()).trim().slice(0, 200)}`, "see the server's log")];
    return ((await res.json()) as { checks: CheckResult[] }).checks;
  } catch (e) {
    return [fail("backend.server", "backend checks", `${url}: ${(e as Error).message}`, "see the server's log")];
  }
}

/** A real compile of a tiny C file through `goma cc` and the proxy; the time of each stage. */
export async function compileCheck(env: Env, self: string[], state: ChainState): Promise<CheckResult> {
  const title = "real compile";
  if (!state.proxy) return skip("compile", title, "not run: no proxy");
  // A C compiler driver a gcc-style type claims (gcc, clang; not their C++ drivers: the check compiles C).
  const cc = state.compilers.find((c) => compilerTypeOf(c)?.gccStyle !== undefined && !isCxxDriver(c));
  if (!cc) return skip("compile", title, "not run: no C compiler");
  const dir = mkdtempSync(join(tmpdir(), "goma-doctor-"));
  try {
    // A unique body per run: the compile must reach the backend, not only its action cache.
    writeFileSync(join(dir, "doctor.c"), `int goma_doctor_${process.pid}_${Date.now()}(void) { return 42; }\n`);
    const { spawnSync } = await import("node:child_process");
    const t0 = performance.now();
    const r = spawnSync(self[0]!, [...self.slice(1), "cc", cc, "-c", "doctor.c", "-o", "doctor.o"], { cwd: dir, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 300_000 });
    const wall = Math.round(performance.now() - t0);
    if (r.status !== 0) return fail("compile", title, `goma cc ${cc} exited ${r.status}: ${(r.stderr ?? "").trim().slice(0, 300)}`, "the compiler itself fails on a trivial file: reinstall it");
    const tasks = (await (await fetch(`http://127.0.0.1:${state.proxy.dashboardPort}/api/tasks`)).json()) as
      { cwd: string; outcome?: string; reason?: string; stages: Record<string, number>; durationMs?: number }[];
    const t = tasks.find((x) => x.cwd === dir);
    if (!t) return warn("compile", title, `compiled in ${wall} ms, but the proxy has no record of it`, "goma cc did not reach this proxy: another GOMA_TMP_DIR / socket name?");
    const stages = Object.entries(t.stages).map(([k, v]) => `${k} ${v} ms`).join(", ");
    const data = { outcome: t.outcome, stages: t.stages, wallMs: wall, proxyMs: t.durationMs };
    if (t.outcome === "remote" || t.outcome === "cacheHit") {
      return pass("compile", title, `${cc} -c doctor.c ran ${t.outcome === "remote" ? "remotely" : "from the action cache"} in ${wall} ms (proxy ${t.durationMs} ms: ${stages})`, data);
    }
    return fail("compile", title, `${cc} -c doctor.c ran locally (${t.outcome}): ${t.reason ?? ""}`.slice(0, 500),
      "the reason names the failing step; the failed checks above give its fix", data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
