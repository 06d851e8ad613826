// Compile-time probe (test/kernels/kernel-api.test.ts runs tsc over it): every `@ts-expect-error`
// line must fail to type-check, every other line must pass. Never executed.
import { kernelCall, type KernelCall, type KernelExports } from '../../../src/kernels/kernel-api.generated.js';

const vadd = { n: 64, a: 0, b: 64, out: 128, za: 0, zb: 0, ma: 1, mb: 1, zo: 0, fmin: 0, fmax: 255, flags: 0 };
export const ok: KernelCall = kernelCall('qu8_vadd', vadd);
export const okRef: KernelCall = kernelCall('qu8_vadd_ref', vadd);

// @ts-expect-error a missing argument (flags)
export const missing = kernelCall('qu8_vadd', { n: 64, a: 0, b: 64, out: 128, za: 0, zb: 0, ma: 1, mb: 1, zo: 0, fmin: 0, fmax: 255 });
// @ts-expect-error a misspelled argument name (zp is not a qu8_vadd parameter)
export const misnamed = kernelCall('qu8_vadd', { n: 64, a: 0, b: 64, out: 128, za: 0, zp: 0, ma: 1, mb: 1, zo: 0, fmin: 0, fmax: 255, flags: 0 });
// @ts-expect-error an argument of the wrong type
export const mistyped = kernelCall('qu8_vadd', { ...vadd, flags: 'uint12' });
// @ts-expect-error another kernel's arguments
export const wrongKernel = kernelCall('u8_maxpool', vadd);
// @ts-expect-error an unknown kernel
export const unknown = kernelCall('qu8_vsub', vadd);
// @ts-expect-error a hand-built call (only kernelCall creates one)
export const byHand: KernelCall = { fn: 'qu8_vadd', args: [64, 0, 64, 128, 0, 0, 1, 1, 0, 0, 255, 0] };

export function raw(ex: KernelExports): void {
  // @ts-expect-error a positional call with an argument missing (every parameter is explicit)
  ex.qu8_gemm(1, 4, 1, 1, 0, 8, 8, 0, 0, 4, 4, 0, 0, 255, 1, 0, 0, 0, 0);
  // @ts-expect-error the benchmark probe is not a kernel export
  ex.peak_dot(1, 1);
}
