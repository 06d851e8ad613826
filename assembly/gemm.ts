// qu8 GEMM / IGEMM: uint8 activations x int8 weights -> int32 -> requantized uint8 or float32.
// The same kernels take 12-bit activations ("qu12": uint16 lanes holding 0..4095) on the input, the
// output and the fused residual, chosen per operand by `flags` (FLAG_IN16 | FLAG_OUT16 | FLAG_RES16):
// the u8 path widens to i16 before i32x4.dot_i16x8_s anyway, so 12-bit inputs cost no extra multiply.
//
// Tile 2x4c8: two output rows (pixels) x four output channels, K consumed 8 at a time. (The
// relaxed builds add 2x4c16 over the same blocks regrouped: gemmCoreRelaxedSimd, docs/kernels.md.)
// Each step widens 8 u8 activations per row to i16 (v128.load8x8_u), 8 i8 weights per channel
// to i16 (v128.load8x8_s) and accumulates i32x4.dot_i16x8_s into 8 partial-sum vectors that
// are reduced horizontally in the epilogue.
//
// Packed weights (see docs/format-packing.md, "Packed weights"), per group, per block of 4
// output channels:  i32 bias[4] | for tap, for k-block of 8: i8 w[4][8] | f32 multiplier[4]
// With FLAG_W16 (packings qu8-gemm-2x4c8-w16 / -im2col-w16, as the host expands them at load) each
// k-block is i16 w[4][8] (64 bytes), values in [-255, 255] (8-bit weights minus their zero point): the same tile loads 8 i16
// weights with v128.load instead of widening 8 i8 ones (v128.load8x8_s). No i16 product overflows:
// |x * w| <= 4095 * 255 and i32x4.dot_i16x8_s adds two of them (< 2^22); the int32 accumulator
// wraps as the scalar twin's does.
//
// Row sources:
//  - direct   (GEMM):  row m starts at a + m * aStride
//  - indirect (IGEMM): row m, tap t starts at u32 ind[m * taps + t] (an input pixel or the
//                      zero-point row); the group offset g * aGroupStride is added to it.
// Rows past M reuse row M-1 (their results are not stored).

import { MAGIC, MAGIC_BITS, magicRound, magicRound8, loadRow8, epilogueF, epilogueV, actCode, ACT_NONE } from './common';
import { GEMM_FLAG_IN16 as FLAG_IN16, GEMM_FLAG_OUT16 as FLAG_OUT16, GEMM_FLAG_RES16 as FLAG_RES16, GEMM_FLAG_W16 as FLAG_W16, RELAXED_FLAG_SHIFTED } from './flags';

@inline function hsum4(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  // Interleaves only (one instruction each on x64): punpck{l,h}dq then punpck{l,h}qdq.
  const t0 = i32x4.add(i32x4.shuffle(c0, c1, 0, 4, 1, 5), i32x4.shuffle(c0, c1, 2, 6, 3, 7));
  const t1 = i32x4.add(i32x4.shuffle(c2, c3, 0, 4, 1, 5), i32x4.shuffle(c2, c3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** Output / residual element kinds (compile-time constants in the specialised loops). */
const KIND_U8: i32 = 0, KIND_U16: i32 = 1, KIND_F32: i32 = 2, KIND_NONE: i32 = 3;

@inline function requantV(acc: v128, vmul: v128, leaky: bool, valpha: v128, act: i32, vbeta: v128, vmin: v128, vmax: v128,
  resKind: i32, rp: usize, vzr: v128, vmr: v128): v128 {
  let y = f32x4.mul(f32x4.convert_i32x4_s(acc), vmul);
  if (resKind != KIND_NONE) {
    // 4 residual values (u8 or u16) -> i32 - zr -> f32 * mr, added after the accumulator's product.
    const r = resKind == KIND_U16 ? i32x4.extend_low_i16x8_u(v128.load64_zero(rp))
      : i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(rp)));
    y = f32x4.add(y, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(r, vzr)), vmr));
  }
  return epilogueV(y, leaky, act, valpha, vbeta, vmin, vmax);
}

/** Bytes of one packed block of 4 output channels with weights of wBytes (1: i8, 2: i16) each. */
@inline export function packedBlockBytes(KB: i32, taps: i32, wBytes: usize): usize {
  return 32 + <usize>(taps * KB * 32) * wBytes;
}

