// The main job: one model, three engines, same inputs, one run — onnxruntime-web fp32,
// onnxruntime-web int8 (the QDQ export of the same quantized model) and edgeq int8.
// Latency (interleaved rounds, tinybench), session-create time, model size, memory, and accuracy
// against onnxruntime-web fp32 (and top-1/top-5 on labelled images when given).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from '../src/runtime/session.js';
import { ReferenceSession } from '../src/reference/ort-runner.js';
import { cacheDir } from '../src/synth/cache-node.js';
import type { PreprocessSpec } from '../src/image/spec.js';
import { quantizeModel, DEFAULT_METHOD } from '../tools/quantize/index.js';
import { argmax, cosine, topK } from '../tools/quantize/report.js';
import { interleavedLatency, type LatencyStats } from './timing.js';

export interface ModelBenchOptions {
  /** Display name of the model. */
  name: string;
  onnx: Uint8Array;
  spec: PreprocessSpec;
  /** Calibration inputs (preprocessed NCHW), produced lazily only when the quantized model is not cached. */
  calibration: () => Iterable<Float32Array>;
  calibrationCount: number;
  /** Inputs compared across engines (and timed: the first one). */
  inputs: Float32Array[];
  /** Labels of `inputs`, for top-1/top-5 accuracy. */
  labels?: number[];
  runs: number;
  log?: (line: string) => void;
}

export interface EngineFigures {
  engine: string;
  latency: LatencyStats;
  createMs: number;
  fileBytes: number;
  /** Bytes of memory the engine holds after load (edgeq: its wasm memory; ORT: RSS growth at create). */
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
  inputs: number;
  runs: number;
  calibration: { method: string; images: number; cached: boolean; seconds: number };
  engines: EngineFigures[];
  /** edgeq int8 vs onnxruntime-web int8 (same QDQ integers): top-1 agreement. */
  edgeqVsOrtInt8Top1: number;
  machine: { node: string; cpus: number; platform: string };
}

/** Resident set size: onnxruntime-web's wasm heap is not visible as array buffers, so RSS growth is what we can see. */
function arrayBufferBytes(): number {
  return process.memoryUsage().rss;
}

/** Quantized forms of a model, cached by the source's hash and the calibration settings. */
async function quantizedModel(o: ModelBenchOptions): Promise<{ edgeq: Uint8Array; qdq: Uint8Array; cached: boolean; seconds: number }> {
  const hash = createHash('sha256').update(o.onnx).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const base = join(dir, `${o.name}-${hash}-${DEFAULT_METHOD}-c${o.calibrationCount}`);
  if (existsSync(`${base}.edgeq`) && existsSync(`${base}.int8.onnx`)) {
    return { edgeq: new Uint8Array(readFileSync(`${base}.edgeq`)), qdq: new Uint8Array(readFileSync(`${base}.int8.onnx`)), cached: true, seconds: 0 };
  }
  const t0 = performance.now();
  let last = 0;
  const q = await quantizeModel(o.onnx, {
    calibration: o.calibration(), calibrationCount: o.calibrationCount, preprocess: o.spec,
    onProgress: (p) => {
      if (p.done === p.total || performance.now() - last > 5000) {
        last = performance.now();
        o.log?.(`  calibrating: ${p.done}/${p.total} images`);
      }
    },
  });
  mkdirSync(dir, { recursive: true });
  for (const [ext, bytes] of [['edgeq', q.edgeq], ['int8.onnx', q.qdq]] as const) {
    writeFileSync(`${base}.${ext}.tmp`, bytes);
    renameSync(`${base}.${ext}.tmp`, `${base}.${ext}`);
  }
  return { edgeq: q.edgeq, qdq: q.qdq, cached: false, seconds: (performance.now() - t0) / 1000 };
}

