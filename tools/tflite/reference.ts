// A naive interpreter of a quantized TFLite graph with TensorFlow Lite's reference-kernel integer
// semantics (written from their definitions, for checking the import): per-tensor uint8 or int8
// activations, uint8 weights or int8 weights per channel, int32 accumulators, requantization by a
// Q31 fixed-point multiplier and a power-of-two shift per output channel (QuantizeMultiplier /
// MultiplyByQuantizedMultiplier), the add kernel's 20-bit left shift and three multipliers, the mul
// kernel's one multiplier, the average pool's rounded integer division, the quantized MEAN's
// multiplier and float bias, concatenation's float rescaling of inputs quantized unlike the output,
// and activation ranges rounded half away from zero (TfLiteRound). It reads the TfliteModel directly
// (not the ONNX form the importer lowers), plain loops, batch 1. Ops: CONV_2D, DEPTHWISE_CONV_2D,
// FULLY_CONNECTED, ADD, MUL, CONCATENATION, PAD, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, RESHAPE, SQUEEZE,
// a QUANTIZE after a float32 input (the caller passes its quantized output), a final DEQUANTIZE;
// LOGISTIC, HARD_SWISH and a final SOFTMAX by their float definitions (dequantize, f, quantize
// rounding half away from zero), not TFLite's fixed-point kernels for them.
import { EdgeqError } from 'edgeq';
import {
  BUILTIN, type AddOptions, type ConcatenationOptions, type Conv2DOptions, type DepthwiseConv2DOptions, type FullyConnectedOptions, type FusedActivation,
  type MulOptions, type Pool2DOptions, type SoftmaxOptions, type TfliteModel, type TfliteTensor,
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

/** The integer range of an activation tensor's type: uint8 [0, 255], int8 [-128, 127]. */
function typeRange(t: TfliteTensor): [number, number] {
  if (t.type === 3) return [0, 255];
  if (t.type === 9) return [-128, 127];
  throw new EdgeqError('UNSUPPORTED_OP', `tensor "${t.name}" is ${t.typeName}; the reference runs uint8 and int8 activations`);
}

/** CalculateActivationRangeQuantized: the fused activation's bounds within [qmin, qmax] (uint8 by default). */
export function activationRange(a: FusedActivation, scale: number, zeroPoint: number, qmin = 0, qmax = 255): [number, number] {
  const q = (v: number) => zeroPoint + tfliteRound(v / scale);
  if (a === 'NONE' || a === undefined) return [qmin, qmax];
  if (a === 'RELU') return [Math.max(qmin, q(0)), qmax];
  if (a === 'RELU6') return [Math.max(qmin, q(0)), Math.min(qmax, q(6))];
  if (a === 'RELU_N1_TO_1') return [Math.max(qmin, q(-1)), Math.min(qmax, q(1))];
  throw new EdgeqError('UNSUPPORTED_OP', `fused activation ${a} is not supported by the reference`);
}

/** The activation range of output tensor t. */
function rangeOf(a: FusedActivation | undefined, t: TfliteTensor): [number, number] {
  const p = params(t);
  return activationRange(a ?? 'NONE', p.s, p.z, ...typeRange(t));
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

/** A constant weight's integers: uint8 as they are, int8 signed. */
function weightValues(t: TfliteTensor): Int32Array {
  const d = t.data!;
  return t.type === 9 ? Int32Array.from(new Int8Array(d.buffer, d.byteOffset, d.length)) : Int32Array.from(d);
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/**
 * Runs subgraph 0 on `input` (the quantized NHWC image: uint8, or int8 values for an int8 input;
 * for a float32 input followed by QUANTIZE, the QUANTIZE's output) and returns the tensor the
 * graph ends with (the input of a final SOFTMAX unless `softmax`, else the output; the input of a
 * final DEQUANTIZE), with its scale and zero point.
 */
export function runTfliteReference(model: TfliteModel, input: ArrayLike<number>, options: { softmax?: boolean } = {}): { data: Int32Array; scale: number; zeroPoint: number } {
  const g = model.subgraphs[0]!;
  const values = new Map<number, Int32Array>();
  let ops = g.operators;
  const inT = g.tensors[g.inputs[0]!]!;
  if (inT.type === 0 && ops[0]?.builtin === BUILTIN.QUANTIZE && ops[0].inputs[0] === inT.index) {
    values.set(ops[0].outputs[0]!, Int32Array.from(input));
    ops = ops.slice(1);
  } else values.set(inT.index, Int32Array.from(input));
  let out = g.outputs[0]!;
  for (const op of ops) {
    const T = (i: number) => g.tensors[op.inputs[i]!]!;
    const v = (i: number) => { const x = values.get(op.inputs[i]!); if (!x) throw new EdgeqError('INTERNAL', `operator ${op.index}: input ${i} not computed`); return x; };
    const yt = g.tensors[op.outputs[0]!]!;
    let y: Int32Array;
    switch (op.builtin) {
      case BUILTIN.CONV_2D: case BUILTIN.DEPTHWISE_CONV_2D: case BUILTIN.FULLY_CONNECTED:
        y = convLike(op.builtin, op.options, v(0), T(0), T(1), op.inputs[2]! >= 0 ? T(2) : undefined, yt); break;
      case BUILTIN.ADD: y = add(v(0), v(1), T(0), T(1), yt, (op.options as AddOptions).activation); break;
      case BUILTIN.MUL: y = mul(v(0), v(1), T(0), T(1), yt, (op.options as Partial<MulOptions>).activation); break;
      case BUILTIN.CONCATENATION: y = concatenation(op.inputs.map((_, i) => v(i)), op.inputs.map((_, i) => T(i)), yt, (op.options as Partial<ConcatenationOptions>).activation); break;
      case BUILTIN.PAD: y = pad(v(0), T(0), T(1), yt); break;
      case BUILTIN.AVERAGE_POOL_2D: case BUILTIN.MAX_POOL_2D: y = pool(op.builtin === BUILTIN.MAX_POOL_2D, op.options as Pool2DOptions, v(0), T(0), yt); break;
      case BUILTIN.MEAN: y = mean(v(0), T(0), yt); break;
      case BUILTIN.LOGISTIC: y = pointwise(v(0), T(0), yt, (r) => 1 / (1 + Math.exp(-r))); break;
      case BUILTIN.HARD_SWISH: y = pointwise(v(0), T(0), yt, (r) => (r * Math.min(Math.max(r + 3, 0), 6)) / 6); break;
      case BUILTIN.RESHAPE: case BUILTIN.SQUEEZE: y = v(0); break;
      case BUILTIN.SOFTMAX:
        if (!options.softmax) { out = op.inputs[0]!; continue; }
        y = softmax(v(0), T(0), yt, (op.options as Partial<SoftmaxOptions>).beta ?? 1); break;
      case BUILTIN.DEQUANTIZE: if (op.outputs[0] === out) out = op.inputs[0]!; continue;
      default: throw new EdgeqError('UNSUPPORTED_OP', `operator ${op.index} (${op.opName}) is not in the reference`);
    }
    values.set(yt.index, y);
  }
  const p = params(g.tensors[out]!);
  return { data: values.get(out)!, scale: p.s, zeroPoint: p.z };
}

/**
 * Conv, depthwise conv and fully connected: acc = bias + sum (x - zx)(w - zw); padded taps add
 * nothing. One multiplier per output channel: QuantizeMultiplier(double(s_x * s_w[c] / s_y)), as
 * TFLite's per-channel kernels compute it (a per-tensor weight gives every channel the same one).
 */
function convLike(kind: number, options: unknown, x: Int32Array, xt: TfliteTensor, wt: TfliteTensor, bt: TfliteTensor | undefined, yt: TfliteTensor): Int32Array {
  const px = params(xt), py = params(yt);
  const wq = wt.quantization!;
  const w = weightValues(wt), bias = bt ? int32s(bt) : undefined;
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
  const per = wq.scale.length > 1;
  if (per && wq.scale.length !== O) throw new EdgeqError('BAD_MODEL', `weight "${wt.name}": ${wq.scale.length} scales for ${O} output channels`);
  const OH = kind === BUILTIN.FULLY_CONNECTED ? 1 : yt.shape[1]!, OW = kind === BUILTIN.FULLY_CONNECTED ? 1 : yt.shape[2]!;
  const [lo, hi] = rangeOf(act, yt);
  // TFLite computes input_scale * filter_scale / output_scale in double.
  const mult = Array.from({ length: O }, (_, o) => quantizeMultiplier((px.s * wq.scale[per ? o : 0]!) / py.s));
  const zw = (o: number) => wq.zeroPoint[per ? o : 0]!;
  const y = new Int32Array(OH * OW * O);
  // |acc| <= K * 255 * 255 + |bias| < 2^31 for the K (<= 2^14) of these models: exact in a double.
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < O; o++) {
    let acc = bias ? bias[o]! : 0;
    const z = zw(o);
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky * dh;
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx * dw;
        if (ix < 0 || ix >= W) continue;
        const xb = (iy * W + ix) * C;
        if (depthwise) acc += (x[xb + o]! - px.z) * (w[(ky * kw + kx) * O + o]! - z); // acc += (x - zx)(w - zw)
        else {
          const wb = ((o * kh + ky) * kw + kx) * C;
          for (let c = 0; c < C; c++) acc += (x[xb + c]! - px.z) * (w[wb + c]! - z);
        }
      }
    }
    const v = multiplyByQuantizedMultiplier(acc, mult[o]!.multiplier, mult[o]!.shift) + py.z;
    y[(oy * OW + ox) * O + o] = clamp(v, lo, hi);
  }
  return y;
}

