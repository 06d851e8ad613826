// Loading the kernel module: SIMD detection, instantiation and the typed export surface.
// Browser-safe: no Node imports. The caller fetches/reads the .wasm bytes itself.

import { EdgeqError } from '../errors.js';

/** File names produced by `npm run build:wasm` (under build/). */
export const KERNEL_WASM_SIMD = 'edgeq-simd.wasm';
export const KERNEL_WASM_SCALAR = 'edgeq-scalar.wasm';

/**
 * A minimal module whose only function uses i8x16.splat and i32x4.dot_i16x8_s (the newest SIMD
 * instruction the kernels rely on):  (func (result v128) (i32x4.dot_i16x8_s
 *   (i8x16.splat (i32.const 0)) (i8x16.splat (i32.const 0))))
 */
export const SIMD_PROBE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one function of type 0
  0x0a, 0x0f, 0x01, 0x0d, 0x00, //                   code section: one body of 13 bytes, no locals
  0x41, 0x00, 0xfd, 0x0f, //                         i32.const 0; i8x16.splat
  0x41, 0x00, 0xfd, 0x0f, //                         i32.const 0; i8x16.splat
  0xfd, 0xba, 0x01, //                               i32x4.dot_i16x8_s
  0x0b, //                                           end
]);

let simdCache: boolean | undefined;

/** True when this engine validates WebAssembly SIMD (fixed-width 128-bit) code. */
export function detectSimd(): boolean {
  if (simdCache === undefined) {
    try {
      simdCache = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE_BYTES);
    } catch {
      simdCache = false;
    }
  }
  return simdCache;
}

/**
 * Raw exports of the kernel module (pointers are byte offsets into the imported memory). The
 * trailing `flags` of the quantized kernels mark operands stored as 16-bit lanes (12-bit
 * activations); see docs/kernels.md. Omitted, every operand is uint8.
 */
export interface KernelExports {
  simd_enabled(): number;
  im2col_rows(): number;
  qu8_gemm(M: number, N: number, KB: number, groups: number, a: number, aStride: number, aGroupStride: number,
    w: number, out: number, outStride: number, outGroupStride: number,
    zp: number, fmin: number, fmax: number, alpha: number, outF32: number,
    res?: number, zr?: number, mr?: number, flags?: number): void;
  qu8_gemm_ref: KernelExports['qu8_gemm'];
  qu8_igemm(M: number, N: number, KB: number, taps: number, groups: number, ind: number, aGroupStride: number,
    w: number, out: number, outStride: number, outGroupStride: number,
    zp: number, fmin: number, fmax: number, alpha: number, outF32: number,
    res?: number, zr?: number, mr?: number, flags?: number): void;
  qu8_igemm_ref: KernelExports['qu8_igemm'];
  qu8_conv_im2col(M: number, N: number, KB: number, taps: number, cin: number, ind: number, scratch: number,
    w: number, out: number, outStride: number, zp: number, fmin: number, fmax: number, alpha: number,
    outF32: number, res?: number, zr?: number, mr?: number, flags?: number): void;
  qu8_conv_im2col_ref: KernelExports['qu8_conv_im2col'];
  qu8_vadd(n: number, a: number, b: number, out: number, za: number, zb: number, ma: number, mb: number,
    zo: number, fmin: number, fmax: number, flags?: number): void;
  qu8_vadd_ref: KernelExports['qu8_vadd'];
  u8_maxpool(N: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number,
    SH: number, SW: number, padTop: number, padLeft: number, inp: number, out: number, flags?: number): void;
  u8_maxpool_ref: KernelExports['u8_maxpool'];
  qu8_gavgpool(N: number, HW: number, C: number, inp: number, out: number, zi: number, scale: number,
    zo: number, fmin: number, fmax: number, flags?: number): void;
  qu8_gavgpool_ref: KernelExports['qu8_gavgpool'];
  f32_gavgpool(N: number, HW: number, C: number, inp: number, out: number): void;
  f32_gavgpool_ref: KernelExports['f32_gavgpool'];
  peak_dot(n: number, seed: number): number;
  qu8_wino3x3(H: number, W: number, C: number, inp: number, zx: number, OH: number, OW: number, padTop: number, padLeft: number,
    t0: number, t1: number, N: number, KB: number, w: number, scratch: number, groupTiles: number,
    out: number, outStride: number, zp: number, fmin: number, fmax: number, alpha: number): void;
  qu8_wino3x3_ref: KernelExports['qu8_wino3x3'];
  wino_scratch_bytes(KB: number, groupTiles: number): number;
}

export const KERNEL_EXPORT_NAMES: readonly (keyof KernelExports)[] = [
  'simd_enabled', 'im2col_rows',
  'qu8_gemm', 'qu8_gemm_ref', 'qu8_igemm', 'qu8_igemm_ref', 'qu8_conv_im2col', 'qu8_conv_im2col_ref',
  'qu8_vadd', 'qu8_vadd_ref', 'u8_maxpool', 'u8_maxpool_ref', 'qu8_gavgpool', 'qu8_gavgpool_ref',
  'f32_gavgpool', 'f32_gavgpool_ref', 'peak_dot', 'qu8_wino3x3', 'qu8_wino3x3_ref', 'wino_scratch_bytes',
];

/** An instantiated kernel module bound to its memory. */
export interface Kernels {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** True for the SIMD build. */
  readonly simd: boolean;
  /** Rows per im2col block (sizes the im2col scratch). */
  readonly im2colRows: number;
}

/**
 * Instantiates the kernel module (either build) over a memory the host owns.
 * Throws EdgeqError('NOT_SUPPORTED') when the engine cannot compile the module (e.g. the SIMD
 * build without SIMD support) and EdgeqError('INTERNAL') when exports are missing.
 */
export async function instantiateKernels(
  wasm: BufferSource | WebAssembly.Module,
  memory: WebAssembly.Memory,
): Promise<Kernels> {
  let instance: WebAssembly.Instance;
  const imports = {
    env: {
      memory,
      abort: (): never => { throw new EdgeqError('INTERNAL', 'kernel module aborted'); },
    },
  };
  try {
    if (wasm instanceof WebAssembly.Module) {
      instance = await WebAssembly.instantiate(wasm, imports);
    } else {
      instance = (await WebAssembly.instantiate(wasm, imports)).instance;
    }
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) {
      throw new EdgeqError('NOT_SUPPORTED', `cannot compile the kernel module: ${(e as Error).message}`, { cause: e });
    }
    throw new EdgeqError('INTERNAL', `cannot instantiate the kernel module: ${(e as Error).message}`, { cause: e });
  }
  const raw = instance.exports as Record<string, unknown>;
  for (const name of KERNEL_EXPORT_NAMES) {
    if (typeof raw[name] !== 'function') throw new EdgeqError('INTERNAL', `kernel module lacks export ${name}`);
  }
  const exports = raw as unknown as KernelExports;
  return { exports, memory, simd: exports.simd_enabled() === 1, im2colRows: exports.im2col_rows() };
}
