// Weight packing for the qu8 GEMM/IGEMM kernels (pure TS, used by the quantizer at quantize time;
// the runtime copies the blob into wasm memory unchanged). Layout: docs/format-packing.md.

import { EdgeqError } from '../errors.js';

/** Output channels per packed block (the kernel's NR). */
export const PACK_NR = 4;
/** K values per packed step (the kernel's KR: one i32x4.dot_i16x8_s covers 8). */
export const PACK_KR = 8;
/** Packing name for the per-tap layout (GEMM and IGEMM convolutions). */
export const PACKING_GEMM = 'qu8-gemm-2x4c8';
/** Packing name for the flattened-K layout used with im2col (group 1, channels % 8 != 0). */
export const PACKING_IM2COL = 'qu8-gemm-2x4c8-im2col';
/** PACKING_GEMM with int16 weights (i16 w[4][8] per k-block): for weights outside int8, in [-255, 255]. */
export const PACKING_GEMM_W16 = 'qu8-gemm-2x4c8-w16';
/** PACKING_IM2COL with int16 weights, in [-255, 255]. */
export const PACKING_IM2COL_W16 = 'qu8-gemm-2x4c8-im2col-w16';
/** Packing name for depthwise convolutions (group == inChannels == outChannels; the default when > 1), qu8_dwconv_c16. */
export const PACKING_DWCONV = 'qu8-dwconv-c16';
/**
 * PACKING_DWCONV stored compactly: int8 weights plus a list of those outside int8 (as the -w16
 * sections); expanded once at load to PACKING_DWCONV's int16 blocks (expandDwconvWeights()).
 */
export const PACKING_DWCONV_W8 = 'qu8-dwconv-c16-w8';
/** Channels per packed depthwise block (the depthwise kernel's channel tile). */
export const DWCONV_CR = 16;
/** Largest |w - zw| of the int16 weights (-w16 packings, qu8-dwconv-c16): uint8 weights minus a uint8 zero point. */
export const WIDE_WEIGHT_MAX = 255;
/** Bytes of one outlier entry of a -w16 section: u32 byte position in the int8 blocks, i32 value. */
export const WIDE_ENTRY_BYTES = 8;

/** Every packing name this runtime reads. */
export const PACKINGS: readonly string[] = [PACKING_GEMM, PACKING_IM2COL, PACKING_GEMM_W16, PACKING_IM2COL_W16, PACKING_DWCONV, PACKING_DWCONV_W8];

/** What the packing depends on: the convolution's weight geometry. */
export interface ConvWeightsDesc {
  outChannels: number;
  inChannels: number;
  /** [kh, kw] */
  kernel: readonly [number, number];
  group: number;
}

export interface ConvPackParams extends ConvWeightsDesc {
  /**
   * Integer weights w - zw, logical OHWI: w[co][kh][kw][ci] with ci < inChannels / group; values in
   * int8 [-128, 127], or in [-255, 255] (then packed as int16: a -w16 packing, or qu8-dwconv-c16).
   */
  weights: Int8Array | Int16Array;
  /** int32 bias per output channel, without the zero-point fold (omit for zeros). */
  bias?: Int32Array;
  /** f32 requantization multiplier per output channel. */
  multipliers: Float32Array;
  /** Input (activation) zero point folded into the bias: bias - zp * sum(w). */
  inputZeroPoint: number;
  /**
   * Force a layout (PACKING_GEMM, PACKING_IM2COL, their -w16 forms, PACKING_DWCONV); default: chosen
   * by useIm2col() / isDepthwise(), int16 (-w16) exactly when some weight leaves int8 (weightsFitInt8).
   */
  packing?: string;
}

