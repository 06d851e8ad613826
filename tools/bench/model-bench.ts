// The main job: one model, three engines, same inputs, one run — onnxruntime-web fp32,
// onnxruntime-web int8 (the QDQ export of the same quantized model) and edgeq int8.
// Latency (interleaved rounds, tinybench), session-create time, model size, memory, and accuracy
// against onnxruntime-web fp32 (and top-1/top-5 on labelled images when given).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'edgeq/runtime';
import { probeRelaxedDot } from 'edgeq/kernels';
import { ReferenceSession } from '../reference/ort-runner.js';
import { cacheDir } from '../synth/cache-node.js';
import type { PreprocessSpec } from 'edgeq/image';
import { calibrateModel, quantizeCalibrated, DEFAULT_METHOD, QUANTIZER_VERSION } from '../quantize/pipeline.js';
import { argmax, cosine, topK } from '../quantize/report.js';
import { interleavedLatency, type LatencyStats } from './timing.js';
import { cpuInfo, formatCpu } from './cpu-info.js';

export interface ModelBenchOptions {
  /** Display name of the model (also in the cache's file names). */
  name: string;
  /** The model's file, when it has one (printed with the results). */
  path?: string;
  onnx: Uint8Array;
  spec: PreprocessSpec;
  /** The preprocessing in one line (printed with the results). */
  specLine?: string;
  /** Calibration inputs (preprocessed NCHW), produced lazily only when the quantized model is not cached. */
  calibration: () => Iterable<Float32Array>;
  calibrationCount: number;
  /**
   * Where the calibration inputs come from, as exactly as the inputs depend on it (e.g. the folder,
   * its chosen files and the seed, or `synthetic seed 0`): part of the cache key.
   */
  calibrationSource: string;
  /** Inputs compared across engines (and timed: the first one). */
  inputs: Float32Array[];
  /** Labels of `inputs`, for top-1/top-5 accuracy. */
  labels?: number[];
  runs: number;
  /** Threads of both engines (onnxruntime-web's count is per process: one count per process). Default 1. */
  threads?: number;
  log?: (line: string) => void;
  /** Progress of the long steps (calibration, timing rounds): `done` of `total`. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface EngineFigures {
  engine: string;
  role: 'ort-fp32' | 'ort-int8' | 'edgeq' | 'edgeq-1t' | 'edgeq-fused' | 'edgeq-a12' | 'edgeq-simd';
  latency: LatencyStats;
  createMs: number;
  fileBytes: number;
  /**
   * Bytes of WebAssembly memory the engine holds after load: edgeq's memory; NaN (JSON null) for
   * onnxruntime-web, whose heap is not visible from outside (RSS growth within one process is not
   * attributable to a session: it read 0.3 MB cold and 417 MB warm).
   */
  memoryBytes: number;
  /** Against onnxruntime-web fp32 on the same inputs. */
  top1Agreement: number;
  meanCosine: number;
  maxAbsError: number;
  /** Against labels, when given. */
  top1?: number;
  top5?: number;
}

export interface ModelBenchResult {
  model: string;
  /** The model's file, when it has one. */
  modelPath?: string;
  /** The preprocessing of the inputs, in one line. */
  preprocessing?: string;
  /** The cache key of the quantized models (hash of everything they depend on). */
  cacheKey?: string;
  inputs: number;
  runs: number;
  calibration: { method: string; images: number; cached: boolean; seconds: number };
  engines: EngineFigures[];
  /** edgeq int8 vs onnxruntime-web int8 (same QDQ integers): top-1 agreement. */
  edgeqVsOrtInt8Top1: number;
  /** edgeq with fused residual adds against the standard edgeq model (logits). */
  fusedVsUnfused: { top1Agreement: number; meanCosine: number; maxAbsDiff: number; maxAbsLogit: number };
  /** The graph input's bits in the default model (12 where the preprocessing normalizes per channel). */
  defaultInputBits: 8 | 12;
  /** Thread count of the run, and the threads edgeq actually used. */
  threads: number;
  edgeqThreads: number;
  /** Multiply-accumulates of one inference (convolutions and fully connected layers). */
  macs: number;
  machine: { node: string; cpus: number; platform: string };
  /**
   * Where the engines ran: the runtime (Node, or Deno for `edgeq bench --runtime deno`), the CPU
   * and its int8-relevant features, edgeq's backend and the relaxed-dot probe's verdict; `note`: a
   * departure from the asked run (e.g. onnxruntime-web at 1 thread where its threads do not start).
   */
  runtime?: { name: 'node' | 'deno'; version: string; cpu: string; backend: string; relaxedDot: string; note?: string };
  /** edgeq's mean time per op kind (ms per run, summed over the ops of that kind), standard model, `threads` threads. */
  profile?: { kind: string; ms: number }[];
}

