// `edgeq bench --html report.html`: one self-contained HTML file (inline CSS and SVG, no script, no
// network) with the machine and versions, each engine's latency as a distribution per thread count,
// the ratios, the scaling curves across thread counts (median latency, and each engine's speed-up
// over its own fewest-thread median), the accuracy table and edgeq's per-op time.
import type { EngineFigures, ModelBenchResult } from './model-bench.js';

/** edgeq's time per op kind (from session.profile()), for the breakdown chart. */
export interface OpTime {
  kind: string;
  ms: number;
}

export interface BenchReportInput {
  /** One result per thread count, as `edgeq bench` gathers them. */
  results: ModelBenchResult[];
  /** What the report names: CPU model, versions of the runtime, the lab and onnxruntime-web. */
  machine: { cpu: string; versions: Record<string, string> };
  /** The date of the run (ISO). */
  date: string;
  /** edgeq's per-op-kind time at one thread count, when profiled. */
  profile?: { threads: number; ops: OpTime[] };
}

const COLORS: Record<string, string> = {
  'ort-fp32': '#8c8c8c', 'ort-int8': '#e07b39', edgeq: '#2a7ab9', 'edgeq-1t': '#7fb3dd', 'edgeq-fused': '#1b4f7a', 'edgeq-a12': '#5a9e6f',
};
const colorOf = (e: EngineFigures) => COLORS[e.role] ?? '#444';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * p, lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/** A "nice" axis end and tick step covering 0..max. */
function axis(max: number): { end: number; step: number } {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { end: Math.ceil(max / step) * step || step, step };
}

