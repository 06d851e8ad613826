// Pooling over NHWC tensors: u8/u16 max pool, quantized (u8 or 12-bit in u16 lanes) and f32 global
// average pool.

import { MAGIC, MAGIC_BITS, clampF, magicRound } from './common';
import { GAVGPOOL_FLAG_IN16, GAVGPOOL_FLAG_OUT16, GAVGPOOL_FLAG_ROUND_HALF_AWAY_128, GAVGPOOL_FLAG_ROUND_HALF_UP } from './flags';

// ---- max pool -------------------------------------------------------------------------------
// out[n][oh][ow][c] = max over valid (ih, iw) = (oh*sh - padTop + kh, ow*sw - padLeft + kw).
// Padded positions are ignored; a window with no valid position yields 0.

export function maxpoolU8(simd: bool, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, padTop: i32, padLeft: i32, inp: usize, out: usize, e16: bool): void {
  // e16: 12-bit activations in 16-bit lanes (8 channels per vector instead of 16).
  const shift: usize = e16 ? 1 : 0;
  const lanes = e16 ? 8 : 16;
  const pix = <usize>C << shift;
  const rowBytes = <usize>W * pix;
  let o = out;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>H * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - padTop;
      const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++, o += pix) {
        const iw0 = ow * SW - padLeft;
        const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          if (simd && C >= lanes) {
            for (; ; c += lanes) {
              if (c + lanes > C) c = C - lanes; // overlapping last block (idempotent)
              let acc = i8x16.splat(0);
              for (let kh = kh0; kh < kh1; kh++) {
                let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + (<usize>c << shift);
                for (let kw = kw0; kw < kw1; kw++, p += pix) acc = e16 ? i16x8.max_u(acc, v128.load(p)) : i8x16.max_u(acc, v128.load(p));
              }
              v128.store(o + (<usize>c << shift), acc);
              if (c + lanes >= C) break;
            }
            continue;
          }
        }
        for (; c < C; c++) {
          let acc: u32 = 0;
          for (let kh = kh0; kh < kh1; kh++) {
            let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + (<usize>c << shift);
            for (let kw = kw0; kw < kw1; kw++, p += pix) {
              const v = e16 ? <u32>load<u16>(p) : <u32>load<u8>(p);
              acc = v > acc ? v : acc;
            }
          }
          if (e16) store<u16>(o + (<usize>c << 1), <u16>acc);
          else store<u8>(o + <usize>c, <u8>acc);
        }
      }
    }
  }
}

// ---- global average pool, u8 ----------------------------------------------------------------
// y = f32(sum - HW * zi) * scale, scale = si / (HW * so) (f32), clamped to [fmin, fmax],
// rounded half-to-even, + zo.

