// qu8 depthwise convolution (group == channels, channel multiplier 1), XNNPACK "dwconv c16" style:
// NHWC, 16 channels of one output pixel across the SIMD lanes, every tap of a pixel through the
// IGEMM's indirection buffer (u32 [m * taps + t] = byte offset of the input pixel, or of the
// zero-point row for a padded tap). Any kernel size, stride, pads and dilation (the indirection
// buffer encodes them). Numerics: the GEMM's (assembly/common.ts): int32 accumulator of
// x * w (bias with the input zero point folded in), then the fp32 requantization epilogue.
//
// Packed weights (docs/format-packing.md, "qu8-dwconv-c16"), per block of 16 channels:
//   i32 bias[16] | for tap: i16 w[16] | f32 multiplier[16]       (128 + taps * 32 bytes)
// Channels past C in the last block are zero (bias, weights, multiplier) and never stored.
//
// Step (16 channels of one pixel, two taps): the activations of taps t and t + 1 interleaved per
// channel (one i8x16.shuffle per 8 channels, widened to i16; 12-bit inputs: an i16x8.shuffle), the
// two taps' i16 weights interleaved alike, four i32x4.dot_i16x8_s into four i32x4 accumulators; an
// odd last tap through i32x4.extmul_{low,high}_i16x8_s. Then the epilogue (dwStore16): requantize
// and store 16 channels. Of the last C % 16 channels of a pixel, 8 (when there are) take the same
// step on 8 lanes (dwStore8), the rest run the scalar twin's per-channel code (same operations,
// bit-exact), so no load reads past a pixel's C channels.
// Flags: DWCONV_FLAG_IN16 / OUT16 / RES16; outF32 selects a float32 output (no rounding).
//
// Relaxed form (qu8_dwconv_relaxed_c16x4; 8-bit activations only): four taps per
// i32x4.relaxed_dot_i8x16_i7x16_add_s, reading a second layout built at load ("qu8-dwconv-c16x4",
// docs/format-packing.md), per block of 16 channels, with G = floor(taps / 4) groups of four taps:
//   i32 kind, 12 bytes zero | i32 bias'[16] | for group g < G: i8 w[16][4] (taps 4g..4g+3)   (80 + G * 64 bytes)
// then, after all ceil(C / 16) blocks, G * 64 bytes per block of second weights (split blocks).
// bias' is the bias, plus 128 * sum(w) over the grouped taps per channel for the s8xs8 lowering
// (DWCONV_FLAG_SHIFTED: activations enter the relaxed dot as a - 128). Kinds: 0, every weight in
// [-127, 127]; 1 (split), some weight outside it but none beyond +-254: w = a + b with
// a = clamp(w, -127, 127) in the block and b in the second weights, two dots per activation
// vector; 2, a weight of +-255: the block takes the i16 steps above from the qu8-dwconv-c16 weights.
// Step (16 channels of one pixel, four taps): the four taps' 16 activation bytes transposed to
// [channel][tap] (two i8x16 and two i16x8 interleaves per 8 channels), then four (split: eight)
// relaxed dots. The last taps % 4 taps take the i16 steps from the qu8-dwconv-c16 weights, as do
// the last C % 8 channels (8 of the last C % 16 take the same step on 8 lanes); the multipliers
// are always read there. An 8-channel layer (C == 8, uint8 output, no residual, block not of kind
// 2) runs its pixels in pairs, one per half of each vector (dwPairs8). Exact only where the host's
// probe classified the relaxed dot (u8xs8 or s8xs8); the scalar twin computes the same int32 sums.

import { MAGIC, MAGIC_BITS, loadRow8, magicRound, magicRound8, epilogueF, epilogueV, epilogueLowV, outMaxOf, actCode, ACT_NONE } from './common';
import { DWCONV_FLAG_IN16 as FLAG_IN16, DWCONV_FLAG_OUT16 as FLAG_OUT16, DWCONV_FLAG_RES16 as FLAG_RES16, DWCONV_FLAG_SHIFTED as FLAG_SHIFTED } from './flags';

/** Channels per packed block (the kernel's channel tile). */
export const DW_CR: i32 = 16;

/** Bytes of one packed block of 16 channels. */
@inline export function dwBlockBytes(taps: i32): usize {
  return <usize>(128 + taps * 32);
}

/** Bytes of one relaxed (c16x4) block of 16 channels. */
@inline export function dwRelaxedBlockBytes(taps: i32): usize {
  return <usize>(80 + (taps >> 2) * 64);
}

/** Bytes of a block's second weights (split blocks) after all the c16x4 blocks: floor(taps / 4) groups of i8 w[16][4]. */
@inline function dwSplitBlockBytes(taps: i32): usize {
  return <usize>((taps >> 2) * 64);
}

/** A c16x4 block's kind: every weight in [-127, 127]; split in two int8 parts; on the i16 steps. */
const DW_KIND_RELAXED: i32 = 0, DW_KIND_SPLIT: i32 = 1, DW_KIND_I16: i32 = 2;

