// qu8_avgpool: SIMD == scalar twin == scalar build == the naive reference (onnxruntime's
// QLinearAveragePool arithmetic), byte for byte, over kernels, strides, pads, ceil_mode 0/1,
// count_include_pad 0/1, C not a multiple of 16, batch 2, uint8/uint12, split into parts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { QTensor } from '../../src/format/qmodel.js';
import { runCalls } from '../../src/kernels/index.js';
import { avgpoolArgs, avgpoolCalls, poolOutputSize } from '../../src/ops/avg-pool.js';
import { ceilModePads } from '../../tools/quantize/ops/pool-window.js';
import { diff, kernelImpls, loadHarness, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refAvgPool, type RefPool } from './ref-mul-concat-avgpool.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(512); });

describe('qu8_avgpool', () => {
  it('kernel/stride/pads sweeps, ceil_mode and count_include_pad 0/1, batch 1 and 2', () => {
    const r = rng(41);
    const geoms: [number, number, number, [number, number, number, number]][] = [
      // kh, kw, stride, pads
      [2, 2, 2, [0, 0, 0, 0]], [3, 3, 2, [1, 1, 1, 1]], [3, 3, 1, [1, 1, 1, 1]], [3, 3, 2, [0, 0, 0, 0]],
      [5, 5, 3, [2, 2, 2, 2]], [3, 2, 2, [0, 1, 2, 0]], [1, 1, 2, [0, 0, 0, 0]], [7, 7, 1, [0, 0, 0, 0]],
    ];
    let cases = 0;
    for (const [dx, dy] of [['uint8', 'uint8'], ['uint12', 'uint12'], ['uint8', 'uint12']] as const) {
      for (const [kh, kw, s, pads] of geoms) for (const [H, W] of [[7, 7], [8, 11], [13, 6]]) for (const C of [3, 8, 17, 40]) for (const ceil of [false, true]) {
        if (H < kh || W < kw) continue;
        const n = cases % 2 === 0 ? 2 : 1;
        const include = cases % 3 !== 0;
        const p: RefPool = { n, h: H, w: W, c: C, kernel: [kh, kw], stride: [s, s], pads, ceilMode: ceil, countIncludePad: include };
        const stored = ceil ? ceilModePads(H, W, [kh, kw], [s, s], pads) : pads;
        const op = { kernel: [kh, kw] as [number, number], stride: [s, s] as [number, number], pads: stored, countIncludePad: include };
        const qx = dx === 'uint12' ? 4095 : 255, qy = dy === 'uint12' ? 4095 : 255;
        const x: QTensor = { name: 'x', shape: [n, H, W, C], dtype: dx, scale: 0.01 + r() * 0.05, zeroPoint: randInt(r, 0, qx) };
        const [OH, OW] = poolOutputSize(H, W, op);
        const y: QTensor = { name: 'y', shape: [n, OH, OW, C], dtype: dy, scale: x.scale * (qx / qy) * (0.4 + r()), zeroPoint: randInt(r, 0, qy) };
        const xv = dx === 'uint12' ? randU12(r, n * H * W * C) : randU8(r, n * H * W * C);
        const ref = refAvgPool(xv, p, x.zeroPoint, Math.fround(x.scale), Math.fround(y.scale), y.zeroPoint, qy);
        expect([ref.oh, ref.ow]).toEqual([OH, OW]);
        for (const im of kernelImpls(h)) for (const parts of [1, 3]) {
          h.heap.reset();
          const pi = h.heap.put(xv), po = h.heap.alloc(ref.y.byteLength);
          runCalls(im.k, avgpoolCalls(avgpoolArgs(op, n, x, y, pi, po), parts, im.reference));
          const what = `avgpool ${dx}->${dy} n=${n} ${H}x${W}x${C} k=${kh}x${kw} s=${s} pads=${pads} ceil=${ceil} include=${include} parts=${parts} [${im.label}]`;
          h.heap.checkGuards(what);
          const d = diff(dy === 'uint12' ? h.heap.u16(po, ref.y.length) : h.heap.u8(po, ref.y.length), ref.y);
          if (d) throw new Error(`${what}: ${d}`);
        }
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(400);
  });
});
