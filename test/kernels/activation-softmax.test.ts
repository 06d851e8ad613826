// f32_softmax (assembly/softmax.ts): softmax over the channels of float32 rows. The SIMD path (f64x2
// exp), its scalar twin f32_softmax_ref and the scalar build agree bit for bit (the same IEEE
// operations per element, the sum in the same order), and all are within 1e-6 relative (+ 1e-44 absolute for
// results in f32's denormal range) of a naive float64 reference: exp(x - max) / sum exp(x - max).
// Row counts 1..5, channels 1..1001, spreads up to +-80 (probabilities down to ~1e-70 underflow to
// 0 or denormals), ties, -Infinity and NaN entries, guard bytes around every buffer.
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
  it('rows x channels x spreads: within 1e-6 relative of float64, SIMD path == scalar twin == scalar build', () => {
    const r = rng(77);
    let cases = 0;
    for (const rows of [1, 2, 5]) for (const C of [1, 2, 3, 10, 16, 1000, 1001]) for (const spread of [0, 1, 10, 80]) {
      const x = Float32Array.from({ length: rows * C }, () => Math.fround(spread * (2 * r() - 1)));
      if (C > 3) x[randInt(r, 0, x.length - 1)] = x[0]!; // a tie with the first value
      const want = refSoftmax(x, C);
      const outs: Float32Array[] = [];
      for (const [k, fn] of [[h.simd, 'f32_softmax'], [h.simd, 'f32_softmax_ref'], [h.scalar, 'f32_softmax']] as const) {
        h.heap.reset();
        const inp = h.heap.put(new Uint8Array(x.buffer.slice(0)));
        const out = h.heap.alloc(x.length * 4);
        runCalls(k, [kernelCall(fn, { rows, C, inp, out })]);
        h.heap.checkGuards(`softmax ${rows}x${C} spread ${spread}`);
        outs.push(h.heap.f32(out, x.length).slice());
      }
      expect(Array.from(outs[0]!), `${rows}x${C} spread ${spread}: SIMD path vs scalar twin`).toEqual(Array.from(outs[1]!));
      expect(Array.from(outs[0]!), `${rows}x${C} spread ${spread}: SIMD vs scalar build`).toEqual(Array.from(outs[2]!));
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(outs[0]![i]! - want[i]!) - 1e-44 - 1e-6 * want[i]!);
      expect(worst, `${rows}x${C} spread ${spread}`).toBeLessThanOrEqual(0);
      cases++;
    }
    expect(cases).toBe(84);
  });

  it('-Infinity entries give 0, a NaN entry gives NaN in its row, the same in every path', () => {
    const C = 13;
    const x = Float32Array.from({ length: 3 * C }, (_, i) => Math.fround(Math.sin(i) * 5));
    x[2] = -Infinity; x[C - 1] = -Infinity; // row 0: two exact zeros
    x[C + 5] = NaN; // row 1: NaN everywhere (the max and the sum see it)
    const outs: Float32Array[] = [];
    for (const [k, fn] of [[h.simd, 'f32_softmax'], [h.simd, 'f32_softmax_ref'], [h.scalar, 'f32_softmax']] as const) {
      h.heap.reset();
      const inp = h.heap.put(new Uint8Array(x.buffer.slice(0)));
      const out = h.heap.alloc(x.length * 4);
      runCalls(k, [kernelCall(fn, { rows: 3, C, inp, out })]);
      outs.push(h.heap.f32(out, x.length).slice());
    }
    const want = refSoftmax(x, C);
    for (const o of outs) {
      expect(o[2]).toBe(0);
      expect(o[C - 1]).toBe(0);
      expect(Array.from(o.subarray(C, 2 * C)).every(Number.isNaN)).toBe(true);
      for (const i of [0, 1, 3, 2 * C, 3 * C - 1]) expect(Math.abs(o[i]! - want[i]!)).toBeLessThanOrEqual(1e-6 * want[i]! + 1e-44);
    }
    expect(Array.from(outs[0]!)).toEqual(Array.from(outs[1]!));
    expect(Array.from(outs[0]!)).toEqual(Array.from(outs[2]!));
  });
});