// ---------------------------------------------------------------------------------------------
// SIMD core
// ---------------------------------------------------------------------------------------------

/**
 * One 2x4 tile over all taps and K: accumulate, reduce, requantize, store. A: the activations'
 * element type (u8, or u16 for 12-bit). R: the multiply: i16 = i32x4.dot_i16x8_s over the
 * 2x4c8 layout (8 K per step); u8 / i8 = i32x4.relaxed_dot_i8x16_i7x16_add_s over the 2x4c16
 * layout (16 K per step; A = u8 only), activations as they are (u8) or shifted by -128 (i8).
 * W: the packed weights' element type, i8 or (R = i16 only) i16 (the -w16 packings). outKind / resKind / leaky / indirect / full (all 4
 * channels, `nr` ignored) / has1 are literals in the specialised loops, so that the optimizer
 * folds their branches away; the generic loop passes them at run time.
 */
@inline function tileSimd<A, R, W>(
  r0: usize, r1: usize, has1: bool, indirect: bool, taps: i32, KB: i32, aoff: usize,
  wb: usize, blockBytes: usize, o0: usize, outStride: usize, full: bool, nr: i32, outKind: i32,
  leaky: bool, valpha: v128, act: i32, vbeta: v128, vmin: v128, vmax: v128, vmagic: v128, vmlz: v128,
  resKind: i32, rp0: usize, rp1: usize, vzr: v128, vmr: v128,
): void {
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
  let c10 = i32x4.splat(0), c11 = i32x4.splat(0), c12 = i32x4.splat(0), c13 = i32x4.splat(0);
  let wp = wb + 16;
  let i0 = r0, i1 = r1;
  for (let t = 0; t < taps; t++) {
    let a0: usize, a1: usize;
    if (indirect) {
      a0 = <usize>load<u32>(i0) + aoff;
      a1 = <usize>load<u32>(i1) + aoff;
      i0 += 4; i1 += 4;
    } else {
      a0 = i0 + aoff;
      a1 = i1 + aoff;
    }
    if (sizeof<R>() == 1) {
      // Relaxed 2x4c16 (R = u8: activations as they are; R = i8: activations - 128, the bias
      // carries + 128 * sum(w)). Weights are the first (int8) operand, activations the second.
      // Exact only where the run-time probe classified the engine's relaxed dot (see
      // src/kernels/relaxed-probe.ts). 16 K per step; an odd KB ends with an 8-K step on the
      // tap's last 2x4c8 block (vectors' upper halves zero: zero weights add nothing).
      if (ASC_FEATURE_RELAXED_SIMD) {
        const vflip = i8x16.splat(-128);
        let k = KB >> 1;
        if (k > 0) do {
          let va0 = v128.load(a0);
          let va1 = v128.load(a1);
          if (isSigned<R>()) { va0 = v128.xor(va0, vflip); va1 = v128.xor(va1, vflip); }
          const vw0 = v128.load(wp);
          c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw0, va0, c00);
          c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw0, va1, c10);
          const vw1 = v128.load(wp, 16);
          c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw1, va0, c01);
          c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw1, va1, c11);
          const vw2 = v128.load(wp, 32);
          c02 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw2, va0, c02);
          c12 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw2, va1, c12);
          const vw3 = v128.load(wp, 48);
          c03 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw3, va0, c03);
          c13 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw3, va1, c13);
          a0 += 16; a1 += 16; wp += 64;
        } while (--k > 0);
        if (KB & 1) {
          let va0 = v128.load64_zero(a0);
          let va1 = v128.load64_zero(a1);
          if (isSigned<R>()) { va0 = v128.xor(va0, vflip); va1 = v128.xor(va1, vflip); }
          const vw0 = v128.load64_zero(wp);
          c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw0, va0, c00);
          c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw0, va1, c10);
          const vw1 = v128.load64_zero(wp, 8);
          c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw1, va0, c01);
          c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw1, va1, c11);
          const vw2 = v128.load64_zero(wp, 16);
          c02 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw2, va0, c02);
          c12 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw2, va1, c12);
          const vw3 = v128.load64_zero(wp, 24);
          c03 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw3, va0, c03);
          c13 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vw3, va1, c13);
          wp += 32;
        }
      }
      continue;
    }
    let k = KB;
    do {
      const va0 = loadRow8<A>(a0);
      const va1 = loadRow8<A>(a1);
      // 8 weights of channel j: i16 as stored (W = i16) or i8 widened (W = i8).
      const vw0 = sizeof<W>() == 2 ? v128.load(wp) : v128.load8x8_s(wp);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va0, vw0));
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va1, vw0));
      const vw1 = sizeof<W>() == 2 ? v128.load(wp, 16) : v128.load8x8_s(wp, 8);
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va0, vw1));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va1, vw1));
      const vw2 = sizeof<W>() == 2 ? v128.load(wp, 32) : v128.load8x8_s(wp, 16);
      c02 = i32x4.add(c02, i32x4.dot_i16x8_s(va0, vw2));
      c12 = i32x4.add(c12, i32x4.dot_i16x8_s(va1, vw2));
      const vw3 = sizeof<W>() == 2 ? v128.load(wp, 48) : v128.load8x8_s(wp, 24);
      c03 = i32x4.add(c03, i32x4.dot_i16x8_s(va0, vw3));
      c13 = i32x4.add(c13, i32x4.dot_i16x8_s(va1, vw3));
      a0 += 8 * sizeof<A>(); a1 += 8 * sizeof<A>(); wp += 32 * sizeof<W>();
    } while (--k > 0);
  }
  const vbias = v128.load(wb);
  const vmul = v128.load(wb + blockBytes - 16);
  const o1 = o0 + outStride;
  const y0 = requantV(i32x4.add(hsum4(c00, c01, c02, c03), vbias), vmul, leaky, valpha, act, vbeta, vmin, vmax, resKind, rp0, vzr, vmr);
  const y1 = requantV(i32x4.add(hsum4(c10, c11, c12, c13), vbias), vmul, leaky, valpha, act, vbeta, vmin, vmax, resKind, has1 ? rp1 : rp0, vzr, vmr);
  if (outKind == KIND_F32) {
    if (full) {
      v128.store(o0, y0);
      if (has1) v128.store(o1, y1);
    } else {
      v128.store32_lane(o0, y0, 0);
      if (nr > 1) v128.store32_lane(o0, y0, 1, 4);
      if (nr > 2) v128.store32_lane(o0, y0, 2, 8);
      if (has1) {
        v128.store32_lane(o1, y1, 0);
        if (nr > 1) v128.store32_lane(o1, y1, 1, 4);
        if (nr > 2) v128.store32_lane(o1, y1, 2, 8);
      }
    }
  } else if (outKind == KIND_U16) {
    const h = magicRound8(y0, y1, vmagic, vmlz);
    if (full) {
      v128.store64_lane(o0, h, 0);
      if (has1) v128.store64_lane(o1, h, 1);
    } else {
      v128.store16_lane(o0, h, 0);
      if (nr > 1) v128.store16_lane(o0, h, 1, 2);
      if (nr > 2) v128.store16_lane(o0, h, 2, 4);
      if (has1) {
        v128.store16_lane(o1, h, 4);
        if (nr > 1) v128.store16_lane(o1, h, 5, 2);
        if (nr > 2) v128.store16_lane(o1, h, 6, 4);
      }
    }
  } else {
    const q0 = i32x4.sub(f32x4.add(y0, vmagic), vmlz);
    const q1 = i32x4.sub(f32x4.add(y1, vmagic), vmlz);
    const h = i16x8.narrow_i32x4_s(q0, q1);
    const b = i8x16.narrow_i16x8_u(h, h);
    if (full) {
      v128.store32_lane(o0, b, 0);
      if (has1) v128.store32_lane(o1, b, 1);
    } else {
      v128.store8_lane(o0, b, 0);
      if (nr > 1) v128.store8_lane(o0, b, 1, 1);
      if (nr > 2) v128.store8_lane(o0, b, 2, 2);
      if (has1) {
        v128.store8_lane(o1, b, 4);
        if (nr > 1) v128.store8_lane(o1, b, 5, 1);
        if (nr > 2) v128.store8_lane(o1, b, 6, 2);
      }
    }
  }
}

