// Exact integer Winograd F(2x2, 3x3) for stride-1, dilation-1, group-1 3x3 convolutions.
//
//   V = B^T d B     d: the 4x4 input patch (raw uint8, padding = the input zero point), |V| <= 1020
//                   (12-bit inputs in 16-bit lanes, flag 1: |V| <= 16380, still int16)
//   U = G' g G'^T   G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]] (packed by the host), |U| <= 1143
//   Y4 = A^T (U . V) A = 4 * (direct convolution of the raw patch), exactly, in wrapping int32
//   acc = (Y4 >> 2) + bias'  — the same int32 accumulator as the direct kernels, so the
//   requantization (and the output) is bit-exact with them.
// Products of int16 pairs go through i32x4.dot_i16x8_s; the accumulation wraps modulo 2^32, and
// since the final Y4 (|Y4| <= 4 * 255 * 127 * 9 * C) fits int32 for C <= 4096, it is exact. With
// 12-bit inputs |Y4| <= 4 * 4095 * sum|w| per channel: the host takes this path only where the
// packed weights prove that bound under 2^31 (src/kernels/winograd.ts, winogradFits12Bit).
// The output may be uint8 or 12-bit (flag 2: 16-bit lanes).
//
// Packed weights (per block of 4 output channels): i32 bias'[4] | i16 U[16][KB][4][8] | f32 mult[4]
// (block bytes 32 + 16 * KB * 64). Tiles: 2x2 output pixels, t = (n * tilesH + ty) * tilesW + tx.
// Work for tiles t0..t1 is done in groups of `groupTiles`: the group's V (i16 [tile][16][KB*8]) is
// computed into `scratch`, then every block of 4 channels runs over the group's tile pairs; the 16
// products of a tile pair are parked in scratch (512 bytes after V) for the output transform.

import { MAGIC, MAGIC_BITS, magicRound, loadRow8, epilogueF, epilogueV, actCode, ACT_NONE } from './common';
import { WINO_FLAG_IN16, WINO_FLAG_OUT16 } from './flags';

