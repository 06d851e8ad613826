// Exact integer Winograd F(2x2, 3x3): bit-exact with the direct IGEMM kernel and the TS reference,
// SIMD == scalar twin == scalar build, odd sizes, padding 0..2, channel tails, batch, extremes,
// and split into tile ranges (threads).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PACKING_GEMM, packConvWeights, packWinogradFromDirect, planConv2d, planWinograd, prepareConv2d, runCalls, conv2dCalls,
  winogradEligible, winogradFits12Bit, type Conv2dShape, type Kernels,
} from '../../src/kernels/index.js';
import { diff, loadHarness, randI8, randInt, randU12, randU8, rng, type Harness } from './harness.js';
import { refConvAcc, refRequant } from './ref.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

interface Case {
  batch: number; H: number; W: number; C: number; N: number;
  pads: [number, number, number, number]; act: 'none' | 'relu' | 'leaky'; seed: number;
  extreme?: 'max' | 'min';
  /** 12-bit input / output (16-bit lanes) */
  in12?: boolean;
  out12?: boolean;
}

function runCase(c: Case, parts = 1): void {
  const name = `wino N=${c.batch} ${c.H}x${c.W}x${c.C}->${c.N} pads[${c.pads}] ${c.act} seed=${c.seed}${c.extreme ? ` ${c.extreme}` : ''} parts=${parts}` +
    `${c.in12 ? ' in12' : ''}${c.out12 ? ' out12' : ''}`;
  const r = rng(c.seed);
  const xmax = c.in12 ? 4095 : 255, omax = c.out12 ? 4095 : 255;
  const n = c.batch * c.H * c.W * c.C;
  const x = c.extreme ? (c.in12 ? new Uint16Array(n) : new Uint8Array(n)).fill(c.extreme === 'max' ? xmax : 0) : c.in12 ? randU12(r, n) : randU8(r, n);
  const zin = c.extreme ? (c.extreme === 'max' ? 0 : xmax) : randInt(r, 0, xmax);
  const w = c.extreme ? new Int8Array(c.N * 9 * c.C).fill(c.extreme === 'max' ? 127 : -127) : randI8(r, c.N * 9 * c.C);
  const bias = Int32Array.from({ length: c.N }, () => randInt(r, -20000, 20000));
  const mscale = (c.out12 ? 16 : 1) / (c.in12 ? 16 : 1);
  const mult = Float32Array.from({ length: c.N }, () => c.extreme ? 1e-6 : mscale * (0.004 + 0.02 * r()) / Math.sqrt(9 * c.C));
  const zo = randInt(r, 0, omax);
  const alpha = c.act === 'leaky' ? Math.fround(0.1 + 0.2 * r()) : 1;
  const outMin = c.act === 'relu' ? zo : 0;
  const shape: Conv2dShape = { batch: c.batch, inH: c.H, inW: c.W, inChannels: c.C, outChannels: c.N, kernel: [3, 3], pads: c.pads, inputType: c.in12 ? 'uint12' : 'uint8' };
  expect(winogradEligible(shape)).toBe(true);
  const acc = refConvAcc({ batch: c.batch, inH: c.H, inW: c.W, inC: c.C, outC: c.N, kh: 3, kw: 3, sh: 1, sw: 1, pads: c.pads, dh: 1, dw: 1, group: 1 }, x, zin, w, bias);
  const expected = refRequant(acc, c.N, mult, { f32out: false, zp: zo, outMin, outMax: omax, fMin: -Infinity, fMax: Infinity, alpha });
  const plan = planConv2d(shape, PACKING_GEMM);
  const wp = planWinograd(shape, plan.outH, plan.outW);
  const blob = packConvWeights({ outChannels: c.N, inChannels: c.C, kernel: [3, 3], group: 1, weights: w, bias, multipliers: mult, inputZeroPoint: zin, packing: PACKING_GEMM });
  const wino = packWinogradFromDirect(blob, c.N, c.C);
  if (c.in12) expect(winogradFits12Bit(blob, c.N, c.C), name).toBe(true);
  expect(wino.length).toBe(wp.weightBytes);
  const heap = h.heap;
  heap.reset();
  const input = heap.put(x), weights = heap.put(blob), wweights = heap.put(wino);
  const rq = { outputType: c.out12 ? 'uint12' as const : 'uint8' as const, outputZeroPoint: zo, outMin, outMax: omax, alpha };
  const runs: { k: Kernels; reference: boolean; label: string; winograd: boolean }[] = [
    { k: h.simd, reference: false, label: 'winograd simd', winograd: true },
    { k: h.simd, reference: true, label: 'winograd _ref', winograd: true },
    { k: h.scalar, reference: false, label: 'winograd scalar build', winograd: true },
    { k: h.simd, reference: false, label: 'direct igemm', winograd: false },
  ];
  for (const run of runs) {
    const output = heap.alloc(plan.outputElements * (c.out12 ? 2 : 1));
    if (run.winograd) {
      const scratch = heap.alloc(wp.scratchBytes * parts);
      const calls = conv2dCalls(run.k, { shape, inputZeroPoint: zin, reference: run.reference, ...rq, packing: PACKING_GEMM, winograd: { weights: wweights }, buffers: { input, output, weights, scratch } }, parts);
      runCalls(run.k, [...calls].reverse()); // any order
    } else {
      prepareConv2d(run.k, {
        shape, inputZeroPoint: zin, ...rq, packing: PACKING_GEMM,
        buffers: { input, output, weights, indirection: heap.alloc(plan.indirectionBytes), zero: plan.zeroBytes ? heap.alloc(plan.zeroBytes) : undefined },
      })();
    }
    heap.checkGuards(`${name} [${run.label}]`);
    const d = diff(c.out12 ? heap.u16(output, plan.outputElements) : heap.u8(output, plan.outputElements), expected);
    if (d) throw new Error(`${name} [${run.label}] vs TS reference: ${d}`);
  }
}

