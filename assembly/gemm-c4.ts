// qu8_gemm_relaxed_4x8c4: the relaxed-SIMD GEMM of 1x1 stride-1 convolutions (group 1, uint8
// activations and output) with K consumed four at a time in every output lane, so that an
// accumulator lane is one output channel and the epilogue needs no horizontal reduction.
//
// Tile 4x8c4: four output rows (pixels) x eight output channels. Per K-quad q, row r loads its four
// activations x[4q..4q+3] once, splatted to every lane (v128.load32_splat), and
// i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x, acc) adds lane i = sum_j w[4i + j] * x[4q + j], where
// w holds four channels' four weights of that quad: two relaxed dots per row and quad.
//
// Packed weights (packing qu8-gemm-4x8c4, built at load by src/kernels/relaxed-c4.ts; never stored
// in a model), per block of 8 output channels, c4BlockBytes(K) bytes:
//   i32 bias[8] | i32 c[8] | for quad q < ceil(K / 4): i8 w[2][4][4] (channels 0-3, then 4-7;
//   channel j's four weights of the quad, zero past K) | f32 multiplier[8]
// The weights are w - c (c: the channel's offset, chosen at load so that every w - c lies in
// [-127, 127]; 0 for a channel already in that range), and the epilogue adds c * sum(x) over the
// row's K activations (formed once per 4 rows when C4_FLAG_ROW_SUMS says a block has an offset):
// uint8 per-tensor weights minus their zero point span up to 255 values and run here without the
// int16 kernels. Where a layer's weights outside [-127, 127] are few (at most 8 per block, none
// beyond +-254: a TFLite uint8 file's -w16 layers hold 1-4), the c[8] field holds sparse
// corrections instead (C4_FLAG_CORRECTIONS): entries k | lane << 16 | b << 24 (b signed, the first
// b = 0 ends the list); such a weight w is stored as clamp(w, -127, 127) and the entry's
// b = w - clamp(w, -127, 127) adds b * x[k] to its channel after the K loop, so no row sums. The bias holds the folded zero points (and, for the s8xs8 lowering, where
// activations enter as x - 128, + 128 * sum(w - c)). Accumulators wrap in int32 as the i16
// kernels' do, so the sum equals theirs bit for bit; the requantization epilogue is
// gemmCoreSimd's (assembly/gemm.ts): y = f32(acc) * multiplier, activation, clamp, magic rounding,
// with the clamp's upper bound applied to the narrowed bytes (epilogueLowV: the same bytes).
//
// Exact only where the host's probe classified the relaxed dot (src/kernels/relaxed-probe.ts):
// u8xs8 (flags without C4_FLAG_SHIFTED) or s8xs8 (with it). The last M % 4 rows (a fully connected
// layer's single row) run one by one with two quads per step (gemmC4Row); a last block of fewer
// than 8 channels stores only its nr.

import { MAGIC, MAGIC_BITS, magicRound, magicRound8, epilogueF, epilogueLowV, outMaxOf, actCode, ACT_NONE } from './common';
import { C4_FLAG_SHIFTED as FLAG_SHIFTED, C4_FLAG_ROW_SUMS as FLAG_ROW_SUMS, C4_FLAG_CORRECTIONS as FLAG_CORRECTIONS } from './flags';
import { IM2COL_ROWS } from './gemm';

/** Bytes of one qu8-gemm-4x8c4 block of 8 output channels over K input channels. */
@inline export function c4BlockBytes(K: i32): usize {
  return 96 + (<usize>((K + 3) >> 2) << 5);
}

/**
 * Sum of the K uint8 values at p (exact: K < 2^23). The last K % 16 come from a 16-byte load
 * masked to them (reads up to 15 bytes past the row, as the 2x4c16 kernels' last step does).
 */
