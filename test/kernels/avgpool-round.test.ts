// qu8_avgpool with AVGPOOL_FLAGS.ROUND_HALF_UP / ROUND_HALF_AWAY_128 (TFLite's integer average over
// the valid taps, uint8 / int8 stored + 128): SIMD == scalar twin == scalar build == a naive loop of
// reference_ops::AveragePool's integer arithmetic, byte for byte, over kernels, strides, SAME-style
// pads (clipped windows: counts other than KH * KW), C around the 8-lane step, batch 1 and 2, split
// into parts, with the exact ties random inputs hit counted.
import { beforeAll, describe, expect, it } from 'vitest';
import type { QTensor } from '../../src/format/qmodel.js';
import { runCalls } from '../../src/kernels/index.js';
import { avgpoolArgs, avgpoolCalls, poolOutputSize } from '../../src/ops/avg-pool.js';
import { diff, kernelImpls, loadHarness, randU8, rng, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

describe('qu8_avgpool TFLite integer average', () => {
  it('uint8 ties up, int8 ties away from zero: every implementation equals the naive loop', () => {
    const r = rng(81);
    const geoms: [number, number, [number, number, number, number]][] = [
      // kernel (square), stride, pads [top, left, bottom, right]
      [2, 2, [0, 0, 0, 0]], [2, 1, [0, 0, 1, 1]], [3, 2, [1, 1, 1, 1]], [3, 1, [1, 1, 1, 1]], [4, 4, [0, 0, 0, 0]], [5, 3, [2, 2, 2, 2]], [1, 1, [0, 0, 0, 0]],
    ];
    let cases = 0, ties = 0;
    for (const int8 of [false, true]) for (const [k, s, pads] of geoms) for (const [H, W] of [[6, 6], [8, 5], [9, 7]]) for (const C of [3, 8, 13, 24]) {
      const n = cases % 2 === 0 ? 2 : 1;
      const pivot = int8 ? 128 : 0;
      const op = { kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads, countIncludePad: false, rounding: int8 ? 'half-away-from-128' as const : 'half-up' as const };
      const [OH, OW] = poolOutputSize(H, W, op);
      const x: QTensor = { name: 'x', shape: [n, H, W, C], dtype: 'uint8', scale: 0.02, zeroPoint: 131 };
      const y: QTensor = { ...x, name: 'y', shape: [n, OH, OW, C] };
      const xv = randU8(r, n * H * W * C);
      const ref = new Uint8Array(n * OH * OW * C);
      for (let b = 0; b < n; b++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
        let acc = 0, count = 0;
        for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
          const iy = oy * s - pads[0] + ky, ix = ox * s - pads[1] + kx;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
          acc += xv[((b * H + iy) * W + ix) * C + c]! - pivot;
          count++;
        }
        const half = Math.floor(count / 2);
        if (count % 2 === 0 && Math.abs(acc) % count === half) ties++;
        ref[((b * OH + oy) * OW + ox) * C + c] = pivot + (acc > 0 ? Math.trunc((acc + half) / count) : Math.trunc((acc - half) / count));
      }
      for (const im of kernelImpls(h)) for (const parts of [1, 3]) {
        h.heap.reset();
        const pi = h.heap.put(xv), po = h.heap.alloc(ref.length);
        runCalls(im.k, avgpoolCalls(avgpoolArgs(op, n, x, y, pi, po), parts, im.reference));
        const what = `avgpool ${int8 ? 'int8' : 'uint8'} n=${n} ${H}x${W}x${C} k=${k} s=${s} pads=${pads} parts=${parts} [${im.label}]`;
        h.heap.checkGuards(what);
        const d = diff(h.heap.u8(po, ref.length), ref);
        if (d) throw new Error(`${what}: ${d}`);
      }
      cases++;
    }
    expect(cases).toBe(168);
    expect(ties).toBeGreaterThan(500);
  });
});