/** The add kernel (uint8 and int8): both inputs shifted left by 20, scaled to twice the larger input scale, summed, requantized. */
function add(a: Int32Array, b: Int32Array, at: TfliteTensor, bt: TfliteTensor, yt: TfliteTensor, act: FusedActivation): Int32Array {
  const pa = params(at), pb = params(bt), py = params(yt);
  const leftShift = 20;
  const twiceMax = 2 * Math.max(pa.s, pb.s);
  const ma = quantizeMultiplier(pa.s / twiceMax), mb = quantizeMultiplier(pb.s / twiceMax);
  const my = quantizeMultiplier(twiceMax / (2 ** leftShift * py.s));
  const [lo, hi] = rangeOf(act, yt);
  const y = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const sa = multiplyByQuantizedMultiplier((a[i]! - pa.z) * 2 ** leftShift, ma.multiplier, ma.shift);
    const sb = multiplyByQuantizedMultiplier((b[i]! - pb.z) * 2 ** leftShift, mb.multiplier, mb.shift);
    const v = multiplyByQuantizedMultiplier(sa + sb, my.multiplier, my.shift) + py.z;
    y[i] = clamp(v, lo, hi);
  }
  return y;
}

/** The mul kernel: (a - za)(b - zb) times QuantizeMultiplier(s_a s_b / s_y), + zy; b may be a [1, 1, 1, C] gate broadcast over H x W (either operand). */
function mul(a: Int32Array, b: Int32Array, at: TfliteTensor, bt: TfliteTensor, yt: TfliteTensor, act: FusedActivation | undefined): Int32Array {
  const pa = params(at), pb = params(bt), py = params(yt);
  const m = quantizeMultiplier((pa.s * pb.s) / py.s);
  const [lo, hi] = rangeOf(act, yt);
  const n = Math.max(a.length, b.length), C = yt.shape[yt.shape.length - 1]!;
  const at_ = (x: Int32Array, i: number) => x[x.length === n ? i : i % C]!;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = multiplyByQuantizedMultiplier((at_(a, i) - pa.z) * (at_(b, i) - pb.z), m.multiplier, m.shift) + py.z;
    y[i] = clamp(v, lo, hi);
  }
  return y;
}