/** Relaxed lowering of a call: none (the i16 step only), u8 activations as they are, or shifted by -128. */
const RELAXED_NONE: i32 = 0, RELAXED_U8: i32 = 1, RELAXED_S8: i32 = 2;

const KIND_U8: i32 = 0, KIND_U16: i32 = 1, KIND_F32: i32 = 2, KIND_NONE: i32 = 3;

/** Channel c of one pixel from its int32 sum acc and multiplier mul: residual, activation, rounding, store (scalar). */
@inline function dwChannelStore(outKind: i32, resKind: i32, c: i32, acc: i32, mul: f32, o: usize, rp: usize, zr: i32, mr: f32, mlz: i32,
  fmin: f32, fmax: f32, alpha: f32, leaky: bool, beta: f32, act: i32): void {
  let y: f32 = <f32>acc * mul;
  if (resKind != KIND_NONE) {
    const rv = resKind == KIND_U16 ? <i32>load<u16>(rp + (<usize>c << 1)) : <i32>load<u8>(rp + <usize>c);
    y = y + <f32>(rv - zr) * mr;
  }
  y = epilogueF(y, leaky, act, alpha, beta, fmin, fmax);
  if (outKind == KIND_F32) store<f32>(o + (<usize>c << 2), y);
  else if (outKind == KIND_U16) store<u16>(o + (<usize>c << 1), <u16>magicRound(y, mlz));
  else store<u8>(o + <usize>c, <u8>magicRound(y, mlz));
}

/** Channel c (block c >> 4, lane c & 15) of one pixel: accumulate, requantize, store (scalar; shared by the twin and the SIMD tail). */
@inline function dwChannelRef(in16: bool, outKind: i32, resKind: i32, c: i32, taps: i32, ip: usize, w: usize, bb: usize,
  o: usize, rp: usize, zr: i32, mr: f32, mlz: i32, fmin: f32, fmax: f32, alpha: f32, leaky: bool, beta: f32 = 0, act: i32 = ACT_NONE): void {
  const blk = w + <usize>(c >> 4) * bb;
  const lane = <usize>(c & 15);
  let acc = load<i32>(blk + (lane << 2));
  let wp = blk + 64 + (lane << 1);
  for (let t = 0; t < taps; t++, wp += 32) {
    const a = <usize>load<u32>(ip + (<usize>t << 2));
    const x = in16 ? <i32>load<u16>(a + (<usize>c << 1)) : <i32>load<u8>(a + <usize>c);
    acc += x * <i32>load<i16>(wp);
  }
  dwChannelStore(outKind, resKind, c, acc, load<f32>(blk + bb - 64 + (lane << 2)), o, rp, zr, mr, mlz, fmin, fmax, alpha, leaky, beta, act);
}

@inline function kindShift(kind: i32): usize {
  return kind == KIND_F32 ? 2 : kind == KIND_U16 ? 1 : 0;
}

/** Scalar twin: every channel of every pixel through dwChannelRef. */
export function dwconvRef(M: i32, C: i32, taps: i32, ind: usize, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool, res: usize, zr: i32, mr: f32, flags: i32): void {
  const in16 = (flags & FLAG_IN16) != 0;
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const rstride = (<usize>outStride >> kindShift(outKind)) << (resKind == KIND_NONE ? 0 : kindShift(resKind));
  const bb = dwBlockBytes(taps), mlz = MAGIC_BITS - zp, act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const rowStep = <usize>taps << 2;
  let ip = ind, o = out, rp = res;
  for (let m = 0; m < M; m++, ip += rowStep, o += <usize>outStride, rp += rstride) {
    for (let c = 0; c < C; c++) {
      dwChannelRef(in16, outKind, resKind, c, taps, ip, w, bb, o, rp, zr, mr, mlz, fmin, fmax, alpha, leaky, beta, act);
    }
  }
}

/**
 * Scalar twin of qu8_dwconv_relaxed_c16x4: in the full blocks and the first 8 lanes of a last block
 * of 8-15 channels, unless of kind 2, bias' and the grouped taps from the c16x4 layout at wr (int8
 * weights, both parts of a split block, activations - 128 when shifted), the last taps % 4 from the
 * i16 weights at w; every other channel as dwconvRef.
 */
