// Softmax over the channels of float32 NHWC rows (the classifier head's last op):
//   y[c] = exp(x[c] - max) / sum_k exp(x[k] - max)
// exp and the sum in f64, so the only f32 roundings are e[c] (stored in y) and the quotient:
// |y - softmax(x)| / softmax(x) < 2^-22. exp is computed here (expNeg), not by Math.exp, whose
// lookup table would live in the static data of a module that owns no memory.
// The SIMD path runs the same IEEE operations on two f64 lanes (expNeg2: the same reduction, the
// same polynomial, ties-to-even nearest in both) and keeps the sum's order (lane 0, then lane 1,
// left to right), so its results are the scalar path's bit for bit.

const LOG2E: f64 = 1.4426950408889634;
const LN2_HI: f64 = 0.6931471803691238;   // fdlibm ln2_hi: low 21 bits clear, k * LN2_HI exact for |k| < 2^11
const LN2_LO: f64 = 1.9082149292705877e-10;

/**
 * exp(d) for d <= 0 in f64: d = k ln2 + r (|r| <= ln2 / 2, Cody-Waite), exp(r) by its Taylor series
 * to r^13 / 13! (truncation < 2e-17 relative), times 2^k from the exponent bits; 0 below -700
 * (exp(-700) ~ 1e-304 rounds to 0 in f32 anyway).
 */
@inline function expNeg(d: f64): f64 {
  if (d < -700) return 0;
  const k = nearest<f64>(d * LOG2E);
  const r = (d - k * LN2_HI) - k * LN2_LO;
  let p: f64 = 1.0 / 6227020800.0; // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return p * reinterpret<f64>((<i64>k + 1023) << 52);
}

/**
 * expNeg on two f64 lanes, with the same operations in the same order per lane: k = nearest(d log2e),
 * the Cody-Waite reduction, the polynomial, 2^k from the exponent bits (k >= -1022 for d >= -700),
 * and 0 where d < -700.
 */
@inline function expNeg2(d: v128): v128 {
  const k = f64x2.nearest(f64x2.mul(d, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(d, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  let p = f64x2.splat(1.0 / 6227020800.0);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 479001600.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 39916800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 3628800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 362880.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  // k is integral and within [-1010, 0] here (d in [-700, 0]; lanes below -700 are zeroed after), so
  // the i32 truncation is exact; 2^k = the bits (k + 1023) << 52.
  const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const e = f64x2.mul(p, i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52));
  return v128.andnot(e, f64x2.lt(d, f64x2.splat(-700)));
}

/**
 * rows rows of C float32 values at inp -> rows of C at out (no aliasing). With simd (in the SIMD
 * build): the max over f32x4, exp on f64x2 (expNeg2), the division on f64x2; the same bytes.
 */
export function softmaxF32(simd: bool, rows: i32, C: i32, inp: usize, out: usize): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes, y = out + <usize>r * rowBytes;
    let c = 0;
    let m = load<f32>(x);
    if (ASC_FEATURE_SIMD) {
      if (simd && C >= 8) {
        let vm = f32x4.splat(m);
        for (; c + 4 <= C; c += 4) vm = f32x4.max(vm, v128.load(x + (<usize>c << 2)));
        m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
      }
    }
    for (; c < C; c++) m = max(m, load<f32>(x + (<usize>c << 2)));
    let s: f64 = 0;
    c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd) {
        const vm = f64x2.splat(<f64>m);
        for (; c + 4 <= C; c += 4) {
          const v = v128.load(x + (<usize>c << 2));
          const e0 = expNeg2(f64x2.sub(f64x2.promote_low_f32x4(v), vm));
          const e1 = expNeg2(f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)), vm));
          s += f64x2.extract_lane(e0, 0);
          s += f64x2.extract_lane(e0, 1);
          s += f64x2.extract_lane(e1, 0);
          s += f64x2.extract_lane(e1, 1);
          v128.store(y + (<usize>c << 2), i32x4.shuffle(f32x4.demote_f64x2_zero(e0), f32x4.demote_f64x2_zero(e1), 0, 1, 4, 5));
        }
        for (; c + 2 <= C; c += 2) {
          const e = expNeg2(f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(x + (<usize>c << 2))), vm));
          s += f64x2.extract_lane(e, 0);
          s += f64x2.extract_lane(e, 1);
          v128.store64_lane(y + (<usize>c << 2), f32x4.demote_f64x2_zero(e), 0);
        }
      }
    }
    for (; c < C; c++) {
      const e = expNeg(<f64>load<f32>(x + (<usize>c << 2)) - <f64>m);
      s += e;
      store<f32>(y + (<usize>c << 2), <f32>e);
    }
    c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd) {
        const vs = f64x2.splat(s);
        for (; c + 2 <= C; c += 2) {
          const p = y + (<usize>c << 2);
          v128.store64_lane(p, f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(p)), vs)), 0);
        }
      }
    }
    for (; c < C; c++) store<f32>(y + (<usize>c << 2), <f32>(<f64>load<f32>(y + (<usize>c << 2)) / s));
  }
}
