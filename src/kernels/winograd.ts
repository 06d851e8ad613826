// Exact integer Winograd F(2x2, 3x3) (assembly/winograd.ts): eligibility, the weight transform
// (computed at load time from the file's direct per-tap blob, so the .edgeq format is unchanged),
// scratch sizes and the kernel calls, split by tile ranges for threads.
import { EdgeqError } from '../errors.js';
import { PACKING_GEMM, packGeometry } from './packing.js';
import type { Conv2dShape } from './conv.js';
import { WINO_FLAGS, kernelCall, type KernelCall } from './kernel-api.generated.js';

/** G' = 2G, so U = G' g G'^T = 4 G g G^T stays integral; |U| <= 9 * 127 = 1143 fits int16. */
const G2 = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]];

/** Bytes per block of 4 output channels: i32 bias'[4] | i16 U[16][KB][4][8] | f32 multiplier[4]. */
export const winoBlockBytes = (KB: number): number => 32 + 16 * KB * 64;

/** Target bytes of transformed input per tile group (stays in L2 while every channel block uses it). */
export const WINO_GROUP_BYTES = 192 * 1024;

/**
 * Whether a convolution can run as Winograd F(2x2, 3x3): 3x3, stride 1, dilation 1, group 1,
 * pads <= 2, the per-tap packing, a quantized output, no fused residual, and at most 4096 input
 * channels (so that 4 * |direct accumulator| fits int32 and the wrapping sums are exact). A 12-bit
 * input also needs winogradFits12Bit() on its weights.
 */
export function winogradEligible(s: Conv2dShape, packing?: string, opts: { outputType?: string; residual?: unknown } = {}): boolean {
  const st = s.stride ?? [1, 1], dl = s.dilation ?? [1, 1], pads = s.pads ?? [0, 0, 0, 0];
  return s.kernel[0] === 3 && s.kernel[1] === 3 && st[0] === 1 && st[1] === 1 && dl[0] === 1 && dl[1] === 1
    && (s.group ?? 1) === 1 && pads.every((p) => p >= 0 && p <= 2) && (packing ?? PACKING_GEMM) === PACKING_GEMM
    && opts.outputType !== 'float32' && opts.residual === undefined && s.inChannels <= 4096;
}

/**
 * Whether Winograd is worth it for an eligible shape: at least 32 input and output channels (to
 * amortize the transforms) and a map of at least 6x6. Measurements: docs/tuning-log.md.
 */
export function winogradPreferred(s: Conv2dShape): boolean {
  return s.inChannels >= 32 && s.outChannels >= 32 && Math.min(s.inH, s.inW) >= 6;
}

export interface WinogradPlan {
  tilesH: number;
  tilesW: number;
  /** Tiles over the batch. */
  tiles: number;
  KB: number;
  groupTiles: number;
  /** Scratch bytes per part (= per concurrent call). */
  scratchBytes: number;
  /** Bytes of the transformed weights. */
  weightBytes: number;
}

export function planWinograd(s: Conv2dShape, outH: number, outW: number): WinogradPlan {
  const KB = Math.ceil(s.inChannels / 8);
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2);
  const tiles = s.batch * tilesH * tilesW;
  const tileBytes = 16 * KB * 16;
  const groupTiles = Math.max(2, Math.min(tiles, 2 * Math.floor(WINO_GROUP_BYTES / tileBytes / 2)));
  return {
    tilesH, tilesW, tiles, KB, groupTiles,
    scratchBytes: groupTiles * tileBytes + 512 + 128,
    weightBytes: Math.ceil(s.outChannels / 4) * winoBlockBytes(KB),
  };
}

/**
 * The transformed weights from a direct `qu8-gemm-2x4c8` blob of a 3x3 group-1 convolution:
 * the bias' (zero point folded, unchanged: the Winograd sum of the raw input with zero-point
 * padding is 4x the direct one) and the multipliers are copied, the weights become U (int16).
 */
