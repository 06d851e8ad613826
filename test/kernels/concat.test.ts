// qu8_concat: SIMD == scalar twin == scalar build == the naive reference, byte for byte: copied
// inputs (the output's dtype, scale and zero point) and requantized ones, C not a multiple of 16.
import { beforeAll, describe, expect, it } from 'vitest';
import type { QTensor } from '../../src/format/qmodel.js';
import { runCalls } from '../../src/kernels/index.js';
import { concatCalls, concatCopies } from '../../src/ops/concat.js';
import { diff, kernelImpls, loadHarness, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refConcat } from './ref-mul-concat-avgpool.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

describe('qu8_concat', () => {
  it('2..4 inputs, copied and requantized, uint8 and uint12, batch 1 and 2, split into parts', () => {
    const r = rng(31);
    let copied = 0, requantized = 0;
    for (const dy of ['uint8', 'uint12'] as const) {
      for (const n of [1, 2]) for (const [H, W] of [[1, 1], [3, 5], [16, 17]]) for (const channels of [[1, 2], [16, 16], [7, 9, 40], [64, 64, 3, 17]]) {
        const qmax = dy === 'uint12' ? 4095 : 255;
        const y: QTensor = { name: 'y', shape: [n, H, W, channels.reduce((a, b) => a + b)], dtype: dy, scale: 0.01 + r() * 0.05, zeroPoint: randInt(r, 0, qmax) };
        const xs = channels.map((c, k): QTensor => {
          const dx = k % 3 === 2 ? (dy === 'uint8' ? 'uint12' : 'uint8') : dy;
          // Every other input shares the output's parameters: a copy.
          return k % 2 === 0 && dx === dy ? { name: `x${k}`, shape: [n, H, W, c], dtype: dx, scale: y.scale, zeroPoint: y.zeroPoint }
            : { name: `x${k}`, shape: [n, H, W, c], dtype: dx, scale: y.scale * (0.3 + 2 * r()), zeroPoint: randInt(r, 0, dx === 'uint12' ? 4095 : 255) };
        });
        const data = xs.map((x) => (x.dtype === 'uint12' ? randU12(r, n * H * W * x.shape[3]) : randU8(r, n * H * W * x.shape[3])));
        for (const x of xs) if (concatCopies(x, y)) copied++; else requantized++;
        const expected = refConcat(xs.map((x, k) => ({ data: data[k]!, c: x.shape[3], zi: x.zeroPoint, si: Math.fround(x.scale), copy: concatCopies(x, y) })), n * H * W, Math.fround(y.scale), y.zeroPoint, qmax);
        for (const im of kernelImpls(h)) for (const parts of [1, 2]) {
          h.heap.reset();
          const ps = data.map((d) => h.heap.put(d));
          const po = h.heap.alloc(expected.byteLength);
          runCalls(im.k, concatCalls(n, xs, y, ps, po, parts, im.reference));
          const what = `concat [${channels}] ${xs.map((x) => x.dtype)} -> ${dy} n=${n} ${H}x${W} parts=${parts} [${im.label}]`;
          h.heap.checkGuards(what);
          const d = diff(dy === 'uint12' ? h.heap.u16(po, expected.length) : h.heap.u8(po, expected.length), expected);
          if (d) throw new Error(`${what}: ${d}`);
        }
      }
    }
    expect(copied).toBeGreaterThan(20);
    expect(requantized).toBeGreaterThan(20);
  });
});