@inline function rowSumSimd(p: usize, K: i32): i32 {
  let acc = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= K; k += 16) {
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(p + <usize>k))));
  }
  if (k < K) {
    const mask = i8x16.lt_u(i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), i8x16.splat(<i8>(K - k)));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.and(v128.load(p + <usize>k), mask))));
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/** All ones in lane (lane & 3) of a 4-lane accumulator: a correction entry's channel within its half. */
@inline function laneMask(lane: i32): v128 {
  return i32x4.eq(i32x4(0, 1, 2, 3), i32x4.splat(lane & 3));
}

/** b * x (x the uint8 at p) in the lanes of mask m, 0 elsewhere. */
@inline function corrTerm(b: i32, p: usize, m: v128): v128 {
  return v128.and(i32x4.splat(b * <i32>load<u8>(p)), m);
}

/** The four activations at p in every lane; for R = i8 (the s8xs8 lowering) as x - 128 (xor 0x80). */
@inline function quadSplat<R>(p: usize, vflip: v128): v128 {
  const x = v128.load32_splat(p);
  return isSigned<R>() ? v128.xor(x, vflip) : x;
}

/** One row's 8 channels: accumulators (started from the bias) + c * rowSum, requantized to 8 int16 (0..255). */
@inline function rowOut(c0: v128, c1: v128, off: bool, vc0: v128, vc1: v128, rowSum: i32,
  vm0: v128, vm1: v128, leaky: bool, act: i32, valpha: v128, vbeta: v128, vmin: v128, vmagic: v128, vmlz: v128): v128 {
  let a0 = c0, a1 = c1;
  if (off) {
    const vs = i32x4.splat(rowSum);
    a0 = i32x4.add(a0, i32x4.mul(vc0, vs));
    a1 = i32x4.add(a1, i32x4.mul(vc1, vs));
  }
  const y0 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(a0), vm0), leaky, act, valpha, vbeta, vmin);
  const y1 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(a1), vm1), leaky, act, valpha, vbeta, vmin);
  return magicRound8(y0, y1, vmagic, vmlz);
}

/** Stores the first nr (< 8) bytes of the 8 at lane64 `half` of b (a last, partial block). */
@inline function storePartial(o: usize, b: v128, half: i32, nr: i32): void {
  const v = half == 0 ? i64x2.extract_lane(b, 0) : i64x2.extract_lane(b, 1);
  for (let j = 0; j < nr; j++) store<u8>(o + <usize>j, <u8>(v >> (<i64>j << 3)));
}

/**
 * One row's N outputs: per block of 8 channels, the quads in pairs on four accumulators (two
 * independent chains per 4 channels: one row has no other rows' dots to overlap), then rowOut.
 */
@inline function gemmC4Row<R>(act: i32, leaky: bool, rowSums: bool, corrections: bool, N: i32, K: i32, r0: usize, w: usize, o: usize,
  valpha: v128, vbeta: v128, vmin: v128, vqmax: v128, vmagic: v128, vmlz: v128): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const Q = (K + 3) >> 2, nBlocks = (N + 7) >> 3, bb = c4BlockBytes(K);
    const vflip = i8x16.splat(-128);
    const s0 = rowSums ? rowSumSimd(r0, K) : 0;
    let wb = w;
    for (let nb = 0; nb < nBlocks; nb++, wb += bb) {
      let c0 = v128.load(wb), c1 = v128.load(wb, 16), d0 = i32x4.splat(0), d1 = d0;
      let wp = wb + 64, k: usize = 0, q = 0;
      for (; q + 1 < Q; q += 2, k += 8, wp += 64) {
        const x = quadSplat<R>(r0 + k, vflip), y = quadSplat<R>(r0 + k + 4, vflip);
        c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp), x, c0);
        c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp, 16), x, c1);
        d0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp, 32), y, d0);
        d1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp, 48), y, d1);
      }
      if (q < Q) {
        const x = quadSplat<R>(r0 + k, vflip);
        c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp), x, c0);
        c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(wp, 16), x, c1);
      }
      if (corrections) {
        for (let e: usize = 0; e < 32; e += 4) {
          const entry = load<i32>(wb + 32 + e), b = entry >> 24;
          if (b == 0) break;
          const at = r0 + <usize>(entry & 0xFFFF), lane = (entry >> 16) & 0xFF, m = laneMask(lane);
          // Only the accumulator holding the entry's channel changes (lanes 0-3: c0, 4-7: c1).
          if (lane < 4) c0 = i32x4.add(c0, corrTerm(b, at, m));
          else c1 = i32x4.add(c1, corrTerm(b, at, m));
        }
      }
      const vc0 = v128.load(wb, 32), vc1 = v128.load(wb, 48);
      const off = rowSums && v128.any_true(v128.or(vc0, vc1));
      const h = rowOut(i32x4.add(c0, d0), i32x4.add(c1, d1), off, vc0, vc1, s0,
        v128.load(wb + bb - 32), v128.load(wb + bb - 16), leaky, act, valpha, vbeta, vmin, vmagic, vmlz);
      const b = i8x16.min_u(i8x16.narrow_i16x8_u(h, h), vqmax);
      const col = <usize>(nb << 3), nr = min(N - (nb << 3), 8);
      if (nr == 8) v128.store64_lane(o + col, b, 0);
      else storePartial(o + col, b, 0, nr);
    }
  }
}

