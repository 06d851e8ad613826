// edgeq kernel module. Every export takes byte offsets into the imported memory plus sizes and
// parameters; nothing is allocated here (runtime stub). The host places every buffer.
//
// Built twice from these sources: with SIMD (ASC_FEATURE_SIMD, build/edgeq-simd.wasm) the plain
// names run the SIMD kernels; without it (build/edgeq-scalar.wasm) they run the scalar twins.
// The *_ref exports are the scalar twins in both builds (bit-exact with the SIMD kernels).
//
// These signatures are the one declaration of the kernel interface: scripts/gen-kernel-api.js
// (run by npm run build:wasm) reads them, with the flag bits of assembly/flags.ts, and writes the
// host's typed view, src/kernels/kernel-api.generated.ts. Layouts and semantics: docs/kernels.md.

import { gemmCoreSimd, gemmCoreRelaxedSimd, gemmCoreRef, convIm2col, convIm2colRelaxed, IM2COL_ROWS } from './gemm';
import { gemmRelaxed4x8c4Simd, gemmRelaxed4x8c4Ref, convIm2colRelaxed4x8c4 } from './gemm-c4';
import { MAXPOOL_FLAG_IO16, RELAXED_FLAG_SHIFTED } from './flags';
import { vaddSimd, vaddRef } from './vadd';
import { maxpoolU8, gavgpoolU8, gavgpoolF32 } from './pool';
import { wino3x3, winoScratchBytes } from './winograd';
import { dwconvSimd, dwconvRef, dwconvRelaxedSimd, dwconvRelaxedRef } from './dwconv';
import { vmulSimd, vmulRef } from './mul';
import { concatSimd, concatRef } from './concat';
import { avgpoolQ } from './avgpool';
import { softmaxF32 } from './softmax';
import { quantizeNchw } from './quantize';

/** 1 in the SIMD build, 0 in the scalar build. */
export function simd_enabled(): i32 { return ASC_FEATURE_SIMD ? 1 : 0; }

/** 1 in the relaxed-SIMD builds (edgeq-relaxed*.wasm), 0 otherwise. */
export function relaxed_enabled(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }

/** Rows per im2col block (the im2col scratch holds this many rows). */
export function im2col_rows(): i32 { return IM2COL_ROWS; }

// The convolution kernels take alpha (LeakyReLU slope, 1 = none) and beta, and an activation code in
// their flags (GEMM_FLAG_ACT_* and its twins): the fused activation of assembly/common.ts (ACT_*),
// whose parameters alpha / beta then are (LeakyReLU off).

// ---- GEMM over contiguous rows (1x1 stride-1 convolution, fully connected) ----------------

