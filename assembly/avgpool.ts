// Quantized average pool over NHWC (uint8 or 12-bit in 16-bit lanes), onnxruntime's
// QLinearAveragePool arithmetic in f32, so that the QDQ export runs the same integers:
//   s   = sum over the window's valid (ih, iw), ih outer, iw inner, of f32(si * f32(x - zi))
//   avg = s / f32(count),  count = KH * KW (AVGPOOL_FLAG_INCLUDE_PAD) or the valid positions
//   q   = roundHalfEven(clamp(f32(avg / so) + zo, 0, qmax))
// Window of output (oh, ow): rows oh*SH - padTop + [0, KH), columns ow*SW - padLeft + [0, KW),
// clipped to the image; the host guarantees every window holds at least one valid position.
// AVGPOOL_FLAG_ROUND_*: TFLite's integer average instead (avgpoolIntAvgU8 below).

import { MAGIC, MAGIC_BITS, clampF, magicRound, magicRound8 } from './common';
import { intAverage } from './pool';
import { AVGPOOL_FLAG_IN16, AVGPOOL_FLAG_OUT16, AVGPOOL_FLAG_INCLUDE_PAD, AVGPOOL_FLAG_ROUND_HALF_AWAY_128, AVGPOOL_FLAG_ROUND_HALF_UP } from './flags';

export function avgpoolQ(simd: bool, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, padTop: i32, padLeft: i32, inp: usize, out: usize,
  zi: i32, si: f32, so: f32, zo: i32, qmax: i32, flags: i32): void {
  if ((flags & (AVGPOOL_FLAG_ROUND_HALF_UP | AVGPOOL_FLAG_ROUND_HALF_AWAY_128)) != 0) {
    avgpoolIntAvgU8(simd, N, H, W, C, OH, OW, KH, KW, SH, SW, padTop, padLeft, inp, out, (flags & AVGPOOL_FLAG_ROUND_HALF_AWAY_128) != 0 ? 128 : 0);
    return;
  }
  const in16 = (flags & AVGPOOL_FLAG_IN16) != 0, out16 = (flags & AVGPOOL_FLAG_OUT16) != 0;
  const includePad = (flags & AVGPOOL_FLAG_INCLUDE_PAD) != 0;
  const ei: usize = in16 ? 1 : 0, eo: usize = out16 ? 1 : 0;
  const pix = <usize>C << ei;
  const rowBytes = <usize>W * pix;
  const fzo = <f32>zo, fqmax = <f32>qmax;
  let o = out;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>H * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - padTop;
      const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++, o += <usize>C << eo) {
        const iw0 = ow * SW - padLeft;
        const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
        const count = <f32>(includePad ? KH * KW : (kh1 - kh0) * (kw1 - kw0));
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          if (simd) {
            const vzi = i32x4.splat(zi), vsi = f32x4.splat(si), vso = f32x4.splat(so), vcount = f32x4.splat(count);
            const vzo = f32x4.splat(fzo), vmin = f32x4.splat(0), vmax = f32x4.splat(fqmax);
            const vmagic = f32x4.splat(MAGIC), vbits = i32x4.splat(MAGIC_BITS);
            for (; c + 8 <= C; c += 8) {
              let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
              for (let kh = kh0; kh < kh1; kh++) {
                let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + (<usize>c << ei);
                for (let kw = kw0; kw < kw1; kw++, p += pix) {
                  const v = in16 ? v128.load(p) : v128.load8x8_u(p);
                  s0 = f32x4.add(s0, f32x4.mul(vsi, f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_u(v), vzi))));
                  s1 = f32x4.add(s1, f32x4.mul(vsi, f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_u(v), vzi))));
                }
              }
              const y0 = f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.div(f32x4.div(s0, vcount), vso), vzo), vmin), vmax);
              const y1 = f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.div(f32x4.div(s1, vcount), vso), vzo), vmin), vmax);
              const h = magicRound8(y0, y1, vmagic, vbits);
              if (out16) v128.store(o + (<usize>c << 1), h);
              else v128.store64_lane(o + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
            }
          }
        }
        for (; c < C; c++) {
          let s: f32 = 0;
          for (let kh = kh0; kh < kh1; kh++) {
            let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + (<usize>c << ei);
            for (let kw = kw0; kw < kw1; kw++, p += pix) {
              const x = in16 ? <i32>load<u16>(p) : <i32>load<u8>(p);
              s += si * <f32>(x - zi);
            }
          }
          const q = magicRound(clampF(s / count / so + fzo, 0, fqmax), MAGIC_BITS);
          if (out16) store<u16>(o + (<usize>c << 1), <u16>q);
          else store<u8>(o + <usize>c, <u8>q);
        }
      }
    }
  }
}

/**
 * TFLite's integer average pool of u8 values (AVGPOOL_FLAG_ROUND_*; input and output share scale
 * and zero point; n = the window's valid taps, TFLite's count): with S = sum - pivot * n (pivot 0:
 * uint8; 128: int8 stored + 128),
 *   q = pivot + sign(S) * floor((|S| + n / 2) / n)
 * reference_ops::AveragePool's (acc + n / 2) / n for uint8 and its +-n / 2, truncating division for
 * int8. The SIMD path (8 channels a step) divides in f32, exact since |S| + n / 2 + n <= 256.5 n < 2^24
 * (the argument of pool.ts gavgpoolIntAvgU8; the host guarantees n <= 65280); the scalar twin in i32.
 */
function avgpoolIntAvgU8(simd: bool, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, padTop: i32, padLeft: i32, inp: usize, out: usize, pivot: i32): void {
  const pix = <usize>C, rowBytes = <usize>W * pix;
  let o = out;
  for (let n = 0; n < N; n++) {
    const img = inp + <usize>n * <usize>H * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - padTop;
      const kh0 = max(0, -ih0), kh1 = min(KH, H - ih0);
      for (let ow = 0; ow < OW; ow++, o += pix) {
        const iw0 = ow * SW - padLeft;
        const kw0 = max(0, -iw0), kw1 = min(KW, W - iw0);
        const count = (kh1 - kh0) * (kw1 - kw0), half = count >> 1, bias = -pivot * count;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          if (simd) {
            const vbias = i32x4.splat(bias), vhalf = i32x4.splat(half), vcount = f32x4.splat(<f32>count), vpivot = i32x4.splat(pivot);
            for (; c + 8 <= C; c += 8) {
              let s0 = vbias, s1 = vbias;
              for (let kh = kh0; kh < kh1; kh++) {
                let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + <usize>c;
                for (let kw = kw0; kw < kw1; kw++, p += pix) {
                  const v = v128.load8x8_u(p);
                  s0 = i32x4.add(s0, i32x4.extend_low_i16x8_u(v));
                  s1 = i32x4.add(s1, i32x4.extend_high_i16x8_u(v));
                }
              }
              const h = i16x8.narrow_i32x4_s(intAverage(s0, vhalf, vcount, vpivot), intAverage(s1, vhalf, vcount, vpivot));
              v128.store64_lane(o + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
            }
          }
        }
        for (; c < C; c++) {
          let s = bias;
          for (let kh = kh0; kh < kh1; kh++) {
            let p = img + <usize>(ih0 + kh) * rowBytes + <usize>(iw0 + kw0) * pix + <usize>c;
            for (let kw = kw0; kw < kw1; kw++, p += pix) s += <i32>load<u8>(p);
          }
          const q = s > 0 ? (s + half) / count : (s - half) / count; // i32 division truncates toward zero
          store<u8>(o + <usize>c, <u8>(pivot + q));
        }
      }
    }
  }
}