describe('winograd F(2x2, 3x3)', () => {
  it('odd and even sizes, pads 0..2, channel tails, activations, batch 1..2', () => {
    const r = rng(606);
    let seed = 1;
    for (let i = 0; i < 40; i++) {
      const pads = [0, 0, 0, 0].map(() => (r() < 0.7 ? 1 : randInt(r, 0, 2))) as [number, number, number, number];
      const H = randInt(r, 3, 9), W = randInt(r, 3, 9);
      if (H + pads[0] + pads[2] < 3 || W + pads[1] + pads[3] < 3) continue;
      runCase({
        batch: randInt(r, 1, 2), H, W, C: [1, 3, 8, 13, 16, 24, 64][randInt(r, 0, 6)]!, N: [1, 3, 4, 5, 8, 17][randInt(r, 0, 5)]!,
        pads, act: (['none', 'relu', 'leaky'] as const)[randInt(r, 0, 2)]!, seed: seed++,
      });
    }
  });
  it('ResNet-like shapes and tile groups over several channel blocks', () => {
    runCase({ batch: 1, H: 14, W: 14, C: 64, N: 20, pads: [1, 1, 1, 1], act: 'relu', seed: 71 });
    runCase({ batch: 2, H: 7, W: 7, C: 256, N: 8, pads: [1, 1, 1, 1], act: 'none', seed: 72 });
    runCase({ batch: 1, H: 40, W: 38, C: 64, N: 8, pads: [1, 1, 1, 1], act: 'relu', seed: 73 }); // 380 tiles: several tile groups
  });
  it('extremes: no overflow at 255 x 127 (and 0 with zero point 255) up to 512 channels', () => {
    for (const C of [8, 64, 512]) {
      runCase({ batch: 1, H: 5, W: 6, C, N: 4, pads: [1, 1, 1, 1], act: 'none', seed: 90 + C, extreme: 'max' });
      runCase({ batch: 1, H: 5, W: 6, C, N: 4, pads: [1, 1, 1, 1], act: 'none', seed: 91 + C, extreme: 'min' });
    }
  });
  it('12-bit inputs and/or outputs (16-bit lanes): shapes, pads, tails, extremes within the proven bound', () => {
    const r = rng(707);
    let seed = 300;
    for (const [in12, out12] of [[true, false], [false, true], [true, true]] as const) {
      for (let i = 0; i < 12; i++) {
        const pads = [0, 0, 0, 0].map(() => (r() < 0.7 ? 1 : randInt(r, 0, 2))) as [number, number, number, number];
        const H = randInt(r, 3, 9), W = randInt(r, 3, 9);
        if (H + pads[0] + pads[2] < 3 || W + pads[1] + pads[3] < 3) continue;
        runCase({
          batch: randInt(r, 1, 2), H, W, C: [1, 3, 8, 13, 16, 24, 64][randInt(r, 0, 6)]!, N: [1, 3, 4, 5, 8, 17][randInt(r, 0, 5)]!,
          pads, act: (['none', 'relu', 'leaky'] as const)[randInt(r, 0, 2)]!, seed: seed++, in12, out12,
        }, 1 + (i % 3));
      }
    }
    // 4095 x 127 over 9 x 64 taps: 4 x |accumulator| = 1.2e9 < 2^31, the largest all-extreme case the proof admits.
    runCase({ batch: 1, H: 5, W: 6, C: 64, N: 4, pads: [1, 1, 1, 1], act: 'none', seed: 400, extreme: 'max', in12: true, out12: true });
    runCase({ batch: 1, H: 5, W: 6, C: 64, N: 4, pads: [1, 1, 1, 1], act: 'none', seed: 401, extreme: 'min', in12: true, out12: true });
  });
  it('the 12-bit proof rejects weights whose 4 x accumulator could reach 2^31', () => {
    const blobOf = (C: number, v: number) => packConvWeights({ outChannels: 4, inChannels: C, kernel: [3, 3], group: 1, weights: new Int8Array(4 * 9 * C).fill(v), multipliers: new Float32Array(4).fill(1e-6), inputZeroPoint: 0, packing: PACKING_GEMM });
    expect(winogradFits12Bit(blobOf(64, 127), 4, 64)).toBe(true);
    expect(winogradFits12Bit(blobOf(128, 127), 4, 128)).toBe(false); // 4 * 4095 * 127 * 1152 > 2^31
    expect(winogradFits12Bit(blobOf(128, -60), 4, 128)).toBe(true);
  });
  it('split into tile ranges (threads): any order, same bytes', () => {
    for (const parts of [2, 3, 7]) runCase({ batch: 2, H: 12, W: 11, C: 40, N: 12, pads: [1, 1, 1, 1], act: 'relu', seed: 200 + parts }, parts);
  });
  it('tile ranges start on even tiles and cover every tile once (the kernel computes tiles in pairs)', () => {
    for (const [H, C, parts] of [[14, 256, 16], [13, 64, 5], [7, 512, 16], [56, 64, 16], [3, 8, 4]] as const) {
      const shape: Conv2dShape = { batch: 1, inH: H, inW: H, inChannels: C, outChannels: C, kernel: [3, 3], pads: [1, 1, 1, 1] };
      const tiles = planWinograd(shape, H, H).tiles;
      const calls = conv2dCalls(h.simd, { shape, inputZeroPoint: 0, winograd: { weights: 64 }, buffers: { input: 64, output: 64, weights: 64, scratch: 64 } }, parts);
      const ranges = calls.map((c) => [c.args[9], c.args[10]] as const); // t0, t1
      expect(ranges[0]![0]).toBe(0);
      expect(ranges.at(-1)![1]).toBe(tiles);
      for (const [i, [t0, t1]] of ranges.entries()) {
        expect(t0 % 2, `${H}x${H}x${C} part ${i}`).toBe(0);
        expect(t1).toBeGreaterThan(t0);
        if (i > 0) expect(t0).toBe(ranges[i - 1]![1]);
      }
      expect(calls.length).toBeLessThanOrEqual(Math.min(parts, Math.ceil(tiles / 2)));
    }
  });
});
