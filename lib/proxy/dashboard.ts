/**
 * The proxy's dashboard on http://127.0.0.1:8088 (GOMA_COMPILER_PROXY_PORT), after Goma's
 * compiler_proxy pages (reference/goma-protocol.md §4.4). Self-contained HTML (no CDN, no external
 * script), readable on a laptop screen:
 * - `/`: the tasks, updated live (the page polls `/api/tasks?after=N` every second), filtered by outcome
 *   and by text; a click on a row shows its command, reason, exit code, compiler stderr, retries and
 *   stage times; the hit rate and the counts by outcome on top.
 * - `/statz`: statistics (as `goma proxy stats`), the top reasons for local runs, a histogram of compile
 *   times, and the internal counters (HTTP client, include processor, breaker).
 * - `/compilerinfoz`: the CompilerInfos the proxy holds (path, version, target, hash, include dirs …).
 * - `/logz`: the proxy's recent log lines.
 * - `/metrics`: Prometheus text format (lib/proxy/metrics.ts).
 * - JSON: `/api/stats` (lib/proxy/tasks.ts `Stats`), `/api/summary` (`StatsSummary` + health +
 *   histogram), `/api/tasks` (every kept task, newest first) and `/api/tasks?after=N`
 *   (`{version, tasks}`: the tasks changed after version N); `/healthz` the health string.
 * A handler error answers 500 with the message; it never takes the proxy down.
 */
import type { TaskLog, StatsSummary } from "./tasks.ts";
import { OUTCOMES } from "./tasks.ts";
import type { ProxyMetrics } from "./metrics.ts";
import type { CompilerInfo } from "../compiler/types.ts";

