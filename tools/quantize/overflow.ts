// The int32 accumulator overflow proof. A conv kernel computes, per output channel o and pixel,
//   acc = b'[o] + sum_k w[o,k] * x[k],   b'[o] = bias[o] - zp * sum_k w[o,k]
// (the packed bias: the input zero point folded in, so the kernel multiplies stored values), with
// x[k] the stored activations: 0..255 (uint8) or 0..4095 (uint12); padding reads the zero point, also
// in range. The x[k] of one output pixel are distinct elements that can each be anywhere in range,
// so acc spans exactly
//   [b' + xmax * sum(w < 0), b' + xmax * sum(w > 0)],
// a bound that some input reaches and never larger than sum|w| * xmax + |b'|. 8-bit inputs are
// always far from 2^31 (ResNet-50's largest K, 4608: 4608 * 127 * 255 = 1.5e8), but a 12-bit layer's
// worst case can pass it (4608 * 127 * 4095 = 2.4e9), so the proof uses the actual weights and bias.
// The pairwise i16 products of i32x4.dot_i16x8_s (2 * 127 * 4095 = 1.04e6) cannot overflow on their own.
import type { QuantizedConvWeights } from './ops/conv-weights.js';

/** acc must stay below this (int32 max). */
export const ACCUMULATOR_LIMIT = 2 ** 31 - 1;
/**
 * The int32 bias may take at most this share of the range (1/8), leaving the rest to the products;
 * quantizeConvWeights raises the weight scale of a channel whose bias would need more.
 */
export const BIAS_BUDGET = 2 ** 28;

export interface AccumulatorBound {
  /** The largest |acc| any input can produce, over the output channels. */
  bound: number;
  /** The output channel that reaches it. */
  channel: number;
  /** log2(ACCUMULATOR_LIMIT / bound): spare bits; negative means the layer can overflow. */
  headroomBits: number;
  /** The largest stored input value: 255 (uint8) or 4095 (uint12). */
  maxInput: number;
}

/** Per output channel, the packed bias b' = bias - zp * sum_k w (exact: every term is far below 2^53). */
export function foldedBias(q: QuantizedConvWeights, inputZeroPoint: number): Float64Array {
  const O = q.scales.length, per = q.weights.length / O;
  const out = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let sum = 0;
    for (let k = 0; k < per; k++) sum += q.weights[o * per + k];
    out[o] = q.bias[o] - inputZeroPoint * sum;
  }
  return out;
}

export function accumulatorBound(q: QuantizedConvWeights, inputZeroPoint: number, maxInput: number): AccumulatorBound {
  const O = q.scales.length, per = q.weights.length / O;
  const b = foldedBias(q, inputZeroPoint);
  let bound = 0, channel = 0;
  for (let o = 0; o < O; o++) {
    let pos = 0, neg = 0;
    for (let k = 0; k < per; k++) {
      const w = q.weights[o * per + k];
      if (w > 0) pos += w; else neg += w;
    }
    const m = Math.max(Math.abs(b[o] + maxInput * pos), Math.abs(b[o] + maxInput * neg));
    if (m > bound) { bound = m; channel = o; }
  }
  return { bound, channel, headroomBits: bound > 0 ? Math.log2(ACCUMULATOR_LIMIT / bound) : Infinity, maxInput };
}

export function fitsAccumulator(b: AccumulatorBound): boolean {
  return b.bound < ACCUMULATOR_LIMIT;
}
