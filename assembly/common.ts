// Shared numerics of the kernel module (fixed contract with the quantizer, see docs/kernels.md).
//
// Requantization, XNNPACK "fp32 magic" style, identical in every SIMD kernel and its scalar twin:
//   y = f32(acc) * multiplier            (f32 multiply)
//   if (leaky && y < 0) y = y * alpha     (f32 multiply)
//   y = y < fmin ? fmin : y               (wasm pmax semantics)
//   y = fmax < y ? fmax : y               (wasm pmin semantics)
//   q = bits(y + 12582912.0) - (0x4B400000 - zeroPoint)
// fmin/fmax are (outMin - zp) and (outMax - zp) as f32; |y| <= 255 after the clamp, so adding
// 1.5 * 2^23 rounds y half-to-even to an integer held in the low mantissa bits. The 4x8c4 and
// depthwise kernels clamp integer outputs at outMax after narrowing instead (epilogueLowV): the
// same bytes, fewer operations.

/**
 * 8 activations of a row as i16 lanes: uint8 widened (A = u8), or 12-bit values already in 16-bit
 * lanes (A = u16). A is a compile-time type, so each instantiation keeps one plain load.
 */
@inline export function loadRow8<A>(p: usize): v128 {
  return sizeof<A>() == 2 ? v128.load(p) : v128.load8x8_u(p);
}

/** 1.5 * 2^23 as f32. */
export const MAGIC: f32 = 12582912.0;
/** Bit pattern of MAGIC. */
export const MAGIC_BITS: i32 = 0x4B400000;

/** Scalar clamp with wasm pmax/pmin semantics (matches f32x4.pmax / f32x4.pmin). */
@inline export function clampF(y: f32, fmin: f32, fmax: f32): f32 {
  y = y < fmin ? fmin : y;
  return fmax < y ? fmax : y;
}

/** Scalar fp32 requantization of an int32 accumulator (bias already added). */
@inline export function requantF32(acc: i32, mult: f32, alpha: f32, leaky: bool, fmin: f32, fmax: f32): f32 {
  return requantTail(<f32>acc * mult, alpha, leaky, fmin, fmax);
}

/** The activation and clamp of a requantization, after y = f32(acc) * mult (+ residual term). */
@inline export function requantTail(y: f32, alpha: f32, leaky: bool, fmin: f32, fmax: f32): f32 {
  if (leaky && y < 0) y = y * alpha;
  return clampF(y, fmin, fmax);
}

/** Rounds an already clamped f32 half-to-even and adds the zero point (via the magic bias). */
@inline export function magicRound(y: f32, magicLessZp: i32): i32 {
  return reinterpret<i32>(y + MAGIC) - magicLessZp;
}

/** magicRound of the 8 lanes of y0, y1 (vmagic: MAGIC, vmlz: magicLessZp splatted), narrowed to i16 with saturation. */
@inline export function magicRound8(y0: v128, y1: v128, vmagic: v128, vmlz: v128): v128 {
  return i16x8.narrow_i32x4_s(i32x4.sub(f32x4.add(y0, vmagic), vmlz), i32x4.sub(f32x4.add(y1, vmagic), vmlz));
}

// ---- fused activations (the `flags` ACT field, assembly/flags.ts) ------------------------------
// Applied to y in output units (real = y * outputScale, before the zero point) after the residual
// term and before the clamp; alpha / beta are host-computed f32 (src/ops/activation.ts):
//   HARDSWISH    y * clamp(y * alpha + beta, 0, 1)   alpha = s/6, beta = 1/2 (x*relu6(x+3)/6 over s)
//   HARDSIGMOID  y * alpha + beta                    alpha = a, beta = b/s; the host's clamp [0, 1/s]
//   SIGMOID      sigmoid(y * alpha) * beta           alpha = s, beta = 1/s
//   SILU         y * sigmoid(y * alpha)              alpha = s
// Every step is one f32 operation (no fused multiply-add in wasm SIMD), so the SIMD and scalar forms
// give identical bits; test/kernels/ref.ts repeats the same steps with Math.fround.

