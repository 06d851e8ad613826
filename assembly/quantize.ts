// Input quantization: a float32 NCHW input -> the uint8 (or 12-bit, 16-bit lanes) NHWC input tensor,
// q = clamp(roundHalfEven(f64(x) * inv) + zp, 0, qmax), in float64 like the host's reference
// (src/runtime/io.ts, roundHalfEven): nearest rounds half to even, and values too large for any
// rounding question clamp to 0 or qmax either way. A NaN or +-Infinity (after the multiply) stops
// the walk: the result is its element index (NCHW order, the first in that order), else -1.
// SIMD: 4 floats per step, two f64x2 halves, 4 lane stores C elements apart; the scalar twin (and
// the SIMD loop's tail, and any 4 holding a non-finite value) does the same per element.

/**
 * SIMD part of one channel plane: elements [0, p) of the HW at `plane` into every `cs` bytes from
 * `o`; returns p, stopping before the first 4 that hold a non-finite value (or at the last 4).
 */
function quantizePlaneSimd(plane: usize, HW: i32, o: usize, cs: usize, inv: f64, zp: f64, qmax: f64, out16: bool): i32 {
  const vinv = f64x2.splat(inv), vzp = f64x2.splat(zp), vqmax = f64x2.splat(qmax), vzero = f64x2.splat(0);
  let p = 0;
  for (; p + 4 <= HW; p += 4) {
    const v = v128.load(plane + (<usize>p << 2));
    const y0 = f64x2.mul(f64x2.promote_low_f32x4(v), vinv);
    const y1 = f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)), vinv);
    // y - y is 0 exactly for finite y (NaN for NaN and +-Infinity): the scalar loop finds which.
    if (v128.any_true(v128.or(f64x2.ne(f64x2.sub(y0, y0), vzero), f64x2.ne(f64x2.sub(y1, y1), vzero)))) break;
    const q0 = f64x2.pmin(f64x2.pmax(f64x2.add(f64x2.nearest(y0), vzp), vzero), vqmax);
    const q1 = f64x2.pmin(f64x2.pmax(f64x2.add(f64x2.nearest(y1), vzp), vzero), vqmax);
    const q = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(q0), i32x4.trunc_sat_f64x2_s_zero(q1), 0, 1, 4, 5);
    const h = i16x8.narrow_i32x4_u(q, q);
    const d = o + <usize>p * cs;
    if (out16) {
      v128.store16_lane(d, h, 0); v128.store16_lane(d + cs, h, 1); v128.store16_lane(d + 2 * cs, h, 2); v128.store16_lane(d + 3 * cs, h, 3);
    } else {
      const b = i8x16.narrow_i16x8_u(h, h);
      v128.store8_lane(d, b, 0); v128.store8_lane(d + cs, b, 1); v128.store8_lane(d + 2 * cs, b, 2); v128.store8_lane(d + 3 * cs, b, 3);
    }
  }
  return p;
}

export function quantizeNchw(simd: bool, N: i32, C: i32, HW: i32, x: usize, out: usize, inv: f64, zp: i32, qmax: i32, out16: bool): i32 {
  const es: usize = out16 ? 1 : 0;
  const cs = <usize>C << es; // bytes from a pixel's channel to the next pixel's
  const fzp = <f64>zp, fqmax = <f64>qmax;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = x + (<usize>((n * C + c) * HW) << 2);
      const o = out + ((<usize>(n * HW) * <usize>C + <usize>c) << es);
      let p = 0;
      if (ASC_FEATURE_SIMD) {
        if (simd) p = quantizePlaneSimd(plane, HW, o, cs, inv, fzp, fqmax, out16);
      }
      for (; p < HW; p++) {
        const y = <f64>load<f32>(plane + (<usize>p << 2)) * inv;
        if (y - y != 0) return (n * C + c) * HW + p;
        const q = <i32>min(max(nearest(y) + fzp, 0), fqmax);
        if (out16) store<u16>(o + <usize>p * cs, <u16>q);
        else store<u8>(o + <usize>p * cs, <u8>q);
      }
    }
  }
  return -1;
}
