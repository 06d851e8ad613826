// Shared numerics of the kernel module (fixed contract with the quantizer, see docs/kernels.md).
//
// Requantization, XNNPACK "fp32 magic" style, identical in every SIMD kernel and its scalar twin:
//   y = f32(acc) * multiplier            (f32 multiply)
//   if (leaky && y < 0) y = y * alpha     (f32 multiply)
//   y = y < fmin ? fmin : y               (wasm pmax semantics)
//   y = fmax < y ? fmax : y               (wasm pmin semantics)
//   q = bits(y + 12582912.0) - (0x4B400000 - zeroPoint)
// fmin/fmax are (outMin - zp) and (outMax - zp) as f32; |y| <= 255 after the clamp, so adding
// 1.5 * 2^23 rounds y half-to-even to an integer held in the low mantissa bits.

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