/** Bit position of the activation code inside a kernel's flags (codes below). */
export const ACT_SHIFT: i32 = 4;
/** Mask of the activation code field (after the shift). */
export const ACT_MASK: i32 = 7;
export const ACT_NONE: i32 = 0, ACT_HARDSWISH: i32 = 1, ACT_HARDSIGMOID: i32 = 2, ACT_SIGMOID: i32 = 3, ACT_SILU: i32 = 4;

/** The activation code of a kernel's flags. */
@inline export function actCode(flags: i32): i32 {
  return (flags >> ACT_SHIFT) & ACT_MASK;
}

// sigmoid(x) = 1 / (1 + exp(-x)), XNNPACK's f32 "rr2-p5-div" scheme: e = exp(-|x|) by range reduction
// (n = round(-|x| * log2 e), t = |x| + n * ln2 in two parts, 2^n from the exponent bits) and a
// degree-5 polynomial; f = e / (1 + e), 0 past the denormal cutoff, 1 - f for x > 0.
// Max error vs float64 sigmoid: measured in test/kernels/activation.test.ts.
const SIG_MAGIC: f32 = reinterpret<f32>(0x4B40007F);    // 1.5 * 2^23 + 127
const SIG_MINUS_LOG2E: f32 = reinterpret<f32>(0xBFB8AA3B);
const SIG_LN2_HI: f32 = reinterpret<f32>(0x3F317200);
const SIG_LN2_LO: f32 = reinterpret<f32>(0x35BFBE8E);
const SIG_C5: f32 = reinterpret<f32>(0xBC07CFCE);
const SIG_C4: f32 = reinterpret<f32>(0x3D2B9D0D);
const SIG_C3: f32 = reinterpret<f32>(0xBE2AAD40);
const SIG_C2: f32 = reinterpret<f32>(0x3EFFFEE3);
const SIG_C1: f32 = reinterpret<f32>(0xBF7FFFFB);
const SIG_CUTOFF: f32 = reinterpret<f32>(0x42AEAC4F);   // 87.33654: exp(-|x|) is denormal past it

/** Scalar sigmoid (the SIMD form's operations, in the same order). */
@inline export function sigmoidF(x: f32): f32 {
  const z = abs<f32>(x);
  let n = z * SIG_MINUS_LOG2E + SIG_MAGIC;
  const s = reinterpret<f32>(reinterpret<i32>(n) << 23);
  n = n - SIG_MAGIC;
  let t = n * SIG_LN2_HI + z;
  t = n * SIG_LN2_LO + t;
  let p = t * SIG_C5 + SIG_C4;
  p = t * p + SIG_C3;
  p = t * p + SIG_C2;
  p = t * p + SIG_C1;
  t = t * s;
  const e = t * p + s;
  let f = e / (e + <f32>1);
  if (z > SIG_CUTOFF) f = 0;
  if (x > 0) f = <f32>1 - f;
  return f;
}

/** sigmoid of 4 lanes (sigmoidF's operations). */
@inline export function sigmoidV(x: v128): v128 {
  const z = f32x4.abs(x);
  let n = f32x4.add(f32x4.mul(z, f32x4.splat(SIG_MINUS_LOG2E)), f32x4.splat(SIG_MAGIC));
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, f32x4.splat(SIG_MAGIC));
  let t = f32x4.add(f32x4.mul(n, f32x4.splat(SIG_LN2_HI)), z);
  t = f32x4.add(f32x4.mul(n, f32x4.splat(SIG_LN2_LO)), t);
  let p = f32x4.add(f32x4.mul(t, f32x4.splat(SIG_C5)), f32x4.splat(SIG_C4));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(SIG_C3));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(SIG_C2));
  p = f32x4.add(f32x4.mul(t, p), f32x4.splat(SIG_C1));
  t = f32x4.mul(t, s);
  const e = f32x4.add(f32x4.mul(t, p), s);
  let f = f32x4.div(e, f32x4.add(e, f32x4.splat(1)));
  f = v128.andnot(f, f32x4.gt(z, f32x4.splat(SIG_CUTOFF)));
  return v128.bitselect(f32x4.sub(f32x4.splat(1), f), f, f32x4.gt(x, f32x4.splat(0)));
}

