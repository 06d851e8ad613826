// A hand-built model with every fast path the plan picks: a stride-1 3x3 conv that runs as exact
// Winograd, a 1x1 conv with a fused residual, an im2col stem, a float32 head. The Session's output
// equals the plan without Winograd bit for bit, on 1..3 threads and batch 1 and 2; the same with
// 12-bit activations (all of them, or a uint8/uint12 mix), SIMD and scalar builds alike.
import { beforeAll, describe, expect, it } from 'vitest';
import type { QConv, QModel, QTensor } from '../../src/format/qmodel.js';
import { writeEdgeq } from '../../src/format/writer.js';
import { packConv } from '../../src/kernels/packing.js';
import { buildPlan, type ExecutionPlan } from '../../src/runtime/plan.js';
import { dequantizeOutput, quantizeInput } from '../../src/runtime/io.js';
import { kernelModule } from '../../src/runtime/wasm-source.js';
import { Session } from '../../src/runtime/session.js';
import { readEdgeq } from '../../src/format/reader.js';
import { randI8, randInt, rng } from '../kernels/harness.js';

// 64 x 64: the 3x3 conv is large enough that a 3-thread pool splits it (plan.threaded.plan.active).
const S = 64;
let bytes: Uint8Array;

/** `wide`: tensors stored as 12-bit activations (scale / 16, zero point x 16: the same real range). */
function buildModel(wide: string[] = []): QModel {
  const r = rng(77);
  const t = (name: string, h: number, c: number, scale: number, zp: number, dtype: 'uint8' | 'float32' = 'uint8'): QTensor =>
    (wide.includes(name) ? { name, shape: [1, h, h, c], dtype: 'uint12', scale: scale / 16, zeroPoint: zp * 16 } : { name, shape: [1, h, h, c], dtype, scale, zeroPoint: zp });
  const tensors: QTensor[] = [
    t('input', S, 3, 0.02, 128), t('stem', S / 2, 32, 0.05, 0), t('c3', S / 2, 32, 0.04, 0),
    t('c1', S / 2, 32, 0.06, 20), t('gap', 1, 32, 0.03, 10), t('logits', 1, 5, 1, 0, 'float32'),
  ];
  const blobs: Uint8Array[] = [];
  const conv = (name: string, input: number, output: number, k: number, s: number, cin: number, cout: number, extra: Partial<QConv> = {}): QConv => {
    const x = tensors[input], y = tensors[output];
    const ws = Float32Array.from({ length: cout }, () => 0.002 + 0.004 * r());
    const mult = Float32Array.from(ws, (v) => (y.dtype === 'float32' ? x.scale * v : (x.scale * v) / y.scale));
    const { packing, blob } = packConv({
      outChannels: cout, inChannels: cin, kernel: [k, k], group: 1, weights: randI8(r, cout * k * k * cin),
      bias: Int32Array.from({ length: cout }, () => randInt(r, -3000, 3000) * (x.dtype === 'uint12' ? 16 : 1)), multipliers: mult, inputZeroPoint: x.zeroPoint,
      // a 12-bit input needs the per-tap layout (im2col gathers uint8)
      packing: x.dtype === 'uint12' ? 'qu8-gemm-2x4c8' : undefined,
    });
    blobs.push(blob);
    const p = k >> 1;
    return {
      op: 'conv', name, input, output, kernel: [k, k], stride: [s, s], pads: [p, p, p, p], dilation: [1, 1], group: 1,
      inChannels: cin, outChannels: cout, activation: { kind: 'relu' }, weights: blobs.length - 1, packing, ...extra,
    };
  };
  return {
    input: { name: 'input', tensor: 0, nchw: [1, 3, S, S] },
    outputs: [{ name: 'logits', tensor: 5 }],
    tensors,
    ops: [
      conv('stem', 0, 1, 7, 2, 3, 32),
      conv('c3', 1, 2, 3, 1, 32, 32), // Winograd
      conv('c1', 2, 3, 1, 1, 32, 32, { residual: 1 }), // fused residual (the stem's output)
      { op: 'gap', name: 'gap', input: 3, output: 4 },
      conv('fc', 4, 5, 1, 1, 32, 5, { activation: { kind: 'none' } }),
    ],
    blobs, producer: 'test',
  };
}

beforeAll(() => {
  bytes = writeEdgeq(buildModel());
});

function input(seed: number, batch: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: batch * 3 * S * S }, () => (r() - 0.5) * 4);
}