export function packWinogradFromDirect(blob: Uint8Array, outChannels: number, inChannels: number): Uint8Array {
  const g = packGeometry({ outChannels, inChannels, kernel: [3, 3], group: 1 }, PACKING_GEMM);
  if (blob.length !== g.bytes) throw new EdgeqError('INTERNAL', `winograd: blob of ${blob.length} bytes, expected ${g.bytes}`);
  const KB = g.KB;
  const bb = winoBlockBytes(KB);
  const out = new Uint8Array(g.nBlocks * bb);
  const src = new Int8Array(blob.buffer, blob.byteOffset, blob.length);
  const dst = new DataView(out.buffer);
  const w = new Int32Array(9), t = new Int32Array(12);
  for (let nb = 0; nb < g.nBlocks; nb++) {
    const sb = nb * g.blockBytes, db = nb * bb;
    out.set(blob.subarray(sb, sb + 16), db); // bias'
    out.set(blob.subarray(sb + g.blockBytes - 16, sb + g.blockBytes), db + bb - 16); // multipliers
    for (let j = 0; j < 4; j++) {
      for (let ci = 0; ci < KB * 8; ci++) {
        const kb = ci >> 3, i = ci & 7;
        for (let k = 0; k < 9; k++) w[k] = src[sb + 16 + (k * KB + kb) * 32 + j * 8 + i];
        // t = G' g (4x3), then U = t G'^T (4x4)
        for (let a = 0; a < 4; a++) {
          const ga = G2[a];
          for (let kx = 0; kx < 3; kx++) t[a * 3 + kx] = ga[0] * w[kx] + ga[1] * w[3 + kx] + ga[2] * w[6 + kx];
        }
        for (let a = 0; a < 4; a++) {
          for (let b = 0; b < 4; b++) {
            const gb = G2[b];
            const u = t[a * 3] * gb[0] + t[a * 3 + 1] * gb[1] + t[a * 3 + 2] * gb[2];
            dst.setInt16(db + 16 + (((a * 4 + b) * KB + kb) * 4 + j) * 16 + i * 2, u, true);
          }
        }
      }
    }
  }
  return out;
}

/**
 * With 12-bit inputs the wrapping int32 sums are exact only if 4 * |direct accumulator| fits:
 * 4 * 4095 * max over channels of sum |w| < 2^31 (the transformed input, |V| <= 16380, fits int16).
 * Proven here from the direct blob's int8 weights (padded lanes are zero).
 */
export function winogradFits12Bit(blob: Uint8Array, outChannels: number, inChannels: number): boolean {
  const g = packGeometry({ outChannels, inChannels, kernel: [3, 3], group: 1 }, PACKING_GEMM);
  const src = new Int8Array(blob.buffer, blob.byteOffset, blob.length);
  for (let nb = 0; nb < g.nBlocks; nb++) {
    for (let j = 0; j < 4; j++) {
      let sum = 0;
      for (let k = 0; k < 9 * g.KB; k++) for (let i = 0; i < 8; i++) sum += Math.abs(src[nb * g.blockBytes + 16 + k * 32 + j * 8 + i]);
      if (4 * 4095 * sum >= 2 ** 31) return false;
    }
  }
  return true;
}

/**
 * The kernel calls of a Winograd convolution, split into at most `parts` tile ranges on even tile
 * boundaries (the kernel computes tiles in pairs; only the last range may hold an odd count).
 */
export function winogradCalls(
  s: Conv2dShape, outH: number, outW: number,
  b: { input: number; output: number; weights: number; scratch: number },
  inputZeroPoint: number, rq: { zp: number; fmin: number; fmax: number; alpha: number; beta?: number; out16?: number; act?: number },
  parts: number, reference = false,
): KernelCall[] {
  const p = planWinograd(s, outH, outW);
  const pads = s.pads ?? [0, 0, 0, 0];
  const macs = p.tiles * 16 * p.KB * 8 * s.outChannels;
  const pairs = Math.ceil(p.tiles / 2);
  const n = Math.max(1, Math.min(parts, Math.floor(macs / 65536), pairs));
  const calls: KernelCall[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = 2 * Math.floor((pairs * i) / n), t1 = Math.min(p.tiles, 2 * Math.floor((pairs * (i + 1)) / n));
    if (t1 <= t0) continue;
    calls.push(kernelCall(reference ? 'qu8_wino3x3_ref' : 'qu8_wino3x3', {
      H: s.inH, W: s.inW, C: s.inChannels, inp: b.input, zx: inputZeroPoint, OH: outH, OW: outW, padTop: pads[0], padLeft: pads[1],
      t0, t1, N: s.outChannels, KB: p.KB, w: b.weights, scratch: b.scratch + i * p.scratchBytes, groupTiles: p.groupTiles,
      out: b.output, outStride: s.outChannels * (rq.out16 ? 2 : 1), zp: rq.zp, fmin: rq.fmin, fmax: rq.fmax, alpha: rq.alpha, beta: rq.beta ?? 0,
      // The activation code field has the GEMM group's bits.
      flags: (s.inputType === 'uint12' ? WINO_FLAGS.IN16 : 0) | (rq.out16 ? WINO_FLAGS.OUT16 : 0) | (rq.act ?? 0),
    }));
  }
  return calls;
}
