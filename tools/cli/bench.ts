// `edgeq bench`: an embedded model (ResNet-50 by default, MobileNetV2, MobileNetV3-Small) or a user's model, edgeq int8 against
// onnxruntime-web fp32 and int8 in one run on the same inputs.
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { EdgeqError } from 'edgeq';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { IMAGENET } from 'edgeq/image';
import { getEmbeddedModel } from '../synth/cache-node.js';
import { getEmbeddedMobileNet } from '../synth/mobilenet-cache-node.js';
import { MOBILENET_NAMES, MOBILENET_TITLES, isMobileNetName } from '../synth/mobilenet.js';
import { benchModel, formatBench, type ModelBenchOptions, type ModelBenchResult } from '../bench/model-bench.js';
import { benchModelInDeno, findDeno } from '../bench/deno-bench.js';
import { renderBenchReport, scalingCurves } from '../bench/report-html.js';
import { describeWakePlacement, probeWakePlacement } from '../bench/wake-placement.js';
import { readOnnx } from '../onnx/reader.js';
import { readInput, requireFile, requireFolder, requireWritable } from './paths.js';
import { folderInputs, syntheticInputs } from './inputs.js';
import { describeSpec, fitSpecToInput, requireChosenPreprocessing, specFromOptions, type PresetName } from './preprocessing.js';
import { onnxInputShape } from './model-shape.js';
import { progress } from './progress.js';
import { packageVersion } from './versions.js';

export interface BenchCliOptions {
  model?: string;
  images?: string;
  labels?: string;
  /** Required with --images (synthetic inputs default to imagenet). */
  preprocess?: PresetName;
  runs: number;
  inputs: number;
  calibCount: number;
  threads: number[];
  /** Repeat the whole comparison this many times (separate processes) and print the spread (default 1). */
  repeat?: number;
  json?: string;
  /** Write the HTML report here (report-html.ts). */
  html?: string;
  /** Where the engines run (default node); deno: tools/bench/deno-bench.ts, with the binary `deno` or findDeno()'s. */
  runtime?: 'node' | 'deno';
  deno?: string;
}

/** Seeds of the synthetic benchmark inputs: disjoint from the calibration seeds (0..). */
const BENCH_INPUT_SEED = 1_000_000;

/** Set in the child processes of a multi-thread-count bench: where the child writes its result. */
const CHILD_ENV = 'EDGEQ_BENCH_CHILD_JSON';

/**
 * Several thread counts, or several repeats: onnxruntime-web fixes its thread count once per
 * process, so each count runs the whole bench (same options) in its own child process; `repeat`
 * rounds of that; then a summary per round and, with repeats, the spread of each ratio.
 */
