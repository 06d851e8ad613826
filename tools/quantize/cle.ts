// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction"). For conv1 -> [act] -> conv2 with a positively homogeneous activation
// (ReLU, LeakyReLU, none), f(x / s) = f(x) / s for s > 0, so dividing conv1's output channel c
// (weights row and bias) by s_c and multiplying conv2's input channel c by s_c leaves the fp32
// function unchanged. Max pooling and global average pooling between the two commute with a
// positive per-channel scale too, so conv1 -> act -> MaxPool -> conv2 and conv -> GAP -> fc qualify.
//
// A pair qualifies only when every tensor from conv1's output to conv2's input is read by exactly
// one op and is not a graph output: a tensor read by an Add (a residual) or by two ops keeps its
// channels' scale.
//
// Two ways to choose s_c:
// - 'weights' (the paper's): s_c = sqrt(r1_c / r2_c), r1_c the range (max |w|) of conv1's output
//   channel c, r2_c of conv2's input channel c, so both become sqrt(r1_c * r2_c). Iterated over
//   the chain until the scales settle, as the paper does.
// - 'activations': s_c = a_c / max_c a_c, a_c the calibrated range of conv1's output channel c, so
//   every channel of the (per-tensor quantized) activation fills the same range. s_c <= 1: conv2's
//   input columns only shrink, so this pair grows no per-output-channel range of conv2; s_c is floored
//   at 1 / maxRatio so a weak (or dead) channel's conv1 row is not blown up.
// With per-output-channel int8 weights, scaling conv1's rows costs its own weights nothing (each
// row's scale follows it); what moves is the activation's per-channel ranges and conv2's columns.
// Measured on darknet-tiny and the ResNet-50 trunk, neither method gains (README, "Cross-layer
// equalization"), so the quantizer runs it only when asked (QuantizeModelOptions.equalize).
import { ReferenceSession } from '../reference/ort-runner.js';
import type { FConv, FloatGraph, FOp } from './prepare.js';
import { moduleOf } from './ops/registry.js';
// The rescaled pairs are conv -> conv (weights on both sides): conv-specific by nature; the ops between
// them are any whose module commutesWithChannelScale.

export type EqualizeMethod = 'weights' | 'activations';

export interface EqualizePair {
  conv1: string;
  /** The convs reading the scaled tensor (usually one: "conv2"); all take the scales on their input channels. */
  consumers: string[];
  /** Tensors whose channels get divided by s: conv1's output, then each pooling op's output on the way. */
  tensors: string[];
}

export interface EqualizeOptions {
  method?: EqualizeMethod;
  /** 'weights': maximum sweeps over the chain (default 20; stops earlier once every |log s| < 1e-4). */
  iterations?: number;
  /** 'activations': per-channel range of each pair's conv1 output (see channelRanges). */
  channelRanges?: Map<string, Float64Array>;
  /** 'activations': the largest ratio between two channels' scales (default 32). */
  maxRatio?: number;
  /** Scales already chosen (by conv1's name, e.g. by smoothing.ts): applied to those pairs as they are, `method` unused. */
  scales?: ReadonlyMap<string, Float64Array>;
}

export interface EqualizeResult {
  graph: FloatGraph;
  pairs: EqualizePair[];
  /** Per pair (by conv1's name), the product of the scales applied to conv1's output channels. */
  scales: Map<string, Float64Array>;
}

/** The op that reads each tensor (several when shared). */
function readers(g: FloatGraph): Map<string, FOp[]> {
  const m = new Map<string, FOp[]>();
  const add = (t: string, op: FOp) => m.set(t, [...(m.get(t) ?? []), op]);
  for (const op of g.ops) {
    for (const t of moduleOf(op).reads(op)) add(t, op);
  }
  return m;
}

