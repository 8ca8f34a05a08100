/**
 * The proxy's dashboard on http://127.0.0.1:8088 (GOMA_COMPILER_PROXY_PORT), after Goma's
 * (reference/goma-protocol.md §4.4): `/` shows recent tasks with command, outcome (remote, cache hit,
 * local fallback, local, failed), the reason of any local run and the time; `/api/stats` and
 * `/api/tasks` give the same as JSON; `/healthz` the health string.
 */
import type { TaskLog, TaskRecord } from "./tasks.ts";

/** What the dashboard shows besides the tasks. */
export interface DashboardInfo {
  version: string;
  server: string;
  health: () => string;
  extra: () => Record<string, unknown>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const LABEL: Record<string, string> = {
  remote: "remote",
  cacheHit: "cache hit",
  localFallback: "local fallback",
  local: "local",
  failed: "failed",
};
const COLOR: Record<string, string> = { remote: "#cfc", cacheHit: "#cef", localFallback: "#fdb", local: "#eee", failed: "#fbb" };

function row(t: TaskRecord): string {
  const status = t.state === "running" ? "running" : LABEL[t.outcome ?? ""] ?? "";
  const exit = t.exitCode !== undefined && t.exitCode !== 0 ? ` (exit ${t.exitCode})` : "";
  return `<tr style="background:${COLOR[t.outcome ?? ""] ?? "#fff"}"><td>${t.id}</td>` +
    `<td>${new Date(t.startedAt).toISOString().slice(11, 23)}</td>` +
    `<td>${esc(status + exit)}</td><td>${t.durationMs ?? ""}</td>` +
    `<td><code>${esc(t.argv.join(" ").slice(0, 300))}</code><br><small>${esc(t.cwd)}</small></td>` +
    `<td>${esc(t.reason ?? "")}${t.includeFallback ? `<br><small>include processor fell back to -M: ${esc(t.includeFallback)}</small>` : ""}</td>` +
    `<td><small>${esc(Object.entries(t.stages).map(([k, v]) => `${k} ${v}`).join(", "))}</small></td></tr>`;
}

/** Builds the dashboard handler. */
export function createDashboard(tasks: TaskLog, info: DashboardInfo): (req: Request) => Promise<Response> {
  const json = (v: unknown) => new Response(JSON.stringify(v, null, 1), { headers: { "content-type": "application/json" } });
  return async (req) => {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/api/stats":
        return json(tasks.stats);
      case "/api/tasks":
        return json(tasks.list());
      case "/healthz":
        return new Response(info.health() + "\n");
      case "/": {
        const s = tasks.stats;
        const counters = Object.entries(s).map(([k, v]) => `<b>${esc(LABEL[k] ?? k)}</b> ${v}`).join(" · ");
        const extra = Object.entries(info.extra()).map(([k, v]) => `<b>${esc(k)}</b> ${esc(String(v))}`).join(" · ");
        const html = `<!doctype html><meta charset="utf-8"><title>goma proxy</title>
<style>body{font:13px sans-serif}td,th{padding:2px 6px;vertical-align:top;text-align:left}table{border-collapse:collapse}</style>
<h1>goma proxy ${esc(info.version)}</h1>
<p>server <code>${esc(info.server)}</code> — ${esc(info.health())}</p><p>${counters}</p><p><small>${extra}</small></p>
<table><tr><th>#</th><th>start</th><th>status</th><th>ms</th><th>command</th><th>reason</th><th>stages (ms)</th></tr>
${tasks.list().slice(0, 500).map(row).join("\n")}</table>`;
        return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      default:
        return new Response(`not found: ${url.pathname}\n`, { status: 404 });
    }
  };
}