/** How a convolution's weights are laid out and which kernel consumes them. */
export interface PackGeometry {
  packing: string;
  /** True for the flattened-K (im2col) layout. */
  im2col: boolean;
  /** True for the depthwise layout (PACKING_DWCONV): blocks of 16 channels, KB = 1 (unused). */
  depthwise: boolean;
  /**
   * True for the -w16 GEMM layouts: the kernels read int16 weights (2 bytes each; the i16 kernels,
   * or split with the relaxed ones by 4-channel block: wideRelaxedBlocks(); no Winograd); the file
   * stores them as the int8 layout plus a list of the weights outside int8 (expandWideWeights()).
   */
  wide: boolean;
  /**
   * True for PACKING_DWCONV_W8: the file stores the depthwise blocks with int8 weights (block bytes
   * 128 + taps * 16) and a list of the weights outside int8; the kernels read PACKING_DWCONV's
   * int16 blocks (`blockBytes`, `bytes`), expanded at load (expandDwconvWeights()).
   */
  compact: boolean;
  groups: number;
  cinPerGroup: number;
  coutPerGroup: number;
  /** Kernel taps as seen by the packed layout (1 for im2col). */
  taps: number;
  /** K blocks of 8 per tap. */
  KB: number;
  /** Blocks of PACK_NR output channels per group (depthwise: blocks of DWCONV_CR channels, all groups). */
  nBlocks: number;
  /** Bytes per block as the kernels read it: 16 (bias) + taps * KB * 32 (weights; x2 when wide) + 16 (multipliers); depthwise: 64 + taps * 32 + 64. */
  blockBytes: number;
  /** Total bytes as the kernels read them (for a wide layout: after expandWideWeights()). */
  bytes: number;
  /** Bytes per block in the file: blockBytes, or for a wide layout that of the int8 layout (32 + taps * KB * 32). */
  storedBlockBytes: number;
  /** Bytes of the file's blocks: `bytes`, or for a wide layout the int8 blocks, which the outlier list follows (WIDE_ENTRY_BYTES each, after a u32 count). */
  storedBytes: number;
}

function checkDesc(d: ConvWeightsDesc): void {
  const ok = (v: number) => Number.isInteger(v) && v > 0;
  if (!ok(d.outChannels) || !ok(d.inChannels) || !ok(d.kernel[0]) || !ok(d.kernel[1]) || !ok(d.group)) {
    throw new EdgeqError('BAD_SHAPE', `bad convolution weights geometry ${JSON.stringify(d)}`);
  }
  if (d.inChannels % d.group !== 0 || d.outChannels % d.group !== 0) {
    throw new EdgeqError('BAD_SHAPE', `channels ${d.inChannels}->${d.outChannels} not divisible by group ${d.group}`);
  }
}

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * The im2col (flattened-K) layout is chosen for group-1 convolutions with more than one tap whose
 * per-tap channel count wastes over 25% of the dot products when padded to 8 per tap
 * (e.g. the 7x7 RGB stem: 49 * 8 = 392 vs 152).
 */
export function useIm2col(d: ConvWeightsDesc): boolean {
  const taps = d.kernel[0] * d.kernel[1];
  const cin = d.inChannels / d.group;
  if (d.group !== 1 || taps === 1 || cin % PACK_KR === 0) return false;
  return taps * roundUp(cin, PACK_KR) > 1.25 * roundUp(taps * cin, PACK_KR);
}

/** A depthwise convolution with channel multiplier 1 (group == inChannels == outChannels): the PACKING_DWCONV layout's domain. */
export function isDepthwise(d: ConvWeightsDesc): boolean {
  return d.inChannels === d.group && d.outChannels === d.group;
}

/** True when every weight fits int8 [-128, 127] (the int8 packings hold it; otherwise a -w16 one). */
export function weightsFitInt8(w: Int8Array | Int16Array): boolean {
  if (w instanceof Int8Array) return true;
  for (let i = 0; i < w.length; i++) if (w[i]! < -128 || w[i]! > 127) return false;
  return true;
}

/**
 * Layout facts for a convolution's packed weights. `packing` (a stored QConv.packing) selects
 * the layout; without it the default choice of useIm2col() applies, with int8 weights, or int16
 * ones when `wide` (a -w16 packing; a depthwise layout is int16 either way).
 */
