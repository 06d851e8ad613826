// Bias correction: with the corrected bias, a layer's output mean on its calibration statistics
// equals the fp32 layer's, up to half a step of the int32 bias.
import { describe, expect, it } from 'vitest';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Rng } from '../../tools/synth/random.js';
import { prepareGraph, type FConv } from '../../tools/quantize/prepare.js';
import { quantizeConvWeights } from '../../tools/quantize/ops/conv-weights.js';
import { weightErrorMeans } from '../../tools/quantize/bias-correction.js';
import { tinyCnn } from './tiny-cnn.js';

describe('bias correction', () => {
  it('removes the mean error of rounded weights on the calibration means', () => {
    const g = prepareGraph(readOnnx(writeOnnx(tinyCnn({ seed: 3 }))));
    const rng = new Rng(4);
    for (const op of g.ops.filter((o): o is FConv => o.op === 'conv')) {
      const inputScale = 0.03;
      const means = Float64Array.from({ length: op.inChannels }, () => rng.uniform(0, 2));
      const q = quantizeConvWeights(op, inputScale);
      const c = quantizeConvWeights(op, inputScale, means);
      expect(Array.from(c.weights)).toEqual(Array.from(q.weights));
      const err = weightErrorMeans(op, q, means);
      expect(err.some((e) => e !== 0)).toBe(true);
      const I = op.inChannels / op.group, [kh, kw] = op.kernel, per = I * kh * kw, perGroupOut = op.outChannels / op.group;
      let before = 0, after = 0;
      for (let o = 0; o < op.outChannels; o++) {
        const accScale = Math.fround(inputScale * q.scales[o]);
        const corrected = c.bias[o];
        expect(Math.abs(corrected - (op.bias[o] - err[o]) / accScale)).toBeLessThanOrEqual(0.5);
        // Output mean for an input equal to its per-channel means, fp32 weights vs quantized weights.
        let fp = op.bias[o], qb = q.bias[o] * accScale, qc = corrected * accScale;
        const gi = Math.floor(o / perGroupOut) * I;
        for (let i = 0; i < I; i++) for (let t = 0; t < kh * kw; t++) {
          const w = op.weights[o * per + i * kh * kw + t];
          const wq = q.weights[(o * kh * kw + t) * I + i];
          fp += w * means[gi + i];
          qb += wq * q.scales[o] * means[gi + i];
          qc += wq * q.scales[o] * means[gi + i];
        }
        expect(Math.abs(qc - fp)).toBeLessThanOrEqual(accScale / 2 + 1e-6);
        before += Math.abs(qb - fp);
        after += Math.abs(qc - fp);
      }
      expect(after).toBeLessThanOrEqual(before);
    }
  });
});
