// The input quantizer (float NCHW -> uint8 / uint12 NHWC) against a plain reference: round half to
// even, zero point, clamp, layout; and its refusal of NaN / ±Infinity with the element's position.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { dequantizeOutput, quantizeInput, roundHalfEven } from '../../src/runtime/io.js';
import type { ExecutionPlan } from '../../src/runtime/plan.js';

function fakePlan(dtype: 'uint8' | 'uint12', scale: number, zeroPoint: number, batch: number): ExecutionPlan {
  const memory = new WebAssembly.Memory({ initial: 2 });
  return { input: { offset: 64, tensor: { dtype, scale, zeroPoint } }, kernels: { memory }, batch } as unknown as ExecutionPlan;
}

function reference(x: Float32Array, scale: number, zp: number, qmax: number, n: number, c: number, hw: number): number[] {
  const out = new Array<number>(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) {
    const q = roundHalfEven(x[(b * c + ch) * hw + p] / scale) + zp;
    out[(b * hw + p) * c + ch] = Math.min(Math.max(q, 0), qmax);
  }
  return out;
}

describe('quantizeInput', () => {
  for (const [dtype, scale, zp, qmax] of [['uint8', 0.5, 7, 255], ['uint12', 0.25, 2000, 4095], ['uint8', 1 / 255, 0, 255]] as const) {
    it(`${dtype} scale ${scale} zero point ${zp}: ties, negatives, saturation, NHWC layout, batch 2`, () => {
      const n = 2, c = 3, h = 5, w = 7, hw = h * w;
      const x = new Float32Array(n * c * hw);
      for (let i = 0; i < x.length; i++) {
        // exact ties (k + 0.5) * scale, values far outside the range, and irregular values
        x[i] = i % 5 === 0 ? ((i % 37) - 18 + 0.5) * scale : i % 5 === 1 ? (i % 2 ? 1e30 : -1e30) : Math.sin(i) * 3000 * scale;
      }
      const plan = fakePlan(dtype, scale, zp, n);
      quantizeInput(x, plan, c, h, w);
      const mem = plan.kernels.memory.buffer;
      const got = dtype === 'uint12' ? new Uint16Array(mem, 64, x.length) : new Uint8Array(mem, 64, x.length);
      expect(Array.from(got)).toEqual(reference(x, scale, zp, qmax, n, c, hw));
    });
  }

  it('names the first non-finite element (image, channel, pixel)', () => {
    const x = new Float32Array(2 * 3 * 4).fill(0.1);
    x[3 * 4 + 4 + 2] = Number.NaN; // image 1, channel 1, pixel 2
    expect(() => quantizeInput(x, fakePlan('uint8', 0.1, 0, 2), 3, 2, 2)).toThrow(/NaN at index 18 \(image 1, channel 1, pixel 2\)/);
    x[18] = 0; x[5] = -Infinity;
    expect(() => quantizeInput(x, fakePlan('uint12', 0.1, 0, 2), 3, 2, 2)).toThrow(EdgeqError);
  });
});

describe('dequantizeOutput', () => {
  it('NHWC integers (uint8, uint12) or float32 -> NCHW float32, s * (v - z), every shape edge of its blocked transpose, batch 2', () => {
    const memory = new WebAssembly.Memory({ initial: 8 });
    const u8 = new Uint8Array(memory.buffer);
    for (let i = 0; i < u8.length; i++) u8[i] = Math.imul(i, 2654435761) >>> 24;
    // pixel counts below, at and past the 8-pixel block, odd channel counts, one-pixel outputs
    for (const [h, w, c, dtype] of [[28, 28, 64, 'uint8'], [7, 5, 3, 'uint8'], [3, 3, 17, 'uint12'], [4, 6, 9, 'float32'], [1, 1, 1001, 'uint8'], [2, 9, 1, 'uint8'], [3, 3, 5, 'float32']] as const) {
      for (const batch of [1, 2]) {
        const s = 0.0173, z = 7, offset = 256;
        const tensor = { shape: [1, h, w, c], dtype, scale: s, zeroPoint: z };
        const plan = { batch, kernels: { memory }, outputs: [{ offset, tensor }] } as unknown as ExecutionPlan;
        const got = dequantizeOutput(plan, 0);
        const count = batch * h * w * c, hw = h * w;
        const src = dtype === 'float32' ? new Float32Array(memory.buffer, offset, count)
          : dtype === 'uint12' ? new Uint16Array(memory.buffer, offset, count) : new Uint8Array(memory.buffer, offset, count);
        const want = new Float32Array(count);
        for (let n = 0; n < batch; n++) for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) {
          const v = src[n * hw * c + p * c + ch]!;
          want[n * hw * c + ch * hw + p] = dtype === 'float32' ? v : s * (v - z);
        }
        expect(Array.from(got), `${h}x${w}x${c} ${dtype} batch ${batch}`).toEqual(Array.from(want));
      }
    }
  });
});