export function dwconvRelaxedRef(M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool, res: usize, zr: i32, mr: f32, flags: i32): void {
  const shifted = (flags & FLAG_SHIFTED) != 0;
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const rstride = (<usize>outStride >> kindShift(outKind)) << (resKind == KIND_NONE ? 0 : kindShift(resKind));
  const bb = dwBlockBytes(taps), rbb = dwRelaxedBlockBytes(taps), mlz = MAGIC_BITS - zp, act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  // Channels the SIMD kernel runs relaxed: the full blocks and the 8-lane step of the last one.
  const rowStep = <usize>taps << 2, cFull = (C >> 4) << 4, cRelaxed = C - cFull >= 8 ? cFull + 8 : cFull;
  const splitBytes = dwSplitBlockBytes(taps), wSplit = wr + <usize>((C + 15) >> 4) * rbb;
  let ip = ind, o = out, rp = res;
  for (let m = 0; m < M; m++, ip += rowStep, o += <usize>outStride, rp += rstride) {
    for (let c = 0; c < C; c++) {
      const rb = wr + <usize>(c >> 4) * rbb;
      const kind = load<i32>(rb);
      if (c >= cRelaxed || kind == DW_KIND_I16) {
        dwChannelRef(false, outKind, resKind, c, taps, ip, w, bb, o, rp, zr, mr, mlz, fmin, fmax, alpha, leaky, beta, act);
        continue;
      }
      const lane = <usize>(c & 15), grouped = taps & ~3;
      const blk = w + <usize>(c >> 4) * bb;
      let acc = load<i32>(rb + 16 + (lane << 2));
      for (let t = 0; t < taps; t++) {
        const x = <i32>load<u8>(<usize>load<u32>(ip + (<usize>t << 2)) + <usize>c);
        if (t < grouped) {
          const at = <usize>(t >> 2) * 64 + (lane << 2) + <usize>(t & 3), xs = shifted ? x - 128 : x;
          acc += xs * <i32>load<i8>(rb + 80 + at);
          if (kind == DW_KIND_SPLIT) acc += xs * <i32>load<i8>(wSplit + <usize>(c >> 4) * splitBytes + at);
        } else {
          acc += x * <i32>load<i16>(blk + 64 + (<usize>t << 5) + (lane << 1));
        }
      }
      dwChannelStore(outKind, resKind, c, acc, load<f32>(blk + bb - 64 + (lane << 2)), o, rp, zr, mr, mlz, fmin, fmax, alpha, leaky, beta, act);
    }
  }
}

/** Requantizes 4 channels; integer outputs (lowOnly) leave the upper clamp to the narrowed lanes (epilogueLowV). */
@inline function requant4(acc: v128, vmul: v128, leaky: bool, valpha: v128, vmin: v128, vmax: v128,
  resKind: i32, r: v128, vzr: v128, vmr: v128, act: i32 = ACT_NONE, vbeta: v128 = valpha, lowOnly: bool = false): v128 {
  let y = f32x4.mul(f32x4.convert_i32x4_s(acc), vmul);
  if (resKind != KIND_NONE) y = f32x4.add(y, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(r, vzr)), vmr));
  return lowOnly ? epilogueLowV(y, leaky, act, valpha, vbeta, vmin) : epilogueV(y, leaky, act, valpha, vbeta, vmin, vmax);
}

/** Epilogue: requantize the 16 channels of acc0..acc3 (multipliers at wm), add the residual at rr when fused, store at o. */
@inline function dwStore16(outKind: i32, resKind: i32, leaky: bool, acc0: v128, acc1: v128, acc2: v128, acc3: v128, wm: usize, o: usize, rr: usize,
  valpha: v128, vmin: v128, vmax: v128, vqmax: v128, vzr: v128, vmr: v128, vmagic: v128, vmlz: v128, act: i32 = ACT_NONE, vbeta: v128 = valpha): void {
  // Residual lanes (u8 or u16) as i32x4, 4 channels each.
  let r0 = vzr, r1 = vzr, r2 = vzr, r3 = vzr;
  if (resKind == KIND_U16) {
    const h0 = v128.load(rr), h1 = v128.load(rr, 16);
    r0 = i32x4.extend_low_i16x8_u(h0); r1 = i32x4.extend_high_i16x8_u(h0);
    r2 = i32x4.extend_low_i16x8_u(h1); r3 = i32x4.extend_high_i16x8_u(h1);
  } else if (resKind == KIND_U8) {
    const b = v128.load(rr);
    const h0 = i16x8.extend_low_i8x16_u(b), h1 = i16x8.extend_high_i8x16_u(b);
    r0 = i32x4.extend_low_i16x8_u(h0); r1 = i32x4.extend_high_i16x8_u(h0);
    r2 = i32x4.extend_low_i16x8_u(h1); r3 = i32x4.extend_high_i16x8_u(h1);
  }
  const low = outKind != KIND_F32;
  const y0 = requant4(acc0, v128.load(wm), leaky, valpha, vmin, vmax, resKind, r0, vzr, vmr, act, vbeta, low);
  const y1 = requant4(acc1, v128.load(wm, 16), leaky, valpha, vmin, vmax, resKind, r1, vzr, vmr, act, vbeta, low);
  const y2 = requant4(acc2, v128.load(wm, 32), leaky, valpha, vmin, vmax, resKind, r2, vzr, vmr, act, vbeta, low);
  const y3 = requant4(acc3, v128.load(wm, 48), leaky, valpha, vmin, vmax, resKind, r3, vzr, vmr, act, vbeta, low);
  if (outKind == KIND_F32) {
    v128.store(o, y0); v128.store(o, y1, 16); v128.store(o, y2, 32); v128.store(o, y3, 48);
  } else {
    // vqmax: the output's maximum (outMaxOf), as i16 lanes for 12-bit outputs, bytes for uint8.
    const h0 = magicRound8(y0, y1, vmagic, vmlz);
    const h1 = magicRound8(y2, y3, vmagic, vmlz);
    if (outKind == KIND_U16) {
      v128.store(o, i16x8.min_s(h0, vqmax)); v128.store(o, i16x8.min_s(h1, vqmax), 16);
    } else {
      v128.store(o, i8x16.min_u(i8x16.narrow_i16x8_u(h0, h1), vqmax));
    }
  }
}

