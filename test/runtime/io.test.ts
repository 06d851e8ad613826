// The input quantizer (float NCHW -> uint8 / uint12 NHWC, kernel f32_quantize_nchw through
// quantizeInput) against a plain reference: round half to even, zero point, clamp, layout; in the
// SIMD build, its scalar twin and the scalar build; and its refusal of NaN / ±Infinity with the
// element's position. Also dequantizeOutput's blocked transpose.
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { dequantizeOutput, quantizeInput, roundHalfEven } from '../../src/runtime/io.js';
import type { ExecutionPlan } from '../../src/runtime/plan.js';
import type { Kernels } from '../../src/kernels/index.js';
import { loadHarness, type Harness } from '../kernels/harness.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(64); });

const OUT = 64, STAGING = 1 << 20;

function planOn(k: Kernels, dtype: 'uint8' | 'uint12', scale: number, zeroPoint: number, batch: number): ExecutionPlan {
  return { input: { offset: OUT, tensor: { dtype, scale, zeroPoint }, staging: STAGING }, kernels: k, batch } as unknown as ExecutionPlan;
}

function reference(x: Float32Array, scale: number, zp: number, qmax: number, n: number, c: number, hw: number): number[] {
  const out = new Array<number>(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) {
    const q = roundHalfEven(x[(b * c + ch) * hw + p] / scale) + zp;
    out[(b * hw + p) * c + ch] = Math.min(Math.max(q, 0), qmax);
  }
  return out;
}

/** quantizeInput's kernel in the SIMD build (SIMD loop), its scalar twin, and the scalar build. */
function impls(): [string, Kernels, boolean][] {
  return [['simd', h.simd, false], ['simd-build _ref', h.simd, true], ['scalar build', h.scalar, false]];
}

function quantize(k: Kernels, ref: boolean, x: Float32Array, plan: ExecutionPlan, c: number, hh: number, w: number): void {
  if (!ref) return quantizeInput(x, plan, c, hh, w);
  // The twin, called as quantizeInput calls the kernel.
  const { offset, tensor, staging } = plan.input;
  new Float32Array(k.memory.buffer, staging, x.length).set(x);
  const wide = tensor.dtype === 'uint12';
  const bad = k.exports.f32_quantize_nchw_ref(plan.batch, c, hh * w, staging, offset, 1 / tensor.scale, tensor.zeroPoint, wide ? 4095 : 255, wide ? 1 : 0);
  expect(bad).toBe(-1);
}

describe('quantizeInput (f32_quantize_nchw)', () => {
  for (const [dtype, scale, zp, qmax] of [['uint8', 0.5, 7, 255], ['uint12', 0.25, 2000, 4095], ['uint8', 1 / 255, 0, 255], ['uint8', 0.0078125, 128, 255]] as const) {
    it(`${dtype} scale ${scale} zero point ${zp}: ties, negatives, -0, saturation, NHWC layout, planes of 1..37 pixels, batch 2`, () => {
      for (const [n, c, hh, w] of [[2, 3, 5, 7], [1, 3, 1, 1], [1, 1, 2, 2], [2, 4, 3, 1], [1, 3, 4, 8], [1, 2, 37, 1]] as const) {
        const hw = hh * w;
        const x = new Float32Array(n * c * hw);
        for (let i = 0; i < x.length; i++) {
          // exact ties (k + 0.5) * scale, values far outside the range, -0, huge, and irregular values
          x[i] = i % 6 === 0 ? ((i % 37) - 18 + 0.5) * scale : i % 6 === 1 ? (i % 2 ? 1e30 : -1e30) : i % 6 === 2 ? -0 : i % 6 === 3 ? (i % 4 ? 3e38 : -3.4e38) : Math.sin(i) * 3000 * scale;
        }
        const want = reference(x, scale, zp, qmax, n, c, hw);
        for (const [label, k, ref] of impls()) {
          const plan = planOn(k, dtype, scale, zp, n);
          const mem = k.memory.buffer;
          const got = dtype === 'uint12' ? new Uint16Array(mem, OUT, x.length) : new Uint8Array(mem, OUT, x.length);
          got.fill(dtype === 'uint12' ? 4444 : 99);
          quantize(k, ref, x, plan, c, hh, w);
          expect(Array.from(got), `${label} ${n}x${c}x${hh}x${w}`).toEqual(want);
        }
      }
    });
  }

  it('names the first non-finite element (image, channel, pixel), in the SIMD loop and its tail, both builds', () => {
    for (const k of [h.simd, h.scalar]) {
      const x = new Float32Array(2 * 3 * 4).fill(0.1);
      x[3 * 4 + 4 + 2] = Number.NaN; // image 1, channel 1, pixel 2
      expect(() => quantizeInput(x, planOn(k, 'uint8', 0.1, 0, 2), 3, 2, 2)).toThrow(/NaN at index 18 \(image 1, channel 1, pixel 2\)/);
      x[18] = 0; x[5] = -Infinity;
      expect(() => quantizeInput(x, planOn(k, 'uint12', 0.1, 0, 2), 3, 2, 2)).toThrow(/-Infinity at index 5 \(image 0, channel 1, pixel 1\)/);
      // finite, but infinite once divided by the scale; in the tail of a 7-pixel plane
      const y = new Float32Array(3 * 7).fill(1);
      y[2 * 7 + 6] = 3e38;
      expect(() => quantizeInput(y, planOn(k, 'uint8', 1e-300, 0, 1), 3, 7, 1)).toThrow(EdgeqError);
      expect(() => quantizeInput(y, planOn(k, 'uint8', 1e-300, 0, 1), 3, 7, 1)).toThrow(/image 0, channel 2, pixel 6\) is not finite once divided/);
    }
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