/**
 * Every tile of one call: rows in groups of 4 (outer), blocks of 8 channels (inner). R: u8 (the
 * u8xs8 lowering, activations as they are) or i8 (s8xs8, activations xor 0x80). act / leaky are
 * literals at the specialised call site (ACT_NONE, no LeakyReLU) and run-time values otherwise.
 */
@inline function gemmC4Simd<R>(act: i32, leaky: bool, rowSums: bool, corrections: bool,
  M: i32, N: i32, K: i32, a: usize, aStride: usize, w: usize, out: usize, outStride: usize,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const Q = (K + 3) >> 2, nBlocks = (N + 7) >> 3, bb = c4BlockBytes(K);
    const valpha = f32x4.splat(alpha), vbeta = f32x4.splat(beta), vmin = f32x4.splat(fmin), vqmax = i8x16.splat(<i8>outMaxOf(fmax, zp, 255));
    const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zp);
    const vflip = i8x16.splat(-128);
    for (let m = 0; m < M; m += 4) {
      const rows = min(M - m, 4);
      if (rows < 4) {
        // The last 1-3 rows (a fully connected layer's one): row by row, two quads per step.
        for (let r = 0; r < rows; r++) {
          gemmC4Row<R>(act, leaky, rowSums, corrections, N, K, a + <usize>(m + r) * aStride, w, out + <usize>(m + r) * outStride,
            valpha, vbeta, vmin, vqmax, vmagic, vmlz);
        }
        break;
      }
      const r0 = a + <usize>m * aStride, r1 = r0 + aStride, r2 = r1 + aStride, r3 = r2 + aStride;
      // Kept as scalars (splatted in the epilogue): four more live vectors would spill in the K loop.
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      if (rowSums) { s0 = rowSumSimd(r0, K); s1 = rowSumSimd(r1, K); s2 = rowSumSimd(r2, K); s3 = rowSumSimd(r3, K); }
      const o0 = out + <usize>m * outStride, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride;
      let wb = w;
      for (let nb = 0; nb < nBlocks; nb++, wb += bb) {
        // The accumulators start from the bias (the sums wrap in int32 alike in any order).
        let c00 = v128.load(wb), c01 = v128.load(wb, 16), c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
        let wp = wb + 64;
        let k: usize = 0;
        for (let q = 0; q < Q; q++, k += 4, wp += 32) {
          const w0 = v128.load(wp), w1 = v128.load(wp, 16);
          let x = quadSplat<R>(r0 + k, vflip);
          c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x, c00);
          c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x, c01);
          x = quadSplat<R>(r1 + k, vflip);
          c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x, c10);
          c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x, c11);
          x = quadSplat<R>(r2 + k, vflip);
          c20 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x, c20);
          c21 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x, c21);
          x = quadSplat<R>(r3 + k, vflip);
          c30 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, x, c30);
          c31 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, x, c31);
        }
        if (corrections) {
          for (let e: usize = 0; e < 32; e += 4) {
            const entry = load<i32>(wb + 32 + e), b = entry >> 24;
            if (b == 0) break;
            const k = <usize>(entry & 0xFFFF), lane = (entry >> 16) & 0xFF;
            const m = laneMask(lane);
            // Only the accumulators holding the entry's channel change (lanes 0-3: cr0, 4-7: cr1).
            if (lane < 4) {
              c00 = i32x4.add(c00, corrTerm(b, r0 + k, m)); c10 = i32x4.add(c10, corrTerm(b, r1 + k, m));
              c20 = i32x4.add(c20, corrTerm(b, r2 + k, m)); c30 = i32x4.add(c30, corrTerm(b, r3 + k, m));
            } else {
              c01 = i32x4.add(c01, corrTerm(b, r0 + k, m)); c11 = i32x4.add(c11, corrTerm(b, r1 + k, m));
              c21 = i32x4.add(c21, corrTerm(b, r2 + k, m)); c31 = i32x4.add(c31, corrTerm(b, r3 + k, m));
            }
          }
        }
        const vc0 = v128.load(wb, 32), vc1 = v128.load(wb, 48);
        const off = rowSums && v128.any_true(v128.or(vc0, vc1));
        const vm0 = v128.load(wb + bb - 32), vm1 = v128.load(wb + bb - 16);
        const h0 = rowOut(c00, c01, off, vc0, vc1, s0, vm0, vm1, leaky, act, valpha, vbeta, vmin, vmagic, vmlz);
        const h1 = rowOut(c10, c11, off, vc0, vc1, s1, vm0, vm1, leaky, act, valpha, vbeta, vmin, vmagic, vmlz);
        const h2 = rowOut(c20, c21, off, vc0, vc1, s2, vm0, vm1, leaky, act, valpha, vbeta, vmin, vmagic, vmlz);
        const h3 = rowOut(c30, c31, off, vc0, vc1, s3, vm0, vm1, leaky, act, valpha, vbeta, vmin, vmagic, vmlz);
        const b01 = i8x16.min_u(i8x16.narrow_i16x8_u(h0, h1), vqmax), b23 = i8x16.min_u(i8x16.narrow_i16x8_u(h2, h3), vqmax);
        const col = <usize>(nb << 3);
        const nr = min(N - (nb << 3), 8);
        if (nr == 8) {
          v128.store64_lane(o0 + col, b01, 0);
          v128.store64_lane(o1 + col, b01, 1);
          v128.store64_lane(o2 + col, b23, 0);
          v128.store64_lane(o3 + col, b23, 1);
        } else {
          storePartial(o0 + col, b01, 0, nr);
          storePartial(o1 + col, b01, 1, nr);
          storePartial(o2 + col, b23, 0, nr);
          storePartial(o3 + col, b23, 1, nr);
        }
      }
    }
  }
}