/** Epilogue of 8 channels (acc0, acc1; multipliers at wm): as dwStore16, loading and storing only those 8. */
@inline function dwStore8(outKind: i32, resKind: i32, leaky: bool, acc0: v128, acc1: v128, wm: usize, o: usize, rr: usize,
  valpha: v128, vmin: v128, vmax: v128, vqmax: v128, vzr: v128, vmr: v128, vmagic: v128, vmlz: v128, act: i32 = ACT_NONE, vbeta: v128 = valpha): void {
  let r0 = vzr, r1 = vzr;
  if (resKind != KIND_NONE) {
    const h = resKind == KIND_U16 ? v128.load(rr) : v128.load8x8_u(rr);
    r0 = i32x4.extend_low_i16x8_u(h); r1 = i32x4.extend_high_i16x8_u(h);
  }
  const low = outKind != KIND_F32;
  const y0 = requant4(acc0, v128.load(wm), leaky, valpha, vmin, vmax, resKind, r0, vzr, vmr, act, vbeta, low);
  const y1 = requant4(acc1, v128.load(wm, 16), leaky, valpha, vmin, vmax, resKind, r1, vzr, vmr, act, vbeta, low);
  if (outKind == KIND_F32) {
    v128.store(o, y0); v128.store(o, y1, 16);
  } else {
    const h = magicRound8(y0, y1, vmagic, vmlz);
    if (outKind == KIND_U16) v128.store(o, i16x8.min_s(h, vqmax));
    else v128.store64_lane(o, i8x16.min_u(i8x16.narrow_i16x8_u(h, h), vqmax), 0);
  }
}

/**
 * Relaxed step of an 8-channel layer (C == 8; one c16x4 block, relaxed or split, u8 output without
 * residual), M (even) pixels two at a time: a tap's 8 activation bytes of pixels m and m + 1 share a
 * vector (low and high halves), the 16-channel step's transposes and relaxed dots run on it with
 * channels 0-3 / 4-7's weights for both halves, the last taps % 4 by widening multiplies of the
 * i16 weights, then one epilogue for the 16 outputs (two 8-byte stores). Same sums as the 8-lane
 * step per pixel, so the same bytes; half the instructions per output.
 */