async function benchThreadCounts(o: BenchCliOptions): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-bench-'));
  const repeat = o.repeat ?? 1;
  const rounds: ModelBenchResult[][] = [];
  try {
    for (let k = 0; k < repeat; k++) {
      const results: ModelBenchResult[] = [];
      for (const t of o.threads) {
        const args = process.argv.slice(1).filter((_, i, a) => !isOption(a, i, '--threads') && !isOption(a, i, '--repeat') && !isOption(a, i, '--json') && !isOption(a, i, '--html'));
        const file = join(dir, `r${k}t${t}.json`);
        console.log(`\n=== ${t} thread${t > 1 ? 's' : ''} (child process${repeat > 1 ? `, round ${k + 1} of ${repeat}` : ''}) ===`);
        const r = spawnSync(process.execPath, [...process.execArgv, ...args, '--threads', String(t)], { stdio: 'inherit', env: { ...process.env, [CHILD_ENV]: file } });
        if (r.status !== 0) throw new EdgeqError('INTERNAL', `the ${t}-thread bench child failed (status ${r.status ?? r.signal})`);
        results.push(JSON.parse(readFileSync(file, 'utf8')) as ModelBenchResult);
      }
      rounds.push(results);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (o.threads.some((t) => t > 1)) {
    const placed = await probeWakePlacement();
    if (placed) console.log(`\n${describeWakePlacement(placed[0]!)}`);
  }
  for (const [k, results] of rounds.entries()) {
    console.log(`\n=== summary across thread counts${repeat > 1 ? ` (round ${k + 1} of ${repeat})` : ''} ===`);
    for (const line of summaryLines(results)) console.log(line);
    console.log(`\n=== scaling${repeat > 1 ? ` (round ${k + 1} of ${repeat})` : ''}: each engine's median at the fewest threads over its median at each count ===`);
    for (const line of scalingLines(results)) console.log(line);
  }
  if (repeat > 1) {
    console.log(`\n=== spread over ${repeat} rounds (min / median / max of each round's median-based figure) ===`);
    for (const line of spreadLines(rounds)) console.log(line);
  }
  if (o.html) writeHtmlReport(o.html, rounds.at(-1)!);
  if (o.json) {
    const out = repeat > 1 ? rounds : rounds[0];
    writeFileSync(o.json, JSON.stringify(out, (k, v) => (k === 'samples' ? v.map((x: number) => +x.toFixed(3)) : v), 2));
    console.log(`wrote ${o.json}`);
  }
}

/** argv[i] is `name`, `name=...`, or the value after `name`. */
function isOption(a: readonly string[], i: number, name: string): boolean {
  return a[i] === name || a[i - 1] === name || a[i].startsWith(`${name}=`);
}

/** The ratios a round gives per thread count (medians of its interleaved runs). */
export interface RoundRatios {
  threads: number;
  /** edgeq / onnxruntime-web int8 and fp32 */
  int8: number;
  fp32: number;
  /** The default model (fused residual, 12-bit input) / onnxruntime-web int8, when measured. */
  defaultInt8?: number;
  /** edgeq's own speed-up over its 1-thread row in the same rounds, when measured. */
  speedup?: number;
  gmacs: number;
}

export function roundRatios(r: ModelBenchResult): RoundRatios {
  const role = (x: string) => r.engines.find((e) => e.role === x);
  const fp32 = role('ort-fp32')!, int8 = role('ort-int8')!, edgeq = role('edgeq')!, one = role('edgeq-1t'), fused = role('edgeq-fused');
  return {
    threads: r.threads,
    int8: edgeq.latency.median / int8.latency.median,
    fp32: edgeq.latency.median / fp32.latency.median,
    defaultInt8: fused ? fused.latency.median / int8.latency.median : undefined,
    speedup: one ? one.latency.median / edgeq.latency.median : undefined,
    gmacs: r.macs / edgeq.latency.median / 1e6,
  };
}

function summaryLines(results: readonly ModelBenchResult[]): string[] {
  const base = results.find((r) => r.threads === 1);
  return results.map((r) => {
    const role = (x: string, in_ = r) => in_.engines.find((e) => e.role === x);
    const fp32 = role('ort-fp32')!, int8 = role('ort-int8')!, edgeq = role('edgeq')!, fused = role('edgeq-fused');
    const q = roundRatios(r);
    const own = q.speedup !== undefined ? ` own speed-up vs 1 thread (same rounds): ${q.speedup.toFixed(2)}x` : '';
    const vsBase = base && r !== base ? `; vs the 1-thread run's edgeq median: ${(role('edgeq', base)!.latency.median / edgeq.latency.median).toFixed(2)}x` : '';
    const fz = fused ? `; default model ${fused.latency.median.toFixed(1)} ms -> x int8 ${q.defaultInt8!.toFixed(3)}, x fp32 ${(fused.latency.median / fp32.latency.median).toFixed(3)}` : '';
    return `${String(r.threads).padStart(2)} thread(s): ort fp32 ${fp32.latency.median.toFixed(1)} ms, ort int8 ${int8.latency.median.toFixed(1)} ms, ` +
      `edgeq ${edgeq.latency.median.toFixed(1)} ms (best ${edgeq.latency.min.toFixed(1)}) -> x int8 ${q.int8.toFixed(3)}, ` +
      `x fp32 ${q.fp32.toFixed(3)}, ${q.gmacs.toFixed(1)} GMAC/s${fz};${own}${vsBase}`;
  });
}

/** A table of each engine's median and speed-up per thread count (scalingCurves), one line per engine. */
export function scalingLines(results: readonly ModelBenchResult[]): string[] {
  const { counts, curves } = scalingCurves(results);
  const w = Math.max(8, ...curves.map((c) => c.engine.length));
  const cell = (s: string) => s.padStart(16);
  return [
    `${'threads'.padEnd(w)} ${counts.map((c) => cell(String(c))).join('')}`,
    ...curves.map((c) => `${c.engine.padEnd(w)} ${c.speedups.map((v, i) => cell(`${v.toFixed(2)}x ${c.medians[i]!.toFixed(1)}ms`)).join('')}`),
  ];
}

/** min / median / max of each ratio over the rounds, per thread count. */
export function spreadLines(rounds: readonly (readonly ModelBenchResult[])[]): string[] {
  const lines: string[] = [];
  const counts = [...new Set(rounds.flatMap((r) => r.map((x) => x.threads)))];
  for (const t of counts) {
    const qs = rounds.flatMap((r) => r.filter((x) => x.threads === t).map(roundRatios));
    const fmt = (name: string, vals: (number | undefined)[], digits: number, unit = '') => {
      const v = vals.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      if (v.length === 0) return undefined;
      const mid = v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
      return `${name} ${v[0]!.toFixed(digits)} / ${mid.toFixed(digits)} / ${v.at(-1)!.toFixed(digits)}${unit}`;
    };
    const parts = [
      fmt('edgeq / ort int8', qs.map((q) => q.int8), 3), fmt('edgeq / ort fp32', qs.map((q) => q.fp32), 3),
      fmt('default model / ort int8', qs.map((q) => q.defaultInt8), 3), fmt('own speed-up', qs.map((q) => q.speedup), 2, 'x'),
      fmt('GMAC/s', qs.map((q) => q.gmacs), 1),
    ].filter((x) => x !== undefined);
    lines.push(`${String(t).padStart(2)} thread(s), ${qs.length} rounds: ${parts.join('; ')}`);
  }
  return lines;
}

/** The embedded models `--model` names (a file of that name, when one exists, wins). */
export const EMBEDDED_BENCH_MODELS: readonly string[] = ['resnet50', ...MOBILENET_NAMES];

/** The embedded model `--model` names, or undefined for a file (or no --model: the default, resnet50). */
export function embeddedBenchModel(model: string | undefined): string | undefined {
  if (model === undefined) return 'resnet50';
  return EMBEDDED_BENCH_MODELS.includes(model) && !existsSync(model) ? model : undefined;
}

/** An embedded model's bytes from the cache (generated there on first use), its bench name and its description. */
async function loadEmbedded(name: string, onProgress: (what: string, done: number, total: number) => void): Promise<{ bytes: Uint8Array; path: string; generated: boolean; benchName: string; title: string }> {
  if (isMobileNetName(name)) {
    const title = MOBILENET_TITLES[name];
    const m = await getEmbeddedMobileNet(name, { onProgress: (d, t) => onProgress(`building the embedded ${title} (convs)`, d, t) });
    return { ...m, benchName: `${name}-synthetic`, title: `embedded ${title} (torchvision architecture, seeded synthetic weights)` };
  }
  const m = await getEmbeddedModel({ onProgress: (d, t) => onProgress('building the embedded ResNet-50 (convs)', d, t) });
  return { ...m, benchName: 'resnet50-synthetic', title: 'embedded ResNet-50 (real architecture, seeded synthetic weights)' };
}

export async function benchCommand(o: BenchCliOptions): Promise<void> {
  if (o.threads.length === 0 || o.threads.some((t) => !Number.isInteger(t) || t < 1 || t > 64)) throw new EdgeqError('BAD_OPTION', `--threads ${o.threads.join(',')}: thread counts are integers from 1 to 64`);
  if (o.runs < 1 || o.inputs < 1) throw new EdgeqError('BAD_OPTION', '--runs and --inputs must be at least 1');
  const embedded = embeddedBenchModel(o.model);
  if (o.model && !embedded) requireFile(o.model, `--model (a file, or one of the embedded models: ${EMBEDDED_BENCH_MODELS.join(', ')})`);
  if (o.images) {
    requireFolder(o.images, '--images folder');
    requireChosenPreprocessing(o, '--images', false);
  }
  if (o.labels) requireFile(o.labels, '--labels file');
  if (o.json) requireWritable(o.json, '--json');
  if (o.html) requireWritable(o.html, '--html');
  const log = (s: string) => console.log(s);
  if (o.repeat !== undefined && !(Number.isInteger(o.repeat) && o.repeat >= 1 && o.repeat <= 100)) throw new EdgeqError('BAD_OPTION', `--repeat ${o.repeat}: an integer from 1 to 100`);
  if (o.runtime !== undefined && o.runtime !== 'node' && o.runtime !== 'deno') throw new EdgeqError('BAD_OPTION', `--runtime ${String(o.runtime)}: 'node' or 'deno'`);
  const deno = o.runtime === 'deno' ? findDeno(o.deno) : undefined;
  const bench = deno === undefined ? benchModel : (b: ModelBenchOptions) => benchModelInDeno(b, deno);
  if (o.threads.length > 1 || (o.repeat ?? 1) > 1) {
    return benchThreadCounts(o);
  }
  const threads = o.threads[0];
  let result;
  const bar = progress();
  const onProgress = bar.update;
  if (embedded) {
    if (o.images) throw new EdgeqError('BAD_OPTION', `--images needs --model <file> (the embedded ${embedded} has synthetic weights)`);
    const specLine = describeSpec(IMAGENET, 'imagenet');
    const m = await loadEmbedded(embedded, onProgress);
    bar.stop();
    log(`model: ${m.title}; generated into the cache on first use; ${specLine}`);
    log(`  ${m.path}${m.generated ? ' (generated now)' : ''}`);
    const inputs = [...syntheticInputs(BENCH_INPUT_SEED, o.inputs, IMAGENET)];
    result = await bench({
      name: m.benchName, onnx: m.bytes, spec: IMAGENET, specLine,
      calibration: () => syntheticInputs(0, o.calibCount, IMAGENET), calibrationCount: o.calibCount, calibrationSource: 'synthetic images, seed 0',
      inputs, runs: o.runs, threads, log, onProgress,
    });
  } else {
    const onnx = readInput(o.model!, '--model');
    const chosen = specFromOptions(o);
    const spec = fitSpecToInput(chosen.spec, onnxInputShape(readOnnx(onnx).graph), false);
    const specLine = describeSpec(spec, chosen.preset);
    log(`model: ${o.model}; ${specLine}`);
    let calibrationSource: string;
    let inputs: Float32Array[];
    let labels: number[] | undefined;
    let calibration: () => Iterable<Float32Array>;
    let calibrationCount = o.calibCount;
    if (o.images) {
      const split = folderInputs(o.images, spec, o.calibCount, 0);
      const held = split.eval.slice(0, o.inputs);
      if (held.length === 0) throw new EdgeqError('BAD_OPTION', `${o.images} has no images left after ${o.calibCount} calibration images`);
      calibration = split.calibInputs;
      calibrationCount = split.calib.length;
      const chosenFiles = createHash('sha256').update(split.calib.map((c) => c.file).join('\n')).digest('hex').slice(0, 12);
      calibrationSource = `${resolve(o.images)} (seed 0, chosen files ${chosenFiles})`;
      inputs = [...split.evalInputs(held.length)];
      if (held.every((h) => h.label !== undefined)) labels = held.map((h) => h.label!);
      log(`${o.model}: calibration on ${split.calib.length} images of ${o.images} (seed 0), measurement on ${held.length} others`);
    } else {
      calibration = () => syntheticInputs(0, o.calibCount, spec);
      calibrationSource = 'synthetic images, seed 0';
      inputs = [...syntheticInputs(BENCH_INPUT_SEED, o.inputs, spec)];
      log(`${o.model}: no --images, using synthetic inputs`);
    }
    result = await bench({ path: o.model, name: o.model!.replace(/^.*[\\/]/, '').replace(/\.onnx$/, ''), onnx, spec, specLine, calibration, calibrationCount, calibrationSource, inputs, labels, runs: o.runs, threads, log, onProgress });
  }
  bar.stop();
  console.log('');
  console.log(formatBench(result));
  const child = process.env[CHILD_ENV];
  if (child) writeFileSync(child, JSON.stringify(result));
  if (o.html && !child) writeHtmlReport(o.html, [result]);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify(result, (k, v) => (k === 'samples' ? v.map((s: number) => +s.toFixed(3)) : v), 2));
    console.log(`wrote ${o.json}`);
  }
}

/** Writes the HTML report of one round's results (one per thread count), with edgeq's per-op time at the first count. */
function writeHtmlReport(file: string, results: ModelBenchResult[]): void {
  const withProfile = results.find((r) => r.profile && r.profile.length > 0);
  const html = renderBenchReport({
    results,
    machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', versions: Object.fromEntries(['edgeq', 'edgeq-tools', 'onnxruntime-web'].map((p) => [p, packageVersion(p)])) },
    date: new Date().toISOString(),
    profile: withProfile ? { threads: withProfile.threads, ops: withProfile.profile! } : undefined,
  });
  writeFileSync(file, html);
  console.log(`wrote ${file}`);
}
