/**
 * The SVG bar chart of `goma bench --svg FILE`: two panels, wall time and CPU time, each relative to the
 * local build (local = 1, a dashed line). Per project one bar per tool and phase, labelled with the ratio
 * and the seconds (medians over rounds). Plain SVG 1.1, no script, no external resources.
 */
import type { ToolName } from "./args.ts";
import type { BenchReport, ToolSummary } from "./report.ts";

const COLORS: Record<ToolName, string> = { local: "#888888", goma: "#2b7bba", ccache: "#3a9e4f", sccache: "#d9822b" };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Bar {
  label: string;
  color: string;
  opacity: number;
  /** [ratio, seconds] for wall and CPU. */
  wall: [number, number];
  cpu: [number, number];
}

/** Renders the chart. Bars whose ratio is not a number (no local build) are left out. */
export function renderSvg(r: BenchReport): string {
  const groups: Bar[][] = [];
  for (const p of r.projects) {
    const g: Bar[] = [];
    for (const [t, s] of Object.entries(p.summary) as [ToolName, ToolSummary][]) {
      if (t === "local") {
        g.push({ label: "local", color: COLORS.local, opacity: 1, wall: [1, s.cold.wallS], cpu: [1, s.cold.cpuS] });
        continue;
      }
      if (Number.isFinite(s.ratios.coldWall)) {
        g.push({ label: `${t} cold`, color: COLORS[t], opacity: 1, wall: [s.ratios.coldWall, s.cold.wallS], cpu: [s.ratios.coldCpu, s.cold.cpuS] });
      }
      if (s.warm && Number.isFinite(s.ratios.warmWall)) {
        g.push({ label: `${t} warm`, color: COLORS[t], opacity: 0.55, wall: [s.ratios.warmWall!, s.warm.wallS], cpu: [s.ratios.warmCpu!, s.warm.cpuS] });
      }
    }
    groups.push(g);
  }
  const left = 110, panel = 300, labelRoom = 120, bar = 16, gap = 4, head = 26, top = 56;
  const W = left + 2 * (panel + labelRoom) + 10;
  const bars = groups.flat();
  const max = Math.max(1.2, ...bars.flatMap((b) => [b.wall[0], b.cpu[0]].filter(Number.isFinite)));
  const x0 = [left, left + panel + labelRoom];
  const x = (i: number, v: number) => x0[i]! + (v / max) * panel;
  let y = top;
  const parts: string[] = [];
  r.projects.forEach((p, gi) => {
    parts.push(`<text x="8" y="${y + 16}" font-weight="bold">${esc(p.name)}</text>`);
    y += head;
    for (const b of groups[gi]!) {
      parts.push(`<text x="${left - 6}" y="${y + bar - 4}" text-anchor="end">${esc(b.label)}</text>`);
      ([b.wall, b.cpu] as [number, number][]).forEach(([ratio, secs], i) => {
        if (!Number.isFinite(ratio)) return;
        parts.push(`<rect x="${x0[i]}" y="${y}" width="${Math.max(1, x(i, ratio) - x0[i]!).toFixed(1)}" height="${bar}" fill="${b.color}" fill-opacity="${b.opacity}"/>`);
        parts.push(`<text x="${(x(i, ratio) + 4).toFixed(1)}" y="${y + bar - 4}">${ratio.toFixed(2)}× (${secs.toFixed(1)} s)</text>`);
      });
      y += bar + gap;
    }
    y += 6;
  });
  const H = y + 24;
  const title = `goma bench: relative to a local build (medians of ${r.options.rounds} round(s), -j${r.options.jobs}, ${r.machine.cores} cores, load average ${r.machine.loadAvgStart[0]?.toFixed(1)} at the start)`;
  const axes = [0, 1].map((i) => {
    const one = x(i, 1).toFixed(1);
    return `<text x="${x0[i]}" y="${top - 8}" font-weight="bold">${i ? "CPU time" : "wall time"}</text>
<line x1="${one}" y1="${top}" x2="${one}" y2="${y}" stroke="#444444" stroke-dasharray="4 3"/>
<text x="${one}" y="${y + 14}" text-anchor="middle">local = 1</text>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<title>${esc(title)}</title>
<rect width="${W}" height="${H}" fill="#ffffff"/>
<text x="8" y="20" font-size="14">${esc(title)}</text>
${axes.join("\n")}
${parts.join("\n")}
</svg>
`;
}
