// qu8_vmul: SIMD == scalar twin == scalar build == the naive reference, byte for byte, over
// channel-broadcast ([N,H,W,C] x [N,1,1,C]) and same-shape operands, every uint8/uint12 mix.
import { beforeAll, describe, expect, it } from 'vitest';
import type { QTensor } from '../../src/format/qmodel.js';
import { runCalls } from '../../src/kernels/index.js';
import { mulCalls, mulMultiplier } from '../../src/ops/mul.js';
import { diff, kernelImpls, loadHarness, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refMul } from './ref-mul-concat-avgpool.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

const tensor = (shape: QTensor['shape'], dtype: 'uint8' | 'uint12', r: () => number): QTensor => ({
  name: 't', shape, dtype, scale: 0.002 + r() * 0.05, zeroPoint: randInt(r, 0, dtype === 'uint12' ? 4095 : 255),
});

describe('qu8_vmul', () => {
  const mixes = [['uint8', 'uint8', 'uint8'], ['uint12', 'uint8', 'uint8'], ['uint8', 'uint12', 'uint12'], ['uint12', 'uint12', 'uint12']] as const;
  for (const broadcast of [true, false]) {
    it(`${broadcast ? 'channel broadcast [N,H,W,C] x [N,1,1,C]' : 'same shapes'}: H, W, C sweeps (C not a multiple of 16), batch 1 and 2, split into parts`, () => {
      const r = rng(broadcast ? 21 : 22);
      let cases = 0;
      for (const [da, db, dy] of mixes) {
        for (const n of [1, 2]) for (const [H, W] of [[1, 2], [3, 5], [7, 7], [14, 9]]) for (const C of [1, 7, 8, 15, 16, 17, 40, 72]) {
          const a = tensor([n, H, W, C], da, r), b = tensor(broadcast ? [n, 1, 1, C] : [n, H, W, C], db, r);
          const y = tensor([n, H, W, C], dy, r);
          // Output scale near the product's: values spread over the range, some saturating.
          y.scale = a.scale * b.scale * (dy === 'uint12' ? 4 : 60) * (0.5 + r());
          const av = da === 'uint12' ? randU12(r, n * H * W * C) : randU8(r, n * H * W * C);
          const bv = db === 'uint12' ? randU12(r, b.shape.reduce((p, q) => p * q)) : randU8(r, b.shape.reduce((p, q) => p * q));
          const qmax = dy === 'uint12' ? 4095 : 255;
          const expected = refMul(av, bv, n, H * W, C, broadcast, a.zeroPoint, b.zeroPoint, mulMultiplier(a, b, y), y.zeroPoint, qmax);
          const outBytes = expected.byteLength;
          for (const im of kernelImpls(h)) {
            for (const parts of [1, 3]) {
              h.heap.reset();
              const pa = h.heap.put(av), pb = h.heap.put(bv), po = h.heap.alloc(outBytes);
              runCalls(im.k, mulCalls(n, a, b, y, pa, pb, po, parts, im.reference));
              const what = `vmul ${da}*${db}->${dy} n=${n} ${H}x${W}x${C} parts=${parts} [${im.label}]`;
              h.heap.checkGuards(what);
              const got = dy === 'uint12' ? h.heap.u16(po, expected.length) : h.heap.u8(po, expected.length);
              const d = diff(got, expected);
              if (d) throw new Error(`${what}: ${d}`);
            }
          }
          cases++;
        }
      }
      expect(cases).toBe(mixes.length * 2 * 4 * 8);
    });
  }

  it('ties round half to even and the clamp saturates at 0 and qmax', () => {
    // m = 0.5 exactly: odd products land on .5; zero point 128 puts both ends in reach.
    const a: QTensor = { name: 'a', shape: [1, 4, 4, 16], dtype: 'uint8', scale: 0.5, zeroPoint: 128 };
    const b: QTensor = { name: 'b', shape: [1, 1, 1, 16], dtype: 'uint8', scale: 0.25, zeroPoint: 120 };
    const y: QTensor = { name: 'y', shape: [1, 4, 4, 16], dtype: 'uint8', scale: 0.25, zeroPoint: 128 };
    expect(mulMultiplier(a, b, y)).toBe(0.5);
    const av = Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 255), bv = Uint8Array.from({ length: 16 }, (_, i) => 113 + i);
    const expected = refMul(av, bv, 1, 16, 16, true, 128, 120, 0.5, 128, 255);
    expect(expected).toContain(0);
    expect(expected).toContain(255);
    for (const im of kernelImpls(h)) {
      h.heap.reset();
      const pa = h.heap.put(av), pb = h.heap.put(bv), po = h.heap.alloc(256);
      runCalls(im.k, mulCalls(1, a, b, y, pa, pb, po, 1, im.reference));
      expect(diff(h.heap.u8(po, 256), expected), im.label).toBeNull();
    }
  });
});
