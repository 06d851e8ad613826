// Channel concatenation, one input per call: M rows (pixels) of C elements from `inp` into the
// output rows at `out` (already advanced to the input's first channel), outStride elements apart.
//   CONCAT_FLAG_COPY: input and output share dtype, scale and zero point: rows are copied.
//   otherwise:        y = f32(f32(x - zi) * si) / so, clamped to [fmin, fmax] = [-zo, qmax - zo],
//                     rounded half-to-even, + zo
// (the requantization of onnxruntime's QLinearConcat: dequantize, then QuantizeLinear's divide).

import { MAGIC, MAGIC_BITS, clampF, magicRound } from './common';
import { CONCAT_FLAG_COPY, CONCAT_FLAG_IN16, CONCAT_FLAG_OUT16 } from './flags';

/** The scalar twin, from element `start` of each row on (the SIMD kernel's tail). */
export function concatRef(M: i32, C: i32, inp: usize, out: usize, outStride: i32,
  zi: i32, si: f32, so: f32, zo: i32, fmin: f32, fmax: f32, start: i32, flags: i32): void {
  const ei: usize = (flags & CONCAT_FLAG_IN16) != 0 ? 1 : 0, eo: usize = (flags & CONCAT_FLAG_OUT16) != 0 ? 1 : 0;
  const mlz = MAGIC_BITS - zo;
  for (let r = 0; r < M; r++) {
    const src = inp + ((<usize>r * <usize>C) << ei), dst = out + ((<usize>r * <usize>outStride) << eo);
    if ((flags & CONCAT_FLAG_COPY) != 0) {
      for (let c = <usize>start; c < <usize>C; c++) {
        if (ei) store<u16>(dst + (c << 1), load<u16>(src + (c << 1)));
        else store<u8>(dst + c, load<u8>(src + c));
      }
      continue;
    }
    for (let c = <usize>start; c < <usize>C; c++) {
      const x = ei ? <i32>load<u16>(src + (c << 1)) : <i32>load<u8>(src + c);
      const q = magicRound(clampF(<f32>(x - zi) * si / so, fmin, fmax), mlz);
      if (eo) store<u16>(dst + (c << 1), <u16>q);
      else store<u8>(dst + c, <u8>q);
    }
  }
}

/** Copies by memory.copy per row; requantizes 8 elements per step. */
export function concatSimd(M: i32, C: i32, inp: usize, out: usize, outStride: i32,
  zi: i32, si: f32, so: f32, zo: i32, fmin: f32, fmax: f32, flags: i32): void {
  const i16 = (flags & CONCAT_FLAG_IN16) != 0, o16 = (flags & CONCAT_FLAG_OUT16) != 0;
  const ei: usize = i16 ? 1 : 0, eo: usize = o16 ? 1 : 0;
  if ((flags & CONCAT_FLAG_COPY) != 0) {
    for (let r = 0; r < M; r++) memory.copy(out + ((<usize>r * <usize>outStride) << eo), inp + ((<usize>r * <usize>C) << ei), <usize>C << ei);
    return;
  }
  const vzi = i32x4.splat(zi), vsi = f32x4.splat(si), vso = f32x4.splat(so);
  const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  const vmagic = f32x4.splat(MAGIC), vmlz = i32x4.splat(MAGIC_BITS - zo);
  const C8 = C & ~7;
  for (let r = 0; r < M; r++) {
    const src = inp + ((<usize>r * <usize>C) << ei), dst = out + ((<usize>r * <usize>outStride) << eo);
    for (let c = 0; c < C8; c += 8) {
      const v = i16 ? v128.load(src + (<usize>c << 1)) : v128.load8x8_u(src + <usize>c);
      const y0 = f32x4.div(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_u(v), vzi)), vsi), vso);
      const y1 = f32x4.div(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_u(v), vzi)), vsi), vso);
      const q0 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(y0, vmin), vmax), vmagic), vmlz);
      const q1 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(y1, vmin), vmax), vmagic), vmlz);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      if (o16) v128.store(dst + (<usize>c << 1), h);
      else v128.store64_lane(dst + <usize>c, i8x16.narrow_i16x8_u(h, h), 0);
    }
  }
  if (C8 < C) concatRef(M, C, inp, out, outStride, zi, si, so, zo, fmin, fmax, C8, flags);
}