/** qu8_gemm_relaxed_4x8c4 in a relaxed build: M x N outputs (uint8) from M rows of K activations at a (row stride aStride). */
export function gemmRelaxed4x8c4Simd(M: i32, N: i32, K: i32, a: usize, aStride: usize, w: usize, out: usize, outStride: usize,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const rowSums = (flags & FLAG_ROW_SUMS) != 0, corrections = !rowSums && (flags & FLAG_CORRECTIONS) != 0;
  // The specialised loops: no activation (the clamp only) with no row sums, row sums or
  // corrections, per lowering; every other case one loop with run-time tests.
  if ((flags & FLAG_SHIFTED) != 0) {
    if (act == ACT_NONE && !leaky) {
      if (rowSums) gemmC4Simd<i8>(ACT_NONE, false, true, false, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
      else if (corrections) gemmC4Simd<i8>(ACT_NONE, false, false, true, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
      else gemmC4Simd<i8>(ACT_NONE, false, false, false, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
    } else gemmC4Simd<i8>(act, leaky, rowSums, corrections, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
  } else {
    if (act == ACT_NONE && !leaky) {
      if (rowSums) gemmC4Simd<u8>(ACT_NONE, false, true, false, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
      else if (corrections) gemmC4Simd<u8>(ACT_NONE, false, false, true, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
      else gemmC4Simd<u8>(ACT_NONE, false, false, false, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
    } else gemmC4Simd<u8>(act, leaky, rowSums, corrections, M, N, K, a, aStride, w, out, outStride, zp, fmin, fmax, alpha, beta);
  }
}

/**
 * Gathers `rows` rows of taps * cin bytes (kernel rows of kw taps) through the indirection buffer at
 * ind into scratch (row stride rowStride). A kernel row whose kw pixels follow each other in memory
 * (inside the image, dilation 1) is copied as one window, in 16-byte pieces while a piece ends
 * inside the row, then 8-byte words; other kernel rows tap by tap, 8-byte words. A piece's excess
 * lands on the next bytes of the row (rewritten next) or in its padding (multiplied by zero
 * weights). Reads up to 15 bytes past a pixel (the memory plan keeps a readable tail). 3x3 kernels
 * of up to 5 channels (RGB stems) take a straight-line form: a row whose three kernel rows are all
 * windows is three 16-byte copies (as loops, V8 ran the test and copies 1.5x slower).
 */
function im2colWindows(rows: i32, taps: i32, kw: i32, cin: i32, ind: usize, scratch: usize, rowStride: usize): void {
  const tapBytes = <usize>cin, winBytes = <usize>(kw * cin), kh = taps / kw;
  const words = <i32>((tapBytes + 7) >> 3);
  if (ASC_FEATURE_SIMD && taps == 9 && kw == 3 && winBytes <= 16 && winBytes + winBytes + 16 <= rowStride) {
    const tb2 = tapBytes + tapBytes;
    for (let m = 0; m < rows; m++) {
      const d = scratch + <usize>m * rowStride, p = ind + <usize>m * 36;
      const a0 = <usize>load<u32>(p), a1 = <usize>load<u32>(p, 12), a2 = <usize>load<u32>(p, 24);
      const gaps = (<usize>load<u32>(p, 4) ^ (a0 + tapBytes)) | (<usize>load<u32>(p, 8) ^ (a0 + tb2))
        | (<usize>load<u32>(p, 16) ^ (a1 + tapBytes)) | (<usize>load<u32>(p, 20) ^ (a1 + tb2))
        | (<usize>load<u32>(p, 28) ^ (a2 + tapBytes)) | (<usize>load<u32>(p, 32) ^ (a2 + tb2));
      if (gaps == 0) {
        v128.store(d, v128.load(a0));
        v128.store(d + winBytes, v128.load(a1));
        v128.store(d + winBytes + winBytes, v128.load(a2));
        continue;
      }
      for (let t = 0; t < 9; t++) {
        const a = <usize>load<u32>(p + (<usize>t << 2)), e = d + <usize>t * tapBytes;
        for (let i = 0; i < words; i++) store<u64>(e + (<usize>i << 3), load<u64>(a + (<usize>i << 3)));
      }
    }
    return;
  }
  for (let m = 0; m < rows; m++) {
    const dEnd = scratch + <usize>(m + 1) * rowStride;
    let d = scratch + <usize>m * rowStride;
    let p = ind + <usize>m * (<usize>taps << 2);
    for (let ky = 0; ky < kh; ky++, p += <usize>kw << 2, d += winBytes) {
      const s = <usize>load<u32>(p);
      // Zero when every tap's pixel follows the previous one (no branch per tap).
      let gaps: usize = 0, next = s;
      for (let kx = 1; kx < kw; kx++) { next += tapBytes; gaps |= <usize>load<u32>(p + (<usize>kx << 2)) ^ next; }
      if (gaps == 0) {
        let i: usize = 0;
        if (ASC_FEATURE_SIMD) for (; i < winBytes && d + i + 16 <= dEnd; i += 16) v128.store(d + i, v128.load(s + i));
        for (; i < winBytes; i += 8) store<u64>(d + i, load<u64>(s + i));
      } else {
        for (let kx = 0; kx < kw; kx++) {
          const a = <usize>load<u32>(p + (<usize>kx << 2)), e = d + <usize>kx * tapBytes;
          for (let i = 0; i < words; i++) store<u64>(e + (<usize>i << 3), load<u64>(a + (<usize>i << 3)));
        }
      }
    }
  }
}

/**
 * The im2col form (qu8_conv_im2col_relaxed_4x8c4): blocks of IM2COL_ROWS output pixels gathered
 * (im2colWindows: taps * cin bytes per row, kernel rows of kw taps, through the indirection buffer)
 * into the scratch, then the 4x8c4 GEMM over them with K = taps * cin (simd: the relaxed kernel;
 * else the twin).
 */
export function convIm2colRelaxed4x8c4(simd: bool, M: i32, N: i32, KB: i32, taps: i32, kw: i32, cin: i32, ind: usize, scratch: usize,
  w: usize, out: usize, outStride: usize, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  const rowStride = <usize>(KB * 8 + 8), K = taps * cin;
  for (let m0 = 0; m0 < M; m0 += IM2COL_ROWS) {
    const rows = min(M - m0, IM2COL_ROWS);
    im2colWindows(rows, taps, kw, cin, ind + <usize>m0 * (<usize>taps << 2), scratch, rowStride);
    const o = out + <usize>m0 * outStride;
    if (ASC_FEATURE_RELAXED_SIMD && simd) gemmRelaxed4x8c4Simd(rows, N, K, scratch, rowStride, w, o, outStride, zp, fmin, fmax, alpha, beta, flags);
    else gemmRelaxed4x8c4Ref(rows, N, K, scratch, rowStride, w, o, outStride, zp, fmin, fmax, alpha, beta, flags);
  }
}

/** The scalar twin: same layout, exact integer sums, the same f32 operations in the same order. */
export function gemmRelaxed4x8c4Ref(M: i32, N: i32, K: i32, a: usize, aStride: usize, w: usize, out: usize, outStride: usize,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32): void {
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const sh = (flags & FLAG_SHIFTED) != 0 ? 128 : 0;
  const rowSums = (flags & FLAG_ROW_SUMS) != 0, corrections = !rowSums && (flags & FLAG_CORRECTIONS) != 0;
  const bb = c4BlockBytes(K), mlz = MAGIC_BITS - zp;
  for (let m = 0; m < M; m++) {
    const r = a + <usize>m * aStride;
    let s = 0;
    if (rowSums) for (let k = 0; k < K; k++) s += <i32>load<u8>(r + <usize>k);
    for (let n = 0; n < N; n++) {
      const wb = w + <usize>(n >> 3) * bb, j = <usize>(n & 7);
      let acc = load<i32>(wb + (j << 2));
      if (corrections) {
        for (let e: usize = 0; e < 32; e += 4) {
          const entry = load<i32>(wb + 32 + e), b = entry >> 24;
          if (b == 0) break;
          if (<usize>((entry >> 16) & 0xFF) == j) acc += b * <i32>load<u8>(r + <usize>(entry & 0xFFFF));
        }
      } else {
        acc += load<i32>(wb + 32 + (j << 2)) * s;
      }
      const wj = wb + 64 + ((j >> 2) << 4) + ((j & 3) << 2);
      for (let k = 0; k < K; k++) {
        acc += (<i32>load<u8>(r + <usize>k) - sh) * <i32>load<i8>(wj + (<usize>(k >> 2) << 5) + <usize>(k & 3));
      }
      const y = epilogueF(<f32>acc * load<f32>(wb + bb - 32 + (j << 2)), leaky, act, alpha, beta, fmin, fmax);
      store<u8>(out + <usize>m * outStride + <usize>n, <u8>magicRound(y, mlz));
    }
  }
}