export function packGeometry(d: ConvWeightsDesc, packing?: string, wide = false): PackGeometry {
  checkDesc(d);
  const groups = d.group;
  const cinPerGroup = d.inChannels / groups;
  const coutPerGroup = d.outChannels / groups;
  const kTaps = d.kernel[0] * d.kernel[1];
  if (packing !== undefined && !PACKINGS.includes(packing)) {
    throw new EdgeqError('BAD_MODEL', `unknown weight packing "${packing}" (this runtime reads ${PACKINGS.join(', ')})`);
  }
  // The default for depthwise convolutions of more than one channel (a 1-channel one is also group 1: GEMM).
  if (packing === PACKING_DWCONV || packing === PACKING_DWCONV_W8 || (packing === undefined && isDepthwise(d) && groups > 1)) {
    const name = packing ?? PACKING_DWCONV;
    if (!isDepthwise(d)) {
      throw new EdgeqError('BAD_MODEL', `packing ${name} needs group == inChannels == outChannels (got ${d.inChannels}->${d.outChannels} group ${groups})`);
    }
    const nBlocks = Math.ceil(groups / DWCONV_CR);
    const blockBytes = 128 + kTaps * 32, compact = name === PACKING_DWCONV_W8;
    const storedBlockBytes = compact ? 128 + kTaps * DWCONV_CR : blockBytes;
    return {
      packing: name, im2col: false, depthwise: true, wide: false, compact, groups, cinPerGroup: 1, coutPerGroup: 1,
      taps: kTaps, KB: 1, nBlocks, blockBytes, bytes: nBlocks * blockBytes, storedBlockBytes, storedBytes: nBlocks * storedBlockBytes,
    };
  }
  if ((packing === PACKING_IM2COL || packing === PACKING_IM2COL_W16) && groups !== 1) {
    throw new EdgeqError('BAD_MODEL', `packing ${packing} needs group 1 (got ${groups})`);
  }
  const im2col = packing === undefined ? useIm2col(d) : packing === PACKING_IM2COL || packing === PACKING_IM2COL_W16;
  const w16 = packing === undefined ? wide : packing === PACKING_GEMM_W16 || packing === PACKING_IM2COL_W16;
  const taps = im2col ? 1 : kTaps;
  const KB = im2col ? Math.ceil((kTaps * cinPerGroup) / PACK_KR) : Math.ceil(cinPerGroup / PACK_KR);
  const nBlocks = Math.ceil(coutPerGroup / PACK_NR);
  const storedBlockBytes = 32 + taps * KB * PACK_NR * PACK_KR;
  const blockBytes = 32 + taps * KB * PACK_NR * PACK_KR * (w16 ? 2 : 1);
  return {
    packing: im2col ? (w16 ? PACKING_IM2COL_W16 : PACKING_IM2COL) : w16 ? PACKING_GEMM_W16 : PACKING_GEMM,
    im2col, depthwise: false, wide: w16, compact: false, groups, cinPerGroup, coutPerGroup, taps, KB, nBlocks, blockBytes,
    bytes: groups * nBlocks * blockBytes, storedBlockBytes, storedBytes: groups * nBlocks * storedBlockBytes,
  };
}

/** The packing name a convolution's blob gets (QConv.packing). */
export function convPacking(d: ConvWeightsDesc): string {
  return packGeometry(d).packing;
}

/** Size in bytes of packConvWeights' result (for a -w16 packing: without its outlier list). */
export function packedConvWeightsSize(d: ConvWeightsDesc, packing?: string): number {
  return packGeometry(d, packing).storedBytes;
}

/** The layout packConvWeights uses for `p`: its forced packing, or the default for its geometry and weight range. */
function packParamsGeometry(p: ConvPackParams): PackGeometry {
  return packGeometry(p, p.packing, p.packing === undefined && !weightsFitInt8(p.weights));
}

/**
 * Packs integer OHWI weights, int32 bias (input zero point folded in here) and f32 multipliers
 * into the kernel layout. Pure function; the result is what goes into the .edgeq blob.
 */