/**
 * Concatenation along the last axis: an input quantized like the output is copied; any other is
 * rescaled as ConcatenationWithScaling does: round(x * scale + bias) + zy with float32 scale
 * s_x / s_y and bias -zx * scale (std::round: half away from zero), clamped to the type.
 */
function concatenation(xs: Int32Array[], ts: TfliteTensor[], yt: TfliteTensor, act: FusedActivation | undefined): Int32Array {
  if ((act ?? 'NONE') !== 'NONE') throw new EdgeqError('UNSUPPORTED_OP', 'the reference concatenates without a fused activation');
  const py = params(yt);
  const [lo, hi] = typeRange(yt);
  const f = Math.fround;
  const C = yt.shape[yt.shape.length - 1]!, rows = yt.shape.reduce((a, d) => a * d, 1) / C;
  const y = new Int32Array(rows * C);
  let c0 = 0;
  xs.forEach((x, k) => {
    const p = params(ts[k]!), Ck = ts[k]!.shape[ts[k]!.shape.length - 1]!;
    const copy = p.s === py.s && p.z === py.z;
    const scale = f(f(p.s) * f(1 / py.s)), bias = f(-p.z * scale);
    for (let r = 0; r < rows; r++) for (let c = 0; c < Ck; c++) {
      const v = x[r * Ck + c]!;
      y[r * C + c0 + c] = copy ? v : clamp(tfliteRound(f(f(v * scale) + bias)) + py.z, lo, hi);
    }
    c0 += Ck;
  });
  return y;
}

