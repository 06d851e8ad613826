// qu8_gavgpool with GAVGPOOL_FLAG_ROUND_HALF_UP / ROUND_HALF_AWAY_128 (TFLite's integer average of
// uint8 / int8 stored + 128): SIMD == scalar twin == scalar build == a naive loop of
// reference_ops::AveragePool's integer arithmetic, byte for byte, over HW (odd, even, 1, large),
// C around the 8-lane tile, batch 1 and 2, with exact ties forced in half the channels and the
// extremes (all 0, all 255).
import { beforeAll, describe, expect, it } from 'vitest';
import { runCalls } from '../../src/kernels/index.js';
import { GAVGPOOL_FLAGS, kernelCall } from '../../src/kernels/kernel-api.generated.js';
import { diff, kernelImpls, loadHarness, randU8, rng, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

/** The naive loop: uint8 (acc + count / 2) / count; int8 (acc +- count / 2) / count truncated, acc over v - 128. */
function naive(x: Uint8Array, n: number, hw: number, c: number, int8: boolean): Uint8Array {
  const y = new Uint8Array(n * c);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    let acc = 0;
    for (let p = 0; p < hw; p++) acc += x[(b * hw + p) * c + ch]! - (int8 ? 128 : 0);
    const half = Math.floor(hw / 2);
    const q = acc > 0 ? Math.trunc((acc + half) / hw) : Math.trunc((acc - half) / hw);
    y[b * c + ch] = q + (int8 ? 128 : 0);
  }
  return y;
}

/** Moves channel ch's sum (around pivot) onto the tie +-(k + 1/2) * hw by adjusting its pixels within 0..255. */
function forceTie(x: Uint8Array, b: number, hw: number, c: number, ch: number, pivot: number, r: () => number): void {
  let acc = 0;
  for (let p = 0; p < hw; p++) acc += x[(b * hw + p) * c + ch]! - pivot;
  const k = Math.round(acc / hw - 0.5), sign = r() < 0.5 ? -1 : 1;
  let target = pivot === 0 ? Math.abs(k) * hw + hw / 2 : sign * (Math.abs(k) * hw + hw / 2);
  if (pivot === 0 && target > 255 * hw) target -= hw;
  let need = target - acc;
  for (let p = 0; p < hw && need !== 0; p++) {
    const i = (b * hw + p) * c + ch, v = x[i]!;
    const nv = Math.min(255, Math.max(0, v + need));
    need -= nv - v;
    x[i] = nv;
  }
  if (need !== 0) throw new Error('forceTie: target out of range');
}

describe('qu8_gavgpool TFLite integer average', () => {
  it('uint8 ties up, int8 ties away from zero: every implementation equals the naive loop', () => {
    const r = rng(71);
    let cases = 0, ties = 0;
    for (const int8 of [false, true]) for (const hw of [1, 2, 4, 6, 16, 49, 64, 100]) for (const c of [1, 7, 8, 9, 16, 33, 256]) for (const n of [1, 2]) {
      const pivot = int8 ? 128 : 0;
      const x = randU8(r, n * hw * c);
      if (hw % 2 === 0) for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch += 2) { forceTie(x, b, hw, c, ch, pivot, r); ties++; }
      const ref = naive(x, n, hw, c, int8);
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(x), po = h.heap.alloc(n * c);
        // zi, scale, zo, fmin, fmax are unused by the integer average: garbage catches a path that reads them.
        const flags = int8 ? GAVGPOOL_FLAGS.ROUND_HALF_AWAY_128 : GAVGPOOL_FLAGS.ROUND_HALF_UP;
        runCalls(im.k, [kernelCall(im.reference ? 'qu8_gavgpool_ref' : 'qu8_gavgpool', { N: n, HW: hw, C: c, inp: pi, out: po, zi: 77, scale: 3.5, zo: 9, fmin: -1, fmax: 1, flags })]);
        const what = `gavgpool ${int8 ? 'int8' : 'uint8'} n=${n} HW=${hw} C=${c} [${im.label}]`;
        h.heap.checkGuards(what);
        const d = diff(h.heap.u8(po, n * c), ref);
        if (d) throw new Error(`${what}: ${d}`);
      }
      cases++;
    }
    expect(cases).toBe(224);
    expect(ties).toBeGreaterThan(1000);
  });

  it('the extremes and the largest HW the host allows (65280) stay exact', () => {
    const r = rng(72);
    for (const hw of [255, 4096, 65280]) for (const fill of ['zeros', 'max', 'random'] as const) for (const int8 of [false, true]) {
      const c = 9;
      const x = fill === 'zeros' ? new Uint8Array(hw * c) : fill === 'max' ? new Uint8Array(hw * c).fill(255) : randU8(r, hw * c);
      const ref = naive(x, 1, hw, c, int8);
      if (fill !== 'random') expect(Array.from(ref)).toEqual(new Array(c).fill(fill === 'zeros' ? 0 : 255));
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pi = h.heap.put(x), po = h.heap.alloc(c);
        const flags = int8 ? GAVGPOOL_FLAGS.ROUND_HALF_AWAY_128 : GAVGPOOL_FLAGS.ROUND_HALF_UP;
        runCalls(im.k, [kernelCall(im.reference ? 'qu8_gavgpool_ref' : 'qu8_gavgpool', { N: 1, HW: hw, C: c, inp: pi, out: po, zi: 0, scale: 1, zo: 0, fmin: 0, fmax: 255, flags })]);
        const what = `gavgpool ${int8 ? 'int8' : 'uint8'} HW=${hw} ${fill} [${im.label}]`;
        h.heap.checkGuards(what);
        const d = diff(h.heap.u8(po, c), ref);
        if (d) throw new Error(`${what}: ${d}`);
      }
    }
  });
});