@inline function kindBytes(kind: i32): usize {
  return kind == KIND_F32 ? 4 : kind == KIND_U16 ? 2 : 1;
}

/**
 * The full 4-channel blocks (nb < N / 4) x row pairs (m < M & ~1) of one call, with every operand
 * kind a literal at each call site: no per-tile test and the epilogue's constants stay in
 * registers (measurements: docs/tuning-log.md). The edges go through gemmGenericSimd.
 */
@inline function gemmFullTiles<A, R, W>(outKind: i32, resKind: i32, leaky: bool, indirect: bool,
  M: i32, N: i32, KB: i32, taps: i32, groups: i32, src: usize, rowStep: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32,
): void {
  const nFull = N >> 2, nBlocks = (N + 3) >> 2, pairs = M >> 1;
  const blockBytes = packedBlockBytes(KB, taps, sizeof<W>());
  const vzr = i32x4.splat(zr), vmr = f32x4.splat(mr), valpha = f32x4.splat(alpha);
  const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zp);
  // outStride is in bytes of the output; the residual has the output's layout in its own element size.
  const oBytes = kindBytes(outKind), rBytes = resKind == KIND_NONE ? 0 : <i32>kindBytes(resKind);
  const ostride = <usize>outStride, rstride = <usize>outStride / oBytes * rBytes;
  for (let g = 0; g < groups; g++) {
    const aoff = <usize>(g * aGroupStride);
    let wb = w + <usize>g * <usize>nBlocks * blockBytes;
    for (let nb = 0; nb < nFull; nb++, wb += blockBytes) {
      const col = <usize>(g * outGroupStride + (nb << 2));
      let r0 = src, o0 = out + col * oBytes, rp = res + col * rBytes;
      for (let i = 0; i < pairs; i++) {
        tileSimd<A, R, W>(r0, r0 + rowStep, true, indirect, taps, KB, aoff, wb, blockBytes, o0, ostride, true, 4, outKind,
          leaky, valpha, ACT_NONE, valpha, vmin, vmax, vmagic, vmlz, resKind, rp, rp + rstride, vzr, vmr);
        r0 += rowStep << 1; o0 += ostride << 1; rp += rstride << 1;
      }
    }
  }
}

