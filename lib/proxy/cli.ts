/**
 * `goma proxy run|start|stop|status|stats` (goma_ctl's run in the foreground / ensure_start / stop / status,
 * reference/goma-protocol.md §4.6). `start` returns once the proxy answers on its socket: the child
 * reports readiness on an inherited pipe, so nothing polls or sleeps.
 */
import { defineCommand } from "citty";
import { spawn } from "node:child_process";
import { openSync, readFileSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { gomaTmpDir, proxySocketPath } from "../config/paths.ts";
import { proxyConfigFromEnv } from "../config/proxy-config.ts";
import { ClientAuthorizationProvider } from "../auth/client-auth.ts";
import { control, socketAlive, startProxy } from "./daemon.ts";
import { selfCommand } from "../util/cli-args.ts";
import type { StatsSummary } from "./tasks.ts";

const READY_FD_ENV = "GOMA_PROXY_READY_FD";

export const runCommand = defineCommand({
  meta: { name: "run", description: "Run the proxy in the foreground" },
  async run() {
    const readyFd = process.env[READY_FD_ENV] ? Number(process.env[READY_FD_ENV]) : undefined;
    let p;
    try {
      // The config and the auth provider are built once here and passed in (no GOMA_* read deeper down).
      const config = proxyConfigFromEnv(process.env);
      const auth = new ClientAuthorizationProvider(process.env);
      p = await startProxy(config, { authorization: () => auth.get() });
    } catch (e) {
      const msg = (e as Error).message;
      if (readyFd !== undefined) {
        writeSync(readyFd, `error ${msg}\n`);
        closeSync(readyFd);
      }
      process.stderr.write(`goma proxy: ${msg}\n`);
      process.exit(1);
    }
    if (readyFd !== undefined) {
      writeSync(readyFd, `ready ${p.dashboardPort}\n`);
      closeSync(readyFd);
    } else {
      process.stdout.write(`goma proxy ready: socket ${p.socketPath}, dashboard http://127.0.0.1:${p.dashboardPort}\n`);
    }
    process.on("SIGTERM", () => void p.stop());
    process.on("SIGINT", () => void p.stop());
    await p.closed;
    process.exit(0);
  },
});

export const startCommand = defineCommand({
  meta: { name: "start", description: "Start the proxy in the background; returns once it is ready" },
  async run() {
    const sock = proxySocketPath(process.env);
    if (await socketAlive(sock)) {
      process.stdout.write(`goma proxy already running on ${sock}\n`);
      return;
    }
    const tmp = gomaTmpDir(process.env);
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const logPath = join(tmp, "goma_proxy.log");
    const logFd = openSync(logPath, "a");
    const [cmd, ...pre] = selfCommand();
    const child = spawn(cmd!, [...pre, "proxy", "run"], {
      detached: true,
      stdio: ["ignore", logFd, logFd, "pipe"],
      env: { ...process.env, [READY_FD_ENV]: "3" },
    });
    const line = await new Promise<string>((resolve) => {
      let buf = "";
      const pipe = child.stdio[3] as NodeJS.ReadableStream;
      pipe.on("data", (c: Buffer) => {
        buf += c.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
      });
      pipe.on("end", () => resolve(buf.split("\n")[0] ?? ""));
      child.on("exit", () => resolve(buf.split("\n")[0] ?? ""));
    });
    closeSync(logFd);
    if (!line.startsWith("ready")) {
      let tail = "";
      try {
        tail = readFileSync(logPath, "utf8").split("\n").slice(-15).join("\n");
      } catch {
        // no log
      }
      process.stderr.write(`goma proxy failed to start: ${line.replace(/^error /, "") || "exited"}\n${tail}\n`);
      process.exit(1);
    }
    child.unref();
    (child.stdio[3] as unknown as { destroy(): void }).destroy();
    process.stdout.write(`goma proxy started (pid ${child.pid}): socket ${sock}, dashboard http://127.0.0.1:${line.split(" ")[1]}, log ${logPath}\n`);
    process.exit(0);
  },
});

export const stopCommand = defineCommand({
  meta: { name: "stop", description: "Stop the running proxy" },
  async run() {
    const sock = proxySocketPath(process.env);
    if (!(await socketAlive(sock))) {
      process.stdout.write(`goma proxy is not running (${sock})\n`);
      return;
    }
    await control(sock, "quit");
    process.stdout.write("goma proxy stopped\n");
  },
});

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Show whether the proxy runs, its health and counters" },
  args: { json: { type: "boolean", default: false, description: "Print the counters as JSON" } },
  async run({ args }) {
    const sock = proxySocketPath(process.env);
    if (!(await socketAlive(sock))) {
      if (args.json) process.stdout.write(JSON.stringify({ running: false }) + "\n");
      else process.stdout.write(`goma proxy is not running (${sock})\n`);
      process.exitCode = 1;
      return;
    }
    const s = (await control(sock, "stats")) as Record<string, unknown>;
    if (args.json) {
      process.stdout.write(JSON.stringify({ running: true, ...s }) + "\n");
      return;
    }
    process.stdout.write(`goma proxy: ${s.health} — dashboard http://127.0.0.1:${s.dashboardPort}, server ${s.server}\n`);
    process.stdout.write(`tasks: ${["total", "remote", "cacheHit", "localFallback", "local", "failed", "direct", "unreachable"].map((k) => `${k} ${s[k]}`).join(", ")}\n`);
  },
});

