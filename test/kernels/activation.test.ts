// Fused HardSwish / HardSigmoid / Sigmoid / SiLU in the convolution kernels' fp32 epilogue (flags'
// ACT field, assembly/common.ts): every strategy (GEMM, IGEMM, im2col, depthwise c16, Winograd,
// relaxed 2x4c16's scalar twin and, where the probe allows, the relaxed build), 8/12-bit, residual,
// float32 heads and threads' parts. Exact bytes (0 LSB; float32 outputs bit for bit) against the TS
// reference test/kernels/ref.ts refActivation, which computes the same f32 formula in the same order
// (one Math.fround per f32 operation). Then the sigmoid approximation against Math.exp.
import { beforeAll, describe, expect, it } from 'vitest';
import { diff, loadHarness, randI8, randInt, randU8, rng, type Harness } from './harness.js';
import { runConvCase, type ConvCase } from './conv-case.js';
import { refActivation, refConvAcc, refRequant, refSigmoid, roundHalfEven, type RefActivation } from './ref.js';
import {
  PACKING_DWCONV, PACKING_GEMM, PACKING_IM2COL, conv2dCalls, packConvWeights, packWinogradFromDirect, planConv2d, planWinograd, runCalls,
  type Conv2dShape, type Kernels,
} from '../../src/kernels/index.js';
import { kernelActivation } from '../../src/ops/activation.js';
import type { Activation } from '../../src/format/qmodel.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

const KINDS = ['hardswish', 'hardsigmoid', 'sigmoid', 'silu'] as const;
const P0: [number, number, number, number] = [0, 0, 0, 0];
const P1: [number, number, number, number] = [1, 1, 1, 1];
const base = { batch: 1, dh: 1, dw: 1, group: 1, f32out: false } as const;

