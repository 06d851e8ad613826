// Softmax over the channels of float32 NHWC rows (the classifier head's last op):
//   y[c] = exp(x[c] - max) / sum_k exp(x[k] - max)
// exp and the sum in f64, so the only f32 roundings are e[c] (stored in y) and the quotient:
// |y - softmax(x)| / softmax(x) < 2^-22. exp is computed here (expNeg), not by Math.exp, whose
// lookup table would live in the static data of a module that owns no memory.
// Scalar in every build (a head row is C values once per image).

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

/** rows rows of C float32 values at inp -> rows of C at out (no aliasing). */
export function softmaxF32(rows: i32, C: i32, inp: usize, out: usize): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes, y = out + <usize>r * rowBytes;
    let m = load<f32>(x);
    for (let c = 1; c < C; c++) m = max(m, load<f32>(x + (<usize>c << 2)));
    let s: f64 = 0;
    for (let c = 0; c < C; c++) {
      const e = expNeg(<f64>load<f32>(x + (<usize>c << 2)) - <f64>m);
      s += e;
      store<f32>(y + (<usize>c << 2), <f32>e);
    }
    for (let c = 0; c < C; c++) store<f32>(y + (<usize>c << 2), <f32>(<f64>load<f32>(y + (<usize>c << 2)) / s));
  }
}
