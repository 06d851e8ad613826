// A conv's integer weights: int8 symmetric per output channel in [-127, 127] (OHWI, the kernels'
// logical order) and an int32 bias in the accumulator's scale (inputScale * weightScale[c]).
import { roundHalfEven } from 'edgeq/runtime';
import type { FConv } from './conv.js';
import { weightErrorMeans } from '../bias-correction.js';
import type { GptqWeights } from '../gptq.js';
import { BIAS_BUDGET } from '../overflow.js';

export interface QuantizedConvWeights {
  /** int8 weights, OHWI (the kernels' logical order). */
  weights: Int8Array;
  /** Per output channel, float32. */
  scales: Float32Array;
  /** int32 bias in the accumulator's scale (zero point not folded). */
  bias: Int32Array;
}

/**
 * Per output channel, max|w| / 127 (1 for an all-zero channel), float32. With `inputScale`, at least
 * |bias| / (inputScale * BIAS_BUDGET): a dead channel (BatchNorm folded its weights to ~1e-13 but left
 * a bias ~1e-7, as in torchvision's ResNet-50) would otherwise need an int32 bias beyond the
 * accumulator's range, which wraps; only such degenerate channels change.
 */
export function weightScales(op: FConv, inputScale?: number): Float32Array {
  const O = op.outChannels, per = op.weights.length / O;
  const scales = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    let maxAbs = 0;
    for (let j = 0; j < per; j++) maxAbs = Math.max(maxAbs, Math.abs(op.weights[o * per + j]));
    const s = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[o] = Math.fround(inputScale === undefined ? s : Math.max(s, Math.abs(op.bias[o]) / (inputScale * BIAS_BUDGET)));
  }
  return scales;
}

/**
 * Per-channel symmetric int8 weights (scales: weightScales); OIHW fp32 in, OHWI int8 out. With the
 * input's per-channel means, the bias also absorbs the mean error the rounded weights add (bias
 * correction). With `rounded` (GPTQ's levels, gptq.ts), a channel whose scale is the one GPTQ rounded
 * for takes its levels; the others round to nearest.
 */
export function quantizeConvWeights(op: FConv, inputScale: number, inputMeans?: ArrayLike<number>, rounded?: GptqWeights): QuantizedConvWeights {
  const { outChannels: O, kernel: [kh, kw] } = op;
  const I = op.inChannels / op.group;
  const weights = new Int8Array(O * I * kh * kw);
  const scales = weightScales(op, inputScale);
  const bias = new Int32Array(O);
  for (let o = 0; o < O; o++) {
    const s = scales[o];
    const gptq = rounded && rounded.scales[o] === s ? rounded.weights : undefined;
    for (let i = 0; i < I; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const at = ((o * I + i) * kh + y) * kw + x;
          weights[((o * kh + y) * kw + x) * I + i] = gptq ? gptq[at] : Math.max(-127, Math.min(127, roundHalfEven(op.weights[at] / s)));
        }
      }
    }
  }
  const err = inputMeans ? weightErrorMeans(op, { weights, scales, bias }, inputMeans) : undefined;
  for (let o = 0; o < O; o++) {
    const accScale = Math.fround(inputScale * scales[o]);
    const b = op.bias[o] - (err ? err[o] : 0);
    bias[o] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundHalfEven(b / accScale)));
  }
  return { weights, scales, bias };
}

