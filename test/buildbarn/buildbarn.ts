/**
 * Test helpers for a real Buildbarn on this host: install it (scripts/buildbarn/install.sh), start and stop
 * it in a temp BB_ROOT on free ports (start.sh, stop.sh), and print its logs when a test fails.
 *
 *   const inst = await installBuildbarn();            // minutes the first time, a moment afterwards
 *   const bb = await startBuildbarn({ instancePrefix: "hardlinking" });
 *   … goma server --remoteexec-addr bb.address …
 *   await bb.stop();
 *
 * No sleeps: start.sh returns once every process answers /-/healthy. A Buildbarn that a test forgot to stop
 * is stopped by a watchdog when the test process exits (it blocks on a pipe held by this process, like
 * test/e2e/harness.ts's).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunResult } from "../e2e/harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPTS = join(REPO, "scripts", "buildbarn");

/** What could be installed: everything, bb_storage only (a module is not served), or nothing. */
export interface BuildbarnInstall {
  /** Directory with the binaries (BB_BIN), when at least bb_storage is installed. */
  bin?: string;
  /** bb_scheduler, bb_worker and bb_runner are installed too. */
  full: boolean;
  /** Why not everything is installed (install.sh's own message), when it is not. */
  missing?: string;
  /** Wall time of the install, seconds. */
  seconds: number;
}

/**
 * Installs Buildbarn with scripts/buildbarn/install.sh. When the full install fails because the module proxy
 * does not serve a pinned module version (install.sh's exit status 3), installs bb_storage alone and says why
 * the rest is missing; tests that need execution then fail with that reason.
 * @throws {Error} when install.sh fails for another reason (a build error, no Go): with its output.
 */
export async function installBuildbarn(): Promise<BuildbarnInstall> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const full = await run(["bash", join(SCRIPTS, "install.sh")]);
  if (full.code === 0) return { bin: lastLine(full), full: true, seconds: seconds() };
  if (full.code !== 3) throw new Error(`scripts/buildbarn/install.sh exited ${full.code}\n${full.stderr}`);
  const missing = firstError(full);
  const storage = await run(["bash", join(SCRIPTS, "install.sh"), "--storage-only"]);
  if (storage.code === 0) return { bin: lastLine(storage), full: false, missing, seconds: seconds() };
  if (storage.code !== 3) throw new Error(`scripts/buildbarn/install.sh --storage-only exited ${storage.code}\n${storage.stderr}`);
  return { full: false, missing: `${missing}; ${firstError(storage)}`, seconds: seconds() };
}

function lastLine(r: RunResult): string {
  return r.stdout.trim().split("\n").pop() ?? "";
}

function firstError(r: RunResult): string {
  return r.stderr.split("\n").find((l) => l.includes("error:"))?.replace(/^bb-install: error: /, "") ?? r.stderr.trim();
}

/** How to start Buildbarn (start.sh's options). */
export interface BuildbarnOptions {
  /** The worker's instance name prefix ('' serves every instance name). */
  instancePrefix?: string;
  /** The worker's platform, KEY=VALUE each (default OSFamily=linux). */
  platform?: string[];
  /** bb_storage alone (no scheduler, no worker): a cache-only REAPI service. */
  storageOnly?: boolean;
  /** Only these components (e.g. ["storage"] with a stand-in scheduler on {@link Buildbarn.schedulerPort}). */
  components?: string[];
  /** How long an unknown platform is UNAVAILABLE after the scheduler starts (default start.sh's 15s). */
  noWorkersTimeout?: string;
  /** bb_worker + bb_runner pairs behind the scheduler (start.sh --workers; default 1). */
  workers?: number;
  /** More start.sh options, given after the ones above (later ones win; --platform adds). */
  args?: string[];
}

/** A running Buildbarn in its own temp BB_ROOT. */
export interface Buildbarn {
  /** The frontend, `127.0.0.1:PORT`: what `goma server --remoteexec-addr` wants. */
  address: string;
  /** Where the scheduler's client port is (the frontend forwards Execute there). */
  schedulerPort: number;
  /** The scheduler's BuildQueueState gRPC service, `127.0.0.1:PORT` (goma doctor --buildbarn-scheduler). */
  buildQueueState: string;
  /** The diagnostics HTTP port of a component (`worker`, `worker2`, …): /-/healthy and /metrics. */
  diagPort(component: string): number;
  /** The pid of a running component (from its pid file), or undefined. */
  pid(component: string): number | undefined;
  root: string;
  /** Stops components (default all); they can be started again with {@link start}. */
  stopComponents(components?: string[]): Promise<void>;
  /** Starts components again with the same settings (default all of the first start). */
  start(components?: string[]): Promise<void>;
  /** `status.sh`'s report. */
  status(): Promise<string>;
  /** The last lines of every component's log, for a failing test's message. */
  logs(lines?: number): string;
  /** Stops everything and removes BB_ROOT. Safe to call twice. */
  stop(): Promise<void>;
}