/** Scalar activation (code act, see above) of y in output units. */
@inline export function actF(y: f32, act: i32, alpha: f32, beta: f32): f32 {
  if (act == ACT_HARDSWISH) return y * clampF(y * alpha + beta, 0, 1);
  if (act == ACT_HARDSIGMOID) return y * alpha + beta;
  if (act == ACT_SIGMOID) return sigmoidF(y * alpha) * beta;
  if (act == ACT_SILU) return y * sigmoidF(y * alpha);
  return y;
}

/** actF of 4 lanes. */
@inline export function actV(y: v128, act: i32, valpha: v128, vbeta: v128): v128 {
  if (act == ACT_HARDSWISH) {
    const g = f32x4.add(f32x4.mul(y, valpha), vbeta);
    return f32x4.mul(y, f32x4.pmin(f32x4.pmax(g, f32x4.splat(0)), f32x4.splat(1)));
  }
  if (act == ACT_HARDSIGMOID) return f32x4.add(f32x4.mul(y, valpha), vbeta);
  if (act == ACT_SIGMOID) return f32x4.mul(sigmoidV(f32x4.mul(y, valpha)), vbeta);
  if (act == ACT_SILU) return f32x4.mul(y, sigmoidV(f32x4.mul(y, valpha)));
  return y;
}

/**
 * The requantization epilogue after y = f32(acc) * multiplier (+ residual term): LeakyReLU (leaky:
 * alpha is its slope) or the activation `act` (alpha, beta as above), then the clamp [fmin, fmax].
 */
@inline export function epilogueF(y: f32, leaky: bool, act: i32, alpha: f32, beta: f32, fmin: f32, fmax: f32): f32 {
  if (act != ACT_NONE) y = actF(y, act, alpha, beta);
  return requantTail(y, alpha, leaky, fmin, fmax);
}

/**
 * epilogueV without the upper clamp, for integer outputs: the caller clamps the narrowed integers
 * to the output's maximum instead (i8x16.min_u / i16x8.min_s, one op per 16 / 8 outputs: outMax).
 * Same bytes as epilogueV then the magic rounding: y >= fmin >= -4095 keeps y + MAGIC positive, a y
 * past 2^22 reads as an integer over 2^22 that the saturating narrows take to their maximum, and
 * rounding commutes with a clamp to an integer bound (fmax = outMax - zeroPoint).
 */
@inline export function epilogueLowV(y: v128, leaky: bool, act: i32, valpha: v128, vbeta: v128, vmin: v128): v128 {
  if (act != ACT_NONE) y = actV(y, act, valpha, vbeta);
  if (leaky) y = v128.bitselect(f32x4.mul(y, valpha), y, f32x4.lt(y, f32x4.splat(0)));
  return f32x4.pmax(y, vmin);
}

/** The output's maximum as an integer for the narrowed-lane clamp of epilogueLowV: fmax + zp, at most `limit`. */
@inline export function outMaxOf(fmax: f32, zp: i32, limit: i32): i32 {
  return fmax >= <f32>(limit - zp) ? limit : <i32>fmax + zp;
}

/** epilogueF of 4 lanes. */
@inline export function epilogueV(y: v128, leaky: bool, act: i32, valpha: v128, vbeta: v128, vmin: v128, vmax: v128): v128 {
  return f32x4.pmin(epilogueLowV(y, leaky, act, valpha, vbeta, vmin), vmax);
}