@inline function hsum4(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const t0 = i32x4.add(i32x4.shuffle(c0, c1, 0, 4, 1, 5), i32x4.shuffle(c0, c1, 2, 6, 3, 7));
  const t1 = i32x4.add(i32x4.shuffle(c2, c3, 0, 4, 1, 5), i32x4.shuffle(c2, c3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** Bytes of one packed Winograd block of 4 output channels. */
@inline export function winoBlockBytes(KB: i32): usize {
  return <usize>(32 + 16 * KB * 64);
}

// ---- input transform ------------------------------------------------------------------------


/** V for tiles t0..t0+count-1 into v (i16, [tile][16][Cp]), Cp = KB * 8. SIMD: 8 channels at a time. */
function inputTransformSimd<A>(t0: i32, count: i32, H: i32, W: i32, C: i32, inp: usize, zx: i32,
  tilesH: i32, tilesW: i32, padTop: i32, padLeft: i32, KB: i32, v: usize): void {
  const Cp = KB << 3;
  const vz = i16x8.splat(<i16>zx);
  const perImage = tilesH * tilesW;
  const pixBytes = <usize>C * sizeof<A>();
  for (let lt = 0; lt < count; lt++) {
    const t = t0 + lt;
    const n = t / perImage, r = t - n * perImage;
    const ty = r / tilesW, tx = r - ty * tilesW;
    const y0 = (ty << 1) - padTop, x0 = (tx << 1) - padLeft;
    const imgBase = inp + <usize>(n * H) * <usize>W * pixBytes;
    // Pixel addresses of the 4x4 patch (0 = outside the image).
    const rowOk0 = y0 >= 0 && y0 < H, rowOk1 = y0 + 1 >= 0 && y0 + 1 < H, rowOk2 = y0 + 2 >= 0 && y0 + 2 < H, rowOk3 = y0 + 3 >= 0 && y0 + 3 < H;
    const colOk0 = x0 >= 0 && x0 < W, colOk1 = x0 + 1 >= 0 && x0 + 1 < W, colOk2 = x0 + 2 >= 0 && x0 + 2 < W, colOk3 = x0 + 3 >= 0 && x0 + 3 < W;
    const interior = rowOk0 && rowOk3 && colOk0 && colOk3;
    const base = imgBase + (<usize>y0 * <usize>W + <usize>x0) * pixBytes; // wraps when outside; only used inside
    const rs = <usize>W * pixBytes;
    const vt = v + (<usize>lt * 16) * <usize>Cp * 2;
    for (let kb = 0; kb < KB; kb++) {
      const co = <usize>(kb << 3); // channel
      const cb = co * sizeof<A>(); // its byte offset in a pixel
      let d00: v128, d01: v128, d02: v128, d03: v128, d10: v128, d11: v128, d12: v128, d13: v128;
      let d20: v128, d21: v128, d22: v128, d23: v128, d30: v128, d31: v128, d32: v128, d33: v128;
      if (interior) {
        const p0 = base + cb, p1 = p0 + rs, p2 = p1 + rs, p3 = p2 + rs;
        d00 = loadRow8<A>(p0); d01 = loadRow8<A>(p0 + pixBytes); d02 = loadRow8<A>(p0 + 2 * pixBytes); d03 = loadRow8<A>(p0 + 3 * pixBytes);
        d10 = loadRow8<A>(p1); d11 = loadRow8<A>(p1 + pixBytes); d12 = loadRow8<A>(p1 + 2 * pixBytes); d13 = loadRow8<A>(p1 + 3 * pixBytes);
        d20 = loadRow8<A>(p2); d21 = loadRow8<A>(p2 + pixBytes); d22 = loadRow8<A>(p2 + 2 * pixBytes); d23 = loadRow8<A>(p2 + 3 * pixBytes);
        d30 = loadRow8<A>(p3); d31 = loadRow8<A>(p3 + pixBytes); d32 = loadRow8<A>(p3 + 2 * pixBytes); d33 = loadRow8<A>(p3 + 3 * pixBytes);
      } else {
        const p0 = base + cb, p1 = p0 + rs, p2 = p1 + rs, p3 = p2 + rs;
        const q1 = pixBytes, q2 = 2 * <i32>pixBytes, q3 = 3 * <i32>pixBytes;
        d00 = rowOk0 && colOk0 ? loadRow8<A>(p0) : vz; d01 = rowOk0 && colOk1 ? loadRow8<A>(p0 + q1) : vz;
        d02 = rowOk0 && colOk2 ? loadRow8<A>(p0 + q2) : vz; d03 = rowOk0 && colOk3 ? loadRow8<A>(p0 + q3) : vz;
        d10 = rowOk1 && colOk0 ? loadRow8<A>(p1) : vz; d11 = rowOk1 && colOk1 ? loadRow8<A>(p1 + q1) : vz;
        d12 = rowOk1 && colOk2 ? loadRow8<A>(p1 + q2) : vz; d13 = rowOk1 && colOk3 ? loadRow8<A>(p1 + q3) : vz;
        d20 = rowOk2 && colOk0 ? loadRow8<A>(p2) : vz; d21 = rowOk2 && colOk1 ? loadRow8<A>(p2 + q1) : vz;
        d22 = rowOk2 && colOk2 ? loadRow8<A>(p2 + q2) : vz; d23 = rowOk2 && colOk3 ? loadRow8<A>(p2 + q3) : vz;
        d30 = rowOk3 && colOk0 ? loadRow8<A>(p3) : vz; d31 = rowOk3 && colOk1 ? loadRow8<A>(p3 + q1) : vz;
        d32 = rowOk3 && colOk2 ? loadRow8<A>(p3 + q2) : vz; d33 = rowOk3 && colOk3 ? loadRow8<A>(p3 + q3) : vz;
      }
      // rows: e0 = d0 - d2, e1 = d1 + d2, e2 = d2 - d1, e3 = d1 - d3 (per column)
      const e00 = i16x8.sub(d00, d20), e01 = i16x8.sub(d01, d21), e02 = i16x8.sub(d02, d22), e03 = i16x8.sub(d03, d23);
      const e10 = i16x8.add(d10, d20), e11 = i16x8.add(d11, d21), e12 = i16x8.add(d12, d22), e13 = i16x8.add(d13, d23);
      const e20 = i16x8.sub(d20, d10), e21 = i16x8.sub(d21, d11), e22 = i16x8.sub(d22, d12), e23 = i16x8.sub(d23, d13);
      const e30 = i16x8.sub(d10, d30), e31 = i16x8.sub(d11, d31), e32 = i16x8.sub(d12, d32), e33 = i16x8.sub(d13, d33);
      const cs = <usize>Cp * 2; // bytes between xi rows
      const o = vt + co * 2;
      // columns, per row r: V_r0 = e_r0 - e_r2, V_r1 = e_r1 + e_r2, V_r2 = e_r2 - e_r1, V_r3 = e_r1 - e_r3
      v128.store(o, i16x8.sub(e00, e02)); v128.store(o + cs, i16x8.add(e01, e02));
      v128.store(o + 2 * cs, i16x8.sub(e02, e01)); v128.store(o + 3 * cs, i16x8.sub(e01, e03));
      v128.store(o + 4 * cs, i16x8.sub(e10, e12)); v128.store(o + 5 * cs, i16x8.add(e11, e12));
      v128.store(o + 6 * cs, i16x8.sub(e12, e11)); v128.store(o + 7 * cs, i16x8.sub(e11, e13));
      v128.store(o + 8 * cs, i16x8.sub(e20, e22)); v128.store(o + 9 * cs, i16x8.add(e21, e22));
      v128.store(o + 10 * cs, i16x8.sub(e22, e21)); v128.store(o + 11 * cs, i16x8.sub(e21, e23));
      v128.store(o + 12 * cs, i16x8.sub(e30, e32)); v128.store(o + 13 * cs, i16x8.add(e31, e32));
      v128.store(o + 14 * cs, i16x8.sub(e32, e31)); v128.store(o + 15 * cs, i16x8.sub(e31, e33));
    }
  }
}

/** Scalar twin of inputTransformSimd (same V, also for the channel tail's over-read bytes). */
function inputTransformRef(t0: i32, count: i32, H: i32, W: i32, C: i32, inp: usize, zx: i32,
  tilesH: i32, tilesW: i32, padTop: i32, padLeft: i32, KB: i32, v: usize, in16: bool): void {
  const Cp = KB << 3;
  const cs = <usize>Cp * 2;
  const perImage = tilesH * tilesW;
  for (let lt = 0; lt < count; lt++) {
    const t = t0 + lt;
    const n = t / perImage, r = t - n * perImage;
    const ty = r / tilesW, tx = r - ty * tilesW;
    const y0 = (ty << 1) - padTop, x0 = (tx << 1) - padLeft;
    const vt = v + (<usize>lt * 16) * <usize>Cp * 2;
    for (let c = 0; c < Cp; c++) {
      const o = vt + (<usize>c << 1);
      for (let row = 0; row < 4; row++) {
        // e_row(col) for the 4 columns, then the column transform of that row
        let e0 = 0, e1 = 0, e2 = 0, e3 = 0;
        for (let col = 0; col < 4; col++) {
          const a0 = px(inp, in16, n, H, W, C, y0, x0 + col, c, zx), a1 = px(inp, in16, n, H, W, C, y0 + 1, x0 + col, c, zx);
          const a2 = px(inp, in16, n, H, W, C, y0 + 2, x0 + col, c, zx), a3 = px(inp, in16, n, H, W, C, y0 + 3, x0 + col, c, zx);
          const e = row == 0 ? a0 - a2 : row == 1 ? a1 + a2 : row == 2 ? a2 - a1 : a1 - a3;
          if (col == 0) e0 = e; else if (col == 1) e1 = e; else if (col == 2) e2 = e; else e3 = e;
        }
        const q = o + <usize>(row * 4) * cs;
        store<i16>(q, <i16>(e0 - e2));
        store<i16>(q + cs, <i16>(e1 + e2));
        store<i16>(q + 2 * cs, <i16>(e2 - e1));
        store<i16>(q + 3 * cs, <i16>(e1 - e3));
      }
    }
  }
}

@inline function px(inp: usize, in16: bool, n: i32, H: i32, W: i32, C: i32, y: i32, x: i32, c: i32, zx: i32): i32 {
  if (y < 0 || y >= H || x < 0 || x >= W) return zx;
  const i = (<usize>(n * H + y) * <usize>W + <usize>x) * <usize>C + <usize>c;
  return in16 ? <i32>load<u16>(inp + (i << 1)) : <i32>load<u8>(inp + i);
}

// ---- transformed GEMM + output transform + requantization ------------------------------------

/** Output transform of one tile's 16 products (4 channels per vector) at m: 4 accumulators (Y4). */
@inline function outTile(m: usize, y: usize): void {
  // rows: s0c = m0c + m1c + m2c, s1c = m1c - m2c - m3c
  const m00 = v128.load(m), m01 = v128.load(m, 16), m02 = v128.load(m, 32), m03 = v128.load(m, 48);
  const m10 = v128.load(m, 64), m11 = v128.load(m, 80), m12 = v128.load(m, 96), m13 = v128.load(m, 112);
  const m20 = v128.load(m, 128), m21 = v128.load(m, 144), m22 = v128.load(m, 160), m23 = v128.load(m, 176);
  const m30 = v128.load(m, 192), m31 = v128.load(m, 208), m32 = v128.load(m, 224), m33 = v128.load(m, 240);
  const s00 = i32x4.add(i32x4.add(m00, m10), m20), s01 = i32x4.add(i32x4.add(m01, m11), m21);
  const s02 = i32x4.add(i32x4.add(m02, m12), m22), s03 = i32x4.add(i32x4.add(m03, m13), m23);
  const s10 = i32x4.sub(i32x4.sub(m10, m20), m30), s11 = i32x4.sub(i32x4.sub(m11, m21), m31);
  const s12 = i32x4.sub(i32x4.sub(m12, m22), m32), s13 = i32x4.sub(i32x4.sub(m13, m23), m33);
  v128.store(y, i32x4.add(i32x4.add(s00, s01), s02));
  v128.store(y, i32x4.sub(i32x4.sub(s01, s02), s03), 16);
  v128.store(y, i32x4.add(i32x4.add(s10, s11), s12), 32);
  v128.store(y, i32x4.sub(i32x4.sub(s11, s12), s13), 48);
}

/**
 * Stores one tile's 4 pixels x nr channels: acc = (Y4 >> 2) + bias, requantized (SIMD) — or in the
 * scalar twin, lane by lane with the same f32 operations.
 */
@inline function storeTile(simd: bool, y: usize, n: i32, ty: i32, tx: i32, OH: i32, OW: i32,
  out: usize, outStride: usize, co: usize, nr: i32, wb: usize, blockBytes: usize,
  zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, act: i32, leaky: bool, out16: bool): void {
  const oy = ty << 1, ox = tx << 1;
  const mlz = MAGIC_BITS - zp;
  for (let p = 0; p < 4; p++) {
    const yy = oy + (p >> 1), xx = ox + (p & 1);
    if (yy >= OH || xx >= OW) continue;
    const o = out + (<usize>(n * OH + yy) * <usize>OW + <usize>xx) * outStride + (out16 ? co << 1 : co);
    if (ASC_FEATURE_SIMD) {
      if (simd) {
        const acc = i32x4.add(i32x4.shr_s(v128.load(y + (<usize>p << 4)), 2), v128.load(wb));
        let v = f32x4.mul(f32x4.convert_i32x4_s(acc), v128.load(wb + blockBytes - 16));
        v = epilogueV(v, leaky, act, f32x4.splat(alpha), f32x4.splat(beta), f32x4.splat(fmin), f32x4.splat(fmax));
        const q = i32x4.sub(f32x4.add(v, f32x4.splat(MAGIC)), i32x4.splat(mlz));
        const h = i16x8.narrow_i32x4_s(q, q);
        if (out16) {
          if (nr == 4) {
            v128.store64_lane(o, h, 0);
          } else {
            v128.store16_lane(o, h, 0);
            if (nr > 1) v128.store16_lane(o, h, 1, 2);
            if (nr > 2) v128.store16_lane(o, h, 2, 4);
          }
          continue;
        }
        const b = i8x16.narrow_i16x8_u(h, h);
        if (nr == 4) {
          v128.store32_lane(o, b, 0);
        } else {
          v128.store8_lane(o, b, 0);
          if (nr > 1) v128.store8_lane(o, b, 1, 1);
          if (nr > 2) v128.store8_lane(o, b, 2, 2);
        }
        continue;
      }
    }
    for (let j = 0; j < nr; j++) {
      const acc = (load<i32>(y + (<usize>p << 4) + (<usize>j << 2)) >> 2) + load<i32>(wb + (<usize>j << 2));
      const v = epilogueF(<f32>acc * load<f32>(wb + blockBytes - 16 + (<usize>j << 2)), leaky, act, alpha, beta, fmin, fmax);
      if (out16) store<u16>(o + (<usize>j << 1), <u16>magicRound(v, mlz));
      else store<u8>(o + <usize>j, <u8>magicRound(v, mlz));
    }
  }
}

/** Scalar twin of the transformed GEMM for one tile: the 16 products (4 channels each) into m. */
@inline function productsRef(a: usize, wb: usize, KB: i32, m: usize): void {
  const Cp = <usize>(KB << 3);
  for (let xi = 0; xi < 16; xi++) {
    let acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
    const ax = a + <usize>xi * Cp * 2;
    let wp = wb + 16 + <usize>xi * <usize>KB * 64;
    for (let kb = 0; kb < KB; kb++, wp += 64) {
      for (let i = 0; i < 8; i++) {
        const x = <i32>load<i16>(ax + (<usize>((kb << 3) + i) << 1));
        acc0 += x * <i32>load<i16>(wp + (<usize>i << 1));
        acc1 += x * <i32>load<i16>(wp + 16 + (<usize>i << 1));
        acc2 += x * <i32>load<i16>(wp + 32 + (<usize>i << 1));
        acc3 += x * <i32>load<i16>(wp + 48 + (<usize>i << 1));
      }
    }
    const q = m + (<usize>xi << 4);
    store<i32>(q, acc0); store<i32>(q, acc1, 4); store<i32>(q, acc2, 8); store<i32>(q, acc3, 12);
  }
}

/** Scalar output transform (same wrapping int32 sums as outTile). */
@inline function outTileRef(m: usize, y: usize): void {
  for (let j: usize = 0; j < 16; j += 4) {
    const m00 = load<i32>(m + j), m01 = load<i32>(m + 16 + j), m02 = load<i32>(m + 32 + j), m03 = load<i32>(m + 48 + j);
    const m10 = load<i32>(m + 64 + j), m11 = load<i32>(m + 80 + j), m12 = load<i32>(m + 96 + j), m13 = load<i32>(m + 112 + j);
    const m20 = load<i32>(m + 128 + j), m21 = load<i32>(m + 144 + j), m22 = load<i32>(m + 160 + j), m23 = load<i32>(m + 176 + j);
    const m30 = load<i32>(m + 192 + j), m31 = load<i32>(m + 208 + j), m32 = load<i32>(m + 224 + j), m33 = load<i32>(m + 240 + j);
    const s00 = m00 + m10 + m20, s01 = m01 + m11 + m21, s02 = m02 + m12 + m22, s03 = m03 + m13 + m23;
    const s10 = m10 - m20 - m30, s11 = m11 - m21 - m31, s12 = m12 - m22 - m32, s13 = m13 - m23 - m33;
    store<i32>(y + j, s00 + s01 + s02);
    store<i32>(y + 16 + j, s01 - s02 - s03);
    store<i32>(y + 32 + j, s10 + s11 + s12);
    store<i32>(y + 48 + j, s11 - s12 - s13);
  }
}

/** Bytes of scratch a part needs: V for groupTiles tiles + 2 x 16 products + 2 x 4 results. */
export function winoScratchBytes(KB: i32, groupTiles: i32): i32 {
  return groupTiles * 16 * KB * 16 + 512 + 128;
}

export function wino3x3(
  simd: bool, H: i32, W: i32, C: i32, inp: usize, zx: i32, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  t0: i32, t1: i32, N: i32, KB: i32, w: usize, scratch: usize, groupTiles: i32,
  out: usize, outStride: i32, zp: i32, fmin: f32, fmax: f32, alpha: f32, beta: f32, flags: i32,
): void {
  const in16 = (flags & WINO_FLAG_IN16) != 0, out16 = (flags & WINO_FLAG_OUT16) != 0;
  const tilesH = (OH + 1) >> 1, tilesW = (OW + 1) >> 1, perImage = tilesH * tilesW;
  const nBlocks = (N + 3) >> 2;
  const blockBytes = winoBlockBytes(KB);
  const Cp = <usize>(KB << 3);
  const tileBytes = 16 * <i32>Cp * 2;
  const act = actCode(flags), leaky = act == ACT_NONE && alpha != 1;
  const m0 = scratch + <usize>groupTiles * tileBytes; // products of tile 0 (256 bytes), tile 1 (256)
  const m1 = m0 + 256;
  const y0 = m1 + 256, y1 = y0 + 64; // 4 accumulator vectors per tile
  const ostride = <usize>outStride;
  for (let g0 = t0; g0 < t1; g0 += groupTiles) {
    const count = min(groupTiles, t1 - g0);
    if (ASC_FEATURE_SIMD) {
      if (simd && in16) inputTransformSimd<u16>(g0, count, H, W, C, inp, zx, tilesH, tilesW, padTop, padLeft, KB, scratch);
      else if (simd) inputTransformSimd<u8>(g0, count, H, W, C, inp, zx, tilesH, tilesW, padTop, padLeft, KB, scratch);
      else inputTransformRef(g0, count, H, W, C, inp, zx, tilesH, tilesW, padTop, padLeft, KB, scratch, in16);
    } else {
      inputTransformRef(g0, count, H, W, C, inp, zx, tilesH, tilesW, padTop, padLeft, KB, scratch, in16);
    }
    // The group's first tile (n, ty, tx); the tiles after it are stepped to, not divided out.
    const gn = g0 / perImage, gr = g0 - gn * perImage, gty = gr / tilesW, gtx = gr - gty * tilesW;
    let wb = w;
    for (let nb = 0; nb < nBlocks; nb++, wb += blockBytes) {
      const nr = min(N - (nb << 2), 4);
      const co = <usize>(nb << 2);
      let n0 = gn, ty0 = gty, tx0 = gtx;
      for (let lt = 0; lt < count; lt += 2) {
        let n1 = n0, ty1 = ty0, tx1 = tx0 + 1;
        if (tx1 == tilesW) { tx1 = 0; if (++ty1 == tilesH) { ty1 = 0; n1++; } }
        const has1 = lt + 1 < count;
        const a0 = scratch + <usize>lt * tileBytes;
        const a1 = has1 ? a0 + tileBytes : a0;
        if (ASC_FEATURE_SIMD && simd) {
          let wx = wb + 16;
          for (let xi: usize = 0; xi < 16; xi++) {
            let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
            let c10 = i32x4.splat(0), c11 = i32x4.splat(0), c12 = i32x4.splat(0), c13 = i32x4.splat(0);
            let p0 = a0 + xi * Cp * 2, p1 = a1 + xi * Cp * 2;
            let k = KB;
            do {
              const va0 = v128.load(p0);
              const va1 = v128.load(p1);
              const vw0 = v128.load(wx);
              c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va0, vw0));
              c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va1, vw0));
              const vw1 = v128.load(wx, 16);
              c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va0, vw1));
              c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va1, vw1));
              const vw2 = v128.load(wx, 32);
              c02 = i32x4.add(c02, i32x4.dot_i16x8_s(va0, vw2));
              c12 = i32x4.add(c12, i32x4.dot_i16x8_s(va1, vw2));
              const vw3 = v128.load(wx, 48);
              c03 = i32x4.add(c03, i32x4.dot_i16x8_s(va0, vw3));
              c13 = i32x4.add(c13, i32x4.dot_i16x8_s(va1, vw3));
              p0 += 16; p1 += 16; wx += 64;
            } while (--k > 0);
            v128.store(m0 + (xi << 4), hsum4(c00, c01, c02, c03));
            v128.store(m1 + (xi << 4), hsum4(c10, c11, c12, c13));
          }
          outTile(m0, y0);
          if (has1) outTile(m1, y1);
        } else {
          productsRef(a0, wb, KB, m0);
          outTileRef(m0, y0);
          if (has1) {
            productsRef(a1, wb, KB, m1);
            outTileRef(m1, y1);
          }
        }
        storeTile(simd, y0, n0, ty0, tx0, OH, OW, out, ostride, co, nr, wb, blockBytes, zp, fmin, fmax, alpha, beta, act, leaky, out16);
        if (has1) storeTile(simd, y1, n1, ty1, tx1, OH, OW, out, ostride, co, nr, wb, blockBytes, zp, fmin, fmax, alpha, beta, act, leaky, out16);
        n0 = n1; ty0 = ty1; tx0 = tx1 + 1;
        if (tx0 == tilesW) { tx0 = 0; if (++ty0 == tilesH) { ty0 = 0; n0++; } }
      }
    }
  }
}