/** PAD of a quantized tensor: new positions hold the output's zero point (real 0). */
function pad(x: Int32Array, xt: TfliteTensor, pt: TfliteTensor, yt: TfliteTensor): Int32Array {
  const p = int32s(pt);
  const [, H, W, C] = xt.shape as [number, number, number, number];
  const [, OH, OW] = yt.shape as [number, number, number, number];
  const y = new Int32Array(OH * OW * C).fill(params(yt).z);
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) y[((h + p[2]!) * OW + w + p[4]!) * C + c] = x[(h * W + w) * C + c]!;
  return y;
}

/**
 * Average pool over the window's valid taps: uint8 (sum + count / 2) / count, int8 rounded half away
 * from zero (C++ division truncates); max pool: the largest tap. Parameters are the input's.
 */
function pool(max: boolean, o: Pool2DOptions, x: Int32Array, xt: TfliteTensor, yt: TfliteTensor): Int32Array {
  const [, H, W, C] = xt.shape as [number, number, number, number];
  const [, OH, OW] = yt.shape as [number, number, number, number];
  const pt = o.padding === 'SAME' ? samePadding(H, o.filterH, o.strideH, 1)[0] : 0;
  const pl = o.padding === 'SAME' ? samePadding(W, o.filterW, o.strideW, 1)[0] : 0;
  const [lo, hi] = rangeOf(o.activation, yt);
  const y = new Int32Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
    let acc = 0, count = 0, best = -Infinity;
    for (let ky = 0; ky < o.filterH; ky++) for (let kx = 0; kx < o.filterW; kx++) {
      const iy = oy * o.strideH - pt + ky, ix = ox * o.strideW - pl + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const v = x[(iy * W + ix) * C + c]!;
      acc += v; count++; best = Math.max(best, v);
    }
    const half = Math.floor(count / 2);
    const v = max ? best : xt.type === 9 ? Math.trunc((acc > 0 ? acc + half : acc - half) / count) : Math.floor((acc + half) / count);
    y[(oy * OW + ox) * C + c] = clamp(v, lo, hi);
  }
  return y;
}

/**
 * MEAN over H and W (reference_ops::Mean for quantized types): sum of the raw values times
 * QuantizeMultiplier(s_x / (HW * s_y)), plus the bias zy - (int)(zx * s_x / s_y +- 0.5) computed
 * in float32.
 */
function mean(x: Int32Array, xt: TfliteTensor, yt: TfliteTensor): Int32Array {
  const [, H, W, C] = xt.shape as [number, number, number, number];
  const px = params(xt), py = params(yt);
  const f = Math.fround;
  let temp = f(f(px.z * px.s) / py.s);
  temp = temp > 0 ? f(temp + 0.5) : f(temp - 0.5);
  const bias = py.z - Math.trunc(temp);
  const m = quantizeMultiplier(f(px.s / f(H * W * py.s)));
  const [lo, hi] = typeRange(yt);
  const y = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let p = 0; p < H * W; p++) acc += x[p * C + c]!;
    y[c] = clamp(multiplyByQuantizedMultiplier(acc, m.multiplier, m.shift) + bias, lo, hi);
  }
  return y;
}

/** An elementwise activation by its float definition: q_y = round(f(s_x (x - zx)) / s_y) + zy, half away from zero, clamped. */
function pointwise(x: Int32Array, xt: TfliteTensor, yt: TfliteTensor, fn: (r: number) => number): Int32Array {
  const px = params(xt), py = params(yt);
  const [lo, hi] = typeRange(yt);
  return Int32Array.from(x, (v) => clamp(tfliteRound(fn(px.s * (v - px.z)) / py.s) + py.z, lo, hi));
}

/** Softmax over the last axis by its definition, softmax(beta * s_x (x - zx)) in double, quantized into the output's parameters. */
function softmax(x: Int32Array, xt: TfliteTensor, yt: TfliteTensor, beta: number): Int32Array {
  const px = params(xt), py = params(yt);
  const [lo, hi] = typeRange(yt);
  const C = xt.shape[xt.shape.length - 1]!;
  const y = new Int32Array(x.length);
  for (let r = 0; r < x.length; r += C) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, x[r + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(beta * px.s * (x[r + c]! - mx));
    for (let c = 0; c < C; c++) y[r + c] = clamp(tfliteRound(Math.exp(beta * px.s * (x[r + c]! - mx)) / sum / py.s) + py.z, lo, hi);
  }
  return y;
}