export function packConvWeights(p: ConvPackParams): Uint8Array {
  const g = packParamsGeometry(p);
  const [kh, kw] = p.kernel;
  const kTaps = kh * kw;
  const cpg = g.cinPerGroup;
  const wPerOut = kTaps * cpg;
  if (p.weights.length !== p.outChannels * wPerOut) {
    throw new EdgeqError('BAD_SHAPE', `weights hold ${p.weights.length} values, expected ${p.outChannels * wPerOut}`);
  }
  if (p.bias && p.bias.length !== p.outChannels) {
    throw new EdgeqError('BAD_SHAPE', `bias holds ${p.bias.length} values, expected ${p.outChannels}`);
  }
  if (p.multipliers.length !== p.outChannels) {
    throw new EdgeqError('BAD_SHAPE', `multipliers hold ${p.multipliers.length} values, expected ${p.outChannels}`);
  }
  const zp = p.inputZeroPoint;
  // 0..255 for uint8 inputs, up to 4095 for 12-bit ones. The folded bias may wrap in int32: the
  // kernels' sums wrap the same way, so the result is exact whenever the true accumulator fits.
  if (!Number.isInteger(zp) || zp < 0 || zp > 4095) throw new EdgeqError('BAD_SHAPE', `input zero point ${zp} outside 0..4095`);
  // int8 layouts hold int8 values; int16 ones (-w16, depthwise) [-255, 255], where the kernels'
  // i16 products and pair sums cannot overflow (|x| <= 4095).
  const [lo, hi] = g.wide || g.depthwise ? [-WIDE_WEIGHT_MAX, WIDE_WEIGHT_MAX] : [-128, 127];
  for (let i = 0; i < p.weights.length; i++) {
    const v = p.weights[i]!;
    if (!(v >= lo && v <= hi)) throw new EdgeqError('BAD_SHAPE', `weight ${i} = ${v} is outside [${lo}, ${hi}] of packing ${g.packing}`);
  }

  const out = new Uint8Array(g.depthwise ? g.bytes : g.storedBytes);
  const dv = new DataView(out.buffer);
  if (g.depthwise) {
    // Per block of 16 channels: i32 bias[16] | for tap: i16 w[16] | f32 multiplier[16].
    for (let c = 0; c < p.outChannels; c++) {
      const base = Math.floor(c / DWCONV_CR) * g.blockBytes, lane = c % DWCONV_CR;
      let sum = 0;
      for (let t = 0; t < kTaps; t++) {
        const v = p.weights[c * kTaps + t]!;
        sum += v;
        dv.setInt16(base + 64 + t * 32 + lane * 2, v, true);
      }
      const bias = p.bias ? p.bias[c]! : 0;
      dv.setInt32(base + lane * 4, (bias - Math.imul(zp, sum)) | 0, true);
      dv.setFloat32(base + g.blockBytes - 64 + lane * 4, p.multipliers[c]!, true);
    }
    return g.compact ? compactDwconvWeights(out, g) : out;
  }
  const w8 = new Int8Array(out.buffer);
  // A wide layout's weights outside int8: [byte position in the int8 blocks, value], in position order per channel.
  const outliers: [number, number][] = [];
  const tapStride = g.KB * PACK_KR; // K positions per tap in the per-tap layout
  for (let grp = 0; grp < g.groups; grp++) {
    for (let nb = 0; nb < g.nBlocks; nb++) {
      const base = (grp * g.nBlocks + nb) * g.storedBlockBytes;
      for (let j = 0; j < PACK_NR; j++) {
        const n = nb * PACK_NR + j;
        if (n >= g.coutPerGroup) break; // padded channels: zero bias, weights and multiplier
        const co = grp * g.coutPerGroup + n;
        let sum = 0;
        const wBase = co * wPerOut;
        for (let t = 0; t < kTaps; t++) {
          for (let ci = 0; ci < cpg; ci++) {
            const v = p.weights[wBase + t * cpg + ci]!;
            sum += v;
            const k = g.im2col ? t * cpg + ci : t * tapStride + ci;
            const at = base + 16 + (k >> 3) * 32 + j * 8 + (k & 7);
            if (v >= -128 && v <= 127) w8[at] = v;
            else outliers.push([at, v]); // the int8 byte stays 0
          }
        }
        const bias = p.bias ? p.bias[co]! : 0;
        dv.setInt32(base + j * 4, (bias - Math.imul(zp, sum)) | 0, true);
        dv.setFloat32(base + g.storedBlockBytes - 16 + j * 4, p.multipliers[co]!, true);
      }
    }
  }
  if (!g.wide) return out;
  return withOutlierList(out, outliers.sort((a, b) => a[0] - b[0]));
}

/**
 * `blocks` followed by the outlier list of the -w16 and qu8-dwconv-c16-w8 sections: a u32 count,
 * then per outlier { u32 byte position in the blocks, i32 value } (WIDE_ENTRY_BYTES), in the order given.
 */
function withOutlierList(blocks: Uint8Array, outliers: readonly [number, number][]): Uint8Array {
  const out = new Uint8Array(blocks.length + 4 + outliers.length * WIDE_ENTRY_BYTES);
  out.set(blocks);
  const dv = new DataView(out.buffer);
  dv.setUint32(blocks.length, outliers.length, true);
  outliers.forEach(([at, v], i) => {
    dv.setUint32(blocks.length + 4 + i * WIDE_ENTRY_BYTES, at, true);
    dv.setInt32(blocks.length + 8 + i * WIDE_ENTRY_BYTES, v, true);
  });
  return out;
}

