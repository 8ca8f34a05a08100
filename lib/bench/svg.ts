/**
 * The SVG bar chart of `goma bench --svg FILE`: per project, one horizontal bar per tool and phase,
 * its length the median wall time divided by local's (local = 1, drawn as a dashed line), labelled
 * with the ratio and the seconds. Plain SVG 1.1, no script, no external resources.
 */
import type { ToolName } from "./args.ts";
import type { BenchReport, ToolSummary } from "./report.ts";

const COLORS: Record<ToolName, string> = { local: "#888888", goma: "#2b7bba", ccache: "#3a9e4f", sccache: "#d9822b" };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Renders the chart. Bars whose ratio is not a number (no local build) are left out. */
export function renderSvg(r: BenchReport): string {
  const rows: { label: string; ratio: number; wall: number; color: string; opacity: number }[][] = [];
  for (const p of r.projects) {
    const group: (typeof rows)[number] = [];
    for (const [t, s] of Object.entries(p.summary) as [ToolName, ToolSummary][]) {
      if (t === "local") {
        group.push({ label: "local", ratio: 1, wall: s.cold.wallS, color: COLORS.local, opacity: 1 });
        continue;
      }
      if (Number.isFinite(s.ratios.coldWall)) group.push({ label: `${t} cold`, ratio: s.ratios.coldWall, wall: s.cold.wallS, color: COLORS[t], opacity: 1 });
      if (s.warm && Number.isFinite(s.ratios.warmWall)) group.push({ label: `${t} warm`, ratio: s.ratios.warmWall!, wall: s.warm.wallS, color: COLORS[t], opacity: 0.55 });
    }
    rows.push(group);
  }
  const W = 760, left = 150, right = 150, bar = 16, gap = 4, head = 26, top = 40;
  const max = Math.max(1.2, ...rows.flat().map((b) => b.ratio));
  const x = (v: number) => left + (v / max) * (W - left - right);
  let y = top;
  const parts: string[] = [];
  r.projects.forEach((p, i) => {
    parts.push(`<text x="8" y="${y + 16}" font-weight="bold">${esc(p.name)}</text>`);
    y += head;
    for (const b of rows[i]!) {
      parts.push(`<text x="${left - 6}" y="${y + bar - 4}" text-anchor="end">${esc(b.label)}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(b.ratio) - left).toFixed(1)}" height="${bar}" fill="${b.color}" fill-opacity="${b.opacity}"/>`);
      parts.push(`<text x="${(x(b.ratio) + 4).toFixed(1)}" y="${y + bar - 4}">${b.ratio.toFixed(2)}× (${b.wall.toFixed(2)} s)</text>`);
      y += bar + gap;
    }
    y += 6;
  });
  const H = y + 24;
  const one = x(1).toFixed(1);
  const title = `goma bench: wall time relative to a local build (median of ${r.options.rounds} round(s), -j${r.options.jobs}, load ${r.machine.loadAvgStart[0]?.toFixed(1)})`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<title>${esc(title)}</title>
<rect width="${W}" height="${H}" fill="#ffffff"/>
<text x="8" y="20" font-size="14">${esc(title)}</text>
<line x1="${one}" y1="${top}" x2="${one}" y2="${y}" stroke="#444444" stroke-dasharray="4 3"/>
${parts.join("\n")}
<text x="${one}" y="${y + 14}" text-anchor="middle">local = 1</text>
</svg>
`;
}