/** Specialised full-tile loops for one input type and its row source; false when the operand mix has none (the generic loop then does everything). */
function gemmFastSimd<A, R, W>(indirect: bool, outKind: i32, resKind: i32, leaky: bool,
  M: i32, N: i32, KB: i32, taps: i32, groups: i32, src: usize, rowStep: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32,
): bool {
  // The mixes the runtime produces: output of the input's width (u8 -> u8, 12-bit -> 12-bit),
  // with or without a same-width residual, ReLU/none or LeakyReLU; and a 12-bit graph input
  // into an 8-bit first layer. Float32 heads (one row) and other mixes take the generic loop.
  const same = sizeof<A>() == 2 ? KIND_U16 : KIND_U8;
  if (sizeof<A>() == 2 && outKind == KIND_U8 && resKind == KIND_NONE && !leaky && !indirect) {
    gemmFullTiles<A, R, W>(KIND_U8, KIND_NONE, false, false, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    return true;
  }
  if (outKind != same || (resKind != KIND_NONE && resKind != same)) return false;
  const r = resKind != KIND_NONE;
  if (indirect) {
    if (leaky) {
      if (r) gemmFullTiles<A, R, W>(same, same, true, true, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
      else gemmFullTiles<A, R, W>(same, KIND_NONE, true, true, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    } else {
      if (r) gemmFullTiles<A, R, W>(same, same, false, true, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
      else gemmFullTiles<A, R, W>(same, KIND_NONE, false, true, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    }
  } else {
    if (leaky) {
      if (r) gemmFullTiles<A, R, W>(same, same, true, false, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
      else gemmFullTiles<A, R, W>(same, KIND_NONE, true, false, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    } else {
      if (r) gemmFullTiles<A, R, W>(same, same, false, false, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
      else gemmFullTiles<A, R, W>(same, KIND_NONE, false, false, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    }
  }
  return true;
}

/**
 * The generic loop (every flag tested at run time): all tiles when no specialised loop fits,
 * otherwise only the edges it left: the last partial block of channels and an odd last row.
 */
function gemmGenericSimd<A, R, W>(edgesOnly: bool, outKind: i32, resKind: i32, leaky: bool, act: i32, beta: f32, indirect: bool,
  M: i32, N: i32, KB: i32, taps: i32, groups: i32, src: usize, rowStep: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32,
): void {
  const nBlocks = (N + 3) >> 2, nFull = N >> 2, evenM = M & ~1;
  const blockBytes = packedBlockBytes(KB, taps, sizeof<W>());
  const vzr = i32x4.splat(zr), vmr = f32x4.splat(mr), valpha = f32x4.splat(alpha), vbeta = f32x4.splat(beta);
  const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zp);
  // outStride is in bytes of the output; the residual has the output's layout in its own element size.
  const oBytes = kindBytes(outKind), rBytes = resKind == KIND_NONE ? 0 : <i32>kindBytes(resKind);
  const ostride = <usize>outStride, rstride = <usize>outStride / oBytes * rBytes;
  for (let g = 0; g < groups; g++) {
    const aoff = <usize>(g * aGroupStride);
    let wb = w + <usize>g * <usize>nBlocks * blockBytes;
    for (let nb = 0; nb < nBlocks; nb++, wb += blockBytes) {
      const nr = min(N - (nb << 2), 4);
      const m0 = edgesOnly && nb < nFull ? evenM : 0;
      const col = <usize>(g * outGroupStride + (nb << 2));
      let r0 = src + <usize>m0 * rowStep;
      let o0 = out + col * oBytes + <usize>m0 * ostride;
      let rp = res + col * rBytes + <usize>m0 * rstride;
      for (let m = m0; m < M; m += 2) {
        const has1 = m + 1 < M;
        tileSimd<A, R, W>(r0, has1 ? r0 + rowStep : r0, has1, indirect, taps, KB, aoff, wb, blockBytes, o0, ostride, nr == 4, nr, outKind,
          leaky, valpha, act, vbeta, vmin, vmax, vmagic, vmlz, resKind, rp, rp + rstride, vzr, vmr);
        r0 += rowStep << 1; o0 += ostride << 1; rp += rstride << 1;
      }
    }
  }
}

export function gemmCoreSimd(
  M: i32, N: i32, KB: i32, taps: i32, groups: i32,
  src: usize, srcStride: usize, indirect: bool, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool,
  res: usize, zr: i32, mr: f32, flags: i32,
): void {
  // The activation code (flags' ACT field) excludes LeakyReLU: alpha is then the activation's.
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  // Residual: same layout as the output; element sizes may differ (a float32 output takes the
  // residual in real units: mr = its scale).
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const rowStep: usize = indirect ? (<usize>taps << 2) : srcStride;
  const in16 = (flags & FLAG_IN16) != 0, w16 = (flags & FLAG_W16) != 0;
  // 12-bit activations with int16 weights (no importer or quantizer makes them) take the generic loop only: no specialised copies.
  if (in16 && w16) gemmGenericSimd<u16, i16, i16>(false, outKind, resKind, leaky, act, beta, indirect, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
  else if (in16) gemmSimd<u16, i8>(act, leaky, beta, indirect, outKind, resKind, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
  else if (w16) gemmSimd<u8, i16>(act, leaky, beta, indirect, outKind, resKind, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
  else gemmSimd<u8, i8>(act, leaky, beta, indirect, outKind, resKind, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
}

/** The i16-multiply GEMM for activations A and weights W: the specialised full tiles, then the edges (or all) in the generic loop. */
@inline function gemmSimd<A, W>(act: i32, leaky: bool, beta: f32, indirect: bool, outKind: i32, resKind: i32,
  M: i32, N: i32, KB: i32, taps: i32, groups: i32, src: usize, rowStep: usize, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32,
): void {
  const fast = act == ACT_NONE && gemmFastSimd<A, i16, W>(indirect, outKind, resKind, leaky, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
  if (!fast || (N & 3) != 0 || (M & 1) != 0) {
    gemmGenericSimd<A, i16, W>(fast, outKind, resKind, leaky, act, beta, indirect, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
  }
}

/**
 * qu8_gemm_relaxed_2x4c16 / qu8_igemm_relaxed_2x4c16 (relaxed build only): uint8 activations,
 * weights in the 2x4c16 layout (relaxed.ts: repackRelaxed2x4c16), any KB. `shifted` selects
 * the s8xs8 lowering (activations xor 0x80 = a - 128; the repacked bias holds + 128 * sum(w)).
 * Same requantization epilogue as gemmCoreSimd, so the outputs are bit-identical to it.
 */
export function gemmCoreRelaxedSimd(
  M: i32, N: i32, KB: i32, taps: i32, groups: i32,
  src: usize, srcStride: usize, indirect: bool, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool,
  res: usize, zr: i32, mr: f32, flags: i32, shifted: bool,
): void {
  // The activation code (flags' ACT field) excludes LeakyReLU: alpha is then the activation's.
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const rowStep: usize = indirect ? (<usize>taps << 2) : srcStride;
  if (shifted) {
    const fast = act == ACT_NONE && gemmFastSimd<u8, i8, i8>(indirect, outKind, resKind, leaky, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    if (!fast || (N & 3) != 0 || (M & 1) != 0) {
      gemmGenericSimd<u8, i8, i8>(fast, outKind, resKind, leaky, act, beta, indirect, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    }
  } else {
    const fast = act == ACT_NONE && gemmFastSimd<u8, u8, i8>(indirect, outKind, resKind, leaky, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    if (!fast || (N & 3) != 0 || (M & 1) != 0) {
      gemmGenericSimd<u8, u8, i8>(fast, outKind, resKind, leaky, act, beta, indirect, M, N, KB, taps, groups, src, rowStep, aGroupStride, w, out, outStride, outGroupStride, zp, fmin, fmax, alpha, res, zr, mr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar twin (same packed layout, same f32 operations in the same order)
// ---------------------------------------------------------------------------------------------

/**
 * relaxed: the weights are in the 2x4c16 layout (uint8 activations, any KB), and `shifted`
 * multiplies (a - 128) instead of a (the s8xs8 lowering, whose repacked bias holds + 128 * sum(w)).
 */
export function gemmCoreRef(
  M: i32, N: i32, KB: i32, taps: i32, groups: i32,
  src: usize, srcStride: usize, indirect: bool, aGroupStride: i32,
  w: usize, out: usize, outStride: i32, outGroupStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool,
  res: usize, zr: i32, mr: f32, flags: i32, relaxed: bool = false, shifted: bool = false,
): void {
  const nBlocks = (N + 3) >> 2;
  // The relaxed kernels' flags give bit 8 another meaning (RELAXED_FLAG_SHIFTED): i8 weights there.
  const wide = !relaxed && (flags & FLAG_W16) != 0;
  const blockBytes = packedBlockBytes(KB, taps, wide ? 2 : 1);
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const in16 = (flags & FLAG_IN16) != 0;
  const out16 = !outF32 && (flags & FLAG_OUT16) != 0;
  const hasRes = res != 0;
  const res16 = (flags & FLAG_RES16) != 0;
  const oShift: usize = outF32 ? 2 : out16 ? 1 : 0, rShift: usize = res16 ? 1 : 0;
  const mlz = MAGIC_BITS - zp;
  const esize: usize = outF32 ? 4 : out16 ? 2 : 1;
  const aStep: usize = in16 ? 16 : 8;
  const rowStep: usize = indirect ? (<usize>taps << 2) : srcStride;
  for (let g = 0; g < groups; g++) {
    const aoff = <usize>(g * aGroupStride);
    let wb = w + <usize>g * <usize>nBlocks * blockBytes;
    const outG = out + <usize>(g * outGroupStride) * esize;
    for (let nb = 0; nb < nBlocks; nb++, wb += blockBytes) {
      const nr = min(N - (nb << 2), 4);
      const wmul = wb + blockBytes - 16;
      for (let m = 0; m < M; m++) {
        const r = src + <usize>m * rowStep;
        let acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        let wp = wb + 16;
        for (let t = 0; t < taps; t++) {
          let a: usize = indirect ? <usize>load<u32>(r + (<usize>t << 2)) + aoff : r + aoff;
          if (relaxed) {
            // 2x4c16: per 16 K, w[4][16]; an odd KB's last 8 K per tap, w[4][8]; exact integer products.
            const sh = shifted ? 128 : 0;
            for (let kp = 0; kp < (KB >> 1); kp++, a += 16, wp += 64) {
              for (let i: usize = 0; i < 16; i++) {
                const x = <i32>load<u8>(a + i) - sh;
                acc0 += x * <i32>load<i8>(wp + i);
                acc1 += x * <i32>load<i8>(wp + 16 + i);
                acc2 += x * <i32>load<i8>(wp + 32 + i);
                acc3 += x * <i32>load<i8>(wp + 48 + i);
              }
            }
            if (KB & 1) {
              for (let i: usize = 0; i < 8; i++) {
                const x = <i32>load<u8>(a + i) - sh;
                acc0 += x * <i32>load<i8>(wp + i);
                acc1 += x * <i32>load<i8>(wp + 8 + i);
                acc2 += x * <i32>load<i8>(wp + 16 + i);
                acc3 += x * <i32>load<i8>(wp + 24 + i);
              }
              wp += 32;
            }
            continue;
          }
          for (let kb = 0; kb < KB; kb++, a += aStep, wp += wide ? 64 : 32) {
            for (let i: usize = 0; i < 8; i++) {
              const x = in16 ? <i32>load<u16>(a + (i << 1)) : <i32>load<u8>(a + i);
              acc0 += x * weightAt(wp, i, wide);
              acc1 += x * weightAt(wp, 8 + i, wide);
              acc2 += x * weightAt(wp, 16 + i, wide);
              acc3 += x * weightAt(wp, 24 + i, wide);
            }
          }
        }
        const o = outN(outG, nb, esize) + <usize>m * <usize>outStride;
        const rp = hasRes ? res + (((o - out) >> oShift) << rShift) : 0;
        for (let j = 0; j < nr; j++) {
          const acc = (j == 0 ? acc0 : j == 1 ? acc1 : j == 2 ? acc2 : acc3) + load<i32>(wb + (<usize>j << 2));
          let y: f32 = <f32>acc * load<f32>(wmul + (<usize>j << 2));
          if (hasRes) {
            const rv = res16 ? <i32>load<u16>(rp + (<usize>j << 1)) : <i32>load<u8>(rp + <usize>j);
            y = y + <f32>(rv - zr) * mr;
          }
          y = epilogueF(y, leaky, act, alpha, beta, fmin, fmax);
          if (outF32) store<f32>(o + (<usize>j << 2), y);
          else if (out16) store<u16>(o + (<usize>j << 1), <u16>magicRound(y, mlz));
          else store<u8>(o + <usize>j, <u8>magicRound(y, mlz));
        }
      }
    }
  }
}

/** Weight e (= j * 8 + i) of the k-block at wp: i16 (wide) or i8. */
@inline function weightAt(wp: usize, e: usize, wide: bool): i32 {
  return wide ? <i32>load<i16>(wp + (e << 1)) : <i32>load<i8>(wp + e);
}

@inline function outN(outG: usize, nb: i32, esize: usize): usize {
  return outG + (<usize>(nb << 2)) * esize;
}

// ---------------------------------------------------------------------------------------------
// im2col for convolutions whose per-tap channel count is not a multiple of 8 (e.g. the 3-channel
// stem): rows of taps * cin elements, gathered through the indirection buffer into a scratch block
// of IM2COL_ROWS rows (row stride KB * 8 + 8 elements), then a direct GEMM with K = taps * cin.
// Elements are bytes, or 16-bit lanes for a 12-bit input (FLAG_IN16: a 12-bit graph input).
// ---------------------------------------------------------------------------------------------

/** Rows gathered per im2col block (the scratch buffer holds IM2COL_ROWS rows). */
export const IM2COL_ROWS: i32 = 128;

export function im2colBlock(rows: i32, taps: i32, cin: i32, ind: usize, scratch: usize, rowStride: usize, shift: usize): void {
  const tapBytes = <usize>cin << shift;
  const words = <i32>((tapBytes + 7) >> 3);
  for (let m = 0; m < rows; m++) {
    let d = scratch + <usize>m * rowStride;
    let p = ind + <usize>m * (<usize>taps << 2);
    for (let t = 0; t < taps; t++, p += 4, d += tapBytes) {
      const s = <usize>load<u32>(p);
      // Copies whole 8-byte words; the excess lands on the next tap's bytes (rewritten next) or
      // in the row's padding (multiplied by zero weights).
      for (let i = 0; i < words; i++) store<u64>(d + (<usize>i << 3), load<u64>(s + (<usize>i << 3)));
    }
  }
}

export function convIm2col(
  simd: bool, M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool,
  res: usize, zr: i32, mr: f32, flags: i32,
): void {
  const shift: usize = (flags & FLAG_IN16) != 0 ? 1 : 0; // the gathered rows keep the input's element size
  const oShift: usize = outF32 ? 2 : (flags & FLAG_OUT16) != 0 ? 1 : 0, rShift: usize = (flags & FLAG_RES16) != 0 ? 1 : 0;
  const rowStride = <usize>(KB * 8 + 8) << shift;
  for (let m0 = 0; m0 < M; m0 += IM2COL_ROWS) {
    const rows = min(M - m0, IM2COL_ROWS);
    im2colBlock(rows, taps, cin, ind + <usize>m0 * (<usize>taps << 2), scratch, rowStride, shift);
    const o = out + <usize>m0 * <usize>outStride;
    const r = res != 0 ? res + (((<usize>m0 * <usize>outStride) >> oShift) << rShift) : 0;
    if (ASC_FEATURE_SIMD) {
      if (simd) {
        gemmCoreSimd(rows, N, KB, 1, 1, scratch, rowStride, false, 0, w, o, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, r, zr, mr, flags);
        continue;
      }
    }
    gemmCoreRef(rows, N, KB, 1, 1, scratch, rowStride, false, 0, w, o, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, r, zr, mr, flags);
  }
}

/**
 * The relaxed form of convIm2col (8-bit activations): each block of gathered rows through the
 * relaxed GEMM on the 2x4c16 weights at w (simd: a relaxed build; else the twin), `flags`
 * RELAXED_FLAG_* (SHIFTED: the s8xs8 lowering). A -w16 layer split at its wide 4-channel blocks
 * passes `kinds` (one byte per block, 1 = wide) and `w16` (the int16 layout): each run of wide
 * blocks then takes the i16 GEMM on those rows, so a row is gathered once for both kinds.
 */
export function convIm2colRelaxed(
  simd: bool, M: i32, N: i32, KB: i32, taps: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, w16: usize, kinds: usize, out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool,
  res: usize, zr: i32, mr: f32, flags: i32,
): void {
  const shifted = (flags & RELAXED_FLAG_SHIFTED) != 0;
  // The i16 runs read int16 weights (FLAG_W16, the bit SHIFTED has in the relaxed flags).
  const flags16 = (flags & ~RELAXED_FLAG_SHIFTED) | FLAG_W16;
  const oShift: usize = outF32 ? 2 : (flags & FLAG_OUT16) != 0 ? 1 : 0, rShift: usize = (flags & FLAG_RES16) != 0 ? 1 : 0;
  const rowStride = <usize>(KB * 8 + 8);
  const nBlocks = (N + 3) >> 2;
  const rbb = packedBlockBytes(KB, 1, 1), wbb = packedBlockBytes(KB, 1, 2);
  for (let m0 = 0; m0 < M; m0 += IM2COL_ROWS) {
    const rows = min(M - m0, IM2COL_ROWS);
    im2colBlock(rows, taps, cin, ind + <usize>m0 * (<usize>taps << 2), scratch, rowStride, 0);
    const o = out + <usize>m0 * <usize>outStride;
    const r = res != 0 ? res + (((<usize>m0 * <usize>outStride) >> oShift) << rShift) : 0;
    for (let nb0 = 0; nb0 < nBlocks;) {
      const wide = kinds != 0 && load<u8>(kinds + <usize>nb0) != 0;
      let nb1 = nb0 + 1;
      while (nb1 < nBlocks && (kinds != 0 && load<u8>(kinds + <usize>nb1) != 0) == wide) nb1++;
      const c0 = <usize>(nb0 << 2), n = min(N, nb1 << 2) - (nb0 << 2);
      const oc = o + (c0 << oShift), rc = r != 0 ? r + (c0 << rShift) : 0;
      if (wide) {
        if (ASC_FEATURE_SIMD && simd) gemmCoreSimd(rows, n, KB, 1, 1, scratch, rowStride, false, 0, w16 + <usize>nb0 * wbb, oc, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, rc, zr, mr, flags16);
        else gemmCoreRef(rows, n, KB, 1, 1, scratch, rowStride, false, 0, w16 + <usize>nb0 * wbb, oc, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, rc, zr, mr, flags16);
      } else {
        if (ASC_FEATURE_RELAXED_SIMD && simd) gemmCoreRelaxedSimd(rows, n, KB, 1, 1, scratch, rowStride, false, 0, w + <usize>nb0 * rbb, oc, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, rc, zr, mr, flags, shifted);
        else gemmCoreRef(rows, n, KB, 1, 1, scratch, rowStride, false, 0, w + <usize>nb0 * rbb, oc, outStride, 0, zp, fmin, fmax, alpha, beta, outF32, rc, zr, mr, flags, true, shifted);
      }
      nb0 = nb1;
    }
  }
}