export async function benchModel(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = o.log ?? (() => {});
  log(`quantizing ${o.name} (${DEFAULT_METHOD}, ${o.calibrationCount} calibration images; cached after the first run)`);
  const q = await quantizedModel(o);
  log(q.cached ? '  quantized model found in the cache' : `  quantized in ${q.seconds.toFixed(1)} s`);

  // Sessions, each create timed.
  const time = async <T>(f: () => Promise<T>) => { const t0 = performance.now(); const v = await f(); return { v, ms: performance.now() - t0 }; };
  let before = arrayBufferBytes();
  const fp32 = await time(() => ReferenceSession.create(o.onnx));
  const fp32Mem = arrayBufferBytes() - before;
  before = arrayBufferBytes();
  const int8 = await time(() => ReferenceSession.create(q.qdq));
  const int8Mem = arrayBufferBytes() - before;
  const edgeq = await time(() => Session.create(q.edgeq));
  const edgeqMem = await edgeq.v.memoryBytes();
  const inputName = fp32.v.inputNames[0], outputName = fp32.v.outputNames[0];

  // Accuracy on the same inputs.
  log(`comparing outputs on ${o.inputs.length} inputs`);
  const outs = { fp32: [] as Float32Array[], int8: [] as Float32Array[], edgeq: [] as Float32Array[] };
  for (const x of o.inputs) {
    outs.fp32.push((await fp32.v.run({ [inputName]: x })).outputs[outputName].data);
    outs.int8.push((await int8.v.run({ [inputName]: x })).outputs[outputName].data);
    outs.edgeq.push(await edgeq.v.run(x));
  }
  const accuracy = (got: Float32Array[]) => {
    let agree = 0, cos = 0, maxAbs = 0, top1 = 0, top5 = 0;
    got.forEach((g, i) => {
      const r = outs.fp32[i];
      if (argmax(g) === argmax(r)) agree++;
      cos += cosine(g, r);
      for (let j = 0; j < g.length; j++) maxAbs = Math.max(maxAbs, Math.abs(g[j] - r[j]));
      if (o.labels) {
        if (argmax(g) === o.labels[i]) top1++;
        if (topK(g, 5).includes(o.labels[i])) top5++;
      }
    });
    const n = Math.max(1, got.length);
    return { top1Agreement: agree / n, meanCosine: cos / n, maxAbsError: maxAbs, ...(o.labels ? { top1: top1 / n, top5: top5 / n } : {}) };
  };
  const edgeqVsInt8 = outs.edgeq.filter((e, i) => argmax(e) === argmax(outs.int8[i])).length / Math.max(1, o.inputs.length);

  // Latency, engines interleaved, same input.
  log(`timing: ${o.runs} runs per engine, interleaved`);
  const x = o.inputs[0];
  const feed = { [inputName]: x };
  const lat = await interleavedLatency([
    { name: 'ort-fp32', run: () => fp32.v.run(feed) },
    { name: 'ort-int8', run: () => int8.v.run(feed) },
    { name: 'edgeq-int8', run: () => edgeq.v.run(x) },
  ], { runs: o.runs, rounds: Math.min(5, o.runs), warmup: 2, onRound: (r, n) => log(`  round ${r}/${n}`) });

  await fp32.v.release();
  await int8.v.release();
  edgeq.v.release();
  const engines: EngineFigures[] = [
    { engine: 'onnxruntime-web fp32', latency: lat.get('ort-fp32')!, createMs: fp32.ms, fileBytes: o.onnx.length, memoryBytes: fp32Mem, ...accuracy(outs.fp32) },
    { engine: 'onnxruntime-web int8 (QDQ)', latency: lat.get('ort-int8')!, createMs: int8.ms, fileBytes: q.qdq.length, memoryBytes: int8Mem, ...accuracy(outs.int8) },
    { engine: `edgeq int8 (${edgeq.v.backend})`, latency: lat.get('edgeq-int8')!, createMs: edgeq.ms, fileBytes: q.edgeq.length, memoryBytes: edgeqMem, ...accuracy(outs.edgeq) },
  ];
  return {
    model: o.name, inputs: o.inputs.length, runs: o.runs,
    calibration: { method: DEFAULT_METHOD, images: o.calibrationCount, cached: q.cached, seconds: q.seconds },
    engines, edgeqVsOrtInt8Top1: edgeqVsInt8,
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length, platform: `${process.platform}-${process.arch}` },
  };
}

export function formatBench(r: ModelBenchResult): string {
  const [fp32, int8] = r.engines;
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const rows = r.engines.map((e) => [
    e.engine,
    e.latency.median.toFixed(1), e.latency.p90.toFixed(1),
    (e.latency.median / fp32.latency.median).toFixed(2), (e.latency.median / int8.latency.median).toFixed(2),
    e.createMs.toFixed(0), mb(e.fileBytes), mb(e.memoryBytes),
    `${(e.top1Agreement * 100).toFixed(1)}%`, e.meanCosine.toFixed(5), e.maxAbsError.toPrecision(3),
    ...(e.top1 !== undefined ? [`${(e.top1 * 100).toFixed(1)}%`, `${(e.top5! * 100).toFixed(1)}%`] : []),
  ]);
  const head = ['engine', 'median ms', 'p90 ms', 'x fp32', 'x int8', 'create ms', 'file MB', 'mem MB', 'top1=fp32', 'cosine', 'max|err|',
    ...(r.engines[0].top1 !== undefined ? ['top-1', 'top-5'] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `${r.model}: ${r.runs} timed runs per engine (interleaved), 1 thread, accuracy on ${r.inputs} inputs; ${r.machine.node}, ${r.machine.cpus} cpus`,
    line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
    `edgeq vs onnxruntime-web int8 (same integers): top-1 agreement ${(r.edgeqVsOrtInt8Top1 * 100).toFixed(1)}%`,
    `(mem: edgeq = its WebAssembly memory; onnxruntime-web = growth of the process RSS at session create, approximate)`,
  ].join('\n');
}