/**
 * Formats a {@link StatsSummary} as `goma proxy stats` prints it (like `ccache -s`): one line per
 * count, the hit rate, remote vs local time, bytes, then the top reasons for local runs.
 */
export function formatStats(s: StatsSummary): string {
  const c = s.counts;
  const line = (label: string, value: string, note = "") => `${label.padEnd(36)}${value.padStart(10)}${note ? `  ${note}` : ""}\n`;
  const share = (n: number) => (s.steps ? `${((100 * n) / s.steps).toFixed(1)} %` : "");
  const time = (ms: number) => `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 2)} s`;
  const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
  let out = `goma proxy statistics since ${new Date(s.since).toISOString()} (reset with goma proxy stats --zero)\n`;
  out += line("Steps", String(s.steps));
  out += line("  remote", String(c.remote), share(c.remote));
  out += line("  cache hit", String(c.cacheHit), share(c.cacheHit));
  if (c.localCacheHit) out += line("    from the local output cache", String(c.localCacheHit), share(c.localCacheHit));
  out += line("  local fallback (goma failed over)", String(c.localFallback), share(c.localFallback));
  out += line("  local (not remotable)", String(c.local), share(c.local));
  out += line("  local at once (link, -E, …)", String(c.direct), share(c.direct));
  out += line("  proxy unreachable", String(c.unreachable), share(c.unreachable));
  out += line("  goma failed (bug)", String(c.failed), share(c.failed));
  if (c.running) out += line("  running", String(c.running));
  out += line("Cache hit rate", s.hitRatePercent === null ? "–" : `${s.hitRatePercent.toFixed(1)} %`, "of the compiles the backend answered");
  out += line("Remote compile errors", String(c.remoteErrors), "compiler exit code not 0");
  out += line("Time on remote compiles", time(s.timeMs.remote));
  out += line("Time on local runs", time(s.timeMs.local));
  out += line("Bytes sent to the server", size(s.bytes.sent));
  out += line("Bytes received from the server", size(s.bytes.received));
  out += s.localReasons.length ? "Top reasons for local runs:\n" : "Top reasons for local runs: none\n";
  for (const r of s.localReasons) out += `${String(r.count).padStart(8)}  ${r.reason}\n`;
  return out;
}

export const statsCommand = defineCommand({
  meta: { name: "stats", description: "Show the proxy's statistics like ccache -s: compiles by outcome, hit rate, time, bytes, reasons for local runs" },
  args: {
    json: { type: "boolean", default: false, description: "Print them as JSON" },
    zero: { type: "boolean", default: false, description: "Reset them (like ccache -z); prints the statistics before the reset" },
  },
  async run({ args }) {
    const sock = proxySocketPath(process.env);
    if (!(await socketAlive(sock))) {
      if (args.json) process.stdout.write(JSON.stringify({ running: false }) + "\n");
      else process.stderr.write(`goma proxy is not running (${sock}): start it with goma proxy start\n`);
      process.exitCode = 1;
      return;
    }
    const s = (await control(sock, args.zero ? "zero" : "summary")) as StatsSummary;
    if (args.json) process.stdout.write(JSON.stringify(s) + "\n");
    else process.stdout.write(formatStats(s) + (args.zero ? "Statistics zeroed.\n" : ""));
  },
});
