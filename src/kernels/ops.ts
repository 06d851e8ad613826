// Typed wrappers over the small kernels (residual add, pooling) and fully connected layers.
// Multipliers are computed here in f64 and rounded once to f32 (Math.fround); the TS references
// in the tests compute them the same way.

import { EdgeqError } from '../errors.js';
import { quantMax, type QuantDtype } from '../format/qmodel.js';
import { requantArgs, type ConvOutputParams, type KernelCall } from './conv.js';
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

/** y = requant((a - za) * sa + (b - zb) * sb) into outq, optional ReLU (clamp at the zero point). */
/** qu8_vadd's arguments (shared by addQu8 and the runtime's prepared steps). ReLU clamps at the zero point; outq.dtype 'float32' gives a float output. */
export function vaddArgs(count: number, a: number, b: number, output: number, aq: QParams, bq: QParams, outq: QParams, relu = false): number[] {
  const flags = (is16(aq) ? 1 : 0) | (is16(bq) ? 2 : 0) | (is16(outq) ? 4 : 0);
  if (outq.dtype === 'float32') {
    // A float32 output (a network's last Add): real units, clamped at 0 for ReLU, not rounded.
    const m = addMultipliers(aq, bq, { scale: 1, zeroPoint: 0 });
    return [count, a, b, output, aq.zeroPoint, bq.zeroPoint, m.ma, m.mb, 0, relu ? 0 : -Infinity, Infinity, flags | 8];
  }
  const { ma, mb } = addMultipliers(aq, bq, outq);
  const zo = outq.zeroPoint;
  const lo = relu ? zo : 0;
  return [count, a, b, output, aq.zeroPoint, bq.zeroPoint, ma, mb, zo, lo - zo, qmax(outq) - zo, flags];
}

export function addQu8(k: Kernels, p: AddArgs): void {
  const f = p.reference ? k.exports.qu8_vadd_ref : k.exports.qu8_vadd;
  (f as (...args: number[]) => void)(...vaddArgs(p.count, p.a, p.b, p.output, p.aq, p.bq, p.outq, p.relu));
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

/** u8_maxpool's arguments (shared by maxPoolU8 and the runtime's prepared steps). */
export function maxpoolArgs(p: MaxPoolArgs): number[] {
  const [oh, ow] = maxPoolOutputSize(p);
  return [p.batch, p.inH, p.inW, p.channels, oh, ow, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1],
    p.pads[0], p.pads[1], p.input, p.output, is16(p) ? 1 : 0];
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
  if (p.batch === 1 && perImage === 1) return [{ fn, args }];
  const calls: KernelCall[] = [];
  for (let n = 0; n < p.batch; n++) {
    for (let i = 0; i < perImage; i++) {
      const r0 = Math.floor((oh * i) / perImage), r1 = Math.floor((oh * (i + 1)) / perImage);
      if (r1 <= r0) continue;
      calls.push({ fn, args: [1, p.inH, p.inW, p.channels, r1 - r0, ow, p.kernel[0], p.kernel[1], p.stride[0], p.stride[1],
        p.pads[0] - r0 * p.stride[0], p.pads[1], p.input + n * p.inH * p.inW * pix, p.output + (n * oh + r0) * ow * pix, is16(p) ? 1 : 0] });
    }
  }
  return calls;
}

/** uint8 (or 12-bit) max pool over NHWC (padded positions ignored; quantization passes through unchanged). */
export function maxPoolU8(k: Kernels, p: MaxPoolArgs): void {
  const f = p.reference ? k.exports.u8_maxpool_ref : k.exports.u8_maxpool;
  (f as (...args: number[]) => void)(...maxpoolArgs(p));
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

/** uint8 -> uint8 global average pool: y = round(f32(sum - HW*zi) * f32(si / (HW*so))) + zo. */
/** qu8_gavgpool's arguments (shared by globalAvgPoolU8 and the runtime's prepared steps). */
export function gavgpoolU8Args(batch: number, pixels: number, channels: number, input: number, output: number, inq: QParams, outq: QParams): number[] {
  const zo = outq.zeroPoint;
  const flags = (is16(inq) ? 1 : 0) | (is16(outq) ? 2 : 0);
  return [batch, pixels, channels, input, output, inq.zeroPoint, gapMultiplier(pixels, inq, outq), zo, -zo, qmax(outq) - zo, flags];
}

export function globalAvgPoolU8(k: Kernels, p: GlobalAvgPoolArgs & { inq: QParams; outq: QParams }): void {
  const f = p.reference ? k.exports.qu8_gavgpool_ref : k.exports.qu8_gavgpool;
  (f as (...args: number[]) => void)(...gavgpoolU8Args(p.batch, p.pixels, p.channels, p.input, p.output, p.inq, p.outq));
}

/** float32 -> float32 global average pool: f32 sum over pixels in order, divided by f32(HW). */
export function globalAvgPoolF32(k: Kernels, p: GlobalAvgPoolArgs): void {
  const f = p.reference ? k.exports.f32_gavgpool_ref : k.exports.f32_gavgpool;
  f(p.batch, p.pixels, p.channels, p.input, p.output);
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
  const f = p.reference ? k.exports.qu8_gemm_ref : k.exports.qu8_gemm;
  f(p.batch, p.outFeatures, KB, 1, p.input, p.inFeatures, p.inFeatures, p.weights, p.output,
    p.outFeatures * (r.outF32 ? 4 : r.out16 ? 2 : 1), p.outFeatures, r.zp, r.fmin, r.fmax, r.alpha, r.outF32, 0, 0, 0, r.out16);
}