@inline function dwPairs8(rmode: i32, split: bool, leaky: bool, act: i32, M: i32, taps: i32, ind: usize, w: usize, wr: usize, wSplit: usize,
  out: usize, outStride: i32, valpha: v128, vbeta: v128, vmin: v128, vqmax: v128, vmagic: v128, vmlz: v128): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const rowStep = <usize>taps << 2, wm = w + dwBlockBytes(taps) - 64;
    const vm0 = v128.load(wm), vm1 = v128.load(wm, 16);
    const vflip = i8x16.splat(-128);
    let ip = ind, op = out;
    for (let m = 0; m < M; m += 2, ip += rowStep << 1, op += <usize>outStride << 1) {
      let acc0 = v128.load(wr, 16), acc1 = v128.load(wr, 32), acc2 = acc0, acc3 = acc1;
      let p = ip, t = 0, rwp = wr + 80, swp = wSplit;
      for (; t + 3 < taps; t += 4, p += 16, rwp += 64, swp += 64) {
        const q = p + rowStep;
        let u0 = v128.load64_lane(<usize>load<u32>(q), v128.load64_zero(<usize>load<u32>(p)), 1);
        let u1 = v128.load64_lane(<usize>load<u32>(q, 4), v128.load64_zero(<usize>load<u32>(p, 4)), 1);
        let u2 = v128.load64_lane(<usize>load<u32>(q, 8), v128.load64_zero(<usize>load<u32>(p, 8)), 1);
        let u3 = v128.load64_lane(<usize>load<u32>(q, 12), v128.load64_zero(<usize>load<u32>(p, 12)), 1);
        if (rmode == RELAXED_S8) {
          u0 = v128.xor(u0, vflip); u1 = v128.xor(u1, vflip); u2 = v128.xor(u2, vflip); u3 = v128.xor(u3, vflip);
        }
        // Low halves: pixel m; high halves: pixel m + 1; [channel][tap] as in the 16-channel step.
        const l01 = i8x16.shuffle(u0, u1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const h01 = i8x16.shuffle(u0, u1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const l23 = i8x16.shuffle(u2, u3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const h23 = i8x16.shuffle(u2, u3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const x0 = i16x8.shuffle(l01, l23, 0, 8, 1, 9, 2, 10, 3, 11), x1 = i16x8.shuffle(l01, l23, 4, 12, 5, 13, 6, 14, 7, 15);
        const x2 = i16x8.shuffle(h01, h23, 0, 8, 1, 9, 2, 10, 3, 11), x3 = i16x8.shuffle(h01, h23, 4, 12, 5, 13, 6, 14, 7, 15);
        const wa = v128.load(rwp), wb = v128.load(rwp, 16);
        acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wa, x0, acc0);
        acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wb, x1, acc1);
        acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wa, x2, acc2);
        acc3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(wb, x3, acc3);
        if (split) {
          const sa = v128.load(swp), sb = v128.load(swp, 16);
          acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(sa, x0, acc0);
          acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(sb, x1, acc1);
          acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(sa, x2, acc2);
          acc3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(sb, x3, acc3);
        }
      }
      // The last taps % 4: activations widened to i16 times the tap's i16 weights (channels 0-7).
      for (; t < taps; t++, p += 4) {
        const w0 = v128.load(w + 64 + (<usize>t << 5));
        const xa = v128.load8x8_u(<usize>load<u32>(p)), xb = v128.load8x8_u(<usize>load<u32>(p + rowStep));
        acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xa, w0));
        acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xa, w0));
        acc2 = i32x4.add(acc2, i32x4.extmul_low_i16x8_s(xb, w0));
        acc3 = i32x4.add(acc3, i32x4.extmul_high_i16x8_s(xb, w0));
      }
      const y0 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(acc0), vm0), leaky, act, valpha, vbeta, vmin);
      const y1 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(acc1), vm1), leaky, act, valpha, vbeta, vmin);
      const y2 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(acc2), vm0), leaky, act, valpha, vbeta, vmin);
      const y3 = epilogueLowV(f32x4.mul(f32x4.convert_i32x4_s(acc3), vm1), leaky, act, valpha, vbeta, vmin);
      const h0 = magicRound8(y0, y1, vmagic, vmlz);
      const h1 = magicRound8(y2, y3, vmagic, vmlz);
      const b = i8x16.min_u(i8x16.narrow_i16x8_u(h0, h1), vqmax);
      v128.store64_lane(op, b, 0);
      v128.store64_lane(op + <usize>outStride, b, 1);
    }
  }
}

/**
 * SIMD loop for one input type A (u8, or u16 lanes of 12-bit values); outKind / resKind / leaky
 * are literals at the call sites (specialised loops: the branches fold away). Per pixel and
 * 16-channel block: accumulate (taps in pairs), then the epilogue (dwStore16).
 */
