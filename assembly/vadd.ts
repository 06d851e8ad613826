// qu8 elementwise add (residual connections):
//   y = ((a - za) * ma + (b - zb) * mb) in f32, ma = sa / so, mb = sb / so,
//   clamped to [fmin, fmax] = [outMin - zo, outMax - zo], rounded half-to-even, + zo.
// Any operand may be a 12-bit activation in 16-bit lanes (VADD_FLAG_A16, _B16, _OUT16); VADD_FLAG_OUT_F32:
// float32 output (a network's last Add): y clamped, not rounded (ma = sa, mb = sb, zo = 0).
// VADD_FLAG_Q21: XNNPACK's qu8 vadd fixed point instead (vaddQ21 below).

import { MAGIC, MAGIC_BITS, clampF, magicRound } from './common';
import { VADD_FLAG_A16, VADD_FLAG_B16, VADD_FLAG_OUT16, VADD_FLAG_OUT_F32, VADD_FLAG_Q21, VADD_FLAG_SHIFT_1 } from './flags';

/** The clamped f32 sum of four lanes. */
@inline function addQuarterF(a32: v128, b32: v128, vza: v128, vzb: v128, vma: v128, vmb: v128, vmin: v128, vmax: v128): v128 {
  const fa = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(a32, vza)), vma);
  const fb = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(b32, vzb)), vmb);
  return f32x4.pmin(f32x4.pmax(f32x4.add(fa, fb), vmin), vmax);
}

@inline function addQuarter(a32: v128, b32: v128, vza: v128, vzb: v128, vma: v128, vmb: v128,
  vmin: v128, vmax: v128, vmagic: v128, vmlz: v128): v128 {
  return i32x4.sub(f32x4.add(addQuarterF(a32, b32, vza, vzb, vma, vmb, vmin, vmax), vmagic), vmlz);
}

@inline function addScalar(x: i32, y: i32, za: i32, zb: i32, ma: f32, mb: f32, fmin: f32, fmax: f32, mlz: i32): i32 {
  const fa: f32 = <f32>(x - za) * ma;
  const fb: f32 = <f32>(y - zb) * mb;
  return magicRound(clampF(fa + fb, fmin, fmax), mlz);
}

/**
 * XNNPACK's qu8 vadd (xnn_init_qu8_add_minmax_*_params): integer multipliers am = ma, bm = mb
 * (|m| < 2^21, the host's lrintf(2^shift * s / so)), shift = (flags >> 8) & 31 in [12, 30]:
 *   acc = am (a - za) + bm (b - zb) + 2^(shift - 1)      (|acc| < 2^31: |a - za| <= 255)
 *   y   = clamp(acc >> shift, fmin, fmax) + zo            (arithmetic shift: ties up)
 * u8 operands and output; the SIMD path from element `start`, 16 per step, the rest scalar.
 */
function vaddQ21(simd: bool, n: i32, a: usize, b: usize, out: usize,
  za: i32, zb: i32, ma: f32, mb: f32, zo: i32, fmin: f32, fmax: f32, start: i32, flags: i32): void {
  const am = <i32>ma, bm = <i32>mb;
  const shift = (flags / VADD_FLAG_SHIFT_1) & 31;
  const bias = (1 << (shift - 1)) - am * za - bm * zb;
  const lo = <i32>fmin, hi = <i32>fmax;
  let i = start;
  if (ASC_FEATURE_SIMD) {
    if (simd) {
      const vam = i32x4.splat(am), vbm = i32x4.splat(bm), vbias = i32x4.splat(bias);
      const vlo = i32x4.splat(lo), vhi = i32x4.splat(hi), vzo = i32x4.splat(zo);
      for (; i + 16 <= n; i += 16) {
        const va = v128.load(a + <usize>i), vb = v128.load(b + <usize>i);
        const al = i16x8.extend_low_i8x16_u(va), ah = i16x8.extend_high_i8x16_u(va);
        const bl = i16x8.extend_low_i8x16_u(vb), bh = i16x8.extend_high_i8x16_u(vb);
        const q0 = q21Quarter(i32x4.extend_low_i16x8_u(al), i32x4.extend_low_i16x8_u(bl), vam, vbm, vbias, shift, vlo, vhi, vzo);
        const q1 = q21Quarter(i32x4.extend_high_i16x8_u(al), i32x4.extend_high_i16x8_u(bl), vam, vbm, vbias, shift, vlo, vhi, vzo);
        const q2 = q21Quarter(i32x4.extend_low_i16x8_u(ah), i32x4.extend_low_i16x8_u(bh), vam, vbm, vbias, shift, vlo, vhi, vzo);
        const q3 = q21Quarter(i32x4.extend_high_i16x8_u(ah), i32x4.extend_high_i16x8_u(bh), vam, vbm, vbias, shift, vlo, vhi, vzo);
        v128.store(out + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      }
    }
  }
  for (; i < n; i++) {
    const acc = bias + am * <i32>load<u8>(a + <usize>i) + bm * <i32>load<u8>(b + <usize>i);
    const r = acc >> shift;
    store<u8>(out + <usize>i, <u8>((r < lo ? lo : r > hi ? hi : r) + zo));
  }
}

@inline function q21Quarter(a32: v128, b32: v128, vam: v128, vbm: v128, vbias: v128, shift: i32, vlo: v128, vhi: v128, vzo: v128): v128 {
  const acc = i32x4.add(vbias, i32x4.add(i32x4.mul(a32, vam), i32x4.mul(b32, vbm)));
  return i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.shr_s(acc, shift), vlo), vhi), vzo);
}