/** What the dashboard shows besides the tasks. */
export interface DashboardInfo {
  version: string;
  server: string;
  health: () => string;
  /** The statistics of `goma proxy stats` (also counts goma cc's spooled runs first). */
  summary: () => StatsSummary;
  /** Internal counters for /statz (HTTP client, include processor, breaker …). */
  extra: () => Record<string, unknown>;
  metrics?: ProxyMetrics;
  compilerInfos?: () => CompilerInfo[];
  logLines?: () => string[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Human labels of the outcomes (lib/proxy/tasks.ts `Outcome`). */
export const OUTCOME_LABEL: Record<string, string> = {
  remote: "remote",
  cacheHit: "cache hit",
  localFallback: "local fallback",
  local: "local",
  direct: "local at once",
  unreachable: "proxy unreachable",
  failed: "goma failed",
};

const STYLE = `
:root{--fg:#1d2430;--muted:#667085;--line:#e4e7ec;--bg:#f8f9fb;--remote:#d1fadf;--cacheHit:#d1e9ff;--localFallback:#fedf89;--local:#eaecf0;--direct:#f2f4f7;--unreachable:#fddcab;--failed:#fecdca;--error:#fecdca}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:16px;align-items:baseline;flex-wrap:wrap;padding:10px 20px;background:#fff;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0}header nav a{margin-right:12px;color:#175cd3;text-decoration:none}header nav a.on{font-weight:600;text-decoration:underline}
.health{padding:2px 8px;border-radius:10px;background:var(--localFallback)}.health.ok{background:var(--remote)}
main{padding:14px 20px;max-width:1400px}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
.filters{display:flex;gap:10px;align-items:center;margin-bottom:8px}.filters input{width:320px;padding:5px 8px}.filters select{padding:5px}
#live{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{padding:5px 8px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{background:#f2f4f7;font-weight:600;font-size:12px;color:var(--muted)}tbody tr{cursor:pointer}tbody tr:hover{outline:2px solid #84caff}
td.cmd{font-family:ui-monospace,Menlo,monospace;font-size:12px;max-width:560px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td.reason{max-width:420px;color:#344054;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.o{padding:1px 6px;border-radius:4px;white-space:nowrap}
.o-remote{background:var(--remote)}.o-cacheHit{background:var(--cacheHit)}.o-localFallback{background:var(--localFallback)}.o-local{background:var(--local)}.o-direct{background:var(--direct)}.o-unreachable{background:var(--unreachable)}.o-failed,.o-error{background:var(--failed)}.o-running{background:#fff;border:1px dashed var(--muted)}
#detail{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin:12px 0}#detail[hidden]{display:none}
#detail h2{font-size:15px;margin:0 0 6px}#detail pre{background:#101828;color:#f2f4f7;padding:8px;border-radius:6px;overflow:auto;max-height:320px;white-space:pre-wrap}
.kv{display:grid;grid-template-columns:140px 1fr;gap:2px 10px}.kv div:nth-child(odd){color:var(--muted)}
.bar{display:inline-block;height:12px;background:#2e90fa;vertical-align:middle;border-radius:2px}
.stagebar{display:flex;height:14px;border-radius:3px;overflow:hidden;margin:4px 0 2px;max-width:600px}.stagebar span{display:block;height:100%}
pre.log{background:#fff;border:1px solid var(--line);padding:8px;font-size:12px;white-space:pre-wrap}
details{margin:4px 0}summary{cursor:pointer}
`;

function page(title: string, active: string, info: DashboardInfo, body: string, script = ""): Response {
  const h = info.health();
  const nav = [["/", "Tasks"], ["/statz", "Stats"], ["/compilerinfoz", "CompilerInfo"], ["/logz", "Log"], ["/metrics", "Metrics"]]
    .map(([href, label]) => `<a href="${href}"${href === active ? ' class="on"' : ""}>${label}</a>`).join("");
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} — goma proxy</title><style>${STYLE}</style>
<header><h1>goma proxy</h1><nav>${nav}</nav><span>server <code>${esc(info.server)}</code></span>
<span id="health" class="health${h === "ok" ? " ok" : ""}">${esc(h)}</span><span style="color:var(--muted)">${esc(info.version)}</span></header>
<main>${body}</main>${script ? `<script>${script}</script>` : ""}</html>`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

const pct = (v: number | null) => (v === null ? "–" : `${v.toFixed(1)} %`);
const secs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(2)} s`);
const bytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** The summary cards of `/` and `/statz` (server-rendered; the live page refreshes them). */
function cards(s: StatsSummary): string {
  const c = s.counts;
  const card = (id: string, v: string, label: string) => `<div class="card"><b id="${id}">${esc(v)}</b><span>${esc(label)}</span></div>`;
  return `<div class="cards">${card("c-hitrate", pct(s.hitRatePercent), "cache hit rate")}${card("c-steps", String(s.steps), "steps")}` +
    OUTCOMES.map((o) => card(`c-${o}`, String(c[o]), OUTCOME_LABEL[o]!)).join("") + card("c-running", String(c.running), "running") + `</div>`;
}

/** The live task page's script: polls /api/tasks?after=N and /api/summary, renders with DOM APIs only. */
const TASKS_SCRIPT = String.raw`
"use strict";
var LABEL = __LABELS__;
var tasks = new Map(), version = 0, selected = null;
var $ = function (id) { return document.getElementById(id); };
function status(t) {
  if (t.state === "running") return ["running", "running"];
  if (t.exitCode !== undefined && t.exitCode !== 0) return [(LABEL[t.outcome] || t.outcome) + ", exit " + t.exitCode, "error"];
  if (t.localCacheHit) return [LABEL[t.outcome] + " (local output cache)", t.outcome];
  return [LABEL[t.outcome] || t.outcome, t.outcome];
}
function shortCmd(t) {
  var a = t.argv || [], src = "";
  for (var i = 1; i < a.length; i++) if (/\.(c|cc|cpp|cxx|c\+\+|C|m|mm|S|s)$/.test(a[i]) && a[i - 1] !== "-o") src = a[i];
  var base = (a[0] || "").split("/").pop();
  return src ? base + " " + src : a.join(" ");
}
function matches(t) {
  var f = $("f-outcome").value, q = $("f-text").value.trim().toLowerCase();
  if (f === "running" && t.state !== "running") return false;
  if (f === "error" && !(t.outcome === "failed" || (t.exitCode !== undefined && t.exitCode !== 0))) return false;
  if (f !== "all" && f !== "running" && f !== "error" && t.outcome !== f) return false;
  if (!q) return true;
  return ((t.argv || []).join(" ") + " " + t.cwd + " " + (t.reason || "") + " " + (t.stderr || "")).toLowerCase().indexOf(q) >= 0;
}
function cell(tr, text, cls, title) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; if (title) td.title = title; tr.appendChild(td); return td; }
function render() {
  var body = $("tasks-body"), list = Array.from(tasks.values()).sort(function (a, b) { return b.id - a.id; });
  var shown = 0, frag = document.createDocumentFragment();
  for (var i = 0; i < list.length && shown < 500; i++) {
    var t = list[i];
    if (!matches(t)) continue;
    shown++;
    var tr = document.createElement("tr"), st = status(t);
    tr.id = "task-" + t.id; tr.dataset.id = t.id; tr.dataset.outcome = t.outcome || "running";
    cell(tr, String(t.id), "num");
    cell(tr, new Date(t.startedAt).toLocaleTimeString());
    var o = cell(tr, ""); var sp = document.createElement("span"); sp.className = "o o-" + st[1]; sp.textContent = st[0]; o.appendChild(sp);
    cell(tr, t.durationMs === undefined ? "" : String(t.durationMs), "num");
    cell(tr, shortCmd(t), "cmd", (t.argv || []).join(" "));
    var why = t.reason || (t.stderr && t.exitCode ? t.stderr.split("\n").find(function (l) { return /error/.test(l); }) || "" : "");
    cell(tr, why.length > 160 ? why.slice(0, 160) + "…" : why, "reason", why);
    if (selected === t.id) tr.style.outline = "2px solid #2e90fa";
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
  $("shown").textContent = shown + " of " + tasks.size + " tasks";
  if (selected !== null && tasks.has(selected)) detail(tasks.get(selected));
}
var COLORS = { flags: "#b2ddff", info: "#84caff", inputs: "#53b1fd", request: "#2e90fa", exec: "#1570ef", outputs: "#175cd3" };
function kv(box, k, v) { var a = document.createElement("div"); a.textContent = k; var b = document.createElement("div"); b.textContent = v; box.appendChild(a); box.appendChild(b); return b; }
function detail(t) {
  var d = $("detail"); d.hidden = false;
  $("detail-title").textContent = "Task " + t.id + " — " + status(t)[0];
  var box = $("detail-kv"); box.replaceChildren();
  kv(box, "command", (t.argv || []).join(" ")).style.fontFamily = "ui-monospace,monospace";
  kv(box, "directory", t.cwd);
  if (t.reason) kv(box, "reason", t.reason);
  if (t.exitCode !== undefined) kv(box, "exit code", String(t.exitCode));
  kv(box, "retries", String(t.retries || 0));
  if (t.durationMs !== undefined) kv(box, "proxy time", t.durationMs + " ms");
  if (t.localMs !== undefined) kv(box, "local run", t.localMs + " ms");
  if (t.includeFallback) kv(box, "include processor", "fell back to -M: " + t.includeFallback);
  var stages = Object.entries(t.stages || {}), total = stages.reduce(function (s, e) { return s + e[1]; }, 0);
  var sb = $("detail-stages"); sb.replaceChildren();
  $("detail-stage-text").textContent = stages.length ? stages.map(function (e) { return e[0] + " " + e[1] + " ms"; }).join(" · ") : "no stages (not handled by the proxy)";
  stages.forEach(function (e) { var s = document.createElement("span"); s.style.width = (total ? 100 * e[1] / total : 0) + "%"; s.style.background = COLORS[e[0]] || "#98a2b3"; s.title = e[0] + " " + e[1] + " ms"; sb.appendChild(s); });
  $("detail-stderr-box").hidden = !t.stderr;
  $("detail-stderr").textContent = t.stderr || "";
}
function fill(id, v) { var e = $(id); if (e) e.textContent = v; }
async function poll() {
  try {
    var r = await fetch("/api/tasks?after=" + version, { cache: "no-store" });
    var j = await r.json();
    for (var i = 0; i < j.tasks.length; i++) tasks.set(j.tasks[i].id, j.tasks[i]);
    var changed = j.version !== version || j.tasks.length > 0;
    version = j.version;
    if (changed) render();
    var s = await (await fetch("/api/summary", { cache: "no-store" })).json();
    fill("c-hitrate", s.hitRatePercent === null ? "–" : s.hitRatePercent.toFixed(1) + " %");
    fill("c-steps", String(s.steps)); fill("c-running", String(s.counts.running));
    Object.keys(LABEL).forEach(function (o) { fill("c-" + o, String(s.counts[o])); });
    var h = $("health"); h.textContent = s.health; h.className = "health" + (s.health === "ok" ? " ok" : "");
    $("live").textContent = "live · updated " + new Date().toLocaleTimeString();
    document.body.dataset.version = String(version);
  } catch (e) {
    $("live").textContent = "proxy not answering (" + e.message + "); retrying";
  }
  setTimeout(poll, 1000);
}
$("f-outcome").addEventListener("change", render);
$("f-text").addEventListener("input", render);
$("tasks-body").addEventListener("click", function (ev) {
  var tr = ev.target.closest("tr"); if (!tr) return;
  selected = Number(tr.dataset.id); render();
});
poll();
`;

function tasksPage(info: DashboardInfo): Response {
  const s = info.summary();
  const options = [["all", "all outcomes"], ["error", "errors (exit ≠ 0, goma failed)"], ["running", "running"], ...OUTCOMES.map((o) => [o, OUTCOME_LABEL[o]!])]
    .map(([v, l]) => `<option value="${v}">${esc(l!)}</option>`).join("");
  const body = `${cards(s)}
<div class="filters"><select id="f-outcome" aria-label="outcome">${options}</select>
<input id="f-text" type="search" placeholder="filter: file, flag, directory, reason…" aria-label="text filter">
<span id="shown"></span><span id="live">loading…</span></div>
<section id="detail" hidden><h2 id="detail-title"></h2><div id="detail-kv" class="kv"></div>
<div style="margin-top:8px"><b>stages</b> <span id="detail-stage-text"></span><div id="detail-stages" class="stagebar"></div></div>
<div id="detail-stderr-box" hidden><b>compiler stderr</b><pre id="detail-stderr"></pre></div></section>
<table id="tasks"><thead><tr><th>#</th><th>start</th><th>outcome</th><th>ms</th><th>command</th><th>reason</th></tr></thead><tbody id="tasks-body"></tbody></table>`;
  return page("tasks", "/", info, body, TASKS_SCRIPT.replace("__LABELS__", JSON.stringify(OUTCOME_LABEL)));
}

function statzPage(info: DashboardInfo, tasks: TaskLog): Response {
  const s = info.summary();
  const hist = tasks.durationHistogram();
  const max = Math.max(1, ...hist.map((b) => b.count));
  let lo = 0;
  const rows = hist.map((b) => {
    const label = b.le === null ? `> ${lo} ms` : `${lo}–${b.le} ms`;
    lo = b.le ?? lo;
    return `<tr><td>${label}</td><td class="num">${b.count}</td><td><span class="bar" style="width:${Math.round((300 * b.count) / max)}px"></span></td></tr>`;
  }).join("");
  const reasons = s.localReasons.length
    ? s.localReasons.map((r) => `<tr><td class="num">${r.count}</td><td>${esc(r.reason)}</td></tr>`).join("")
    : `<tr><td colspan="2">none</td></tr>`;
  const extra = Object.entries(info.extra()).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`).join("");
  const body = `${cards(s)}
<p>Since ${esc(new Date(s.since).toISOString())} (proxy start or <code>goma proxy stats --zero</code>).
Backend answered ${pct(s.remotePercent)} of the compiles the proxy handled · remote time ${secs(s.timeMs.remote)} · local time ${secs(s.timeMs.local)} ·
sent ${bytes(s.bytes.sent)} · received ${bytes(s.bytes.received)}</p>
<h2>Compile times (remote and cache hits)</h2><table id="histogram" style="width:auto"><thead><tr><th>proxy time</th><th>compiles</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<h2>Top reasons for local runs</h2><table style="width:auto"><thead><tr><th>count</th><th>reason</th></tr></thead><tbody>${reasons}</tbody></table>
<h2>Internals</h2><table style="width:auto"><tbody>${extra}</tbody></table>`;
  return page("stats", "/statz", info, body);
}

function compilerInfoPage(info: DashboardInfo): Response {
  const infos = info.compilerInfos?.() ?? [];
  const body = infos.length === 0 ? `<p>No CompilerInfo yet: it is computed at the first compile with each compiler.</p>` :
    infos.map((c) => `<section class="card" style="margin-bottom:10px"><h2 style="font-size:15px;margin:0">${esc(c.name)} <code>${esc(c.localPath)}</code></h2>
<div class="kv"><div>version</div><div>${esc(c.version)}</div><div>target</div><div>${esc(c.target)}</div><div>language</div><div>${esc(c.lang)}</div>
<div>real path</div><div><code>${esc(c.realPath)}</code></div><div>SHA-256</div><div><code>${esc(c.hash)}</code> (${c.size} bytes)</div>
<div>subprograms</div><div>${c.subprograms.map((p) => `<code>${esc(p.path)}</code>`).join("<br>") || "none"}</div>
<div>include dirs</div><div>${c.systemIncludePaths.map((p) => `<code>${esc(p)}</code>`).join("<br>")}</div>
<div>toolchain</div><div>${c.toolchain.length} files</div></div>
<details><summary>${c.predefinedMacros.split("\n").filter(Boolean).length} predefined macros</summary><pre class="log">${esc(c.predefinedMacros)}</pre></details></section>`).join("");
  return page("CompilerInfo", "/compilerinfoz", info, body);
}

function logPage(info: DashboardInfo): Response {
  const lines = info.logLines?.() ?? [];
  const body = `<p>The last ${lines.length} lines the proxy logged (its log file: <code>goma_proxy.log</code> in GOMA_TMP_DIR with <code>goma proxy start</code>).</p>
<pre class="log" id="log">${esc(lines.join("\n")) || "nothing logged yet"}</pre>`;
  return page("log", "/logz", info, body);
}

/** Builds the dashboard handler. */
export function createDashboard(tasks: TaskLog, info: DashboardInfo): (req: Request) => Promise<Response> {
  const json = (v: unknown) => new Response(JSON.stringify(v, null, 1), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
  return async (req) => {
    const url = new URL(req.url);
    try {
      switch (url.pathname) {
        case "/api/stats":
          info.summary(); // counts goma cc's spooled runs first
          return json(tasks.stats);
        case "/api/summary":
          return json({ ...info.summary(), health: info.health(), histogram: tasks.durationHistogram() });
        case "/api/tasks": {
          const after = url.searchParams.get("after");
          if (after === null) return json(tasks.list());
          const n = Number(after);
          return json({ version: tasks.version, tasks: tasks.list(Number.isFinite(n) ? n : 0) });
        }
        case "/healthz":
          return new Response(info.health() + "\n");
        case "/metrics":
          if (!info.metrics) return new Response("no metrics\n", { status: 404 });
          return new Response(await info.metrics.text(), { headers: { "content-type": info.metrics.contentType } });
        case "/":
          return tasksPage(info);
        case "/statz":
          return statzPage(info, tasks);
        case "/compilerinfoz":
          return compilerInfoPage(info);
        case "/logz":
          return logPage(info);
        default:
          return new Response(`not found: ${url.pathname}\n`, { status: 404 });
      }
    } catch (e) {
      return new Response(`dashboard error: ${(e as Error).message}\n`, { status: 500 });
    }
  };
}