/** The conv pairs CLE may rescale, in graph order. */
export function equalizablePairs(g: FloatGraph): EqualizePair[] {
  const byReader = readers(g);
  const pairs: EqualizePair[] = [];
  for (const op of g.ops) {
    if (op.op !== 'conv') continue;
    const kind = op.activation.kind;
    if (kind !== 'relu' && kind !== 'leakyrelu' && kind !== 'none') continue;
    const tensors: string[] = [];
    let t = op.output;
    let consumers: FConv[] = [];
    for (;;) {
      if (t === g.input.name || g.outputs.some((o) => o.tensor === t || o.name === t)) break;
      const r = byReader.get(t) ?? [];
      // The last tensor may feed several convs (a ResNet stem's pool feeds a block and its shortcut):
      // every one of them takes the scales.
      if (r.length > 1) {
        if (r.every((next) => next.op === 'conv')) { tensors.push(t); consumers = r as FConv[]; }
        break;
      }
      if (r.length !== 1) break;
      tensors.push(t);
      const next = r[0];
      if (moduleOf(next).commutesWithChannelScale) { t = next.output; continue; }
      if (next.op === 'conv') consumers = [next];
      break;
    }
    if (consumers.length > 0 && consumers.every((c) => c.inChannels === op.outChannels)) {
      pairs.push({ conv1: op.name, consumers: consumers.map((c) => c.name), tensors });
    }
  }
  return pairs;
}

/** max |w| of each output channel (row) of a conv. */
export function rowRanges(op: FConv): Float64Array {
  const per = op.weights.length / op.outChannels;
  const r = new Float64Array(op.outChannels);
  for (let o = 0; o < op.outChannels; o++) {
    let m = 0;
    for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(op.weights[o * per + j]));
    r[o] = m;
  }
  return r;
}

/** max |w| of each input channel (column) of a conv, over its group's output channels and taps. */
export function columnRanges(op: FConv): Float64Array {
  const I = op.inChannels / op.group, O = op.outChannels, taps = op.kernel[0] * op.kernel[1];
  const perGroupOut = O / op.group;
  const r = new Float64Array(op.inChannels);
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / perGroupOut);
    for (let i = 0; i < I; i++) {
      const base = (o * I + i) * taps;
      let m = r[g * I + i];
      for (let t = 0; t < taps; t++) m = Math.max(m, Math.abs(op.weights[base + t]));
      r[g * I + i] = m;
    }
  }
  return r;
}

/** conv1 output channel c /= s[c] (weights and bias); each consumer's input channel c *= s[c]. */
function applyScales(conv1: FConv, consumers: FConv[], s: Float64Array): void {
  const per1 = conv1.weights.length / conv1.outChannels;
  for (let c = 0; c < conv1.outChannels; c++) {
    if (s[c] === 1) continue;
    for (let j = 0; j < per1; j++) conv1.weights[c * per1 + j] /= s[c];
    conv1.bias[c] /= s[c];
  }
  for (const conv2 of consumers) {
    const I = conv2.inChannels / conv2.group, taps = conv2.kernel[0] * conv2.kernel[1];
    const perGroupOut = conv2.outChannels / conv2.group;
    for (let o = 0; o < conv2.outChannels; o++) {
      const g = Math.floor(o / perGroupOut);
      for (let i = 0; i < I; i++) {
        const sc = s[g * I + i];
        if (sc === 1) continue;
        const base = (o * I + i) * taps;
        for (let t = 0; t < taps; t++) conv2.weights[base + t] *= sc;
      }
    }
  }
}

function weightScales(conv1: FConv, consumers: FConv[]): Float64Array {
  const r1 = rowRanges(conv1);
  const r2 = new Float64Array(r1.length);
  for (const c2 of consumers) columnRanges(c2).forEach((v, c) => { r2[c] = Math.max(r2[c], v); });
  return r1.map((a, c) => (a > 0 && r2[c] > 0 ? Math.sqrt(a / r2[c]) : 1));
}

