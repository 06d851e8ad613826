// Convolutions (GEMM, IGEMM and im2col paths): SIMD == scalar twin == scalar build == TS reference.
import { beforeAll, describe as suite, expect, it } from 'vitest';
import { loadHarness, rng, randInt, type Harness } from './harness.js';
import { runConvCase, describe, type ConvCase } from './conv-case.js';
import { PACKING_GEMM, PACKING_IM2COL, planConv2d, splitConv } from '../../src/kernels/index.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

const base = { batch: 1, dh: 1, dw: 1, group: 1, act: 'none', f32out: false, seed: 1 } as const;
const P0: [number, number, number, number] = [0, 0, 0, 0];

suite('pointwise GEMM sweep (1x1 stride 1)', () => {
  const Ms = [1, 2, 3, 5, 17];
  const Ns = [1, 3, 4, 5, 8, 17, 33];
  const Ks = [1, 3, 7, 8, 9, 16, 33, 64];
  it(`M x N x K over ${Ms.length * Ns.length * Ks.length} sizes`, () => {
    let seed = 100;
    for (const M of Ms) for (const N of Ns) for (const K of Ks) {
      const c: ConvCase = { ...base, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++ };
      expect(runConvCase(h, c).strategy, describe(c)).toBe('gemm');
    }
  });
});

const shapes: Omit<ConvCase, 'act' | 'f32out' | 'seed' | 'dh' | 'dw' | 'batch'>[] = [
  // 3x3 stride 1 pad 1, odd channel counts
  { inH: 5, inW: 6, inC: 8, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 7, inW: 5, inC: 5, outC: 7, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 4, inW: 4, inC: 17, outC: 33, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 6, inW: 6, inC: 33, outC: 17, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 6, inW: 5, inC: 64, outC: 5, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  // stride 2, asymmetric pads
  { inH: 9, inW: 8, inC: 16, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], group: 1 },
  { inH: 8, inW: 9, inC: 7, outC: 9, kh: 3, kw: 3, sh: 2, sw: 2, pads: [0, 1, 1, 0], group: 1 },
  { inH: 8, inW: 8, inC: 24, outC: 3, kh: 3, kw: 3, sh: 2, sw: 1, pads: [2, 0, 0, 1], group: 1 },
  { inH: 6, inW: 7, inC: 1, outC: 1, kh: 3, kw: 3, sh: 1, sw: 1, pads: [0, 0, 0, 0], group: 1 },
  { inH: 5, inW: 5, inC: 3, outC: 4, kh: 3, kw: 2, sh: 1, sw: 2, pads: [0, 2, 1, 0], group: 1 },
  // 7x7/2 stem-like with 3 input channels (im2col) and 1 channel
  { inH: 15, inW: 13, inC: 3, outC: 16, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 3, 3], group: 1 },
  { inH: 12, inW: 12, inC: 3, outC: 5, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 2, 2], group: 1 },
  { inH: 9, inW: 9, inC: 1, outC: 8, kh: 7, kw: 7, sh: 1, sw: 1, pads: [3, 3, 3, 3], group: 1 },
  { inH: 30, inW: 20, inC: 3, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 }, // > 1 im2col block
  // 1x1 stride 2 projection, 1x1 with padding (IGEMM)
  { inH: 8, inW: 7, inC: 16, outC: 32, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, group: 1 },
  { inH: 4, inW: 4, inC: 5, outC: 6, kh: 1, kw: 1, sh: 1, sw: 1, pads: [1, 0, 0, 1], group: 1 },
  // groups, depthwise
  { inH: 6, inW: 6, inC: 8, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 2 },
  { inH: 6, inW: 5, inC: 12, outC: 20, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], group: 4 },
  { inH: 7, inW: 7, inC: 6, outC: 6, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 6 },
  { inH: 5, inW: 5, inC: 18, outC: 9, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, group: 3 },
  { inH: 5, inW: 6, inC: 10, outC: 15, kh: 3, kw: 3, sh: 1, sw: 1, pads: [0, 0, 0, 0], group: 5 },
  // 5x5 and 2x2 kernels
  { inH: 9, inW: 9, inC: 9, outC: 11, kh: 5, kw: 5, sh: 2, sw: 2, pads: [2, 2, 2, 2], group: 1 },
  { inH: 6, inW: 6, inC: 16, outC: 8, kh: 2, kw: 2, sh: 2, sw: 2, pads: P0, group: 1 },
];

