// Loading the kernel module: SIMD detection and instantiation. The typed export surface
// (KernelExports) is generated from assembly/index.ts: ./kernel-api.generated.ts.
// Browser-safe: no Node imports. The caller fetches/reads the .wasm bytes itself.

import { EdgeqError } from '../errors.js';
import { KERNEL_EXPORT_NAMES, type KernelExports } from './kernel-api.generated.js';

/** File names produced by `npm run build:wasm` (under build/). */
export const KERNEL_WASM_SIMD = 'edgeq-simd.wasm';
export const KERNEL_WASM_SCALAR = 'edgeq-scalar.wasm';
/** The relaxed-SIMD build (loaded only after the probe and the self-check pass). */
export const KERNEL_WASM_RELAXED = 'edgeq-relaxed.wasm';

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

/** An instantiated kernel module bound to its memory. */
export interface Kernels {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** True for the SIMD build. */
  readonly simd: boolean;
  /** True for the relaxed-SIMD build (its relaxed kernels run relaxed_dot; elsewhere their scalar twins). */
  readonly relaxed: boolean;
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
  return { exports, memory, simd: exports.simd_enabled() === 1, relaxed: exports.relaxed_enabled() === 1, im2colRows: exports.im2col_rows() };
}
