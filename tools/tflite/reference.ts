// A naive interpreter of a uint8 TFLite graph with TensorFlow Lite's reference-kernel integer
// semantics (written from their definitions, for checking the import): per-tensor uint8 activations,
// int32 accumulators, requantization by a Q31 fixed-point multiplier and a power-of-two shift
// (QuantizeMultiplier / MultiplyByQuantizedMultiplier), the add kernel's 20-bit left shift and
// three multipliers, the average pool's rounded integer division, and activation ranges rounded
// half away from zero (TfLiteRound). It reads the TfliteModel directly (not the ONNX form the importer
// lowers), plain loops, batch 1, per-tensor weights. Ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
// AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SQUEEZE; a final SOFTMAX is not evaluated (the logits are returned).
import { EdgeqError } from 'edgeq';
import {
  BUILTIN, type AddOptions, type Conv2DOptions, type DepthwiseConv2DOptions, type FullyConnectedOptions, type FusedActivation,
  type Pool2DOptions, type TfliteModel, type TfliteTensor,
} from './reader.js';
import { samePadding } from './to-onnx.js';

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** A real multiplier as TFLite's QuantizeMultiplier: m in [2^30, 2^31) (Q31 of a fraction in [0.5, 1)) and a shift, m * 2^(shift - 31) = real. */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1;
  let frac = real / 2 ** shift; // in [0.5, 1) (frexp)
  if (frac >= 1) { frac /= 2; shift++; } else if (frac < 0.5) { frac *= 2; shift--; }
  let q = Math.round(frac * 2 ** 31); // std::round: half away from zero (frac > 0)
  if (q === 2 ** 31) { q /= 2; shift++; }
  return { multiplier: q, shift };
}

/** SaturatingRoundingDoublingHighMul: the high 32 bits of 2ab, rounded to nearest (ties away from zero). */
export function doublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, as C++ does
}

/** RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, e: number): number {
  if (e === 0) return x;
  const mask = (1 << e) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** MultiplyByQuantizedMultiplier(x, m, shift): x * m * 2^(shift - 31) in TFLite's fixed point. */
export function multiplyByQuantizedMultiplier(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(doublingHighMul(x * 2 ** left, m), right);
}

/** TfLiteRound: half away from zero. */
const tfliteRound = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

/** CalculateActivationRangeQuantized for uint8. */
export function activationRange(a: FusedActivation, scale: number, zeroPoint: number): [number, number] {
  const q = (v: number) => zeroPoint + tfliteRound(v / scale);
  if (a === 'NONE') return [0, 255];
  if (a === 'RELU') return [Math.max(0, q(0)), 255];
  if (a === 'RELU6') return [Math.max(0, q(0)), Math.min(255, q(6))];
  if (a === 'RELU_N1_TO_1') return [Math.max(0, q(-1)), Math.min(255, q(1))];
  throw new EdgeqError('UNSUPPORTED_OP', `fused activation ${a} is not supported by the reference`);
}

function params(t: TfliteTensor): { s: number; z: number } {
  const q = t.quantization;
  if (!q) throw new EdgeqError('BAD_MODEL', `tensor "${t.name}" has no quantization parameters`);
  return { s: q.scale[0]!, z: q.zeroPoint[0]! };
}

function int32s(t: TfliteTensor): Int32Array {
  const d = t.data!;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return Int32Array.from({ length: d.length / 4 }, (_, i) => v.getInt32(4 * i, true));
}

/**
 * Runs subgraph 0 on `input` (the uint8 NHWC image) and returns the uint8 tensor the graph ends with
 * (the input of a final SOFTMAX, else the output), with its scale and zero point.
 */
export function runTfliteReference(model: TfliteModel, input: Uint8Array): { data: Uint8Array; scale: number; zeroPoint: number } {
  const g = model.subgraphs[0]!;
  const values = new Map<number, Uint8Array>();
  values.set(g.inputs[0]!, input);
  let out = g.outputs[0]!;
  for (const op of g.operators) {
    const T = (i: number) => g.tensors[op.inputs[i]!]!;
    const x = () => { const v = values.get(op.inputs[0]!); if (!v) throw new EdgeqError('INTERNAL', `operator ${op.index}: input not computed`); return v; };
    const yt = g.tensors[op.outputs[0]!]!;
    switch (op.builtin) {
      case BUILTIN.CONV_2D: case BUILTIN.DEPTHWISE_CONV_2D: case BUILTIN.FULLY_CONNECTED:
        values.set(yt.index, convLike(op.builtin, op.options, x(), T(0), T(1), op.inputs[2]! >= 0 ? T(2) : undefined, yt));
        break;
      case BUILTIN.ADD: values.set(yt.index, add(x(), values.get(op.inputs[1]!)!, T(0), T(1), yt, (op.options as AddOptions).activation)); break;
      case BUILTIN.AVERAGE_POOL_2D: case BUILTIN.MAX_POOL_2D: values.set(yt.index, pool(op.builtin === BUILTIN.MAX_POOL_2D, op.options as Pool2DOptions, x(), T(0), yt)); break;
      case BUILTIN.RESHAPE: case BUILTIN.SQUEEZE: values.set(yt.index, x()); break;
      case BUILTIN.SOFTMAX: out = op.inputs[0]!; break;
      default: throw new EdgeqError('UNSUPPORTED_OP', `operator ${op.index} (${op.opName}) is not in the reference`);
    }
  }
  const p = params(g.tensors[out]!);
  return { data: values.get(out)!, scale: p.s, zeroPoint: p.z };
}