/** The outliers of a -w16 section: [byte position in its int8 blocks, value], as stored (validated by the conv op at load). */
export function wideOutliers(section: Uint8Array, g: PackGeometry): [number, number][] {
  const dv = new DataView(section.buffer, section.byteOffset, section.byteLength);
  const n = dv.getUint32(g.storedBytes, true);
  return Array.from({ length: n }, (_, i) => [dv.getUint32(g.storedBytes + 4 + i * WIDE_ENTRY_BYTES, true), dv.getInt32(g.storedBytes + 8 + i * WIDE_ENTRY_BYTES, true)]);
}

/**
 * The kernels' int16 layout of a -w16 section: per block, the bias and multipliers copied, every
 * int8 weight widened, then each outlier written over its weight. Done once per model at load.
 */
export function expandWideWeights(section: Uint8Array, g: PackGeometry): Uint8Array {
  const out = new Uint8Array(g.bytes);
  const dv = new DataView(out.buffer);
  const wBytes = g.storedBlockBytes - 32;
  for (let b = 0; b < g.groups * g.nBlocks; b++) {
    const s = b * g.storedBlockBytes, d = b * g.blockBytes;
    out.set(section.subarray(s, s + 16), d);
    for (let e = 0; e < wBytes; e++) dv.setInt16(d + 16 + 2 * e, (section[s + 16 + e]! << 24) >> 24, true);
    out.set(section.subarray(s + g.storedBlockBytes - 16, s + g.storedBlockBytes), d + g.blockBytes - 16);
  }
  for (const [at, v] of wideOutliers(section, g)) {
    const b = Math.floor(at / g.storedBlockBytes);
    dv.setInt16(b * g.blockBytes + 16 + 2 * (at - b * g.storedBlockBytes - 16), v, true);
  }
  return out;
}

/**
 * PACKING_DWCONV's blob (int16 blocks, geometry `g` of either depthwise packing) in
 * PACKING_DWCONV_W8's stored form: per block the bias, the weights as int8 (a weight outside int8
 * stored as 0) and the multipliers, then a u32 count and per weight outside int8 { u32 byte position
 * in the int8 blocks, i32 value }, in position order.
 */
export function compactDwconvWeights(blob: Uint8Array, g: PackGeometry): Uint8Array {
  const T = g.taps, sbb = 128 + T * DWCONV_CR, bb = 128 + T * 32;
  const src = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const blocks = new Uint8Array(g.nBlocks * sbb);
  const outliers: [number, number][] = [];
  for (let b = 0; b < g.nBlocks; b++) {
    const s = b * bb, d = b * sbb;
    blocks.set(blob.subarray(s, s + 64), d);
    for (let e = 0; e < T * DWCONV_CR; e++) {
      const v = src.getInt16(s + 64 + 2 * e, true);
      if (v >= -128 && v <= 127) blocks[d + 64 + e] = v & 0xff;
      else outliers.push([d + 64 + e, v]);
    }
    blocks.set(blob.subarray(s + bb - 64, s + bb), d + sbb - 64);
  }
  return withOutlierList(blocks, outliers);
}

/**
 * PACKING_DWCONV_W8's section (geometry `g`) as the kernels read it, PACKING_DWCONV's int16
 * blocks: each int8 weight widened, then each listed weight written over its own. Done once per
 * model at load; the section must have passed the conv op's checkWeights.
 */
export function expandDwconvWeights(section: Uint8Array, g: PackGeometry): Uint8Array {
  const T = g.taps, sbb = g.storedBlockBytes, bb = g.blockBytes;
  const out = new Uint8Array(g.bytes);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < g.nBlocks; b++) {
    const s = b * sbb, d = b * bb;
    out.set(section.subarray(s, s + 64), d);
    for (let e = 0; e < T * DWCONV_CR; e++) dv.setInt16(d + 64 + 2 * e, (section[s + 64 + e]! << 24) >> 24, true);
    out.set(section.subarray(s + sbb - 64, s + sbb), d + bb - 64);
  }
  for (const [at, v] of wideOutliers(section, g)) {
    const b = Math.floor(at / sbb);
    dv.setInt16(b * bb + 64 + 2 * (at - b * sbb - 64), v, true);
  }
  return out;
}

/** packConvWeights plus the packing name to store beside the blob (QConv.packing). */
export function packConv(p: ConvPackParams): { packing: string; blob: Uint8Array } {
  return { packing: packParamsGeometry(p).packing, blob: packConvWeights(p) };
}
