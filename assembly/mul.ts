// qu8 elementwise multiply over M rows of C elements, operand b broadcast or not:
//   y[r][c] = f32((a[r][c] - za) * (b[r * bStride + c] - zb)) * m,   m = f32(f32(sa * sb) / so),
//   clamped to [fmin, fmax] = [outMin - zo, outMax - zo], rounded half-to-even, + zo.
// bStride = 0: b is one row of C per call (the squeeze-and-excitation gate [N,1,1,C] over a
// [N,H,W,C] map, one call per image); bStride = C: same-shape operands.
// The product of the centred operands is exact in i32 (|a - za|, |b - zb| <= 4095) and in f32
// (< 2^24), so the only roundings are the f32 multiply and the final half-to-even.
// Any operand may be 12-bit in 16-bit lanes (VMUL_FLAG_A16, _B16, _OUT16); the output is quantized.

import { MAGIC, MAGIC_BITS, clampF, magicRound } from './common';
import { VMUL_FLAG_A16, VMUL_FLAG_B16, VMUL_FLAG_OUT16 } from './flags';

/** The scalar twin, from element `start` of each row on (the SIMD kernel's tail). */
export function vmulRef(M: i32, C: i32, a: usize, b: usize, bStride: i32, out: usize,
  za: i32, zb: i32, m: f32, zo: i32, fmin: f32, fmax: f32, start: i32, flags: i32): void {
  const mlz = MAGIC_BITS - zo;
  const sa: usize = (flags & VMUL_FLAG_A16) != 0 ? 1 : 0, sb: usize = (flags & VMUL_FLAG_B16) != 0 ? 1 : 0, so: usize = (flags & VMUL_FLAG_OUT16) != 0 ? 1 : 0;
  for (let r = 0; r < M; r++) {
    const ar = a + ((<usize>r * <usize>C) << sa), br = b + ((<usize>r * <usize>bStride) << sb), orow = out + ((<usize>r * <usize>C) << so);
    for (let c = <usize>start; c < <usize>C; c++) {
      const x = sa ? <i32>load<u16>(ar + (c << 1)) : <i32>load<u8>(ar + c);
      const y = sb ? <i32>load<u16>(br + (c << 1)) : <i32>load<u8>(br + c);
      const q = magicRound(clampF(<f32>((x - za) * (y - zb)) * m, fmin, fmax), mlz);
      if (so) store<u16>(orow + (c << 1), <u16>q);
      else store<u8>(orow + c, <u8>q);
    }
  }
}

/** Four lanes of (a - za) * (b - zb) (i32, exact) requantized to i32 levels. */
@inline function mulQuarter(p: v128, vm: v128, vmin: v128, vmax: v128, vmagic: v128, vmlz: v128): v128 {
  const y = f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(p), vm), vmin), vmax);
  return i32x4.sub(f32x4.add(y, vmagic), vmlz);
}

/** 8 elements per step: operands widened to i16 lanes and centred, multiplied into i32 (extmul). */
export function vmulSimd(M: i32, C: i32, a: usize, b: usize, bStride: i32, out: usize,
  za: i32, zb: i32, m: f32, zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  const a16 = (flags & VMUL_FLAG_A16) != 0, b16 = (flags & VMUL_FLAG_B16) != 0, o16 = (flags & VMUL_FLAG_OUT16) != 0;
  const sa: usize = a16 ? 1 : 0, sb: usize = b16 ? 1 : 0, so: usize = o16 ? 1 : 0;
  const vza = i16x8.splat(<i16>za), vzb = i16x8.splat(<i16>zb);
  const vm = f32x4.splat(m), vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zo);
  const C8 = C & ~7;
  for (let r = 0; r < M; r++) {
    const ar = a + ((<usize>r * <usize>C) << sa), br = b + ((<usize>r * <usize>bStride) << sb), orow = out + ((<usize>r * <usize>C) << so);
    for (let c = 0; c < C8; c += 8) {
      const va = i16x8.sub(a16 ? v128.load(ar + (<usize>c << 1)) : v128.load8x8_u(ar + <usize>c), vza);
      const vb = i16x8.sub(b16 ? v128.load(br + (<usize>c << 1)) : v128.load8x8_u(br + <usize>c), vzb);
      const q0 = mulQuarter(i32x4.extmul_low_i16x8_s(va, vb), vm, vmin, vmax, vmagic, vmlz);
      const q1 = mulQuarter(i32x4.extmul_high_i16x8_s(va, vb), vm, vmin, vmax, vmagic, vmlz);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      if (o16) v128.store(orow + (<usize>c << 1), h);
      else v128.store64_lane(orow + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
    }
  }
  if (C8 < C) vmulRef(M, C, a, b, bStride, out, za, zb, m, zo, fmin, fmax, C8, flags);
}
