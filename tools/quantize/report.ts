// The quantization report: per layer, the output's scale and its SQNR against fp32; for the whole
// model, output cosine similarity and top-1 agreement. Both models run in onnxruntime-web (the fp32
// source and the QDQ export, whose dequantized tensors carry the source tensors' names).
import { readOnnx } from '../onnx/reader.js';
import { ReferenceSession } from '../reference/ort-runner.js';
import type { FloatGraph } from './prepare.js';
import type { QuantizeResult } from './quantize.js';
import { exportQdq } from './export-qdq.js';

export interface LayerReport {
  name: string;
  op: string;
  tensor: string;
  dtype: string;
  scale: number;
  zeroPoint: number;
  /** Convs: the proven bound on the int32 accumulator (overflow.ts), its spare bits and the input's bits. */
  accumulator?: { bound: number; headroomBits: number; inputBits: 8 | 12 };
  /** Signal-to-quantization-noise ratio of the int8 output against fp32, in dB, over the evaluation inputs. */
  sqnrDb: number;
}

export interface QuantReport {
  layers: LayerReport[];
  model: {
    inputs: number;
    meanCosine: number;
    minCosine: number;
    top1Agreement: number;
    /** Output SQNR in dB (pooled over inputs). */
    outputSqnrDb: number;
    maxAbsError: number;
  };
}

/** Accumulates signal and noise energy for a pooled SQNR. */
export class SqnrMeter {
  signal = 0;
  noise = 0;
  add(ref: ArrayLike<number>, test: ArrayLike<number>): void {
    for (let i = 0; i < ref.length; i++) {
      const d = ref[i] - test[i];
      this.signal += ref[i] * ref[i];
      this.noise += d * d;
    }
  }
  get db(): number {
    return this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise);
  }
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa === 0 || bb === 0 ? (aa === bb ? 1 : 0) : ab / Math.sqrt(aa * bb);
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Indices of the k largest values, largest first. */
export function topK(a: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: a.length }, (_, i) => i).sort((x, y) => a[y] - a[x]).slice(0, k);
}

export async function buildReport(
  fp32Onnx: Uint8Array,
  qdqOnnx: Uint8Array,
  graph: FloatGraph,
  q: Pick<QuantizeResult, 'tensorParams' | 'accumulators'>,
  inputs: Iterable<Float32Array>,
  options: { threads?: number; perLayer?: boolean } = {},
): Promise<QuantReport> {
  const perLayer = options.perLayer ?? true;
  // The output summary (SQNR, cosine, top-1 agreement) is of the first graph output; other outputs are layers.
  // A fused residual's branch is not a tensor of the export (its conv writes the Add's output: ops/conv.ts).
  const first = graph.outputs[0]!;
  const exported = new Set(readOnnx(qdqOnnx).graph.nodes.flatMap((n) => n.outputs));
  const layerTensors = perLayer ? graph.ops.map((op) => op.output).filter((t) => t !== first.tensor && t !== first.name && exported.has(t)) : [];
  const ref = await ReferenceSession.create(fp32Onnx, { threads: options.threads ?? 1, extraOutputs: layerTensors });
  const qdq = await ReferenceSession.create(qdqOnnx, { threads: options.threads ?? 1, extraOutputs: layerTensors });
  const meters = new Map(layerTensors.map((t) => [t, new SqnrMeter()]));
  const out = new SqnrMeter();
  let n = 0, agree = 0, cosSum = 0, cosMin = 1, maxAbs = 0;
  try {
    for (const x of inputs) {
      const feed = { [graph.input.name]: { dims: graph.input.nchw, data: x } };
      const [r, q] = [await ref.run(feed), await qdq.run(feed)];
      for (const t of layerTensors) meters.get(t)!.add(r.outputs[t].data, q.outputs[t].data);
      const a = r.outputs[first.name].data, b = q.outputs[first.name].data;
      out.add(a, b);
      const c = cosine(a, b);
      cosSum += c; cosMin = Math.min(cosMin, c);
      if (argmax(a) === argmax(b)) agree++;
      for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
      n++;
    }
  } finally {
    await ref.release();
    await qdq.release();
  }
  // tensorParams also holds the residual branches that fusion removed from the .edgeq (the QDQ export keeps them).
  const layers: LayerReport[] = graph.ops.map((op) => {
    const t = q.tensorParams.get(op.output)!;
    const m = meters.get(op.output);
    const acc = q.accumulators.get(op.name);
    return {
      name: op.name, op: op.op, tensor: op.output, dtype: t.dtype, scale: t.scale, zeroPoint: t.zeroPoint,
      ...(acc ? { accumulator: { bound: acc.bound, headroomBits: acc.headroomBits, inputBits: acc.inputBits } } : {}),
      sqnrDb: m ? m.db : NaN,
    };
  });
  return {
    layers,
    model: { inputs: n, meanCosine: cosSum / Math.max(1, n), minCosine: cosMin, top1Agreement: agree / Math.max(1, n), outputSqnrDb: out.db, maxAbsError: maxAbs },
  };
}