export function vaddRef(n: i32, a: usize, b: usize, out: usize,
  za: i32, zb: i32, ma: f32, mb: f32, zo: i32, fmin: f32, fmax: f32, start: i32, flags: i32): void {
  if ((flags & VADD_FLAG_Q21) != 0) {
    vaddQ21(false, n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, start, flags);
    return;
  }
  const mlz = MAGIC_BITS - zo;
  const a16 = (flags & VADD_FLAG_A16) != 0, b16 = (flags & VADD_FLAG_B16) != 0, o16 = (flags & VADD_FLAG_OUT16) != 0, o32 = (flags & VADD_FLAG_OUT_F32) != 0;
  for (let i = <usize>start; i < <usize>n; i++) {
    const x = a16 ? <i32>load<u16>(a + (i << 1)) : <i32>load<u8>(a + i);
    const y = b16 ? <i32>load<u16>(b + (i << 1)) : <i32>load<u8>(b + i);
    if (o32) {
      store<f32>(out + (i << 2), clampF(<f32>(x - za) * ma + <f32>(y - zb) * mb, fmin, fmax));
      continue;
    }
    const q = addScalar(x, y, za, zb, ma, mb, fmin, fmax, mlz);
    if (o16) store<u16>(out + (i << 1), <u16>q);
    else store<u8>(out + i, <u8>q);
  }
}

export function vaddSimd(n: i32, a: usize, b: usize, out: usize,
  za: i32, zb: i32, ma: f32, mb: f32, zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  const vza = i32x4.splat(za), vzb = i32x4.splat(zb);
  const vma = f32x4.splat(ma), vmb = f32x4.splat(mb);
  const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zo);
  let i = 0;
  if ((flags & VADD_FLAG_Q21) != 0) {
    vaddQ21(true, n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, 0, flags);
    return;
  }
  if (flags != 0) {
    // A 12-bit operand: 8 elements per step, each operand widened to i16 lanes.
    const a16 = (flags & VADD_FLAG_A16) != 0, b16 = (flags & VADD_FLAG_B16) != 0, o16 = (flags & VADD_FLAG_OUT16) != 0, o32 = (flags & VADD_FLAG_OUT_F32) != 0;
    for (; i + 8 <= n; i += 8) {
      const va = a16 ? v128.load(a + (<usize>i << 1)) : v128.load8x8_u(a + <usize>i);
      const vb = b16 ? v128.load(b + (<usize>i << 1)) : v128.load8x8_u(b + <usize>i);
      if (o32) {
        v128.store(out + (<usize>i << 2), addQuarterF(i32x4.extend_low_i16x8_u(va), i32x4.extend_low_i16x8_u(vb), vza, vzb, vma, vmb, vmin, vmax));
        v128.store(out + (<usize>i << 2), addQuarterF(i32x4.extend_high_i16x8_u(va), i32x4.extend_high_i16x8_u(vb), vza, vzb, vma, vmb, vmin, vmax), 16);
        continue;
      }
      const q0 = addQuarter(i32x4.extend_low_i16x8_u(va), i32x4.extend_low_i16x8_u(vb), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
      const q1 = addQuarter(i32x4.extend_high_i16x8_u(va), i32x4.extend_high_i16x8_u(vb), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      if (o16) v128.store(out + (<usize>i << 1), h);
      else v128.store64_lane(out + <usize>i, i8x16.narrow_i16x8_u(h, h), 0);
    }
    vaddRef(n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, i, flags);
    return;
  }
  for (; i + 16 <= n; i += 16) {
    const va = v128.load(a + <usize>i);
    const vb = v128.load(b + <usize>i);
    const al = i16x8.extend_low_i8x16_u(va), ah = i16x8.extend_high_i8x16_u(va);
    const bl = i16x8.extend_low_i8x16_u(vb), bh = i16x8.extend_high_i8x16_u(vb);
    const q0 = addQuarter(i32x4.extend_low_i16x8_u(al), i32x4.extend_low_i16x8_u(bl), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
    const q1 = addQuarter(i32x4.extend_high_i16x8_u(al), i32x4.extend_high_i16x8_u(bl), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
    const q2 = addQuarter(i32x4.extend_low_i16x8_u(ah), i32x4.extend_low_i16x8_u(bh), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
    const q3 = addQuarter(i32x4.extend_high_i16x8_u(ah), i32x4.extend_high_i16x8_u(bh), vza, vzb, vma, vmb, vmin, vmax, vmagic, vmlz);
    v128.store(out + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  }
  vaddRef(n, a, b, out, za, zb, ma, mb, zo, fmin, fmax, i, 0);
}