/** Latency distributions, one row per engine: every sample as a dot, the quartile box and the median. */
function latencySvg(engines: EngineFigures[]): string {
  const rowH = 28, left = 250, width = 760, plotW = width - left - 20, top = 10;
  const max = Math.max(...engines.flatMap((e) => (e.latency.samples.length ? e.latency.samples : [e.latency.median])));
  const { end, step } = axis(max);
  const x = (v: number) => left + (v / end) * plotW;
  const h = top + engines.length * rowH + 30;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" role="img" aria-label="latency distributions">`];
  for (let t = 0; t <= end + 1e-9; t += step) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${h - 25}" stroke="#e3e3e3"/>`, `<text x="${x(t)}" y="${h - 10}" font-size="11" text-anchor="middle" fill="#555">${fmt(t, step < 1 ? 1 : 0)}</text>`);
  }
  parts.push(`<text x="${left - 8}" y="${h - 10}" font-size="11" text-anchor="end" fill="#555">ms</text>`);
  engines.forEach((e, i) => {
    const y = top + i * rowH + rowH / 2;
    const s = [...(e.latency.samples.length ? e.latency.samples : [e.latency.median])].sort((a, b) => a - b);
    const q1 = quantile(s, 0.25), q3 = quantile(s, 0.75), med = quantile(s, 0.5);
    parts.push(`<text x="${left - 8}" y="${y + 4}" font-size="12" text-anchor="end">${esc(e.engine)}</text>`);
    parts.push(`<rect x="${x(q1)}" y="${y - 8}" width="${Math.max(1, x(q3) - x(q1))}" height="16" fill="${colorOf(e)}" fill-opacity="0.25" stroke="${colorOf(e)}"/>`);
    s.forEach((v, k) => parts.push(`<circle cx="${x(v)}" cy="${y + ((k % 5) - 2) * 2}" r="2" fill="${colorOf(e)}" fill-opacity="0.7"/>`));
    parts.push(`<line x1="${x(med)}" x2="${x(med)}" y1="${y - 10}" y2="${y + 10}" stroke="#111" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One engine's scaling: its median at each thread count and its speed-up over its median at the first (fewest) count. */
export interface ScalingCurve {
  role: EngineFigures['role'];
  engine: string;
  medians: number[];
  speedups: number[];
}

/**
 * The scaling curves of the engines measured at every thread count (edgeq's same-process
 * 1-thread reference excluded), results ordered by thread count; speed-ups are over each
 * engine's own median at the fewest threads (1 when measured).
 */
export function scalingCurves(results: readonly ModelBenchResult[]): { counts: number[]; curves: ScalingCurve[] } {
  const sorted = [...results].sort((a, b) => a.threads - b.threads);
  if (sorted.length === 0) return { counts: [], curves: [] };
  const roles = sorted[0]!.engines.map((e) => e.role).filter((role) => role !== 'edgeq-1t' && sorted.every((r) => r.engines.some((e) => e.role === role)));
  const curves = roles.map((role) => {
    const medians = sorted.map((r) => r.engines.find((e) => e.role === role)!.latency.median);
    return { role, engine: sorted[0]!.engines.find((e) => e.role === role)!.engine, medians, speedups: medians.map((m) => medians[0]! / m) };
  });
  return { counts: sorted.map((r) => r.threads), curves };
}

/** Speed-up over the fewest threads against thread count, one line per engine, with the ideal (linear) line. */
function speedupSvg(results: ModelBenchResult[]): string {
  const { counts, curves } = scalingCurves(results);
  const width = 760, height = 300, left = 60, bottom = 40, top = 15, plotW = width - left - 290, plotH = height - top - bottom;
  const ideal = counts.map((c) => c / counts[0]!);
  const { end, step } = axis(Math.max(...ideal, ...curves.flatMap((c) => c.speedups)));
  const x = (i: number) => left + (counts.length === 1 ? plotW / 2 : (i / (counts.length - 1)) * plotW);
  const y = (v: number) => top + plotH - (v / end) * plotH;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="speed-up">`];
  for (let t = 0; t <= end + 1e-9; t += step) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/>`, `<text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end" fill="#555">${fmt(t, step < 1 ? 1 : 0)}</text>`);
  }
  counts.forEach((c, i) => parts.push(`<text x="${x(i)}" y="${height - 18}" font-size="11" text-anchor="middle" fill="#555">${c}</text>`));
  parts.push(`<text x="${left + plotW / 2}" y="${height - 3}" font-size="11" text-anchor="middle" fill="#555">threads</text>`, `<text x="12" y="${top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">speed-up over ${counts[0]} thread${counts[0]! > 1 ? 's' : ''}</text>`);
  parts.push(`<polyline points="${ideal.map((v, i) => `${x(i)},${y(v)}`).join(' ')}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>`);
  parts.push(`<line x1="${left + plotW + 15}" x2="${left + plotW + 25}" y1="${top + 5}" y2="${top + 5}" stroke="#bbb" stroke-dasharray="4 3"/>`, `<text x="${left + plotW + 30}" y="${top + 9}" font-size="11">linear</text>`);
  curves.forEach((c, k) => {
    const color = COLORS[c.role] ?? '#444';
    const pts = c.speedups.map((v, i) => [x(i), y(v)] as const);
    parts.push(`<polyline points="${pts.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [px, py] of pts) parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${left + plotW + 15}" y="${top + (k + 1) * 18}" width="10" height="10" fill="${color}"/>`, `<text x="${left + plotW + 30}" y="${top + (k + 1) * 18 + 9}" font-size="11">${esc(c.engine)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Median latency against thread count, one line per engine present at every count. */
function scalingSvg(results: ModelBenchResult[]): string {
  const counts = results.map((r) => r.threads);
  const roles = results[0]!.engines.map((e) => e.role).filter((role) => role !== 'edgeq-1t' && results.every((r) => r.engines.some((e) => e.role === role)));
  const width = 760, height = 300, left = 60, bottom = 40, top = 15, plotW = width - left - 290, plotH = height - top - bottom;
  const max = Math.max(...results.flatMap((r) => r.engines.map((e) => e.latency.median)));
  const { end, step } = axis(max);
  const x = (i: number) => left + (counts.length === 1 ? plotW / 2 : (i / (counts.length - 1)) * plotW);
  const y = (v: number) => top + plotH - (v / end) * plotH;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="scaling">`];
  for (let t = 0; t <= end + 1e-9; t += step) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e3e3"/>`, `<text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end" fill="#555">${fmt(t, 0)}</text>`);
  }
  counts.forEach((c, i) => parts.push(`<text x="${x(i)}" y="${height - 18}" font-size="11" text-anchor="middle" fill="#555">${c}</text>`));
  parts.push(`<text x="${left + plotW / 2}" y="${height - 3}" font-size="11" text-anchor="middle" fill="#555">threads</text>`, `<text x="12" y="${top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">median ms</text>`);
  roles.forEach((role, k) => {
    const pts = results.map((r, i) => [x(i), y(r.engines.find((e) => e.role === role)!.latency.median)] as const);
    const e = results[0]!.engines.find((en) => en.role === role)!;
    parts.push(`<polyline points="${pts.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${colorOf(e)}" stroke-width="2"/>`);
    for (const [px, py] of pts) parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${colorOf(e)}"/>`);
    parts.push(`<rect x="${left + plotW + 15}" y="${top + k * 18}" width="10" height="10" fill="${colorOf(e)}"/>`, `<text x="${left + plotW + 30}" y="${top + k * 18 + 9}" font-size="11">${esc(e.engine)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Horizontal bars: edgeq's time per op kind, largest first, with its share. */
function profileSvg(ops: OpTime[]): string {
  const rows = [...ops].sort((a, b) => b.ms - a.ms).slice(0, 20);
  const total = ops.reduce((a, o) => a + o.ms, 0);
  const rowH = 22, left = 300, width = 760, plotW = width - left - 110;
  const max = Math.max(...rows.map((r) => r.ms));
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${rows.length * rowH + 10}" role="img" aria-label="time per op">`];
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 14}" font-size="12" text-anchor="end">${esc(r.kind)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, (r.ms / max) * plotW)}" height="15" fill="#2a7ab9"/>`,
      `<text x="${left + (r.ms / max) * plotW + 6}" y="${y + 14}" font-size="11" fill="#333">${fmt(r.ms, 2)} ms (${fmt((100 * r.ms) / total, 1)}%)</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function ratio(r: ModelBenchResult, role: EngineFigures['role'], over: EngineFigures['role']): number {
  const a = r.engines.find((e) => e.role === role), b = r.engines.find((e) => e.role === over);
  return a && b ? a.latency.median / b.latency.median : NaN;
}

/** The whole report as one HTML document. */
export function renderBenchReport(input: BenchReportInput): string {
  const { results } = input;
  if (results.length === 0) throw new Error('renderBenchReport needs at least one result');
  const first = results[0]!;
  const sections: string[] = [];
  sections.push(`<h1>edgeq bench: ${esc(first.model)}</h1>
<p class="meta">${esc(input.date)} · ${esc(input.machine.cpu)} · ${first.machine.cpus} logical CPUs · ${esc(first.machine.platform)} · Node ${esc(first.machine.node)} · ${Object.entries(input.machine.versions).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(' · ')}</p>
${first.modelPath || first.preprocessing ? `<p class="meta">${esc([first.modelPath, first.preprocessing].filter(Boolean).join(' · '))}</p>\n` : ''}<p class="meta">${first.runs} timed runs per engine (interleaved rounds), accuracy on ${first.inputs} inputs; calibration ${esc(first.calibration.method)} on ${first.calibration.images} images; ${fmt(first.macs / 1e9, 2)} GMAC per inference.</p>`);
  const ratioRows = results.map((r) => `<tr><td>${r.threads}</td><td>${r.edgeqThreads}</td><td>${fmt(ratio(r, 'edgeq', 'ort-int8'), 3)}</td><td>${fmt(ratio(r, 'edgeq', 'ort-fp32'), 3)}</td><td>${fmt(ratio(r, 'edgeq-fused', 'ort-int8'), 3)}</td><td>${fmt(r.macs / 1e6 / (r.engines.find((e) => e.role === 'edgeq')?.latency.median ?? NaN), 1)}</td></tr>`);
  sections.push(`<h2>Ratios (medians; lower is faster)</h2>
<table><tr><th>threads</th><th>edgeq threads</th><th>edgeq / ort int8</th><th>edgeq / ort fp32</th><th>default model / ort int8</th><th>edgeq GMAC/s</th></tr>${ratioRows.join('')}</table>`);
  for (const r of results) {
    sections.push(`<h2>Latency, ${r.threads} thread${r.threads > 1 ? 's' : ''}</h2>
<p class="note">Each dot is one run; the box spans the middle half, the black bar is the median.</p>${latencySvg(r.engines)}
<table><tr><th>engine</th><th>median ms</th><th>p90 ms</th><th>min ms</th><th>create ms</th><th>file MB</th></tr>${r.engines.map((e) => `<tr><td><span class="swatch" style="background:${colorOf(e)}"></span>${esc(e.engine)}</td><td>${fmt(e.latency.median)}</td><td>${fmt(e.latency.p90)}</td><td>${fmt(e.latency.min)}</td><td>${fmt(e.createMs, 0)}</td><td>${fmt(e.fileBytes / 1e6, 1)}</td></tr>`).join('')}</table>`);
  }
  if (results.length > 1) {
    const { counts, curves } = scalingCurves(results);
    sections.push(`<h2>Scaling</h2>${scalingSvg(results)}
<p class="note">Speed-up: each engine's median at ${counts[0]} thread${counts[0]! > 1 ? 's' : ''} over its median at each count (higher is better; dashed: linear).</p>${speedupSvg(results)}
<table><tr><th>engine</th>${counts.map((c) => `<th>${c}</th>`).join('')}</tr>${curves.map((c) => `<tr><td><span class="swatch" style="background:${COLORS[c.role] ?? '#444'}"></span>${esc(c.engine)}</td>${c.speedups.map((v, i) => `<td>${fmt(v, 2)}x (${fmt(c.medians[i]!)} ms)</td>`).join('')}</tr>`).join('')}</table>`);
  }
  const acc = first.engines.filter((e) => e.role !== 'edgeq-1t');
  const labelled = acc.some((e) => e.top1 !== undefined);
  sections.push(`<h2>Accuracy (${first.inputs} inputs, against onnxruntime-web fp32)</h2>
<table><tr><th>engine</th><th>top-1 = fp32</th><th>mean cosine</th><th>max |err|</th>${labelled ? '<th>top-1</th><th>top-5</th>' : ''}</tr>${acc.map((e) => `<tr><td>${esc(e.engine)}</td><td>${fmt(100 * e.top1Agreement, 1)}%</td><td>${fmt(e.meanCosine, 5)}</td><td>${fmt(e.maxAbsError, 2)}</td>${labelled ? `<td>${fmt(100 * (e.top1 ?? NaN), 1)}%</td><td>${fmt(100 * (e.top5 ?? NaN), 1)}%</td>` : ''}</tr>`).join('')}</table>
<p class="note">edgeq and onnxruntime-web int8 run the same integers: top-1 agreement ${fmt(100 * first.edgeqVsOrtInt8Top1, 1)}%.</p>`);
  if (input.profile && input.profile.ops.length > 0) {
    const total = input.profile.ops.reduce((a, o) => a + o.ms, 0);
    sections.push(`<h2>edgeq time per op (${input.profile.threads} thread${input.profile.threads > 1 ? 's' : ''}, ${fmt(total, 1)} ms per run)</h2>${profileSvg(input.profile.ops)}`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeq bench: ${esc(first.model)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:820px;color:#1d1d1d;padding:0 12px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}
.meta{color:#555;margin:2px 0}.note{color:#666;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;vertical-align:middle}
</style></head><body>
${sections.join('\n')}
</body></html>
`;
}