export function formatReport(r: QuantReport): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  // bits: input -> output activation bits; acc bound: the largest |int32 accumulator| any input can
  // produce (overflow.ts) and its spare bits below 2^31.
  lines.push(`${pad('layer', 28)} ${pad('op', 8)} ${pad('bits', 7)} ${pad('scale', 11)} ${pad('zp', 4)} ${pad('acc bound (spare bits)', 23)} SQNR dB`);
  const bitsOf = (dtype: string) => (dtype === 'float32' ? 'f32' : dtype === 'uint12' ? '12' : '8');
  for (const l of r.layers) {
    const scale = l.dtype === 'float32' ? 'fp32' : l.scale.toExponential(3);
    const bits = l.accumulator ? `${l.accumulator.inputBits}->${bitsOf(l.dtype)}` : bitsOf(l.dtype);
    const acc = l.accumulator ? `${l.accumulator.bound.toExponential(2)} (${l.accumulator.headroomBits.toFixed(1)})` : '';
    lines.push(`${pad(l.name.slice(0, 28), 28)} ${pad(l.op, 8)} ${pad(bits, 7)} ${pad(scale, 11)} ${pad(l.dtype === 'float32' ? '' : String(l.zeroPoint), 4)} ${pad(acc, 23)} ${Number.isFinite(l.sqnrDb) ? l.sqnrDb.toFixed(1) : '-'}`);
  }
  const m = r.model;
  lines.push(`model output on ${m.inputs} held-back inputs: cosine mean ${m.meanCosine.toFixed(5)} (min ${m.minCosine.toFixed(5)}), `
    + `top-1 agreement ${(m.top1Agreement * 100).toFixed(1)}%, SQNR ${m.outputSqnrDb.toFixed(1)} dB, max |err| ${m.maxAbsError.toPrecision(3)}`);
  return lines.join('\n');
}

export interface SensitivityEntry {
  name: string;
  op: string;
  /** Model output SQNR (dB) when only this op is quantized. Lower = more sensitive. */
  outputSqnrDb: number;
}

/**
 * Per-layer sensitivity: the model output's SQNR against fp32 when only one op is quantized (its
 * input, weights and output), every other op kept fp32. Sorted, most sensitive first.
 */
export async function sensitivityReport(
  fp32Onnx: Uint8Array,
  graph: FloatGraph,
  q: QuantizeResult,
  inputs: Float32Array[],
  options: SensitivityOptions = {},
): Promise<SensitivityEntry[]> {
  const meters = await outputMeters(fp32Onnx, graph, inputs, graph.ops.map((op) => () => exportQdq(graph, q, { only: op.name })), options);
  const entries = graph.ops.map((op, i) => ({ name: op.name, op: op.op, outputSqnrDb: meters[i].db }));
  return entries.sort((a, b) => a.outputSqnrDb - b.outputSqnrDb);
}

export interface SensitivityOptions { threads?: number; onProgress?: (done: number, total: number) => void }

export interface TensorSensitivity {
  tensor: string;
  /** Model output SQNR (dB) when only this tensor is quantized (at its parameters in `q`). */
  outputSqnrDb: number;
  /** The output noise energy that quantization adds, summed over the inputs. */
  noise: number;
}

/**
 * Per-tensor sensitivity: the model output's SQNR and noise energy against fp32 when only one tensor
 * is quantized (a Q/DQ pair after it), every weight and every other tensor fp32. In `tensors`' order.
 */
export async function tensorSensitivity(
  fp32Onnx: Uint8Array,
  graph: FloatGraph,
  q: QuantizeResult,
  inputs: Float32Array[],
  tensors: readonly string[],
  options: SensitivityOptions = {},
): Promise<TensorSensitivity[]> {
  const meters = await outputMeters(fp32Onnx, graph, inputs, tensors.map((t) => () => exportQdq(graph, q, { onlyTensor: t })), options);
  return tensors.map((tensor, i) => ({ tensor, outputSqnrDb: meters[i].db, noise: meters[i].noise }));
}

/** Output SQNR meters against the fp32 model for several variants, each built, run on `inputs` and released in turn. */
async function outputMeters(
  fp32Onnx: Uint8Array,
  graph: FloatGraph,
  inputs: Float32Array[],
  variants: (() => Uint8Array)[],
  options: SensitivityOptions,
): Promise<SqnrMeter[]> {
  const threads = options.threads ?? 1;
  const feed = (x: Float32Array) => ({ [graph.input.name]: { dims: graph.input.nchw, data: x } });
  const ref = await ReferenceSession.create(fp32Onnx, { threads });
  const refOut: Float32Array[] = [];
  for (const x of inputs) refOut.push((await ref.run(feed(x))).outputs[graph.outputs[0]!.name].data);
  await ref.release();
  const meters: SqnrMeter[] = [];
  for (const [i, build] of variants.entries()) {
    const s = await ReferenceSession.create(build(), { threads });
    const m = new SqnrMeter();
    try {
      for (const [k, x] of inputs.entries()) m.add(refOut[k], (await s.run(feed(x))).outputs[graph.outputs[0]!.name].data);
    } finally {
      await s.release();
    }
    meters.push(m);
    options.onProgress?.(i + 1, variants.length);
  }
  return meters;
}

export function formatSensitivity(entries: SensitivityEntry[]): string {
  return ['per-layer sensitivity (model output SQNR when only that layer is quantized; most sensitive first):',
    ...entries.map((e) => `  ${e.name.padEnd(28)} ${e.op.padEnd(8)} ${Number.isFinite(e.outputSqnrDb) ? e.outputSqnrDb.toFixed(1) : 'inf'} dB`)].join('\n');
}
