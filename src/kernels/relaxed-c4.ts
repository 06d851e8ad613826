// The qu8-gemm-4x8c4 weight layout of qu8_gemm_relaxed_4x8c4 and qu8_conv_im2col_relaxed_4x8c4
// (assembly/gemm-c4.ts): which layers
// take it and its packing, built at load from the layer's 2x4c8 blob (int8, or the int16 layout of
// a -w16 section). Browser-safe: no Node imports.
//
// Per block of 8 output channels (c4BlockBytes(K) bytes): i32 bias[8] | i32 c[8] | for quad
// q < ceil(K / 4): i8 w[2][4][4] (channels 0-3 then 4-7, four weights of the quad each, zero past K)
// | f32 multiplier[8]. Weights are w - c with c the channel's offset (0 when its weights already
// lie in [-127, 127]); the kernel adds c * sum(x) back. Channels past N: zero everywhere.

import { EdgeqError } from '../errors.js';
import type { Conv2dPlan } from './conv.js';
import type { RelaxedDotMode } from './relaxed.js';

/** Packing name of the layout (in wasm memory only; never stored in a model). */
export const PACKING_GEMM_C4 = 'qu8-gemm-4x8c4';

/** Bytes of one block of 8 output channels over K input channels. */
export function c4BlockBytes(K: number): number {
  return 96 + Math.ceil(K / 4) * 32;
}

/**
 * True when qu8_gemm_relaxed_4x8c4 (a 1x1 stride-1 GEMM) or qu8_conv_im2col_relaxed_4x8c4 (the
 * flattened im2col layout, e.g. an RGB stem) can run this convolution: group 1, uint8 input and
 * output, no fused residual (the last M % 4 rows, e.g. a fully connected layer's one, run row by
 * row). The weights must also pack (packGemmRelaxed4x8c4).
 */
export function gemmC4Eligible(plan: Conv2dPlan, inputType: string | undefined, outputType: string, residual: boolean): boolean {
  return (plan.strategy === 'gemm' || (plan.strategy === 'im2col' && plan.im2col)) && plan.groups === 1 && plan.taps === 1 && !plan.depthwise
    && (inputType ?? 'uint8') === 'uint8' && outputType === 'uint8' && !residual;
}

/**
 * True when the 4x8c4 kernels are the faster relaxed form of an eligible layer: K up to 256 (above,
 * the 2x4c16 tile's longer 16-K steps win by 2-8% on ResNet-50's 1x1 layers: docs/tuning-log.md),
 * and any -w16 layer (its offset channels would otherwise leave blocks to the i16 kernels).
 */
export function gemmC4Preferred(plan: Conv2dPlan): boolean {
  return plan.wide || c4K(plan) <= 256;
}

/** The GEMM's K: input channels, or taps * channels for the flattened im2col layout. */
export function c4K(plan: Conv2dPlan): number {
  return plan.im2col ? plan.kernelTaps * plan.cinPerGroup : plan.cinPerGroup;
}

/**
 * The layout, and how its weights outside [-127, 127] are handled: channel offsets (the kernel's
 * C4_FLAG_ROW_SUMS) or sparse corrections (C4_FLAG_CORRECTIONS); neither when there are none.
 */
export interface GemmC4Weights {
  bytes: Uint8Array;
  rowSums: boolean;
  corrections: boolean;
}

/** Most corrections a block's c[8] field holds (one u32 entry each). */
export const C4_MAX_CORRECTIONS = 8;

/**
 * The 4x8c4 form of a GEMM layer's weights: `blob` in the kernels' 2x4c8 layout (plan.blockBytes
 * per 4-channel block; int16 weights when plan.wide, i.e. a -w16 section after
 * expandWideWeights), for the relaxed lowering `mode` (s8xs8: + 128 * the stored weights' sum in
 * the bias, int32 wrap as the kernels' sums). Weights outside [-127, 127], the range the probe
 * vouches for: as sparse corrections when each block has at most C4_MAX_CORRECTIONS of them, none
 * beyond +-254 (stored clamp(w, -127, 127), the entry's b = w minus that), else as channel
 * offsets. Undefined when neither fits (some channel spans more than 254 values).
 */
