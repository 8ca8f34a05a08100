/**
 * `goma doctor`: every check in chain order — this machine, the environment, credentials, the proxy,
 * the server, the backend (through the server, or directly with `--remoteexec-addr`), a real compile —
 * collected into one {@link DoctorReport}. Checks that need an earlier one to pass are skipped with a
 * reason instead of failing twice.
 */
import { gomaCacheDir } from "../config/paths.ts";
import { ReapiClient } from "../reapi/client.ts";
import { isLoopbackTarget } from "../reapi/rpc-caller.ts";
import { backendCredentials, type BackendCredentialOptions } from "../auth/backend-credentials.ts";
import { GomaError } from "../util/status.ts";
import { VERSION } from "../util/version.ts";
import { fail, report, skip, type CheckResult, type DoctorReport } from "./check.ts";
import { binaryCheck, envChecks, hostChecks } from "./local-checks.ts";
import { authChecks, backendViaServer, compileCheck, compilerChecks, proxyChecks, serverChecks, type ChainState } from "./chain-checks.ts";
import { runBackendChecks } from "./backend-checks.ts";
import { runSchedulerChecks } from "./scheduler-checks.ts";
import { sandboxCompilerChecks } from "./sandbox-checks.ts";

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Check this backend directly instead of asking the server. */
  remoteexecAddr?: string;
  instanceName?: string;
  platform?: Record<string, string>;
  /** bb_scheduler's BuildQueueState service: list what the scheduler offers next to what goma sends. */
  buildbarnScheduler?: string;
  insecure?: boolean;
  backendAuth?: BackendCredentialOptions;
  /** How to run this binary (for the real compile): `[execPath]` or `[execPath, script]`. */
  self: string[];
  /** Skip the real compile. */
  noCompile?: boolean;
  /** `--compiler PATH`: check this compiler too (in place of PATH's of the same name) and compile with it. */
  compiler?: string;
}

/** Checks the backend directly (`--remoteexec-addr`). */
export async function directBackendChecks(o: DoctorOptions): Promise<CheckResult[]> {
  let creds;
  try {
    creds = backendCredentials(o.backendAuth ?? {});
    await creds.ready();
  } catch (e) {
    return [fail("backend.credentials", "backend credentials", GomaError.from(e).rawMessage, "fix the credential flags or files")];
  }
  const target = o.remoteexecAddr!;
  const insecure = o.insecure || (isLoopbackTarget(target) && !creds.useTls);
  const client = new ReapiClient({ target, instanceName: o.instanceName ?? "", insecure, tls: creds.tls, bearerToken: creds.bearerToken, toolName: "goma-doctor", toolVersion: VERSION });
  try {
    return await runBackendChecks(client, {
      target, instanceName: o.instanceName ?? "", platform: o.platform ?? { OSFamily: "linux" }, tls: !insecure, caCert: Boolean(o.backendAuth?.caCert), bearer: Boolean(creds.bearerToken),
      scheduler: o.buildbarnScheduler ? { target: o.buildbarnScheduler, insecure, tls: creds.tls, bearerToken: creds.bearerToken } : undefined,
    });
  } finally {
    client.close();
  }
}

/** Runs everything; never throws for a failing check. */
export async function runDoctor(env: Record<string, string | undefined>, o: DoctorOptions): Promise<DoctorReport> {
  const checks: CheckResult[] = [binaryCheck()];
  const cacheDir = gomaCacheDir(env);
  checks.push(...hostChecks(env, [cacheDir]));
  checks.push(...envChecks(env));
  const a = authChecks(env);
  checks.push(...a.results);
  const p = await proxyChecks(env);
  checks.push(...p.results);
  const c = await compilerChecks(env, cacheDir, o.compiler);
  checks.push(...c.results);
  const state: ChainState = { auth: a.auth, proxy: p.proxy, serverOk: false, compilers: c.found };
  const s = await serverChecks(env, a.auth);
  checks.push(...s.results);
  state.serverOk = s.ok;
  state.serverStatus = s.status;
  if (o.remoteexecAddr) checks.push(...await directBackendChecks(o));
  else if (s.ok) {
    const viaServer = await backendViaServer(env, a.auth);
    checks.push(...viaServer);
    if (o.buildbarnScheduler && !viaServer.some((c) => c.id === "backend.scheduler")) {
      // The scheduler as seen from here, against what the server reports it sends.
      const sent = viaServer.find((c) => c.id === "backend.instance")?.data as { instanceName?: string; platform?: Record<string, string> } | undefined;
      checks.push(...await runSchedulerChecks({
        target: o.buildbarnScheduler, instanceName: sent?.instanceName ?? o.instanceName ?? "", platform: sent?.platform ?? o.platform ?? { OSFamily: "linux" },
        insecure: o.insecure || isLoopbackTarget(o.buildbarnScheduler),
      }));
    }
  }
  else checks.push(skip("backend", "backend", "not run: the server did not answer /ping with 200 (or give --remoteexec-addr to check the backend directly)"));
  checks.push(...sandboxCompilerChecks(c.compilers, checks.find((x) => x.id === "backend.sandbox"), s.ok && !o.remoteexecAddr));
  if (!o.noCompile) checks.push(await compileCheck(env, o.self, state));
  return report(VERSION, checks);
}