/** Conv, depthwise conv and fully connected: acc = bias + sum (x - zx)(w - zw); padded taps add nothing. */
function convLike(kind: number, options: unknown, x: Uint8Array, xt: TfliteTensor, wt: TfliteTensor, bt: TfliteTensor | undefined, yt: TfliteTensor): Uint8Array {
  const px = params(xt), pw = params(wt), py = params(yt);
  if (wt.quantization!.scale.length !== 1) throw new EdgeqError('UNSUPPORTED_OP', `weight "${wt.name}": the reference takes per-tensor weights`);
  const w = wt.data!, bias = bt ? int32s(bt) : undefined;
  let H: number, W: number, C: number, O: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number;
  let act: FusedActivation;
  const depthwise = kind === BUILTIN.DEPTHWISE_CONV_2D;
  if (kind === BUILTIN.FULLY_CONNECTED) {
    [O, C] = wt.shape as [number, number];
    H = W = kh = kw = sh = sw = dh = dw = 1; pt = pl = 0;
    act = (options as FullyConnectedOptions).activation;
  } else {
    const o = options as Conv2DOptions | DepthwiseConv2DOptions;
    [, H, W, C] = xt.shape as [number, number, number, number];
    if (depthwise) [, kh, kw, O] = wt.shape as [number, number, number, number];
    else [O, kh, kw] = wt.shape as [number, number, number, number];
    [sh, sw, dh, dw] = [o.strideH, o.strideW, o.dilationH, o.dilationW];
    pt = o.padding === 'SAME' ? samePadding(H, kh, sh, dh)[0] : 0;
    pl = o.padding === 'SAME' ? samePadding(W, kw, sw, dw)[0] : 0;
    act = o.activation;
  }
  const OH = kind === BUILTIN.FULLY_CONNECTED ? 1 : yt.shape[1]!, OW = kind === BUILTIN.FULLY_CONNECTED ? 1 : yt.shape[2]!;
  const [lo, hi] = activationRange(act, py.s, py.z);
  // Per-tensor weights: one multiplier; TFLite computes input_scale * filter_scale / output_scale in double.
  const { multiplier, shift } = quantizeMultiplier((px.s * pw.s) / py.s);
  const y = new Uint8Array(OH * OW * O);
  // |acc| <= K * 255 * 255 + |bias| < 2^31 for the K (<= 2^14) of these models: exact in a double.
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < O; o++) {
    let acc = bias ? bias[o]! : 0;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky * dh;
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx * dw;
        if (ix < 0 || ix >= W) continue;
        const xb = (iy * W + ix) * C;
        if (depthwise) acc += (x[xb + o]! - px.z) * (w[(ky * kw + kx) * O + o]! - pw.z); // acc += (x - zx)(w - zw)
        else {
          const wb = ((o * kh + ky) * kw + kx) * C;
          for (let c = 0; c < C; c++) acc += (x[xb + c]! - px.z) * (w[wb + c]! - pw.z);
        }
      }
    }
    const v = multiplyByQuantizedMultiplier(acc, multiplier, shift) + py.z;
    y[(oy * OW + ox) * O + o] = Math.min(Math.max(v, lo), hi);
  }
  return y;
}

/** The uint8 add kernel: both inputs shifted left by 20, scaled to twice the larger input scale, summed, requantized. */
function add(a: Uint8Array, b: Uint8Array, at: TfliteTensor, bt: TfliteTensor, yt: TfliteTensor, act: FusedActivation): Uint8Array {
  const pa = params(at), pb = params(bt), py = params(yt);
  const leftShift = 20;
  const twiceMax = 2 * Math.max(pa.s, pb.s);
  const ma = quantizeMultiplier(pa.s / twiceMax), mb = quantizeMultiplier(pb.s / twiceMax);
  const my = quantizeMultiplier(twiceMax / (2 ** leftShift * py.s));
  const [lo, hi] = activationRange(act, py.s, py.z);
  const y = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const sa = multiplyByQuantizedMultiplier((a[i]! - pa.z) * 2 ** leftShift, ma.multiplier, ma.shift);
    const sb = multiplyByQuantizedMultiplier((b[i]! - pb.z) * 2 ** leftShift, mb.multiplier, mb.shift);
    const v = multiplyByQuantizedMultiplier(sa + sb, my.multiplier, my.shift) + py.z;
    y[i] = Math.min(Math.max(v, lo), hi);
  }
  return y;
}

/** Average pool: (sum + count / 2) / count over the window's valid taps; max pool: the largest tap. Parameters are the input's. */
function pool(max: boolean, o: Pool2DOptions, x: Uint8Array, xt: TfliteTensor, yt: TfliteTensor): Uint8Array {
  const [, H, W, C] = xt.shape as [number, number, number, number];
  const [, OH, OW] = yt.shape as [number, number, number, number];
  const pt = o.padding === 'SAME' ? samePadding(H, o.filterH, o.strideH, 1)[0] : 0;
  const pl = o.padding === 'SAME' ? samePadding(W, o.filterW, o.strideW, 1)[0] : 0;
  const py = params(yt);
  const [lo, hi] = activationRange(o.activation, py.s, py.z);
  const y = new Uint8Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
    let acc = 0, count = 0, best = 0;
    for (let ky = 0; ky < o.filterH; ky++) for (let kx = 0; kx < o.filterW; kx++) {
      const iy = oy * o.strideH - pt + ky, ix = ox * o.strideW - pl + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const v = x[(iy * W + ix) * C + c]!;
      acc += v; count++; best = Math.max(best, v);
    }
    const v = max ? best : Math.floor((acc + Math.floor(count / 2)) / count);
    y[(oy * OW + ox) * C + c] = Math.min(Math.max(v, lo), hi);
  }
  return y;
}