export function gavgpoolU8(simd: bool, N: i32, HW: i32, C: i32, inp: usize, out: usize,
  zi: i32, scale: f32, zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  if ((flags & (GAVGPOOL_FLAG_ROUND_HALF_UP | GAVGPOOL_FLAG_ROUND_HALF_AWAY_128)) != 0) {
    gavgpoolIntAvgU8(simd, N, HW, C, inp, out, (flags & GAVGPOOL_FLAG_ROUND_HALF_AWAY_128) != 0 ? 128 : 0);
    return;
  }
  if (flags != 0) {
    gavgpoolQ16(simd, N, HW, C, inp, out, zi, scale, zo, fmin, fmax, (flags & GAVGPOOL_FLAG_IN16) != 0, (flags & GAVGPOOL_FLAG_OUT16) != 0);
    return;
  }
  const mlz = MAGIC_BITS - zo;
  const bias = -HW * zi;
  const pixStride = <usize>C;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>HW * pixStride;
    const o = out + <usize>n * pixStride;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd && C >= 16) {
        const vbias = i32x4.splat(bias), vscale = f32x4.splat(scale);
        const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
        const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(mlz);
        for (; ; c += 16) {
          if (c + 16 > C) c = C - 16;
          let s0 = vbias, s1 = vbias, s2 = vbias, s3 = vbias;
          let p = img + <usize>c;
          for (let i = 0; i < HW; i++, p += pixStride) {
            const v = v128.load(p);
            const lo = i16x8.extend_low_i8x16_u(v), hi = i16x8.extend_high_i8x16_u(v);
            s0 = i32x4.add(s0, i32x4.extend_low_i16x8_u(lo));
            s1 = i32x4.add(s1, i32x4.extend_high_i16x8_u(lo));
            s2 = i32x4.add(s2, i32x4.extend_low_i16x8_u(hi));
            s3 = i32x4.add(s3, i32x4.extend_high_i16x8_u(hi));
          }
          const q0 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s0), vscale), vmin), vmax), vmagic), vmlz);
          const q1 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s1), vscale), vmin), vmax), vmagic), vmlz);
          const q2 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s2), vscale), vmin), vmax), vmagic), vmlz);
          const q3 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s3), vscale), vmin), vmax), vmagic), vmlz);
          v128.store(o + <usize>c, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
          if (c + 16 >= C) break;
        }
        continue;
      }
    }
    for (; c < C; c++) {
      let s = bias;
      let p = img + <usize>c;
      for (let i = 0; i < HW; i++, p += pixStride) s += <i32>load<u8>(p);
      const y = clampF(<f32>s * scale, fmin, fmax);
      store<u8>(o + <usize>c, <u8>magicRound(y, mlz));
    }
  }
}

/**
 * The same average pool with a 12-bit operand (u16 lanes) on the input (in16) and/or the output
 * (out16); 8 channels per vector. Sums stay exact in i32 (HW * 4095 < 2^31 for HW < 2^19).
 */
function gavgpoolQ16(simd: bool, N: i32, HW: i32, C: i32, inp: usize, out: usize,
  zi: i32, scale: f32, zo: i32, fmin: f32, fmax: f32, in16: bool, out16: bool): void {
  const mlz = MAGIC_BITS - zo;
  const bias = -HW * zi;
  const inShift: usize = in16 ? 1 : 0, outShift: usize = out16 ? 1 : 0;
  const pixStride = <usize>C << inShift;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>HW * pixStride;
    const o = out + ((<usize>n * <usize>C) << outShift);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd && C >= 8) {
        const vbias = i32x4.splat(bias), vscale = f32x4.splat(scale);
        const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
        const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(mlz);
        for (; ; c += 8) {
          if (c + 8 > C) c = C - 8;
          let s0 = vbias, s1 = vbias;
          let p = img + (<usize>c << inShift);
          for (let i = 0; i < HW; i++, p += pixStride) {
            const v = in16 ? v128.load(p) : v128.load8x8_u(p);
            s0 = i32x4.add(s0, i32x4.extend_low_i16x8_u(v));
            s1 = i32x4.add(s1, i32x4.extend_high_i16x8_u(v));
          }
          const q0 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s0), vscale), vmin), vmax), vmagic), vmlz);
          const q1 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(s1), vscale), vmin), vmax), vmagic), vmlz);
          const h = i16x8.narrow_i32x4_s(q0, q1);
          if (out16) v128.store(o + (<usize>c << 1), h);
          else v128.store64_lane(o + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
          if (c + 8 >= C) break;
        }
        continue;
      }
    }
    for (; c < C; c++) {
      let s = bias;
      let p = img + (<usize>c << inShift);
      for (let i = 0; i < HW; i++, p += pixStride) s += in16 ? <i32>load<u16>(p) : <i32>load<u8>(p);
      const q = magicRound(clampF(<f32>s * scale, fmin, fmax), mlz);
      if (out16) store<u16>(o + (<usize>c << 1), <u16>q);
      else store<u8>(o + <usize>c, <u8>q);
    }
  }
}

