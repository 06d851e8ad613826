// f32_softmax (assembly/softmax.ts): softmax over the channels of float32 rows, SIMD build == scalar
// build (bit for bit: one scalar implementation) and within 1e-6 relative (+ 1e-44 absolute for
// results in f32's denormal range) of a naive float64 reference: exp(x - max) / sum exp(x - max).
// Row counts 1..5, channels 1..1001, spreads up to +-80 (probabilities down to ~1e-70 underflow to
// 0 or denormals), ties, guard bytes around every buffer.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadHarness, rng, randInt, type Harness } from './harness.js';
import { kernelCall, runCalls } from '../../src/kernels/index.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

/** Naive softmax over each row of C values, in float64. */
function refSoftmax(x: Float32Array, C: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = -Infinity, s = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, x[r * C + c]!);
    for (let c = 0; c < C; c++) s += Math.exp(x[r * C + c]! - m);
    for (let c = 0; c < C; c++) y[r * C + c] = Math.exp(x[r * C + c]! - m) / s;
  }
  return y;
}

describe('f32_softmax', () => {
  it('rows x channels x spreads: within 1e-6 relative of float64, SIMD build == scalar build', () => {
    const r = rng(77);
    let cases = 0;
    for (const rows of [1, 2, 5]) for (const C of [1, 2, 3, 10, 16, 1000, 1001]) for (const spread of [0, 1, 10, 80]) {
      const x = Float32Array.from({ length: rows * C }, () => Math.fround(spread * (2 * r() - 1)));
      if (C > 3) x[randInt(r, 0, x.length - 1)] = x[0]!; // a tie with the first value
      const want = refSoftmax(x, C);
      const outs: Float32Array[] = [];
      for (const k of [h.simd, h.scalar]) {
        h.heap.reset();
        const inp = h.heap.put(new Uint8Array(x.buffer.slice(0)));
        const out = h.heap.alloc(x.length * 4);
        runCalls(k, [kernelCall('f32_softmax', { rows, C, inp, out })]);
        h.heap.checkGuards(`softmax ${rows}x${C} spread ${spread}`);
        outs.push(h.heap.f32(out, x.length).slice());
      }
      expect(Array.from(outs[0]!), `${rows}x${C} spread ${spread}: SIMD vs scalar build`).toEqual(Array.from(outs[1]!));
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(outs[0]![i]! - want[i]!) - 1e-44 - 1e-6 * want[i]!);
      expect(worst, `${rows}x${C} spread ${spread}`).toBeLessThanOrEqual(0);
      cases++;
    }
    expect(cases).toBe(84);
  });
});
