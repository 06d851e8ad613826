// Typed wrappers over the small kernels (residual add, pooling) and fully connected layers.
// Multipliers are computed here in f64 and rounded once to f32 (Math.fround); the TS references
// in the tests compute them the same way.

import { EdgeqError } from '../errors.js';
import { quantMax, type QuantDtype } from '../format/qmodel.js';
import { requantArgs, runCalls, type ConvOutputParams } from './conv.js';
import {
  GAVGPOOL_FLAGS, MAXPOOL_FLAGS, VADD_FLAGS, kernelCall,
  type KernelCall, type Qu8GavgpoolArgs, type Qu8VaddArgs, type U8MaxpoolArgs,
} from './kernel-api.generated.js';
import type { Kernels } from './wasm.js';

/** Quantization of a tensor: real = scale * (q - zeroPoint); dtype 'uint8' unless given. */
export interface QParams {
  scale: number;
  zeroPoint: number;
  /** 'uint12': 12-bit values in 16-bit lanes (the kernels' 16-bit flags). Default 'uint8'. */
  dtype?: string;
}

/** True when a tensor is stored as 16-bit lanes (12-bit activations). */
export const is16 = (q: { dtype?: string }): boolean => q.dtype === 'uint12';

/** Largest stored value of a quantized tensor. */
const qmax = (q: { dtype?: string }): number => quantMax((q.dtype ?? 'uint8') as QuantDtype);

export interface AddArgs {
  /** Elements (N * H * W * C). */
  count: number;
  a: number;
  b: number;
  output: number;
  aq: QParams;
  bq: QParams;
  outq: QParams;
  relu?: boolean;
  reference?: boolean;
}

/** The f32 multipliers the add kernel uses: ma = f32(sa / so), mb = f32(sb / so). */
export function addMultipliers(aq: QParams, bq: QParams, outq: QParams): { ma: number; mb: number } {
  return { ma: Math.fround(aq.scale / outq.scale), mb: Math.fround(bq.scale / outq.scale) };
}

/**
 * qu8_vadd's arguments (shared by addQu8 and the runtime's add op): y = requant((a - za) * sa +
 * (b - zb) * sb) into outq; ReLU clamps at the zero point; outq.dtype 'float32' gives a float output.
 */
export function vaddArgs(count: number, a: number, b: number, output: number, aq: QParams, bq: QParams, outq: QParams, relu = false): Qu8VaddArgs {
  const flags = (is16(aq) ? VADD_FLAGS.A16 : 0) | (is16(bq) ? VADD_FLAGS.B16 : 0) | (is16(outq) ? VADD_FLAGS.OUT16 : 0);
  const operands = { n: count, a, b, out: output, za: aq.zeroPoint, zb: bq.zeroPoint };
  if (outq.dtype === 'float32') {
    // A float32 output (a network's last Add): real units, clamped at 0 for ReLU, not rounded.
    const m = addMultipliers(aq, bq, { scale: 1, zeroPoint: 0 });
    return { ...operands, ma: m.ma, mb: m.mb, zo: 0, fmin: relu ? 0 : -Infinity, fmax: Infinity, flags: flags | VADD_FLAGS.OUT_F32 };
  }
  const { ma, mb } = addMultipliers(aq, bq, outq);
  const zo = outq.zeroPoint;
  const lo = relu ? zo : 0;
  return { ...operands, ma, mb, zo, fmin: lo - zo, fmax: qmax(outq) - zo, flags };
}

export function addQu8(k: Kernels, p: AddArgs): void {
  runCalls(k, [kernelCall(p.reference ? 'qu8_vadd_ref' : 'qu8_vadd', vaddArgs(p.count, p.a, p.b, p.output, p.aq, p.bq, p.outq, p.relu))]);
}

export interface MaxPoolArgs {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  kernel: readonly [number, number];
  stride: readonly [number, number];
  /** [top, left, bottom, right] */
  pads: readonly [number, number, number, number];
  input: number;
  output: number;
  reference?: boolean;
  /** Tensor dtype (input and output share it); default 'uint8'. */
  dtype?: string;
}

/** Output size of a max pool (floor mode, as ONNX's default ceil_mode = 0). */
export function maxPoolOutputSize(p: Omit<MaxPoolArgs, 'input' | 'output'>): [number, number] {
  const oh = Math.floor((p.inH + p.pads[0] + p.pads[2] - p.kernel[0]) / p.stride[0]) + 1;
  const ow = Math.floor((p.inW + p.pads[1] + p.pads[3] - p.kernel[1]) / p.stride[1]) + 1;
  if (!(oh > 0 && ow > 0)) throw new EdgeqError('BAD_SHAPE', `max pool ${JSON.stringify(p)} has an empty output`);
  return [oh, ow];
}

/** u8_maxpool's arguments for the whole pool (shared by maxPoolU8 and maxpoolCalls). */
export function maxpoolArgs(p: MaxPoolArgs): U8MaxpoolArgs {
  const [oh, ow] = maxPoolOutputSize(p);
  return {
    N: p.batch, H: p.inH, W: p.inW, C: p.channels, OH: oh, OW: ow, KH: p.kernel[0], KW: p.kernel[1], SH: p.stride[0], SW: p.stride[1],
    padTop: p.pads[0], padLeft: p.pads[1], inp: p.input, out: p.output, flags: is16(p) ? MAXPOOL_FLAGS.IO16 : 0,
  };
}