@inline function dwSimd<A>(outKind: i32, resKind: i32, leaky: bool, M: i32, C: i32, taps: i32, ind: usize, w: usize,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32, beta: f32 = 0, act: i32 = ACT_NONE,
  rmode: i32 = RELAXED_NONE, wr: usize = 0): void {
  const in16 = sizeof<A>() == 2;
  const cFull = C >> 4;
  const bb = dwBlockBytes(taps), mlz = MAGIC_BITS - zp;
  const valpha = f32x4.splat(alpha), vbeta = f32x4.splat(beta), vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(mlz), vzr = i32x4.splat(zr), vmr = f32x4.splat(mr);
  const vqmax = outKind == KIND_U16 ? i16x8.splat(<i16>outMaxOf(fmax, zp, 32767)) : i8x16.splat(<i8>outMaxOf(fmax, zp, 255));
  const oShift = kindShift(outKind), rShift: usize = resKind == KIND_U16 ? 1 : 0;
  const rstride: usize = resKind == KIND_NONE ? <usize>0 : (<usize>outStride >> oShift) << rShift;
  const rowStep = <usize>taps << 2;
  const hiOff: usize = in16 ? 16 : 8; // channels 8..15 of a pixel (bytes)
  const rbb = dwRelaxedBlockBytes(taps), splitBytes = dwSplitBlockBytes(taps);
  const wSplit = wr + <usize>((C + 15) >> 4) * rbb; // the split blocks' second weights
  let ip = ind, op = out, rp = res;
  let m = 0;
  if (ASC_FEATURE_RELAXED_SIMD && rmode != RELAXED_NONE && !in16 && C == 8 && outKind == KIND_U8 && resKind == KIND_NONE && load<i32>(wr) != DW_KIND_I16) {
    // 8-channel layers: pixels in pairs, one per half of each vector (dwPairs8).
    m = M & ~1;
    dwPairs8(rmode, load<i32>(wr) == DW_KIND_SPLIT, leaky, act, m, taps, ind, w, wr, wSplit, out, outStride, valpha, vbeta, vmin, vqmax, vmagic, vmlz);
    ip += <usize>m * rowStep;
    op += <usize>m * <usize>outStride;
  }
  for (; m < M; m++, ip += rowStep, op += <usize>outStride, rp += rstride) {
    let wb = w;
    for (let cb = 0; cb < cFull; cb++, wb += bb) {
      const c0 = <usize>(cb << 4);
      const aoff = c0 << (in16 ? 1 : 0);
      // Accumulate: acc_k holds channels 4k..4k+3, starting from the bias.
      let acc0: v128, acc1: v128, acc2: v128, acc3: v128;
      let wp = wb + 64, p = ip, t = 0;
      const rb = wr + <usize>cb * rbb;
      const kind = rmode != RELAXED_NONE ? load<i32>(rb) : DW_KIND_I16;
      if (ASC_FEATURE_RELAXED_SIMD && kind != DW_KIND_I16) {
        // Relaxed: whole groups of four taps from the c16x4 block (its bias' covers them), then the
        // last taps % 4 through the i16 steps below. A split block adds its second weights' dots.
        acc0 = v128.load(rb, 16); acc1 = v128.load(rb, 32); acc2 = v128.load(rb, 48); acc3 = v128.load(rb, 64);
        let rwp = rb + 80, swp = wSplit + <usize>cb * splitBytes;
        for (; t + 3 < taps; t += 4, p += 16, rwp += 64, swp += 64) {
          let u0 = v128.load(<usize>load<u32>(p) + aoff), u1 = v128.load(<usize>load<u32>(p, 4) + aoff);
          let u2 = v128.load(<usize>load<u32>(p, 8) + aoff), u3 = v128.load(<usize>load<u32>(p, 12) + aoff);
          if (rmode == RELAXED_S8) {
            const vflip = i8x16.splat(-128);
            u0 = v128.xor(u0, vflip); u1 = v128.xor(u1, vflip); u2 = v128.xor(u2, vflip); u3 = v128.xor(u3, vflip);
          }
          // [channel][tap] bytes: taps 0/1 and 2/3 interleaved per channel, then the pairs per channel.
          const l01 = i8x16.shuffle(u0, u1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const h01 = i8x16.shuffle(u0, u1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          const l23 = i8x16.shuffle(u2, u3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const h23 = i8x16.shuffle(u2, u3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          const x0 = i16x8.shuffle(l01, l23, 0, 8, 1, 9, 2, 10, 3, 11), x1 = i16x8.shuffle(l01, l23, 4, 12, 5, 13, 6, 14, 7, 15);
          const x2 = i16x8.shuffle(h01, h23, 0, 8, 1, 9, 2, 10, 3, 11), x3 = i16x8.shuffle(h01, h23, 4, 12, 5, 13, 6, 14, 7, 15);
          acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp), x0, acc0);
          acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp, 16), x1, acc1);
          acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp, 32), x2, acc2);
          acc3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp, 48), x3, acc3);
          if (kind == DW_KIND_SPLIT) {
            acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp), x0, acc0);
            acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp, 16), x1, acc1);
            acc2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp, 32), x2, acc2);
            acc3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp, 48), x3, acc3);
          }
        }
        wp += <usize>t << 5;
      } else {
        acc0 = v128.load(wb); acc1 = v128.load(wb, 16); acc2 = v128.load(wb, 32); acc3 = v128.load(wb, 48);
      }
      // Taps in pairs: activations and weights of taps t and t + 1 interleaved per channel, so one
      // i32x4.dot_i16x8_s adds x_t * w_t + x_t1 * w_t1 for 4 channels (no overflow: |x| <= 4095, |w| <= 127).
      for (; t + 1 < taps; t += 2, p += 8, wp += 64) {
        const wa0 = v128.load(wp), wa1 = v128.load(wp, 16), wb0 = v128.load(wp, 32), wb1 = v128.load(wp, 48);
        const a0 = <usize>load<u32>(p) + aoff, a1 = <usize>load<u32>(p, 4) + aoff;
        let x0: v128, x1: v128, x2: v128, x3: v128;
        if (in16) {
          const u0 = v128.load(a0), u1 = v128.load(a0, 16), v0 = v128.load(a1), v1 = v128.load(a1, 16);
          x0 = i16x8.shuffle(u0, v0, 0, 8, 1, 9, 2, 10, 3, 11); x1 = i16x8.shuffle(u0, v0, 4, 12, 5, 13, 6, 14, 7, 15);
          x2 = i16x8.shuffle(u1, v1, 0, 8, 1, 9, 2, 10, 3, 11); x3 = i16x8.shuffle(u1, v1, 4, 12, 5, 13, 6, 14, 7, 15);
        } else {
          const u = v128.load(a0), v = v128.load(a1);
          const lo = i8x16.shuffle(u, v, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const hi = i8x16.shuffle(u, v, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          x0 = i16x8.extend_low_i8x16_u(lo); x1 = i16x8.extend_high_i8x16_u(lo);
          x2 = i16x8.extend_low_i8x16_u(hi); x3 = i16x8.extend_high_i8x16_u(hi);
        }
        acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(x0, i16x8.shuffle(wa0, wb0, 0, 8, 1, 9, 2, 10, 3, 11)));
        acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(x1, i16x8.shuffle(wa0, wb0, 4, 12, 5, 13, 6, 14, 7, 15)));
        acc2 = i32x4.add(acc2, i32x4.dot_i16x8_s(x2, i16x8.shuffle(wa1, wb1, 0, 8, 1, 9, 2, 10, 3, 11)));
        acc3 = i32x4.add(acc3, i32x4.dot_i16x8_s(x3, i16x8.shuffle(wa1, wb1, 4, 12, 5, 13, 6, 14, 7, 15)));
      }
      if (t < taps) {
        // The odd last tap: widened activations times its weights.
        const w0 = v128.load(wp), w1 = v128.load(wp, 16);
        const a = <usize>load<u32>(p) + aoff;
        const x0 = loadRow8<A>(a), x1 = loadRow8<A>(a + hiOff);
        acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(x0, w0));
        acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(x0, w0));
        acc2 = i32x4.add(acc2, i32x4.extmul_low_i16x8_s(x1, w1));
        acc3 = i32x4.add(acc3, i32x4.extmul_high_i16x8_s(x1, w1));
      }
      // Epilogue: requantize the 16 channels and store them.
      dwStore16(outKind, resKind, leaky, acc0, acc1, acc2, acc3, wb + bb - 64, op + (c0 << oShift), rp + (c0 << rShift), valpha, vmin, vmax, vqmax, vzr, vmr, vmagic, vmlz, act, vbeta);
    }
    let c = cFull << 4;
    if (C - c >= 8) {
      // 8 more channels: the first half of the last block, 8-byte (16-byte for 12-bit) activation loads.
      const c0 = <usize>c;
      const aoff = c0 << (in16 ? 1 : 0);
      let acc0: v128, acc1: v128;
      let wp = wb + 64, p = ip, t = 0;
      const rb = wr + <usize>cFull * rbb;
      const kind = rmode != RELAXED_NONE ? load<i32>(rb) : DW_KIND_I16;
      if (ASC_FEATURE_RELAXED_SIMD && kind != DW_KIND_I16) {
        // Relaxed, lanes 0..7 of the block: as the 16-channel step on 8-byte loads.
        acc0 = v128.load(rb, 16); acc1 = v128.load(rb, 32);
        let rwp = rb + 80, swp = wSplit + <usize>cFull * splitBytes;
        for (; t + 3 < taps; t += 4, p += 16, rwp += 64, swp += 64) {
          let u0 = v128.load64_zero(<usize>load<u32>(p) + aoff), u1 = v128.load64_zero(<usize>load<u32>(p, 4) + aoff);
          let u2 = v128.load64_zero(<usize>load<u32>(p, 8) + aoff), u3 = v128.load64_zero(<usize>load<u32>(p, 12) + aoff);
          if (rmode == RELAXED_S8) {
            const vflip = i8x16.splat(-128);
            u0 = v128.xor(u0, vflip); u1 = v128.xor(u1, vflip); u2 = v128.xor(u2, vflip); u3 = v128.xor(u3, vflip);
          }
          const l01 = i8x16.shuffle(u0, u1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const l23 = i8x16.shuffle(u2, u3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const x0 = i16x8.shuffle(l01, l23, 0, 8, 1, 9, 2, 10, 3, 11), x1 = i16x8.shuffle(l01, l23, 4, 12, 5, 13, 6, 14, 7, 15);
          acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp), x0, acc0);
          acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(rwp, 16), x1, acc1);
          if (kind == DW_KIND_SPLIT) {
            acc0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp), x0, acc0);
            acc1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(swp, 16), x1, acc1);
          }
        }
        wp += <usize>t << 5;
      } else {
        acc0 = v128.load(wb); acc1 = v128.load(wb, 16);
      }
      for (; t + 1 < taps; t += 2, p += 8, wp += 64) {
        const wa = v128.load(wp), wbv = v128.load(wp, 32);
        const a0 = <usize>load<u32>(p) + aoff, a1 = <usize>load<u32>(p, 4) + aoff;
        let x0: v128, x1: v128;
        if (in16) {
          const u = v128.load(a0), v = v128.load(a1);
          x0 = i16x8.shuffle(u, v, 0, 8, 1, 9, 2, 10, 3, 11); x1 = i16x8.shuffle(u, v, 4, 12, 5, 13, 6, 14, 7, 15);
        } else {
          const lo = i8x16.shuffle(v128.load64_zero(a0), v128.load64_zero(a1), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          x0 = i16x8.extend_low_i8x16_u(lo); x1 = i16x8.extend_high_i8x16_u(lo);
        }
        acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(x0, i16x8.shuffle(wa, wbv, 0, 8, 1, 9, 2, 10, 3, 11)));
        acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(x1, i16x8.shuffle(wa, wbv, 4, 12, 5, 13, 6, 14, 7, 15)));
      }
      if (t < taps) {
        const w0 = v128.load(wp);
        const x0 = loadRow8<A>(<usize>load<u32>(p) + aoff);
        acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(x0, w0));
        acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(x0, w0));
      }
      dwStore8(outKind, resKind, leaky, acc0, acc1, wb + bb - 64, op + (c0 << oShift), rp + (c0 << rShift), valpha, vmin, vmax, vqmax, vzr, vmr, vmagic, vmlz, act, vbeta);
      c += 8;
    }
    for (; c < C; c++) {
      dwChannelRef(in16, outKind, resKind, c, taps, ip, w, bb, op, rp, zr, mr, mlz, fmin, fmax, alpha, leaky, beta, act);
    }
  }
}