/** Diagnostics port of `component` at port offset `off` (scripts/buildbarn/lib.sh's bb_diag_port). */
function diagPortAt(component: string, off: number): number {
  const fixed: Record<string, number> = { storage: 9980, scheduler: 9982, worker: 9986, runner: 9987 };
  if (component in fixed) return fixed[component]! + off;
  const m = /^(worker|runner)([2-9])$/.exec(component);
  if (!m) throw new Error(`no Buildbarn component "${component}"`);
  return 6980 + off + 2 * (Number(m[2]) - 2) + (m[1] === "runner" ? 1 : 0);
}

/** Ports a Buildbarn with port offset `off` and `workers` workers binds (start.sh's defaults plus the offset). */
function portsAt(off: number, workers = 1): number[] {
  const extra: number[] = [];
  for (let k = 2; k <= workers; k++) extra.push(diagPortAt(`worker${k}`, 0), diagPortAt(`runner${k}`, 0));
  return [8980, 8982, 8983, 8984, 7982, 9980, 9982, 9986, 9987, ...extra].map((p) => p + off);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolvePromise(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolvePromise(true)));
  });
}

/**
 * A port offset (a multiple of 10 in 1000..22990) at which every port of a Buildbarn with `workers` workers
 * was free a moment ago. Every port stays below 32768, the start of Linux's default ephemeral range
 * (net.ipv4.ip_local_port_range), so neither a listener on port 0 (the goma servers of the tests) nor an
 * outgoing connection can take one between this check and Buildbarn's bind.
 */
export async function freePortOffset(workers = 1): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const off = 1000 + 10 * Math.floor(Math.random() * 2200);
    const free = await Promise.all(portsAt(off, workers).map(portFree));
    if (free.every(Boolean)) return off;
  }
  throw new Error(`no port offset with all ${portsAt(0, workers).length} Buildbarn ports free`);
}

/**
 * Starts Buildbarn (scripts/buildbarn/start.sh) in a fresh temp BB_ROOT at a free port offset, with the
 * binaries of `inst`.
 * @throws {Error} when start.sh fails: with its output and the components' logs.
 */
export async function startBuildbarn(inst: BuildbarnInstall, opts: BuildbarnOptions = {}): Promise<Buildbarn> {
  // Another process can bind one of the ports between freePortOffset's check and Buildbarn's own bind:
  // that start fails with "address already in use" in a component's log; take another offset then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBuildbarnOnce(inst, opts);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test(String(e))) throw e;
      console.error(`buildbarn: a port was taken during start-up (attempt ${attempt}); starting at another port offset`);
    }
  }
}

async function startBuildbarnOnce(inst: BuildbarnInstall, opts: BuildbarnOptions): Promise<Buildbarn> {
  if (!inst.bin) throw new Error(`Buildbarn is not installed: ${inst.missing}`);
  const root = mkdtempSync(join(tmpdir(), "goma-bb-"));
  const workersArg = opts.args?.includes("--workers") ? Number(opts.args[opts.args.indexOf("--workers") + 1]) : undefined;
  const offset = await freePortOffset(workersArg || opts.workers || 1);
  const env = { BB_ROOT: root, BB_BIN: inst.bin };
  const watchdog = spawn("sh", ["-c", 'cat >/dev/null; bash "$1/stop.sh" >/dev/null 2>&1; rm -rf "$BB_ROOT"', "goma-bb-watchdog", SCRIPTS], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env, ...env },
  });
  watchdog.on("error", () => {});
  watchdog.unref();
  const wdIn = watchdog.stdin!;
  (wdIn as unknown as { unref?: () => void }).unref?.();
  wdIn.on("error", () => {});

  const args = ["--port-offset", String(offset)];
  args.push("--instance-prefix", opts.instancePrefix ?? "");
  for (const p of opts.platform ?? []) args.push("--platform", p);
  if (opts.storageOnly) args.push("--storage-only");
  if (opts.noWorkersTimeout) args.push("--no-workers-timeout", opts.noWorkersTimeout);
  if (opts.workers) args.push("--workers", String(opts.workers));
  args.push(...(opts.args ?? []));
  const logs = (lines = 40): string => {
    const dir = join(root, "logs");
    if (!existsSync(dir)) return "(no Buildbarn logs)";
    return readdirSync(dir).sort().map((f) => {
      const text = readFileSync(join(dir, f), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      return `---- ${join(dir, f)} (last ${lines} lines) ----\n${text}`;
    }).join("\n");
  };
  const script = async (name: string, extra: string[]): Promise<RunResult> => {
    const r = await run(["bash", join(SCRIPTS, name), ...extra], { env });
    if (r.code !== 0) throw new Error(`scripts/buildbarn/${name} ${extra.join(" ")} exited ${r.code}\n${r.stderr}\n${logs()}`);
    return r;
  };
  let stopped = false;
  try {
    const r = await script("start.sh", [...args, ...(opts.components ?? [])]);
    const address = r.stdout.trim().split("\n").pop() ?? "";
    return {
      address,
      schedulerPort: 8982 + offset,
      buildQueueState: `127.0.0.1:${8984 + offset}`,
      diagPort: (component) => diagPortAt(component, offset),
      pid(component) {
        try {
          const pid = Number(readFileSync(join(root, "pids", `${component}.pid`), "utf8").trim());
          return Number.isInteger(pid) && pid > 0 ? pid : undefined;
        } catch {
          return undefined;
        }
      },
      root,
      async stopComponents(components = []) {
        await script("stop.sh", components);
      },
      async start(components = []) {
        const workers = Array.from({ length: (opts.workers ?? 1) - 1 }, (_, i) => [`runner${i + 2}`, `worker${i + 2}`]).flat();
        const all = opts.storageOnly ? ["storage"] : opts.components ?? ["storage", "scheduler", "runner", "worker", ...workers];
        await script("start.sh", components.length ? components : all);
      },
      async status() {
        return (await run(["bash", join(SCRIPTS, "status.sh")], { env })).stdout;
      },
      logs,
      async stop() {
        if (stopped) return;
        stopped = true;
        await script("stop.sh", []);
        rmSync(root, { recursive: true, force: true });
        wdIn.end();
      },
    };
  } catch (e) {
    await run(["bash", join(SCRIPTS, "stop.sh")], { env });
    rmSync(root, { recursive: true, force: true });
    wdIn.end();
    throw e;
  }
}