describe('Winograd and fused residual through the Session', () => {
  it('the plan picks Winograd for the 3x3 stride-1 conv and the output equals the direct plan bit for bit', async () => {
    const model = readEdgeq(bytes);
    const module = await kernelModule('simd');
    for (const batch of [1, 2]) {
      const x = input(batch, batch);
      const outs: Float32Array[] = [];
      for (const winograd of ['all', 'off'] as const) {
        const plan = await buildPlan(model, module, batch, undefined, { winograd });
        expect(plan.regions!.some((g) => g.name.includes('winograd'))).toBe(winograd === 'all');
        quantizeInput(x, plan, 3, S, S);
        for (const step of plan.steps) step();
        outs.push(dequantizeOutput(plan));
      }
      expect(Array.from(outs[0])).toEqual(Array.from(outs[1]));
      expect(outs[0].some((v) => v !== 0)).toBe(true);
      for (const threads of [1, 2, 3]) {
        const s = await Session.create(bytes, { threads });
        expect(Array.from(await s.run(x)), `threads ${threads} batch ${batch}`).toEqual(Array.from(outs[1]));
        if (threads === 3) {
          const p = await (s as unknown as { plan(b: number): Promise<ExecutionPlan> }).plan(batch);
          const pool = p.threaded!.pool;
          expect(p.threaded!.plan.active[1], 'the Winograd conv runs on every thread (at most one per core)').toBe(Math.min(3, pool.cores));
        }
        s.release();
      }
    }
  });
});

describe('12-bit activations through the Session', () => {
  const cases: [string, string[]][] = [
    ['every activation 12-bit', ['stem', 'c3', 'c1', 'gap']],
    ['a uint8 / uint12 mix (12-bit Winograd input, uint8 residual into a 12-bit output)', ['c3', 'c1']],
    ['12-bit Winograd output into a uint8 residual conv', ['stem', 'c3']],
  ];
  for (const [what, wide] of cases) {
    it(`${what}: Winograd == direct, threads 1..3, SIMD == scalar, close to the uint8 model`, async () => {
      const wbytes = writeEdgeq(buildModel(wide));
      const model = readEdgeq(wbytes);
      expect(model.tensors.filter((x) => x.dtype === 'uint12').length).toBe(wide.length);
      const module = await kernelModule('simd');
      const x = input(9, 2);
      const outs: Float32Array[] = [];
      for (const winograd of ['all', 'off'] as const) {
        const plan = await buildPlan(model, module, 2, undefined, { winograd });
        expect(plan.regions!.some((g) => g.name.includes('winograd'))).toBe(winograd === 'all');
        quantizeInput(x, plan, 3, S, S);
        for (const step of plan.steps) step();
        outs.push(dequantizeOutput(plan));
      }
      expect(Array.from(outs[0])).toEqual(Array.from(outs[1]));
      for (const [backend, threads] of [['simd', 1], ['simd', 3], ['scalar', 1]] as const) {
        const s = await Session.create(wbytes, { threads, backend });
        expect(Array.from(await s.run(x)), `${backend} threads ${threads}`).toEqual(Array.from(outs[1]));
        s.release();
      }
      // The same real ranges on a 16x finer grid: the logits stay close to the uint8 model's.
      const s8 = await Session.create(bytes);
      const y8 = await s8.run(x);
      s8.release();
      const range = Math.max(...Array.from(y8, Math.abs));
      expect(Math.max(...Array.from(outs[1], (v, i) => Math.abs(v - y8[i])))).toBeLessThan(0.25 * range);
    });
  }
});

describe('Winograd memory budget', () => {
  it("'auto' keeps the transformed weights within WINOGRAD_MEMORY_BUDGET, 'all' takes every eligible layer", async () => {
    const { WINOGRAD_MEMORY_BUDGET } = await import('../../src/runtime/plan.js');
    const model = readEdgeq(bytes);
    const module = await kernelModule('simd');
    const auto = await buildPlan(model, module, 1, undefined, { winograd: 'auto' });
    const all = await buildPlan(model, module, 1, undefined, { winograd: 'all' });
    const off = await buildPlan(model, module, 1, undefined, { winograd: 'off' });
    const winoBytes = (p: typeof auto) => p.regions!.filter((g) => g.name.includes('winograd')).reduce((a, g) => a + g.size, 0);
    expect(winoBytes(off)).toBe(0);
    expect(winoBytes(all)).toBeGreaterThan(0);
    expect(winoBytes(auto)).toBe(winoBytes(all)); // this small model fits the default budget
    // A budget too small for the layer's growth leaves it direct.
    const tight = await buildPlan(model, module, 1, undefined, { winograd: 'auto', winogradBudget: 16 });
    expect(winoBytes(tight)).toBe(0);
    expect(WINOGRAD_MEMORY_BUDGET).toBeGreaterThan(0);
  });
});