describe('fused activations: kernels == TS reference (exact)', () => {
  it('GEMM M x N x K tails, every kind, u8 and float32 output', () => {
    let seed = 31000;
    for (const act of KINDS) for (const M of [1, 2, 3, 5]) for (const N of [1, 4, 5, 17]) for (const K of [3, 8, 33]) {
      const c: ConvCase = { ...base, act, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, f32out: (seed & 3) === 0 };
      expect(runConvCase(h, c).strategy).toBe('gemm');
    }
  });

  it('IGEMM, im2col, grouped and depthwise shapes, batch 2, residual, 12-bit, parts', () => {
    let seed = 32000;
    const shapes: Omit<ConvCase, 'act' | 'f32out' | 'seed' | 'dh' | 'dw' | 'batch'>[] = [
      { inH: 5, inW: 6, inC: 8, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, group: 1 },
      { inH: 9, inW: 8, inC: 16, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: P1, group: 1 },
      { inH: 15, inW: 13, inC: 3, outC: 16, kh: 3, kw: 3, sh: 2, sw: 2, pads: P1, group: 1 }, // im2col stem
      { inH: 6, inW: 5, inC: 12, outC: 20, kh: 3, kw: 3, sh: 2, sw: 2, pads: P1, group: 4 },
      { inH: 8, inW: 7, inC: 16, outC: 32, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, group: 1 },
    ];
    const strategies = new Set<string>();
    for (const act of KINDS) {
      for (const s of shapes) {
        for (const f32out of [false, true]) strategies.add(runConvCase(h, { ...s, act, f32out, batch: 1 + (seed & 1), dh: 1, dw: 1, seed: seed++ }).strategy);
      }
      // Depthwise c16: every channel tail 1..40 over the 16-lane blocks, 3x3 / 5x5, stride 1 / 2.
      for (let C = 1; C <= 40; C += 3) {
        const k = C % 2 ? 3 : 5;
        strategies.add(runConvCase(h, { ...base, act, inH: 5 + (C % 4), inW: 6, inC: C, outC: C, kh: k, kw: k, sh: 1 + (C & 1), sw: 1 + (C & 1),
          pads: [k >> 1, k >> 1, k >> 1, k >> 1], group: C, packing: C > 1 ? PACKING_DWCONV : undefined, batch: 1 + (C & 1), seed: seed++ }).strategy);
      }
      runConvCase(h, { ...base, act, inH: 6, inW: 6, inC: 24, outC: 24, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, group: 24, packing: PACKING_DWCONV, seed: seed++, residual: true });
      runConvCase(h, { ...base, act, inH: 6, inW: 6, inC: 24, outC: 24, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, group: 24, packing: PACKING_DWCONV, seed: seed++, in12: true, out12: true });
      runConvCase(h, { ...base, act, inH: 6, inW: 7, inC: 16, outC: 9, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, seed: seed++, residual: true });
      runConvCase(h, { ...base, act, inH: 5, inW: 5, inC: 16, outC: 9, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, in12: true, out12: true, residual: true, res12: true });
      runConvCase(h, { ...base, act, inH: 11, inW: 9, inC: 3, outC: 12, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 3, 3], seed: seed++, packing: PACKING_IM2COL, in12: true });
      runConvCase(h, { ...base, act, inH: 12, inW: 11, inC: 64, outC: 40, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, seed: seed++, parts: 5 });
      runConvCase(h, { ...base, act, inH: 12, inW: 12, inC: 32, outC: 32, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, group: 32, packing: PACKING_DWCONV, seed: seed++, parts: 3 });
    }
    expect([...strategies].sort()).toEqual(['dwconv', 'igemm', 'im2col']);
  });

  it('relaxed 2x4c16 kernels (scalar twin; the relaxed build where the probe found the lowering exact)', () => {
    let seed = 33000;
    for (const act of KINDS) for (const relaxed of ['u8xs8', 's8xs8'] as const) {
      runConvCase(h, { ...base, act, inH: 1, inW: 5, inC: 32, outC: 17, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed, act7: relaxed === 'u8xs8' });
      runConvCase(h, { ...base, act, inH: 5, inW: 6, inC: 16, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, seed: seed++, relaxed, act7: relaxed === 'u8xs8', residual: true });
    }
  });

  it('Winograd F(2x2, 3x3): SIMD == scalar twin == scalar build == reference', () => {
    let seed = 34000;
    for (const act of KINDS) for (const [H, W, C, N] of [[6, 7, 8, 8], [5, 5, 16, 5], [9, 4, 24, 13]] as const) {
      const r = rng(seed++);
      const shape: Conv2dShape = { batch: 1, inH: H, inW: W, inChannels: C, outChannels: N, kernel: [3, 3], pads: P1 };
      const x = randU8(r, H * W * C), zin = randInt(r, 0, 255), w = randI8(r, N * 9 * C);
      const bias = Int32Array.from({ length: N }, () => randInt(r, -20000, 20000));
      const mult = Float32Array.from({ length: N }, () => (0.004 + 0.02 * r()) / Math.sqrt(9 * C));
      const zo = randInt(r, 0, 255);
      const y = { dtype: 'uint8' as const, scale: Math.fround(0.02 + 0.08 * r()), zeroPoint: zo };
      const a = act === 'hardsigmoid' ? { kind: act, alpha: 0.2, beta: 0.5 } : { kind: act };
      const fused = kernelActivation(a, y)!;
      const lo = act === 'hardsigmoid' ? zo : 0, hi = act === 'hardsigmoid' ? Math.min(255, roundHalfEven(1 / y.scale) + zo) : 255;
      const acc = refConvAcc({ batch: 1, inH: H, inW: W, inC: C, outC: N, kh: 3, kw: 3, sh: 1, sw: 1, pads: P1, dh: 1, dw: 1, group: 1 }, x, zin, w, bias);
      const expected = refRequant(acc, N, mult, { f32out: false, zp: zo, outMin: lo, outMax: hi, fMin: -Infinity, fMax: Infinity, alpha: 1,
        act: { kind: act, alpha: fused.alpha, beta: fused.beta } });
      const plan = planConv2d(shape, PACKING_GEMM), wp = planWinograd(shape, plan.outH, plan.outW);
      const blob = packConvWeights({ outChannels: N, inChannels: C, kernel: [3, 3], group: 1, weights: w, bias, multipliers: mult, inputZeroPoint: zin, packing: PACKING_GEMM });
      const heap = h.heap;
      heap.reset();
      const input = heap.put(x), weights = heap.put(blob), wweights = heap.put(packWinogradFromDirect(blob, N, C));
      const runs: [Kernels, boolean, string][] = [[h.simd, false, 'simd'], [h.simd, true, '_ref'], [h.scalar, false, 'scalar build']];
      for (const [k, reference, label] of runs) {
        const output = heap.alloc(plan.outputElements);
        const scratch = heap.alloc(wp.scratchBytes);
        runCalls(k, conv2dCalls(k, { shape, inputZeroPoint: zin, reference, outputType: 'uint8', outputZeroPoint: zo, outMin: lo, outMax: hi,
          activation: fused, packing: PACKING_GEMM, winograd: { weights: wweights }, buffers: { input, output, weights, scratch } }));
        heap.checkGuards(`wino ${act} ${H}x${W}x${C}->${N} [${label}]`);
        const d = diff(heap.u8(output, plan.outputElements), expected);
        if (d) throw new Error(`wino ${act} ${H}x${W}x${C}->${N} [${label}] vs TS reference: ${d}`);
      }
    }
  });
});