function dwSimdIn<A>(outKind: i32, resKind: i32, leaky: bool, M: i32, C: i32, taps: i32, ind: usize, w: usize,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32, beta: f32 = 0, act: i32 = ACT_NONE): void {
  // Specialised: the output of the input's width without residual (MobileNet's depthwise layers),
  // ReLU/none or LeakyReLU. Everything else: one loop with run-time tests.
  const same = sizeof<A>() == 2 ? KIND_U16 : KIND_U8;
  if (outKind == same && resKind == KIND_NONE && act == ACT_NONE) {
    if (leaky) dwSimd<A>(same, KIND_NONE, true, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr);
    else dwSimd<A>(same, KIND_NONE, false, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr);
  } else {
    dwSimdGeneric<A>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
  }
}

function dwSimdGeneric<A>(outKind: i32, resKind: i32, leaky: bool, M: i32, C: i32, taps: i32, ind: usize, w: usize,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32, beta: f32 = 0, act: i32 = ACT_NONE): void {
  dwSimd<A>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
}

/** SIMD kernel (same arguments and results as dwconvRef). */
export function dwconvSimd(M: i32, C: i32, taps: i32, ind: usize, w: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool, res: usize, zr: i32, mr: f32, flags: i32): void {
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  if ((flags & FLAG_IN16) != 0) dwSimdIn<u16>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
  else dwSimdIn<u8>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
}