/** A stand-in for bb_scheduler's client port that finds no worker for any platform. */
export interface NoWorkerScheduler {
  /** Execute requests seen: instance name and the Action's platform as `K=V` strings. */
  seen: { instanceName: string; platform: string[] }[];
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` as bb_scheduler's client port would, for tests that have bb_storage but no
 * bb_scheduler: Capabilities answers what a scheduler does (execution enabled, SHA-256), and every Execute
 * fails the way bb_scheduler fails an Action whose platform no worker offers: FAILED_PRECONDITION
 * `No workers exist for instance name prefix "<instance>" platform {"properties":[…]}` (the Action is read
 * from the frontend's CAS at `casAddress`, as the scheduler reads it; reference/reapi-buildbarn.md §3).
 * Only the scheduler is a stand-in: the frontend that forwards to it is the real bb_storage.
 */
export async function startNoWorkerScheduler(port: number, casAddress: string): Promise<NoWorkerScheduler> {
  const grpc = await import("@grpc/grpc-js");
  const { capabilitiesService, executionService, GRPC_OPTIONS } = await import("../../lib/reapi/grpc-service.ts");
  const { R } = await import("../../lib/reapi/proto.ts");
  const { ReapiClient } = await import("../../lib/reapi/client.ts");
  const { toDigest } = await import("../../lib/digest/digest.ts");
  const seen: NoWorkerScheduler["seen"] = [];
  const clients = new Map<string, InstanceType<typeof ReapiClient>>();
  const cas = (instanceName: string) => {
    let c = clients.get(instanceName);
    if (!c) clients.set(instanceName, (c = new ReapiClient({ target: casAddress, instanceName, insecure: true })));
    return c;
  };
  const server = new grpc.Server(GRPC_OPTIONS);
  const SHA256 = R.DigestFunction.Value.SHA256;
  server.addService(capabilitiesService, {
    GetCapabilities: (_call: unknown, cb: (err: null, res: unknown) => void) =>
      cb(null, { executionCapabilities: { digestFunction: SHA256, digestFunctions: [SHA256], execEnabled: true } }),
  });
  const fail = (call: { emit(ev: string, e: unknown): void }, code: number, details: string) =>
    call.emit("error", { code, details, metadata: new grpc.Metadata() });
  server.addService(executionService, {
    Execute: async (call: { request: { instanceName?: string; actionDigest?: unknown }; emit(ev: string, e: unknown): void }) => {
      const instanceName = call.request.instanceName ?? "";
      try {
        const action = R.Action.decode(await cas(instanceName).readBlob(toDigest(call.request.actionDigest as never)));
        const props = (action.platform?.properties ?? []).map((p) => ({ name: p.name, value: p.value }));
        seen.push({ instanceName, platform: props.map((p) => `${p.name}=${p.value}`) });
        fail(call, grpc.status.FAILED_PRECONDITION,
          `No workers exist for instance name prefix ${JSON.stringify(instanceName)} platform ${JSON.stringify({ properties: props })}`);
      } catch (e) {
        fail(call, grpc.status.INTERNAL, `stand-in scheduler: ${(e as Error).message}`);
      }
    },
    WaitExecution: (call: { emit(ev: string, e: unknown): void }) => fail(call, grpc.status.NOT_FOUND, "Operation not found"),
  });
  await new Promise<void>((resolvePromise, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolvePromise())));
  return {
    seen,
    async close() {
      for (const c of clients.values()) c.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
    },
  };
}