describe('sigmoid approximation (XNNPACK rr2-p5-div) vs Math.exp', () => {
  const exact = (x: number) => 1 / (1 + Math.exp(-x));
  /** Every 1/1024 over [-30, 30] (61441 points) and the f32 extremes. */
  const xs = (): number[] => {
    const out: number[] = [];
    for (let i = -30 * 1024; i <= 30 * 1024; i++) out.push(Math.fround(i / 1024));
    out.push(-100, 100, -87.5, 87.5, Math.fround(1e-30), Math.fround(-1e-30), 0);
    return out;
  };

  it('max absolute error <= 1e-7 and relative error <= 3e-7 over [-30, 30]', () => {
    let maxAbs = 0, maxRel = 0;
    for (const x of xs()) {
      const e = Math.abs(refSigmoid(x) - exact(x));
      maxAbs = Math.max(maxAbs, e);
      if (exact(x) > 1e-30) maxRel = Math.max(maxRel, e / exact(x));
    }
    // Measured: see docs/quantization.md ("Fused activations").
    expect(maxAbs).toBeLessThanOrEqual(1e-7); // measured 8.46e-8 (at x = 0.4067)
    expect(maxRel).toBeLessThanOrEqual(3e-7); // measured 2.71e-7
  });

  it('quantized sigmoid / SiLU: within 1 LSB of the Math.exp formula, over output scales', () => {
    // y = the accumulator's product in output units; the kernel's bytes (refActivation) vs
    // round(f(y * s) / s) + zp computed in float64 with Math.exp.
    const cases: { kind: RefActivation['kind']; s: number; zp: number }[] = [
      { kind: 'sigmoid', s: 1 / 255, zp: 0 }, { kind: 'sigmoid', s: 1 / 4095, zp: 0 },
      { kind: 'silu', s: 0.05, zp: 10 }, { kind: 'silu', s: 0.2, zp: 2 }, { kind: 'silu', s: 0.01, zp: 40 },
      { kind: 'hardswish', s: 0.05, zp: 10 },
    ];
    for (const c of cases) {
      const qmax = c.s < 1 / 300 ? 4095 : 255;
      const fused = kernelActivation({ kind: c.kind } as Activation, { dtype: qmax > 255 ? 'uint12' : 'uint8', scale: c.s, zeroPoint: c.zp })!;
      const act = { kind: c.kind, alpha: fused.alpha, beta: fused.beta };
      let worst = 0, differ = 0, n = 0;
      for (let i = -40000; i <= 40000; i++) {
        const y = Math.fround(i / 100);
        const x = y * c.s;
        const real = c.kind === 'sigmoid' ? exact(x) : c.kind === 'silu' ? x * exact(x) : x * Math.min(Math.max(x + 3, 0), 6) / 6;
        const want = Math.min(Math.max(roundHalfEven(real / c.s) + c.zp, 0), qmax);
        const got = Math.min(Math.max(roundHalfEven(refActivation(y, act)) + c.zp, 0), qmax);
        worst = Math.max(worst, Math.abs(got - want));
        if (got !== want) differ++;
        n++;
      }
      expect(worst, `${c.kind} s=${c.s}: ${differ}/${n} differ`).toBeLessThanOrEqual(1);
    }
  });
});