/** The quantizer options of the three models quantizedModel makes from one calibration. */
const VARIANTS = {
  edgeq: { fuseResidual: false, inputBits: 8 },
  fused: { fuseResidual: true },
  a12: { fuseResidual: true, activations: 12 },
} as const;

/**
 * The cache key of a model's quantized forms: a hash of everything they depend on (the ONNX bytes,
 * the preprocessing, the calibration source and count, the method, every variant's quantizer
 * options and the quantizer version). Two benches share cached models only when all of these agree.
 */
export function benchCacheKey(o: Pick<ModelBenchOptions, 'onnx' | 'spec' | 'calibrationSource' | 'calibrationCount'>): string {
  const onnx = createHash('sha256').update(o.onnx).digest('hex');
  const key = JSON.stringify({ onnx, spec: o.spec, calibration: o.calibrationSource, count: o.calibrationCount, method: DEFAULT_METHOD, variants: VARIANTS, version: QUANTIZER_VERSION });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Quantized forms of a model, cached by the source's hash and the calibration settings, all from
 * one calibration (the quantizer's defaults: smoothing, GPTQ): the standard .edgeq with a uint8 input
 * and its QDQ export (the same integers), the model `edgeq quantize` writes by default (residual adds
 * fused into the convolutions, the input's bits chosen by inputBitsFor), and that model with 12-bit
 * activations (quantizer option activations: 12).
 */
export async function quantizedModel(o: ModelBenchOptions, threads: number): Promise<{ edgeq: Uint8Array; fused: Uint8Array; a12: Uint8Array; qdq: Uint8Array; cached: boolean; seconds: number }> {
  const dir = cacheDir();
  const base = join(dir, `${o.name}-${benchCacheKey(o)}-q${QUANTIZER_VERSION}`);
  const files = { edgeq: `${base}.edgeq`, qdq: `${base}.int8.onnx`, fused: `${base}.fused.edgeq`, a12: `${base}.fused-a12.edgeq` };
  const read = (f: string) => new Uint8Array(readFileSync(f));
  if (Object.values(files).every((f) => existsSync(f))) {
    return { edgeq: read(files.edgeq), qdq: read(files.qdq), fused: read(files.fused), a12: read(files.a12), cached: true, seconds: 0 };
  }
  const t0 = performance.now();
  const calibrated = await calibrateModel(o.onnx, {
    calibration: o.calibration(), calibrationCount: o.calibrationCount, threads,
    onProgress: (p) => o.onProgress?.('calibrating (images)', p.done, p.total),
  });
  // The comparison model: the standard QDQ pattern with a uint8 input, so onnxruntime-web runs every conv
  // on its fused int8 path (a uint16 input Q/DQ would leave its first conv in fp32).
  const q = quantizeCalibrated(o.onnx, calibrated, { calibrationCount: o.calibrationCount, preprocess: o.spec, ...VARIANTS.edgeq });
  const f = quantizeCalibrated(o.onnx, calibrated, { calibrationCount: o.calibrationCount, preprocess: o.spec, ...VARIANTS.fused });
  const a12 = quantizeCalibrated(o.onnx, calibrated, { calibrationCount: o.calibrationCount, preprocess: o.spec, ...VARIANTS.a12 });
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of [[files.edgeq, q.edgeq], [files.qdq, q.qdq], [files.fused, f.edgeq], [files.a12, a12.edgeq]] as const) {
    writeFileSync(`${file}.tmp`, bytes);
    renameSync(`${file}.tmp`, file);
  }
  return { edgeq: q.edgeq, qdq: q.qdq, fused: f.edgeq, a12: a12.edgeq, cached: false, seconds: (performance.now() - t0) / 1000 };
}

export async function benchModel(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = o.log ?? (() => {});
  const key = benchCacheKey(o);
  log(`quantizing ${o.name} (${DEFAULT_METHOD}, ${o.calibrationCount} calibration images from ${o.calibrationSource}; cache key ${key})`);
  const threads = o.threads ?? 1;
  const q = await quantizedModel(o, threads);
  log(q.cached ? '  quantized models found in the cache (same model, preprocessing, calibration and quantizer options)' : `  quantized in ${q.seconds.toFixed(1)} s`);

  // Sessions, each create timed.
  const time = async <T>(f: () => Promise<T>) => { const t0 = performance.now(); const v = await f(); return { v, ms: performance.now() - t0 }; };
  const fp32 = await time(() => ReferenceSession.create(o.onnx, { threads }));
  const int8 = await time(() => ReferenceSession.create(q.qdq, { threads }));
  const edgeq = await time(() => Session.create(q.edgeq, { threads }));
  // With threads, edgeq on 1 thread too, interleaved in the same rounds: its own speed-up.
  const edgeq1 = threads > 1 ? await Session.create(q.edgeq, { threads: 1 }) : undefined;
  // The model `edgeq quantize` writes by default (residual fused; a 12-bit input for a per-channel normalization).
  const fused = await Session.create(q.fused, { threads });
  const fusedMem = await fused.memoryBytes();
  const defaultInputBits = fused.model.tensors[fused.model.input.tensor].dtype === 'uint12' ? 12 : 8;
  // The fused model again with 12-bit activations (16-bit lanes).
  const a12 = await Session.create(q.a12, { threads });
  const a12Mem = await a12.memoryBytes();
  const edgeqMem = await edgeq.v.memoryBytes();
  const inputName = fp32.v.inputNames[0], outputName = fp32.v.outputNames[0];

  // Accuracy on the same inputs.
  log(`comparing outputs on ${o.inputs.length} inputs`);
  const outs = { fp32: [] as Float32Array[], int8: [] as Float32Array[], edgeq: [] as Float32Array[], fused: [] as Float32Array[], a12: [] as Float32Array[] };
  for (const [i, x] of o.inputs.entries()) {
    o.onProgress?.('comparing outputs (inputs)', i, o.inputs.length);
    outs.fp32.push((await fp32.v.run({ [inputName]: x })).outputs[outputName].data);
    outs.int8.push((await int8.v.run({ [inputName]: x })).outputs[outputName].data);
    outs.edgeq.push(await edgeq.v.run(x));
    outs.fused.push(await fused.run(x));
    outs.a12.push(await a12.run(x));
  }
  o.onProgress?.('comparing outputs (inputs)', o.inputs.length, o.inputs.length);
  const accuracy = (got: Float32Array[]) => accuracyVs(outs.fp32, got, o.labels);
  const edgeqVsInt8 = top1Agreement(outs.edgeq, outs.int8);
  const fusedVsUnfused = fusedAgreement(outs.fused, outs.edgeq);

  // Latency, engines interleaved, same input.
  log(`timing: ${o.runs} runs per engine, interleaved`);
  const x = o.inputs[0];
  const feed = { [inputName]: x };
  const lat = await interleavedLatency([
    { name: 'ort-fp32', run: () => fp32.v.run(feed) },
    { name: 'ort-int8', run: () => int8.v.run(feed) },
    { name: 'edgeq-int8', run: () => edgeq.v.run(x) },
    { name: 'edgeq-int8-fused', run: () => fused.run(x) },
    { name: 'edgeq-a12', run: () => a12.run(x) },
    ...(edgeq1 ? [{ name: 'edgeq-int8-1t', run: () => edgeq1.run(x) }] : []),
  ], { runs: o.runs, rounds: Math.min(5, o.runs), warmup: 2, onRound: (r, n) => o.onProgress?.('timing (rounds)', r, n) });

  // edgeq's time per op kind (the standard model, this thread count): a profiled session, warmed up, 5 runs.
  const profiled = await Session.create(q.edgeq, { threads, profile: true, warmup: true });
  for (let i = 0; i < 5; i++) await profiled.run(x);
  const opTimes = new Map<string, number>();
  for (const r of profiled.profile()) opTimes.set(r.kind, (opTimes.get(r.kind) ?? 0) + r.meanMs);
  profiled.release();

  await fp32.v.release();
  await int8.v.release();
  const edgeqThreads = edgeq.v.threads;
  edgeq.v.release();
  edgeq1?.release();
  fused.release();
  a12.release();
  const engines: EngineFigures[] = [
    { engine: 'onnxruntime-web fp32', role: 'ort-fp32', latency: lat.get('ort-fp32')!, createMs: fp32.ms, fileBytes: o.onnx.length, memoryBytes: NaN, ...accuracy(outs.fp32) },
    { engine: 'onnxruntime-web int8 (QDQ)', role: 'ort-int8', latency: lat.get('ort-int8')!, createMs: int8.ms, fileBytes: q.qdq.length, memoryBytes: NaN, ...accuracy(outs.int8) },
    { engine: `edgeq int8 (${edgeq.v.backend})`, role: 'edgeq', latency: lat.get('edgeq-int8')!, createMs: edgeq.ms, fileBytes: q.edgeq.length, memoryBytes: edgeqMem, ...accuracy(outs.edgeq) },
    { engine: `edgeq int8 (${edgeq.v.backend}, default model)`, role: 'edgeq-fused', latency: lat.get('edgeq-int8-fused')!, createMs: NaN, fileBytes: q.fused.length, memoryBytes: fusedMem, ...accuracy(outs.fused) },
    { engine: `edgeq int8 w / 12-bit act. (${edgeq.v.backend}, fused)`, role: 'edgeq-a12', latency: lat.get('edgeq-a12')!, createMs: NaN, fileBytes: q.a12.length, memoryBytes: a12Mem, ...accuracy(outs.a12) },
  ];
  if (edgeq1) {
    engines.push({ engine: `edgeq int8 (${edgeq.v.backend}, 1 thread)`, role: 'edgeq-1t', latency: lat.get('edgeq-int8-1t')!, createMs: NaN, fileBytes: q.edgeq.length, memoryBytes: edgeqMem, ...accuracy(outs.edgeq) });
  }
  return {
    model: o.name, modelPath: o.path, preprocessing: o.specLine, cacheKey: key, inputs: o.inputs.length, runs: o.runs,
    calibration: { method: DEFAULT_METHOD, images: o.calibrationCount, cached: q.cached, seconds: q.seconds },
    engines, edgeqVsOrtInt8Top1: edgeqVsInt8, fusedVsUnfused, defaultInputBits, threads, edgeqThreads, macs: modelMacs(edgeq.v.model),
    profile: [...opTimes].map(([kind, ms]) => ({ kind, ms })),
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length, platform: `${process.platform}-${process.arch}` },
    runtime: { name: 'node', version: process.version, cpu: formatCpu(cpuInfo()), backend: edgeq.v.backend, relaxedDot: edgeq.v.relaxedDot ?? probeRelaxedDot() },
  };
}

/** Accuracy of `got` against the reference outputs (onnxruntime-web fp32) on the same inputs, and against labels when given. */
export function accuracyVs(reference: Float32Array[], got: Float32Array[], labels?: number[]): Pick<EngineFigures, 'top1Agreement' | 'meanCosine' | 'maxAbsError' | 'top1' | 'top5'> {
  let agree = 0, cos = 0, maxAbs = 0, top1 = 0, top5 = 0;
  got.forEach((g, i) => {
    const r = reference[i];
    if (argmax(g) === argmax(r)) agree++;
    cos += cosine(g, r);
    for (let j = 0; j < g.length; j++) maxAbs = Math.max(maxAbs, Math.abs(g[j] - r[j]));
    if (labels) {
      if (argmax(g) === labels[i]) top1++;
      if (topK(g, 5).includes(labels[i])) top5++;
    }
  });
  const n = Math.max(1, got.length);
  return { top1Agreement: agree / n, meanCosine: cos / n, maxAbsError: maxAbs, ...(labels ? { top1: top1 / n, top5: top5 / n } : {}) };
}

/** Share of inputs whose top-1 class is the same in `a` and `b`. */
export function top1Agreement(a: Float32Array[], b: Float32Array[]): number {
  return a.filter((x, i) => argmax(x) === argmax(b[i])).length / Math.max(1, a.length);
}

/** The default (fused) model's logits against the standard edgeq model's. */
export function fusedAgreement(fused: Float32Array[], edgeq: Float32Array[]): ModelBenchResult['fusedVsUnfused'] {
  let fmax = 0, fcos = 0, lmax = 0;
  fused.forEach((f, i) => {
    const e = edgeq[i];
    fcos += cosine(f, e);
    for (let j = 0; j < f.length; j++) { fmax = Math.max(fmax, Math.abs(f[j] - e[j])); lmax = Math.max(lmax, Math.abs(e[j])); }
  });
  return { top1Agreement: top1Agreement(fused, edgeq), meanCosine: fcos / Math.max(1, fused.length), maxAbsDiff: fmax, maxAbsLogit: lmax };
}

/** MACs of one inference: every convolution (fully connected layers are 1x1 convolutions). */
export function modelMacs(m: Session['model']): number {
  let macs = 0;
  for (const op of m.ops) {
    if (op.op !== 'conv') continue;
    const [, h, w] = m.tensors[op.output].shape;
    macs += h * w * op.outChannels * op.kernel[0] * op.kernel[1] * (op.inChannels / op.group);
  }
  return macs;
}

/** The ratios of one thread count's run, as lines. */
export function ratioLines(r: ModelBenchResult): string[] {
  const role = (x: EngineFigures['role']) => r.engines.find((e) => e.role === x);
  const fp32 = role('ort-fp32')!, int8 = role('ort-int8')!, edgeq = role('edgeq')!, edgeq1 = role('edgeq-1t'), fused = role('edgeq-fused'), a12 = role('edgeq-a12');
  const e = edgeq.latency, lines = [
    `ratios (medians): edgeq / ort int8 = ${(e.median / int8.latency.median).toFixed(3)}, ` +
      `edgeq / ort fp32 = ${(e.median / fp32.latency.median).toFixed(3)}; ` +
      `best: ${(e.min / int8.latency.min).toFixed(3)} and ${(e.min / fp32.latency.min).toFixed(3)}`,
    `edgeq effective throughput: ${(r.macs / e.median / 1e6).toFixed(1)} GMAC/s median, ${(r.macs / e.min / 1e6).toFixed(1)} best (${(r.macs / 1e9).toFixed(2)} GMAC per inference, ${r.edgeqThreads} thread${r.edgeqThreads > 1 ? 's' : ''})`,
  ];
  if (fused) {
    const f = fused.latency, d = r.fusedVsUnfused;
    lines.push(`default model (fused residual${r.defaultInputBits === 12 ? ', 12-bit input' : ''}): edgeq / ort int8 = ${(f.median / int8.latency.median).toFixed(3)}, edgeq / ort fp32 = ${(f.median / fp32.latency.median).toFixed(3)} (medians); ` +
      `vs the standard edgeq model: top-1 agreement ${(d.top1Agreement * 100).toFixed(1)}%, cosine ${d.meanCosine.toFixed(5)}, max|logit diff| ${d.maxAbsDiff.toPrecision(3)} (max|logit| ${d.maxAbsLogit.toPrecision(3)})`);
  }
  if (a12 && fused) {
    lines.push(`12-bit activations: latency ${(a12.latency.median / fused.latency.median).toFixed(3)}x the fused 8-bit model (medians), ` +
      `vs fp32: top-1 agreement ${(a12.top1Agreement * 100).toFixed(1)}% (8-bit ${(fused.top1Agreement * 100).toFixed(1)}%), cosine ${a12.meanCosine.toFixed(5)} (8-bit ${fused.meanCosine.toFixed(5)})`);
  }
  if (edgeq1) {
    lines.push(`edgeq speed-up ${r.edgeqThreads} threads vs 1 (same rounds): ${(edgeq1.latency.median / e.median).toFixed(2)}x median, ${(edgeq1.latency.min / e.min).toFixed(2)}x best`);
  }
  return lines;
}

/** "runtime: Deno 2.9.6 on <CPU (features)>; edgeq backend relaxed (relaxed-dot probe: u8xs8)". */
export function runtimeLine(rt: NonNullable<ModelBenchResult['runtime']>): string {
  return `runtime: ${rt.name === 'deno' ? 'Deno' : 'Node'} ${rt.version.replace(/^v/, '')} on ${rt.cpu}; edgeq backend ${rt.backend} (relaxed-dot probe: ${rt.relaxedDot})${rt.note ? `; ${rt.note}` : ''}`;
}

export function formatBench(r: ModelBenchResult): string {
  const [fp32, int8] = r.engines;
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const rows = r.engines.map((e) => [
    e.engine,
    e.latency.median.toFixed(1), e.latency.p90.toFixed(1),
    (e.latency.median / fp32.latency.median).toFixed(2), (e.latency.median / int8.latency.median).toFixed(2),
    Number.isNaN(e.createMs) ? '-' : e.createMs.toFixed(0), mb(e.fileBytes), e.memoryBytes === null || Number.isNaN(e.memoryBytes) ? '-' : mb(e.memoryBytes),
    `${(e.top1Agreement * 100).toFixed(1)}%`, e.meanCosine.toFixed(5), e.maxAbsError.toPrecision(3),
    ...(e.top1 !== undefined ? [`${(e.top1 * 100).toFixed(1)}%`, `${(e.top5! * 100).toFixed(1)}%`] : []),
  ]);
  const head = ['engine', 'median ms', 'p90 ms', 'x fp32', 'x int8', 'create ms', 'file MB', 'wasm MB', 'top1=fp32', 'cosine', 'max|err|',
    ...(r.engines[0].top1 !== undefined ? ['top-1', 'top-5'] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    ...(r.preprocessing ? [`${r.modelPath ?? r.model}: ${r.preprocessing}`] : []),
    `${r.model}: ${r.runs} timed runs per engine (interleaved), ${r.threads} thread${r.threads > 1 ? 's' : ''} (edgeq: ${r.edgeqThreads}), accuracy on ${r.inputs} inputs; ${r.machine.node}, ${r.machine.cpus} cpus`,
    line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
    `edgeq vs onnxruntime-web int8 (same integers): top-1 agreement ${(r.edgeqVsOrtInt8Top1 * 100).toFixed(1)}%`,
    ...ratioLines(r),
    ...(r.runtime ? [runtimeLine(r.runtime)] : []),
    `(wasm MB: edgeq's WebAssembly memory after load; not measured for onnxruntime-web, whose heap is not visible from outside: '-')`,
  ].join('\n');
}
