// packGemmRelaxed4x8c4's choice for weights outside [-127, 127] (docs/format-packing.md,
// "qu8-gemm-4x8c4"): sparse corrections when each block of 8 channels has at most
// C4_MAX_CORRECTIONS of them within +-254, channel offsets otherwise, none when a channel spans more
// than 254 values; the entries and stored weights decoded against the source weights. The
// kernels' results on both forms: test/kernels/relaxed-cases.ts (gemmC4Cases).
import { describe, expect, it } from 'vitest';
import { packConv } from '../../src/kernels/packing.js';
import { planConv2d } from '../../src/kernels/conv.js';
import { C4_MAX_CORRECTIONS, c4BlockBytes, packGemmRelaxed4x8c4 } from '../../src/kernels/relaxed-c4.js';
import { expandWideWeights } from '../../src/kernels/packing.js';

const K = 24, N = 20;

/** Weights in [-lim, lim] (deterministic), then the given [channel, k, value] set. */
function layer(set: [number, number, number][], lim = 100) {
  const w = new Int16Array(K * N).map((_, i) => ((i * 37) % (2 * lim + 1)) - lim);
  for (const [c, k, v] of set) w[c * K + k] = v;
  const { packing, blob } = packConv({ outChannels: N, inChannels: K, kernel: [1, 1], group: 1, weights: w, bias: new Int32Array(N).fill(5), multipliers: new Float32Array(N).fill(0.01), inputZeroPoint: 3 });
  const plan = planConv2d({ batch: 1, inH: 1, inW: 4, inChannels: K, outChannels: N, kernel: [1, 1] }, packing);
  return { w, c4: packGemmRelaxed4x8c4(plan.wide ? expandWideWeights(blob, plan) : blob, plan, 'u8xs8') };
}

describe('qu8-gemm-4x8c4 weights outside [-127, 127]', () => {
  it('a few per block: corrections; stored weight + b = the weight, the list ends at the first b = 0', () => {
    const set: [number, number, number][] = [[0, 0, -128], [3, 7, 200], [3, 2, -254], [12, 23, 128]];
    const { w, c4 } = layer(set);
    expect(c4).toMatchObject({ rowSums: false, corrections: true });
    const dv = new DataView(c4!.bytes.buffer, c4!.bytes.byteOffset), bb = c4BlockBytes(K);
    const found: [number, number, number][] = [];
    for (let blk = 0; blk < Math.ceil(N / 8); blk++) {
      for (let e = 0; e < C4_MAX_CORRECTIONS; e++) {
        const entry = dv.getInt32(blk * bb + 32 + 4 * e, true), b = entry >> 24;
        if (b === 0) break;
        const k = entry & 0xffff, ch = blk * 8 + ((entry >> 16) & 0xff);
        const stored = dv.getInt8(blk * bb + 64 + (k >> 2) * 32 + ((ch & 7) >> 2) * 16 + (ch & 3) * 4 + (k & 3));
        expect(stored + b).toBe(w[ch * K + k]);
        expect(Math.abs(stored)).toBe(127);
        found.push([ch, k, w[ch * K + k]!]);
      }
    }
    expect(found.sort((a, b) => a[0] - b[0] || a[1] - b[1])).toEqual([...set].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  });

  it('eight in one block still corrections; nine there, offsets; a 255 or a span over 254, no form', () => {
    const eight: [number, number, number][] = Array.from({ length: 8 }, (_, i) => [8 + i, i, i % 2 ? 135 : 140]);
    expect(layer(eight, 20).c4).toMatchObject({ rowSums: false, corrections: true });
    expect(layer([...eight, [15, 22, 129]], 20).c4).toMatchObject({ rowSums: true, corrections: false });
    expect(layer([[4, 4, 255]], 20).c4).toBeUndefined();
    expect(layer([[4, 4, -254], [4, 5, 60]], 20).c4).toMatchObject({ corrections: true });
    expect(layer([[4, 4, 200], [4, 5, -100]], 100).c4).toMatchObject({ corrections: true });
  });

  it('none outside: neither flag', () => {
    expect(layer([]).c4).toMatchObject({ rowSums: false, corrections: false });
  });
});