/**
 * TFLite's integer average of u8 values (GAVGPOOL_FLAG_ROUND_*; input and output share scale and
 * zero point): with S = sum - pivot * HW (pivot 0: uint8, S >= 0; 128: int8 stored + 128),
 *   q = pivot + sign(S) * floor((|S| + HW / 2) / HW)
 * i.e. reference_ops' (acc + count / 2) / count for uint8 and its +-count / 2, truncating division
 * for int8. The SIMD path divides in f32: |S| + HW / 2 <= 256 * HW < 2^24 and HW < 2^16 are exact,
 * and floor(f32(a) / f32(b)) = floor(a / b) when a + b < 2^24 (a non-integer quotient lies at
 * least 1 / b below the next integer, more than half its ulp); the host guarantees HW <= 65280.
 */
/**
 * pivot + sign(S) * floor((|S| + half) / n) per lane, the division in f32 (exact for |S| + half + n < 2^24):
 * the sign comes back as (m ^ g) - g with g = S >> 31. Shared with avgpool.ts.
 */
@inline export function intAverage(s: v128, vhalf: v128, vn: v128, vpivot: v128): v128 {
  const m = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.div(f32x4.convert_i32x4_s(i32x4.add(i32x4.abs(s), vhalf)), vn)));
  const g = i32x4.shr_s(s, 31);
  return i32x4.add(vpivot, i32x4.sub(v128.xor(m, g), g));
}

function gavgpoolIntAvgU8(simd: bool, N: i32, HW: i32, C: i32, inp: usize, out: usize, pivot: i32): void {
  const bias = -HW * pivot, half = HW >> 1;
  const pixStride = <usize>C;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>HW * pixStride;
    const o = out + <usize>n * pixStride;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd && C >= 8) {
        const vbias = i32x4.splat(bias), vhalf = i32x4.splat(half), vhw = f32x4.splat(<f32>HW), vpivot = i32x4.splat(pivot);
        for (; ; c += 8) {
          if (c + 8 > C) c = C - 8;
          let s0 = vbias, s1 = vbias;
          let p = img + <usize>c;
          for (let i = 0; i < HW; i++, p += pixStride) {
            const v = v128.load8x8_u(p);
            s0 = i32x4.add(s0, i32x4.extend_low_i16x8_u(v));
            s1 = i32x4.add(s1, i32x4.extend_high_i16x8_u(v));
          }
          const h = i16x8.narrow_i32x4_s(intAverage(s0, vhalf, vhw, vpivot), intAverage(s1, vhalf, vhw, vpivot));
          v128.store64_lane(o + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
          if (c + 8 >= C) break;
        }
        continue;
      }
    }
    for (; c < C; c++) {
      let s = bias;
      let p = img + <usize>c;
      for (let i = 0; i < HW; i++, p += pixStride) s += <i32>load<u8>(p);
      const q = s > 0 ? (s + half) / HW : (s - half) / HW; // i32 division truncates toward zero
      store<u8>(o + <usize>c, <u8>(pivot + q));
    }
  }
}

// ---- global average pool, f32 ---------------------------------------------------------------
// out[n][c] = (sum over pixels in order, f32) / f32(HW).

export function gavgpoolF32(simd: bool, N: i32, HW: i32, C: i32, inp: usize, out: usize): void {
  const pixStride = <usize>C << 2;
  const fhw = <f32>HW;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>HW * pixStride;
    const o = out + <usize>n * pixStride;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      if (simd) {
        const vhw = f32x4.splat(fhw);
        for (; c + 4 <= C; c += 4) {
          let s = f32x4.splat(0);
          let p = img + (<usize>c << 2);
          for (let i = 0; i < HW; i++, p += pixStride) s = f32x4.add(s, v128.load(p));
          v128.store(o + (<usize>c << 2), f32x4.div(s, vhw));
        }
      }
    }
    for (; c < C; c++) {
      let s: f32 = 0;
      let p = img + (<usize>c << 2);
      for (let i = 0; i < HW; i++, p += pixStride) s += load<f32>(p);
      store<f32>(o + (<usize>c << 2), s / fhw);
    }
  }
}
