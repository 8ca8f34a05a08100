/**
 * The answers to the proxy's control requests (`goma proxy stop|status|stats`, `goma doctor`; lib/proxy/
 * ipc-server.ts `ControlRequest`), and the two pieces of state they read besides the task log: the
 * server's health as of the last `/ping`, and the statistics since the last `goma proxy stats --zero`.
 */
import type { AuthorizationProvider, GomaHttpClient } from "../goma/http-client.ts";
import { GomaError } from "../util/status.ts";
import { VERSION } from "../util/version.ts";
import type { ControlRequest } from "./ipc-server.ts";
import type { StatsSummary, TaskLog } from "./tasks.ts";

/**
 * The server's health as the proxy last saw it: `ok` after a `/ping` answered 200, else `running: <why>`
 * (`running: ping no response` until the first ping returns). Shown by `goma proxy status`, /healthz.
 */
export class ServerHealth {
  /** `ok` or `running: …`. */
  status = "running: ping no response";

  constructor(private readonly http: Pick<GomaHttpClient, "ping">) {}

  /** Pings the server now and records the outcome. Never rejects. */
  ping(): Promise<void> {
    return this.http.ping().then(
      () => void (this.status = "ok"),
      (e) => void (this.status = `running: ${GomaError.from(e).rawMessage}`),
    );
  }
}

/**
 * The statistics of `goma proxy stats` (lib/proxy/tasks.ts `StatsSummary`), with the HTTP client's bytes
 * counted from the last {@link zero}. `beforeRead` runs first on every read (the proxy counts goma cc's
 * spooled runs there).
 */
export class ProxyStats {
  /** Bytes counted by the HTTP client at the last `goma proxy stats --zero`. */
  readonly #bytesBase = { sent: 0, received: 0 };

  constructor(
    private readonly tasks: TaskLog,
    private readonly http: Pick<GomaHttpClient, "stats">,
    private readonly beforeRead: () => void = () => {},
  ) {}

  /** The summary since the last zero. */
  summary(): StatsSummary {
    this.beforeRead();
    const s = this.http.stats;
    return this.tasks.summary({ sent: s.bytesSent - this.#bytesBase.sent, received: s.bytesReceived - this.#bytesBase.received });
  }

  /** Resets the counters (as `ccache -z`); returns the summary before the reset. */
  zero(): StatsSummary {
    const before = this.summary();
    this.tasks.zero();
    this.#bytesBase.sent = this.http.stats.bytesSent;
    this.#bytesBase.received = this.http.stats.bytesReceived;
    return before;
  }
}

/** What {@link controlAnswer} reads. */
export interface ControlState {
  tasks: TaskLog;
  http: Pick<GomaHttpClient, "baseUrl">;
  health: ServerHealth;
  stats: ProxyStats;
  /** The dashboard's port, once it listens. */
  dashboardPort(): number | undefined;
  /** The proxy's Authorization lookup: `stats` shows its source and path, never the header. */
  authorization?: AuthorizationProvider;
}

/**
 * The JSON answer to a control request. `quit` answers `{ ok: true }` (the caller stops the proxy after
 * sending it); `health` pings the server first; an unknown name answers `{ ok: true, health }`.
 */
export async function controlAnswer(op: ControlRequest["control"] | string, s: ControlState): Promise<unknown> {
  const status = () => ({ ...s.tasks.stats, health: s.health.status, dashboardPort: s.dashboardPort(), server: s.http.baseUrl });
  switch (op) {
    case "quit":
      return { ok: true };
    case "stats": {
      const a = s.authorization?.();
      const auth = a && { source: a.source, path: a.path, error: a.error }; // never the header itself
      return { ...status(), auth, pid: process.pid, version: VERSION };
    }
    case "tasks":
      return s.tasks.list();
    case "summary":
      return s.stats.summary();
    case "zero":
      return s.stats.zero();
    case "health":
      await s.health.ping();
      return { ...status(), pid: process.pid, version: VERSION };
    default:
      return { ok: true, health: s.health.status };
  }
}