function dwRelaxedLoop(rmode: i32, outKind: i32, resKind: i32, leaky: bool, M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32, beta: f32, act: i32): void {
  // Specialised: a u8 output without residual, ReLU/none (MobileNet's depthwise layers). Everything else: run-time tests.
  if (outKind == KIND_U8 && resKind == KIND_NONE && act == ACT_NONE && !leaky) {
    if (rmode == RELAXED_S8) dwSimd<u8>(KIND_U8, KIND_NONE, false, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, ACT_NONE, RELAXED_S8, wr);
    else dwSimd<u8>(KIND_U8, KIND_NONE, false, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, ACT_NONE, RELAXED_U8, wr);
  } else {
    dwRelaxedGeneric(rmode, outKind, resKind, leaky, M, C, taps, ind, w, wr, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
  }
}

function dwRelaxedGeneric(rmode: i32, outKind: i32, resKind: i32, leaky: bool, M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, res: usize, zr: i32, mr: f32, beta: f32, act: i32): void {
  if (rmode == RELAXED_S8) dwSimd<u8>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act, RELAXED_S8, wr);
  else dwSimd<u8>(outKind, resKind, leaky, M, C, taps, ind, w, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act, RELAXED_U8, wr);
}

/** Relaxed SIMD kernel (8-bit activations; w: the qu8-dwconv-c16 weights, wr: their c16x4 form); results as dwconvRelaxedRef. */
export function dwconvRelaxedSimd(M: i32, C: i32, taps: i32, ind: usize, w: usize, wr: usize, out: usize, outStride: i32,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, outF32: bool, res: usize, zr: i32, mr: f32, flags: i32): void {
  const outKind = outF32 ? KIND_F32 : (flags & FLAG_OUT16) != 0 ? KIND_U16 : KIND_U8;
  const resKind = res == 0 ? KIND_NONE : (flags & FLAG_RES16) != 0 ? KIND_U16 : KIND_U8;
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  dwRelaxedLoop((flags & FLAG_SHIFTED) != 0 ? RELAXED_S8 : RELAXED_U8, outKind, resKind, leaky, M, C, taps, ind, w, wr, out, outStride, zp, fmin, fmax, alpha, res, zr, mr, beta, act);
}