/** s_c = (max(a_c, top / maxRatio) / top)^strength for channel ranges a_c (top: the largest). */
export function activationScales(ranges: Float64Array, maxRatio: number, strength: number): Float64Array {
  let top = 0;
  for (const a of ranges) top = Math.max(top, a);
  if (!(top > 0)) return new Float64Array(ranges.length).fill(1);
  return Float64Array.from(ranges, (a) => (Math.max(a, top / maxRatio) / top) ** strength);
}

/** The equalized copy of a float graph (the input graph is not modified). */
export function equalizeGraph(g: FloatGraph, options: EqualizeOptions = {}): EqualizeResult {
  const method = options.method ?? 'weights';
  const ops: FOp[] = g.ops.map((op) => (op.op === 'conv' ? { ...op, weights: Float32Array.from(op.weights), bias: Float32Array.from(op.bias) } : op));
  const graph: FloatGraph = { ...g, ops };
  const convs = new Map(ops.filter((o): o is FConv => o.op === 'conv').map((o) => [o.name, o]));
  const given = options.scales;
  const pairs = equalizablePairs(graph).filter((p) => !given || given.has(p.conv1));
  const scales = new Map<string, Float64Array>(pairs.map((p) => [p.conv1, new Float64Array(convs.get(p.conv1)!.outChannels).fill(1)]));
  if (given) {
    for (const p of pairs) {
      const s = given.get(p.conv1)!;
      applyScales(convs.get(p.conv1)!, p.consumers.map((n) => convs.get(n)!), s);
      scales.set(p.conv1, s);
    }
  } else if (method === 'weights') {
    const sweeps = options.iterations ?? 20;
    for (let it = 0; it < sweeps; it++) {
      let change = 0;
      for (const p of pairs) {
        const c1 = convs.get(p.conv1)!, c2 = p.consumers.map((n) => convs.get(n)!);
        const s = weightScales(c1, c2);
        applyScales(c1, c2, s);
        const total = scales.get(p.conv1)!;
        for (let c = 0; c < s.length; c++) { total[c] *= s[c]; change = Math.max(change, Math.abs(Math.log(s[c]))); }
      }
      if (change < 1e-4) break;
    }
  } else {
    const maxRatio = options.maxRatio ?? 32;
    for (const p of pairs) {
      const ranges = options.channelRanges?.get(convs.get(p.conv1)!.output);
      if (!ranges) throw new Error(`equalizeGraph: no channel ranges for "${convs.get(p.conv1)!.output}"`);
      const s = activationScales(ranges, maxRatio, 1);
      applyScales(convs.get(p.conv1)!, p.consumers.map((n) => convs.get(n)!), s);
      scales.set(p.conv1, s);
    }
  }
  return { graph, pairs, scales };
}

/**
 * Per-channel range max(max x_c, -min x_c) of the given tensors over the inputs, running the fp32
 * model (the prepared graph's names) in onnxruntime-web.
 */
export async function channelRanges(
  onnxBytes: Uint8Array,
  g: FloatGraph,
  tensors: string[],
  inputs: Iterable<Float32Array> | AsyncIterable<Float32Array>,
  options: { threads?: number } = {},
): Promise<Map<string, Float64Array>> {
  const session = await ReferenceSession.create(onnxBytes, { threads: options.threads ?? 1, extraOutputs: tensors });
  const out = new Map<string, Float64Array>();
  try {
    for await (const x of inputs) {
      const { outputs } = await session.run({ [g.input.name]: { dims: g.input.nchw, data: x } });
      for (const name of tensors) {
        const t = outputs[name];
        const [n, c] = t.dims;
        const inner = t.dims.slice(2).reduce((a, b) => a * b, 1);
        const r = out.get(name) ?? new Float64Array(c);
        out.set(name, r);
        for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
          const base = (b * c + ch) * inner;
          let m = r[ch];
          for (let i = 0; i < inner; i++) { const v = Math.abs(t.data[base + i]); if (v > m) m = v; }
          r[ch] = m;
        }
      }
    }
  } finally {
    await session.release();
  }
  return out;
}