export function qu8_gemm(M: i32, N: i32, KB: i32, groups: i32, a: usize, aStride: i32, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) {
    gemmCoreSimd(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  } else {
    gemmCoreRef(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  }
}

export function qu8_gemm_ref(M: i32, N: i32, KB: i32, groups: i32, a: usize, aStride: i32, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  gemmCoreRef(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- IGEMM through an indirection buffer (every other convolution) --------------------------

export function qu8_igemm(M: i32, N: i32, KB: i32, taps: i32, groups: i32, ind: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) {
    gemmCoreSimd(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  } else {
    gemmCoreRef(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  }
}

export function qu8_igemm_ref(M: i32, N: i32, KB: i32, taps: i32, groups: i32, ind: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  gemmCoreRef(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- relaxed-SIMD GEMM / IGEMM (uint8 activations, 2x4c16 weights, any KB) ------------------
// i32x4.relaxed_dot_i8x16_i7x16_add_s, 16 K per step (an odd KB's last block: 8). Exact only on engines whose relaxed dot the
// host's probe classified as u8xs8 (flags without RELAXED_FLAG_SHIFTED) or s8xs8 (with it, and
// weights repacked with + 128 * sum(w) in the bias); the host calls them only then. Without
// relaxed SIMD in the build the plain names run the scalar twin (same results).

export function qu8_gemm_relaxed_2x4c16(M: i32, N: i32, KB: i32, groups: i32, a: usize, aStride: i32, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  const shifted = (flags & RELAXED_FLAG_SHIFTED) != 0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    gemmCoreRelaxedSimd(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, shifted);
  } else {
    gemmCoreRef(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, true, shifted);
  }
}

export function qu8_gemm_relaxed_2x4c16_ref(M: i32, N: i32, KB: i32, groups: i32, a: usize, aStride: i32, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  gemmCoreRef(M, N, KB, 1, groups, a, <usize>aStride, false, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, true, (flags & RELAXED_FLAG_SHIFTED) != 0);
}

export function qu8_igemm_relaxed_2x4c16(M: i32, N: i32, KB: i32, taps: i32, groups: i32, ind: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  const shifted = (flags & RELAXED_FLAG_SHIFTED) != 0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    gemmCoreRelaxedSimd(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, shifted);
  } else {
    gemmCoreRef(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, true, shifted);
  }
}

export function qu8_igemm_relaxed_2x4c16_ref(M: i32, N: i32, KB: i32, taps: i32, groups: i32, ind: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  gemmCoreRef(M, N, KB, taps, groups, ind, 0, true, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags, true, (flags & RELAXED_FLAG_SHIFTED) != 0);
}

// ---- relaxed-SIMD GEMM with K in quads (1x1 stride-1, group 1, uint8 in and out; 4x8c4 weights) ----
// Four rows x eight channels per tile, an accumulator lane per channel (no horizontal reduction);
// channels whose weights span more than int8 run on offset weights plus c * sum(x) (flags
// C4_FLAG_ROW_SUMS). Layout and contract: assembly/gemm-c4.ts. Exact only in the lowering the host's
// probe found (C4_FLAG_SHIFTED: s8xs8); without relaxed SIMD in the build the plain name runs the
// scalar twin (same results).

export function qu8_gemm_relaxed_4x8c4(M: i32, N: i32, K: i32, a: usize, aStride: i32, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) gemmRelaxed4x8c4Simd(M, N, K, a, <usize>aStride, w, out, <usize>outStride, zp, fmin, fmax, alpha, beta, flags);
  else gemmRelaxed4x8c4Ref(M, N, K, a, <usize>aStride, w, out, <usize>outStride, zp, fmin, fmax, alpha, beta, flags);
}

export function qu8_gemm_relaxed_4x8c4_ref(M: i32, N: i32, K: i32, a: usize, aStride: i32, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  gemmRelaxed4x8c4Ref(M, N, K, a, <usize>aStride, w, out, <usize>outStride, zp, fmin, fmax, alpha, beta, flags);
}

// The im2col form (group 1, uint8 in and out, the flattened layout's weights in 4x8c4 with
// K = taps * cin, e.g. the RGB stem; the indirection's taps in kernel rows of kw): each block of
// IM2COL_ROWS gathered rows (a kernel row inside the image as one window), then the 4x8c4 GEMM.
export function qu8_conv_im2col_relaxed_4x8c4(M: i32, N: i32, KB: i32, taps: i32, kw: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  convIm2colRelaxed4x8c4(true, M, N, KB, taps, kw, cin, ind, scratch, w, out, <usize>outStride, zp, fmin, fmax, alpha, beta, flags);
}

export function qu8_conv_im2col_relaxed_4x8c4_ref(M: i32, N: i32, KB: i32, taps: i32, kw: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  convIm2colRelaxed4x8c4(false, M, N, KB, taps, kw, cin, ind, scratch, w, out, <usize>outStride, zp, fmin, fmax, alpha, beta, flags);
}

// ---- im2col + GEMM (group 1, channels per tap not a multiple of 8, e.g. the RGB stem) --------

export function qu8_conv_im2col(M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  convIm2col(true, M, N, KB, taps, cin, ind, scratch, w, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

export function qu8_conv_im2col_ref(M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  convIm2col(false, M, N, KB, taps, cin, ind, scratch, w, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- relaxed-SIMD im2col + GEMM (8-bit activations, 2x4c16 weights of the flattened layout) ----
// The gather of qu8_conv_im2col, then the relaxed GEMM over the scratch rows; flags RELAXED_FLAG_*
// (the lowerings as for qu8_gemm_relaxed_2x4c16). A -w16 layer split at its wide blocks: kinds
// (a byte per 4-channel block, 1 = wide) and w16 (its int16 layout) for those blocks' i16 GEMM;
// otherwise both 0. Without relaxed SIMD in the build: the scalar twin.

export function qu8_conv_im2col_relaxed_2x4c16(M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, w16: usize, kinds: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  convIm2colRelaxed(true, M, N, KB, taps, cin, ind, scratch, w, w16, kinds, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

export function qu8_conv_im2col_relaxed_2x4c16_ref(M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, w16: usize, kinds: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  convIm2colRelaxed(false, M, N, KB, taps, cin, ind, scratch, w, w16, kinds, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- exact integer Winograd F(2x2, 3x3), stride 1, group 1 (assembly/winograd.ts); flags: WINO_FLAG_* ----

export function qu8_wino3x3(H: i32, W: i32, C: i32, inp: usize, zx: i32, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  t0: i32, t1: i32, N: i32, KB: i32, w: usize, scratch: usize, groupTiles: i32,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  wino3x3(ASC_FEATURE_SIMD, H, W, C, inp, zx, OH, OW, padTop, padLeft, t0, t1, N, KB, w, scratch, groupTiles, out, outStride, zp, fmin, fmax, alpha, beta, flags);
}

export function qu8_wino3x3_ref(H: i32, W: i32, C: i32, inp: usize, zx: i32, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  t0: i32, t1: i32, N: i32, KB: i32, w: usize, scratch: usize, groupTiles: i32,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  wino3x3(false, H, W, C, inp, zx, OH, OW, padTop, padLeft, t0, t1, N, KB, w, scratch, groupTiles, out, outStride, zp, fmin, fmax, alpha, beta, flags);
}

/** Scratch bytes one qu8_wino3x3 call needs for a tile group of groupTiles tiles. */
export function wino_scratch_bytes(KB: i32, groupTiles: i32): i32 { return winoScratchBytes(KB, groupTiles); }

// ---- residual add -----------------------------------------------------------------------------

// flags: VADD_FLAG_* (assembly/flags.ts).
export function qu8_vadd(n: i32, a: usize, b: usize, out: usize, za: i32, zb: i32, ma: f32, mb: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) vaddSimd(n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, flags);
  else vaddRef(n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, 0, flags);
}

export function qu8_vadd_ref(n: i32, a: usize, b: usize, out: usize, za: i32, zb: i32, ma: f32, mb: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  vaddRef(n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, 0, flags);
}

// ---- pooling ----------------------------------------------------------------------------------

export function u8_maxpool(N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  SH: i32, SW: i32, padTop: i32, padLeft: i32, inp: usize, out: usize, flags: i32): void {
  maxpoolU8(true, N, H, W, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, inp, out, (flags & MAXPOOL_FLAG_IO16) != 0);
}

export function u8_maxpool_ref(N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  SH: i32, SW: i32, padTop: i32, padLeft: i32, inp: usize, out: usize, flags: i32): void {
  maxpoolU8(false, N, H, W, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, inp, out, (flags & MAXPOOL_FLAG_IO16) != 0);
}

export function qu8_gavgpool(N: i32, HW: i32, C: i32, inp: usize, out: usize, zi: i32, scale: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  gavgpoolU8(true, N, HW, C, inp, out, zi, scale, zo, fmin, fmax, flags);
}

export function qu8_gavgpool_ref(N: i32, HW: i32, C: i32, inp: usize, out: usize, zi: i32, scale: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  gavgpoolU8(false, N, HW, C, inp, out, zi, scale, zo, fmin, fmax, flags);
}

export function f32_gavgpool(N: i32, HW: i32, C: i32, inp: usize, out: usize): void {
  gavgpoolF32(true, N, HW, C, inp, out);
}

export function f32_gavgpool_ref(N: i32, HW: i32, C: i32, inp: usize, out: usize): void {
  gavgpoolF32(false, N, HW, C, inp, out);
}

// ---- depthwise convolution (group == channels, multiplier 1): 16 channels per step, through the
// IGEMM's indirection buffer (assembly/dwconv.ts); flags: DWCONV_FLAG_* -------------------------

export function qu8_dwconv_c16(M: i32, C: i32, taps: i32, ind: usize, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) dwconvSimd(M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  else dwconvRef(M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

export function qu8_dwconv_c16_ref(M: i32, C: i32, taps: i32, ind: usize, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  dwconvRef(M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- relaxed-SIMD depthwise convolution (8-bit activations): four taps per relaxed dot over the
// c16x4 layout at wr (built by the host from the qu8-dwconv-c16 weights at w, which the blocks left
// to the i16 step, the last taps % 4, the last C % 8 channels and the multipliers still read;
// assembly/dwconv.ts). Exact only where the
// host's probe classified the relaxed dot (u8xs8: flags without DWCONV_FLAG_SHIFTED; s8xs8: with
// it); without relaxed SIMD in the build the plain name runs the scalar twin (same results).

export function qu8_dwconv_relaxed_c16x4(M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) dwconvRelaxedSimd(M, C, taps, ind, w, wr, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
  else dwconvRelaxedRef(M, C, taps, ind, w, wr, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

export function qu8_dwconv_relaxed_c16x4_ref(M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: i32, res: usize, zr: i32, mr: f32, flags: i32): void {
  dwconvRelaxedRef(M, C, taps, ind, w, wr, out, outStride, zp, fmin, fmax, alpha, beta, outF32 != 0, res, zr, mr, flags);
}

// ---- input quantization: float32 NCHW at x -> the uint8 (out16: 12-bit, u16 lanes) NHWC input
// tensor at out, q = clamp(roundHalfEven(f64(x) * inv) + zp, 0, qmax) (assembly/quantize.ts).
// Returns -1, or the NCHW index of the first NaN or +-Infinity (nothing is written past it).

export function f32_quantize_nchw(N: i32, C: i32, HW: i32, x: usize, out: usize, inv: f64, zp: i32, qmax: i32, out16: i32): i32 {
  return quantizeNchw(true, N, C, HW, x, out, inv, zp, qmax, out16 != 0);
}

export function f32_quantize_nchw_ref(N: i32, C: i32, HW: i32, x: usize, out: usize, inv: f64, zp: i32, qmax: i32, out16: i32): i32 {
  return quantizeNchw(false, N, C, HW, x, out, inv, zp, qmax, out16 != 0);
}

// ---- softmax over the channels of float32 rows (assembly/softmax.ts; _ref: the scalar twin) -----

export function f32_softmax(rows: i32, C: i32, inp: usize, out: usize): void {
  softmaxF32(true, rows, C, inp, out);
}

export function f32_softmax_ref(rows: i32, C: i32, inp: usize, out: usize): void {
  softmaxF32(false, rows, C, inp, out);
}

// ---- elementwise multiply (squeeze-and-excitation gate, same-shape Mul; assembly/mul.ts) ------
// flags: VMUL_FLAG_*; bStride 0 broadcasts one row of b over the M rows of a.

export function qu8_vmul(M: i32, C: i32, a: usize, b: usize, bStride: i32, out: usize, za: i32, zb: i32, m: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) vmulSimd(M, C, a, b, bStride, out, za, zb, m, zo, fmin, fmax, flags);
  else vmulRef(M, C, a, b, bStride, out, za, zb, m, zo, fmin, fmax, 0, flags);
}

export function qu8_vmul_ref(M: i32, C: i32, a: usize, b: usize, bStride: i32, out: usize, za: i32, zb: i32, m: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  vmulRef(M, C, a, b, bStride, out, za, zb, m, zo, fmin, fmax, 0, flags);
}

// ---- channel concatenation, one input per call (assembly/concat.ts); flags: CONCAT_FLAG_* ------

export function qu8_concat(M: i32, C: i32, inp: usize, out: usize, outStride: i32, zi: i32, si: f32, so: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  if (ASC_FEATURE_SIMD) concatSimd(M, C, inp, out, outStride, zi, si, so, zo, fmin, fmax, flags);
  else concatRef(M, C, inp, out, outStride, zi, si, so, zo, fmin, fmax, 0, flags);
}

export function qu8_concat_ref(M: i32, C: i32, inp: usize, out: usize, outStride: i32, zi: i32, si: f32, so: f32,
  zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  concatRef(M, C, inp, out, outStride, zi, si, so, zo, fmin, fmax, 0, flags);
}

// ---- average pool (assembly/avgpool.ts); flags: AVGPOOL_FLAG_* --------------------------------

export function qu8_avgpool(N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  padTop: i32, padLeft: i32, inp: usize, out: usize, zi: i32, si: f32, so: f32, zo: i32, qmax: i32, flags: i32): void {
  avgpoolQ(true, N, H, W, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, inp, out, zi, si, so, zo, qmax, flags);
}

export function qu8_avgpool_ref(N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  padTop: i32, padLeft: i32, inp: usize, out: usize, zi: i32, si: f32, so: f32, zo: i32, qmax: i32, flags: i32): void {
  avgpoolQ(false, N, H, W, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, inp, out, zi, si, so, zo, qmax, flags);
}