suite('convolution shapes', () => {
  const acts = [
    { act: 'none', f32out: false }, { act: 'relu', f32out: false }, { act: 'leaky', f32out: false },
    { act: 'none', f32out: true }, { act: 'relu', f32out: true }, { act: 'leaky', f32out: true },
  ] as const;
  for (const [i, s] of shapes.entries()) {
    it(`${s.inH}x${s.inW}x${s.inC}->${s.outC} k${s.kh}x${s.kw} s${s.sh} pads[${s.pads}] g${s.group}`, () => {
      // Both layouts where both apply (group 1, more than one tap): IGEMM per tap and im2col.
      const packings = s.group === 1 && s.kh * s.kw > 1 ? [PACKING_GEMM, PACKING_IM2COL] : [undefined];
      const strategies = new Set<string>();
      for (const packing of packings) {
        for (const [j, a] of acts.entries()) {
          for (const batch of [1, 2]) {
            strategies.add(runConvCase(h, { ...s, ...a, batch, dh: 1, dw: 1, seed: 1000 + i * 16 + j * 2 + batch, packing }).strategy);
          }
        }
      }
      if (packings.length === 2) expect([...strategies].sort()).toEqual(['igemm', 'im2col']);
    });
  }
  it('dilation 2', () => {
    runConvCase(h, { ...base, inH: 9, inW: 10, inC: 8, outC: 6, kh: 3, kw: 3, sh: 1, sw: 1, pads: [2, 2, 2, 2], dh: 2, dw: 2 });
    runConvCase(h, { ...base, inH: 9, inW: 10, inC: 3, outC: 6, kh: 3, kw: 3, sh: 2, sw: 1, pads: [1, 2, 0, 2], dh: 2, dw: 1, act: 'relu' });
  });
  it('round-half-even ties (multiplier 0.5 and 0.25, tiny weights)', () => {
    for (const mult of [0.5, 0.25]) {
      for (const f32out of [false, true]) {
        runConvCase(h, { ...base, inH: 6, inW: 6, inC: 9, outC: 13, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1],
          wlim: 1, mult, noBias: true, f32out, seed: 77 });
      }
    }
  });
  it('saturation at both ends (large multipliers)', () => {
    runConvCase(h, { ...base, inH: 5, inW: 5, inC: 16, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], mult: 0.05, seed: 5 });
  });
  it('fused residual add: every strategy, activations, tails, batch 2, ties', () => {
    let seed = 5000;
    for (const [i, s] of shapes.entries()) {
      if (i % 2 === 1 && s.group > 1) continue;
      for (const act of ['none', 'relu', 'leaky'] as const) {
        const packings = s.group === 1 && s.kh * s.kw > 1 ? [PACKING_GEMM, PACKING_IM2COL] : [undefined];
        for (const packing of packings) runConvCase(h, { ...s, act, f32out: false, batch: 1 + (seed & 1), dh: 1, dw: 1, seed: seed++, packing, residual: true });
      }
    }
    for (const M of [1, 2, 3, 7]) for (const N of [1, 3, 4, 6, 17]) {
      runConvCase(h, { ...base, inH: 1, inW: M, inC: 64, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'relu', seed: seed++, residual: true });
    }
    runConvCase(h, { ...base, inH: 6, inW: 6, inC: 9, outC: 13, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], wlim: 1, mult: 0.5, noBias: true, seed: 78, residual: true });
  });
  it('split into parts (threads): row ranges and channel blocks, every strategy, in reverse order', () => {
    let seed = 9000;
    const cases = [
      { inH: 9, inW: 8, inC: 16, outC: 24, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], split: 'rows' }, // igemm
      { inH: 12, inW: 12, inC: 64, outC: 40, kh: 1, kw: 1, sh: 1, sw: 1, pads: [0, 0, 0, 0], split: 'rows' }, // gemm
      { inH: 8, inW: 8, inC: 64, outC: 512, kh: 1, kw: 1, sh: 2, sw: 2, pads: [0, 0, 0, 0], split: 'channels' }, // strided 1x1: IGEMM in place
      { inH: 32, inW: 32, inC: 32, outC: 16, kh: 1, kw: 1, sh: 2, sw: 2, pads: [0, 0, 0, 0], split: 'rows' }, // strided 1x1: gathered rows
      { inH: 3, inW: 3, inC: 128, outC: 64, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], split: 'channels' }, // igemm
      { inH: 33, inW: 31, inC: 3, outC: 12, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 3, 3], split: 'rows' }, // im2col (stem)
    ];
    for (const { split, ...s } of cases) for (const parts of [2, 5]) for (const residual of [false, true]) {
      const pads = s.pads as [number, number, number, number];
      const plan = planConv2d({ batch: 1, inH: s.inH, inW: s.inW, inChannels: s.inC, outChannels: s.outC, kernel: [s.kh, s.kw], stride: [s.sh, s.sw], pads });
      const ranges = splitConv(plan, 1, parts);
      expect(ranges.length, `${JSON.stringify(s)} parts ${parts}`).toBeGreaterThan(1);
      expect(ranges.every(([m0, m1]) => m0 === 0 && m1 === plan.M), `${JSON.stringify(s)} split by ${split}`).toBe(split === 'channels');
      runConvCase(h, { ...base, ...s, pads, act: 'relu', seed: seed++, residual, parts });
    }
  });
  it('12-bit activations (16-bit lanes): every input/output/residual combination, strategies, tails, groups', () => {
    let seed = 7000;
    const combos = [
      { in12: true }, { out12: true }, { in12: true, out12: true },
      { in12: true, out12: true, residual: true, res12: true }, { out12: true, residual: true }, { residual: true, res12: true },
    ];
    for (const combo of combos) {
      for (const [i, s] of shapes.entries()) {
        if (i % 3 !== seed % 3) continue;
        for (const act of ['none', 'relu', 'leaky'] as const) {
          // An im2col packing takes uint8 inputs only: 12-bit inputs use the IGEMM layout.
          runConvCase(h, { ...s, act, f32out: false, batch: 1 + (seed & 1), dh: 1, dw: 1, seed: seed++, ...combo, packing: combo.in12 ? PACKING_GEMM : undefined });
        }
      }
      for (const M of [1, 2, 3, 7]) for (const N of [1, 3, 4, 6, 17]) {
        runConvCase(h, { ...base, inH: 1, inW: M, inC: 64, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'relu', seed: seed++, ...combo });
      }
    }
    // A float32 output with a fused residual (a network's last block), uint8 and 12-bit residuals, every strategy.
    for (const [i, s] of shapes.entries()) {
      if (i % 4 !== 0) continue;
      runConvCase(h, { ...s, act: i % 8 === 0 ? 'relu' : 'none', f32out: true, batch: 1, dh: 1, dw: 1, seed: seed++, residual: true, res12: (i & 1) === 1 });
    }
    runConvCase(h, { ...base, inH: 2, inW: 3, inC: 64, outC: 7, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'none', f32out: true, seed: seed++, residual: true, res12: true, in12: true });
    // im2col with a 12-bit input (a 12-bit graph input into the RGB stem): the gather copies 16-bit lanes.
    runConvCase(h, { ...base, inH: 11, inW: 9, inC: 3, outC: 12, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 3, 3], act: 'relu', seed: seed++, packing: PACKING_IM2COL, in12: true, out12: true });
    runConvCase(h, { ...base, batch: 2, inH: 6, inW: 7, inC: 5, outC: 9, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'leaky', seed: seed++, packing: PACKING_IM2COL, in12: true });
    runConvCase(h, { ...base, inH: 150, inW: 3, inC: 3, outC: 4, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'none', seed: seed++, packing: PACKING_IM2COL, in12: true }); // several 128-row blocks
    // A 12-bit input into a float32 head; the im2col packing with 12-bit output and residual.
    runConvCase(h, { ...base, inH: 3, inW: 3, inC: 40, outC: 10, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'none', f32out: true, seed: seed++, in12: true });
    runConvCase(h, { ...base, inH: 9, inW: 9, inC: 3, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], act: 'relu', seed: seed++, packing: PACKING_IM2COL, out12: true, residual: true, res12: true });
    // A deep K (1024) of 12-bit inputs against full-range weights.
    runConvCase(h, { ...base, inH: 2, inW: 2, inC: 1024, outC: 8, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'none', seed: seed++, in12: true, out12: true });
  });
  it('40 random shapes', () => {
    const r = rng(4242);
    for (let i = 0; i < 40; i++) {
      const group = [1, 1, 1, 2, 3][randInt(r, 0, 4)]!;
      const k = [1, 2, 3, 5][randInt(r, 0, 3)]!;
      const kw = r() < 0.8 ? k : randInt(r, 1, 4);
      const pads: [number, number, number, number] = [0, 0, 0, 0].map(() => randInt(r, 0, Math.min(k, kw) - 1 + (r() < 0.2 ? 1 : 0))) as [number, number, number, number];
      const c: ConvCase = {
        batch: randInt(r, 1, 3), inH: randInt(r, k, 9), inW: randInt(r, kw, 9),
        inC: group * randInt(r, 1, 20), outC: group * randInt(r, 1, 20), kh: k, kw,
        sh: randInt(r, 1, 2), sw: randInt(r, 1, 2), pads, dh: 1, dw: 1, group,
        act: (['none', 'relu', 'leaky'] as const)[randInt(r, 0, 2)]!, f32out: r() < 0.25, seed: 9000 + i,
      };
      runConvCase(h, c);
      if (group === 1 && k * kw > 1) runConvCase(h, { ...c, packing: r() < 0.5 ? PACKING_GEMM : PACKING_IM2COL });
    }
  });
});
