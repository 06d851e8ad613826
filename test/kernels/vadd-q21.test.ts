// qu8_vadd with VADD_FLAGS.Q21 (XNNPACK's qu8 add fixed point, the add op's arithmetic
// 'xnnpack-q21'): SIMD == scalar twin == scalar build == a naive loop of
// y = clamp((am (a - za) + bm (b - zb) + 2^(shift - 1)) >> shift, lo, hi) + zo, byte for byte, over
// n around the 16-element tile, scale ratios across [2^-10, 2^8), zero points at the edges, exact
// ties (forced through the multipliers) and ReLU / Clip bounds; and the parameters xnnpackAddParams
// derives.
import { beforeAll, describe, expect, it } from 'vitest';
import { runCalls } from '../../src/kernels/index.js';
import { kernelCall, VADD_FLAGS } from '../../src/kernels/kernel-api.generated.js';
import { xnnpackAddParams } from '../../src/ops/add.js';
import { diff, kernelImpls, loadHarness, randInt, randU8, rng, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(64); });

/** The naive loop in exact integers (BigInt-free: |acc| < 2^31 fits a double exactly); >> is floor division by 2^shift. */
function naive(a: Uint8Array, b: Uint8Array, za: number, zb: number, am: number, bm: number, shift: number, zo: number, lo: number, hi: number): Uint8Array {
  return Uint8Array.from(a, (x, i) => {
    const acc = am * (x - za) + bm * (b[i]! - zb) + 2 ** (shift - 1);
    return Math.min(hi, Math.max(lo, Math.floor(acc / 2 ** shift))) + zo;
  });
}

describe('qu8_vadd Q21 (XNNPACK qu8 add)', () => {
  it('every implementation equals the naive loop', () => {
    const r = rng(91);
    let cases = 0, ties = 0;
    for (const n of [1, 7, 15, 16, 17, 33, 64, 100, 257]) for (let t = 0; t < 12; t++) {
      const so = 0.05 + r() * 0.3;
      // Ratios from 2^-10 to just under 2^8 (log-uniform), the edges included.
      const ratio = (k: number) => (k === 0 ? 2 ** -10 : k === 1 ? Math.fround(2 ** 8 * (1 - 2 ** -20)) : 2 ** (-10 + r() * 18));
      const sa = so * ratio(t), sb = so * ratio(t === 0 ? 2 : t === 1 ? 3 : t);
      const { am, bm, shift } = xnnpackAddParams(sa, sb, so);
      const za = t % 4 === 0 ? 0 : t % 4 === 1 ? 255 : randInt(r, 0, 255), zb = randInt(r, 0, 255), zo = t % 3 === 0 ? 0 : randInt(r, 0, 255);
      const a = randU8(r, n), b = randU8(r, n);
      if (t % 2 === 0) { a.fill(za); b[0] = zb; } // a - za = 0: b's term alone, ties where bm (b - zb) is an odd multiple of 2^(shift-1)
      const [lo, hi] = t % 5 === 0 ? [0, 255 - zo] : t % 5 === 1 ? [Math.max(-zo, randInt(r, -zo, 0)), Math.min(255 - zo, randInt(r, 0, 255 - zo))] : [-zo, 255 - zo];
      const ref = naive(a, b, za, zb, am, bm, shift, zo, lo, hi);
      for (let i = 0; i < n; i++) if ((am * (a[i]! - za) + bm * (b[i]! - zb)) % 2 ** shift === 2 ** (shift - 1)) ties++;
      for (const im of kernelImpls(h)) {
        h.heap.reset();
        const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(n);
        runCalls(im.k, [kernelCall(im.reference ? 'qu8_vadd_ref' : 'qu8_vadd', {
          n, a: pa, b: pb, out: po, za, zb, ma: am, mb: bm, zo, fmin: lo, fmax: hi, flags: VADD_FLAGS.Q21 | shift * VADD_FLAGS.SHIFT_1,
        })]);
        const what = `vadd q21 n=${n} am=${am} bm=${bm} shift=${shift} za=${za} zb=${zb} zo=${zo} [${lo}, ${hi}] [${im.label}]`;
        h.heap.checkGuards(what);
        const d = diff(h.heap.u8(po, n), ref);
        if (d) throw new Error(`${what}: ${d}`);
      }
      cases++;
    }
    expect(cases).toBe(108);
    console.log(`vadd q21: ${cases} cases, ${ties} exact ties`);
  });

  it('exact ties round up (the arithmetic shift), negative ones too', () => {
    // am = 2^20, shift = 21: am (a - za) / 2^21 = (a - za) / 2, a tie for every odd a - za.
    const a = Uint8Array.from({ length: 40 }, (_, i) => 100 + i - 20), b = new Uint8Array(40).fill(50);
    const ref = naive(a, b, 100, 50, 2 ** 20, 2 ** 19, 21, 128, -128, 127);
    expect(Array.from(ref.subarray(19, 22))).toEqual([128, 128, 129]); // (a - za) = -1, 0, 1: -0.5 -> 0, 0, 0.5 -> 1
    for (const im of kernelImpls(h)) {
      h.heap.reset();
      const pa = h.heap.put(a), pb = h.heap.put(b), po = h.heap.alloc(40);
      runCalls(im.k, [kernelCall(im.reference ? 'qu8_vadd_ref' : 'qu8_vadd', { n: 40, a: pa, b: pb, out: po, za: 100, zb: 50, ma: 2 ** 20, mb: 2 ** 19, zo: 128, fmin: -128, fmax: 127, flags: VADD_FLAGS.Q21 | 21 * VADD_FLAGS.SHIFT_1 })]);
      expect(diff(h.heap.u8(po, 40), ref), im.label).toBeNull();
    }
  });

  it('xnnpackAddParams: shift 20 - exponent of the larger ratio, its multiplier in [2^20, 2^21], lrintf', () => {
    // The parameters that reproduce tfjs-tflite's integers on ADD 9 of the Coral MobileNetV2 (752640 values; docs/tflite.md).
    expect(xnnpackAddParams(0.4014929533004761, 0.2758343517780304, 0.43216896057128906)).toEqual({ am: 1948293, bm: 1338520, shift: 21 });
    const r = rng(92);
    for (let i = 0; i < 200; i++) {
      const so = 0.01 + r(), sa = so * 2 ** (-10 + r() * 18), sb = so * 2 ** (-10 + r() * 18);
      const { am, bm, shift } = xnnpackAddParams(sa, sb, so);
      expect(shift).toBeGreaterThanOrEqual(12);
      expect(shift).toBeLessThanOrEqual(30);
      expect(Math.max(am, bm)).toBeGreaterThanOrEqual(2 ** 20);
      expect(Math.max(am, bm)).toBeLessThanOrEqual(2 ** 21);
      const ra = Math.fround(Math.fround(sa) / Math.fround(so));
      expect(Math.abs(am - ra * 2 ** shift)).toBeLessThanOrEqual(0.5);
    }
  });
});