/**
 * The max pool as up to `parts` independent calls (threads): per image, ranges of output rows. A
 * range is the same kernel over a shifted window: out advanced by its first row, padTop reduced by
 * that row's input offset (it may go negative: the window then starts inside the image). A part
 * gets at least `minPartBytes` of output (tests pass 1 to split small pools).
 */
export function maxpoolCalls(p: MaxPoolArgs, parts = 1, minPartBytes = 8192): KernelCall[] {
  const args = maxpoolArgs(p);
  const [oh, ow] = maxPoolOutputSize(p);
  const fn = p.reference ? 'u8_maxpool_ref' : 'u8_maxpool';
  const pix = p.channels * (is16(p) ? 2 : 1);
  const perImage = Math.max(1, Math.min(Math.ceil(parts / p.batch), oh, Math.floor((oh * ow * pix) / minPartBytes)));
  if (p.batch === 1 && perImage === 1) return [kernelCall(fn, args)];
  const calls: KernelCall[] = [];
  for (let n = 0; n < p.batch; n++) {
    for (let i = 0; i < perImage; i++) {
      const r0 = Math.floor((oh * i) / perImage), r1 = Math.floor((oh * (i + 1)) / perImage);
      if (r1 <= r0) continue;
      calls.push(kernelCall(fn, {
        ...args, N: 1, OH: r1 - r0, padTop: p.pads[0] - r0 * p.stride[0],
        inp: p.input + n * p.inH * p.inW * pix, out: p.output + (n * oh + r0) * ow * pix,
      }));
    }
  }
  return calls;
}

/** uint8 (or 12-bit) max pool over NHWC (padded positions ignored; quantization passes through unchanged). */
export function maxPoolU8(k: Kernels, p: MaxPoolArgs): void {
  runCalls(k, [kernelCall(p.reference ? 'u8_maxpool_ref' : 'u8_maxpool', maxpoolArgs(p))]);
}

export interface GlobalAvgPoolArgs {
  batch: number;
  /** inH * inW */
  pixels: number;
  channels: number;
  input: number;
  output: number;
  reference?: boolean;
}

/** The u8 average pool multiplier: f32(si / (HW * so)). */
export function gapMultiplier(pixels: number, inq: QParams, outq: QParams): number {
  return Math.fround(inq.scale / (pixels * outq.scale));
}

/**
 * qu8_gavgpool's arguments (shared by globalAvgPoolU8 and the runtime's gap op): quantized ->
 * quantized global average pool, y = round(f32(sum - HW*zi) * f32(si / (HW*so))) + zo.
 */
export function gavgpoolU8Args(batch: number, pixels: number, channels: number, input: number, output: number, inq: QParams, outq: QParams): Qu8GavgpoolArgs {
  const zo = outq.zeroPoint;
  const flags = (is16(inq) ? GAVGPOOL_FLAGS.IN16 : 0) | (is16(outq) ? GAVGPOOL_FLAGS.OUT16 : 0);
  return { N: batch, HW: pixels, C: channels, inp: input, out: output, zi: inq.zeroPoint, scale: gapMultiplier(pixels, inq, outq), zo, fmin: -zo, fmax: qmax(outq) - zo, flags };
}

export function globalAvgPoolU8(k: Kernels, p: GlobalAvgPoolArgs & { inq: QParams; outq: QParams }): void {
  runCalls(k, [kernelCall(p.reference ? 'qu8_gavgpool_ref' : 'qu8_gavgpool', gavgpoolU8Args(p.batch, p.pixels, p.channels, p.input, p.output, p.inq, p.outq))]);
}

/** float32 -> float32 global average pool: f32 sum over pixels in order, divided by f32(HW). */
export function globalAvgPoolF32(k: Kernels, p: GlobalAvgPoolArgs): void {
  runCalls(k, [kernelCall(p.reference ? 'f32_gavgpool_ref' : 'f32_gavgpool', { N: p.batch, HW: p.pixels, C: p.channels, inp: p.input, out: p.output })]);
}

export interface FullyConnectedArgs extends ConvOutputParams {
  batch: number;
  inFeatures: number;
  outFeatures: number;
  input: number;
  output: number;
  /** packConvWeights({ kernel: [1, 1], group: 1, ... }) blob. */
  weights: number;
  reference?: boolean;
}

/** Fully connected layer: GEMM with M = batch (uint8 or float32 output). */
export function fullyConnectedQu8(k: Kernels, p: FullyConnectedArgs): void {
  const r = requantArgs(p);
  const KB = Math.ceil(p.inFeatures / 8);
  runCalls(k, [kernelCall(p.reference ? 'qu8_gemm_ref' : 'qu8_gemm', {
    M: p.batch, N: p.outFeatures, KB, groups: 1, a: p.input, aStride: p.inFeatures, aGroupStride: p.inFeatures, w: p.weights,
    out: p.output, outStride: p.outFeatures * (r.outF32 ? 4 : r.out16 ? 2 : 1), outGroupStride: p.outFeatures,
    zp: r.zp, fmin: r.fmin, fmax: r.fmax, alpha: r.alpha, beta: r.beta, outF32: r.outF32, res: 0, zr: 0, mr: 0, flags: r.out16 | r.act,
  })]);
}
