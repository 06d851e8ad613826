// Bias correction (Nagel et al., "Data-Free Quantization", the empirical variant): rounding the
// weights shifts each output channel's mean by  e[c] = sum over taps and input channels of
// (w_q[c,i,t] * s[c] - w[c,i,t]) * E[x_i],  with E[x_i] the input's per-channel mean measured during
// calibration. Removing e[c] from the int32 bias makes the quantized layer unbiased for that input.
import type { FConv } from './prepare.js';
import type { QuantizedConvWeights } from './ops/conv-weights.js';

/** Per output channel, the mean error the quantized weights add (real units). */
export function weightErrorMeans(op: FConv, q: QuantizedConvWeights, inputMeans: ArrayLike<number>): Float64Array {
  const O = op.outChannels, I = op.inChannels / op.group, [kh, kw] = op.kernel;
  const perGroupOut = O / op.group;
  const err = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / perGroupOut);
    const s = q.scales[o];
    let e = 0;
    for (let i = 0; i < I; i++) {
      const mean = inputMeans[g * I + i];
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
        const w = op.weights[((o * I + i) * kh + y) * kw + x];
        const wq = q.weights[((o * kh + y) * kw + x) * I + i];
        e += (wq * s - w) * mean;
      }
    }
    err[o] = e;
  }
  return err;
}