export function packGemmRelaxed4x8c4(blob: Uint8Array, plan: Conv2dPlan, mode: RelaxedDotMode): GemmC4Weights | undefined {
  const N = plan.coutPerGroup, K = c4K(plan), wBytes = plan.wide ? 2 : 1;
  if (plan.groups !== 1 || plan.taps !== 1 || plan.blockBytes !== 32 + plan.KB * 32 * wBytes || blob.length < plan.nBlocks * plan.blockBytes) {
    throw new EdgeqError('INTERNAL', `a ${blob.length}-byte blob of blocks of ${plan.blockBytes} bytes is not a one-tap GEMM or flattened im2col layout (K ${K}, N ${N})`);
  }
  const src = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const weight = (ch: number, k: number): number => {
    const at = (ch >> 2) * plan.blockBytes + 16 + ((k >> 3) * 32 + (ch & 3) * 8 + (k & 7)) * wBytes;
    return wBytes === 2 ? src.getInt16(at, true) : src.getInt8(at);
  };
  const bb = c4BlockBytes(K), quads = Math.ceil(K / 4);
  const out = new Uint8Array(Math.ceil(N / 8) * bb);
  const dst = new DataView(out.buffer);
  // Sparse corrections where every wide weight is within +-254 and no block has more than 8.
  const wideIn = new Array<number>(Math.ceil(N / 8)).fill(0);
  let sparse = K <= 0xFFFF, anyWide = false;
  for (let ch = 0; ch < N && sparse; ch++) {
    for (let k = 0; k < K; k++) {
      const v = weight(ch, k);
      if (v >= -127 && v <= 127) continue;
      anyWide = true;
      if (v < -254 || v > 254 || ++wideIn[ch >> 3] > C4_MAX_CORRECTIONS) { sparse = false; break; }
    }
  }
  const corrections = sparse && anyWide;
  let rowSums = false;
  const entries = new Array<number>(Math.ceil(N / 8)).fill(0);
  for (let ch = 0; ch < N; ch++) {
    const base = (ch >> 3) * bb, j = ch & 7;
    let c = 0;
    if (!corrections) {
      let lo = Infinity, hi = -Infinity;
      for (let k = 0; k < K; k++) { const v = weight(ch, k); lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (hi - lo > 254) return undefined;
      // The offset: 0 when the channel fits, else the midpoint moved into [hi - 127, lo + 127].
      c = lo >= -127 && hi <= 127 ? 0 : Math.min(lo + 127, Math.max(hi - 127, Math.round((lo + hi) / 2)));
      if (c !== 0) rowSums = true;
      dst.setInt32(base + 32 + 4 * j, c, true);
    }
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const w = weight(ch, k) - c;
      const v = Math.max(-127, Math.min(127, w));
      if (v !== w) dst.setUint32(base + 32 + 4 * entries[ch >> 3]++, (k | (j << 16) | (((w - v) & 0xFF) << 24)) >>> 0, true);
      dst.setInt8(base + 64 + (k >> 2) * 32 + (j >> 2) * 16 + (j & 3) * 4 + (k & 3), v);
      sum += v;
    }
    const srcBlock = (ch >> 2) * plan.blockBytes;
    const bias = src.getInt32(srcBlock + 4 * (ch & 3), true);
    dst.setInt32(base + 4 * j, mode === 's8xs8' ? (bias + 128 * sum) | 0 : bias, true);
    dst.setFloat32(base + 64 + quads * 32 + 4 * j, src.getFloat32(srcBlock + plan.blockBytes - 16 + 4 * (ch & 3), true), true);
  }
  return { bytes: out, rowSums, corrections };
}
