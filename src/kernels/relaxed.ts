// The relaxed-SIMD kernels' weight layout (qu8-gemm-2x4c16), which layers take them, and the
// self-check a Session runs before trusting a relaxed build. Browser-safe: no Node imports.
//
// Layout 2x4c16: the 2x4c8 block (i32 bias[4] | for tap, for k-block of 8: i8 w[4][8] | f32
// multiplier[4]) with its weights regrouped 16 K at a time: for tap, for k-pair p (blocks 2p and
// 2p+1): i8 w[4][16], then, for an odd KB, the tap's last block as it was (i8 w[4][8]; the kernels
// end each tap with an 8-K step). Same block size, bias and multipliers in place, so a 2x4c8 blob
// is repacked in place (no second copy).

import { EdgeqError } from '../errors.js';
import type { Conv2dPlan } from './conv.js';
import { expandWideWeights, wideOutliers } from './packing.js';
import type { RelaxedDotVerdict } from './relaxed-probe.js';

/** The exact relaxed lowerings the kernels support (a probe verdict other than 'none'). */
export type RelaxedDotMode = Exclude<RelaxedDotVerdict, 'none'>;

/** Packing name of the relaxed layout (in wasm memory only; never stored in a model). */
export const PACKING_RELAXED = 'qu8-gemm-2x4c16';

/**
 * True when the relaxed kernels can run this convolution: 8-bit activations (12-bit ones keep the
 * i16 kernels), an int8 2x4c8 packing (per tap, or the flattened im2col one; not the int16 -w16
 * ones nor the depthwise one), run as GEMM, IGEMM, im2col + GEMM (qu8_conv_im2col_relaxed_2x4c16),
 * or a gathered strided 1x1 (then run as a one-tap IGEMM reading in place); and, when `weights` (the layer's 2x4c8 blob) is given, no weight of -128 in it (the
 * probe vouches for the relaxed dot only with a first operand in [-127, 127]).
 */
export function relaxedEligible(plan: Conv2dPlan, inputType: string | undefined, weights?: Uint8Array): boolean {
  return (inputType ?? 'uint8') === 'uint8' && !plan.wide && plan.strategy !== 'dwconv'
    && (weights === undefined || weightsInRelaxedRange(weights, plan.blockBytes, plan.taps * plan.KB * 32));
}

const inRange = new WeakMap<Uint8Array, boolean>();

/** True when no weight byte of the 2x4c8 blocks (bias and multipliers skipped) is -128 (0x80). Cached per blob. */
function weightsInRelaxedRange(blob: Uint8Array, blockBytes: number, wBytes: number): boolean {
  let ok = inRange.get(blob);
  if (ok === undefined) {
    ok = true;
    for (let base = 0; ok && base + blockBytes <= blob.length; base += blockBytes) {
      for (let i = base + 16; i < base + 16 + wBytes; i++) if (blob[i] === 0x80) { ok = false; break; }
    }
    inRange.set(blob, ok);
  }
  return ok;
}

/**
 * Repacks `blocks` 2x4c8 blocks (blockBytes each, `taps` taps of KB k-blocks) at `at` in `heap`
 * to 2x4c16, in place. For the s8xs8 lowering (activations enter as a - 128) it adds
 * 128 * sum(w) to each channel's bias (int32 wrap, as the kernels' sums), so that the kernels
 * produce the same int32 accumulator as the i16 path.
 */
export function repackRelaxed2x4c16(heap: Uint8Array, at: number, blocks: number, blockBytes: number, taps: number, KB: number, mode: RelaxedDotMode): void {
  if (blockBytes !== 32 + taps * KB * 32) throw new EdgeqError('INTERNAL', `block of ${blockBytes} bytes does not match taps ${taps}, KB ${KB}`);
  const wBytes = taps * KB * 32;
  const tmp = new Int8Array(wBytes);
  const view = new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
  for (let b = 0; b < blocks; b++) {
    const base = at + b * blockBytes;
    const w = new Int8Array(heap.buffer, heap.byteOffset + base + 16, wBytes);
    tmp.set(w);
    const sums = [0, 0, 0, 0];
    for (let t = 0; t < taps; t++) {
      const tap = t * KB * 32; // the tap's first byte, in both layouts
      for (let p = 0; p < KB >> 1; p++) {
        for (let j = 0; j < 4; j++) {
          for (let i = 0; i < 16; i++) {
            const v = tmp[tap + (2 * p + (i >> 3)) * 32 + j * 8 + (i & 7)]!;
            w[tap + p * 64 + j * 16 + i] = v;
            sums[j] += v;
          }
        }
      }
      // An odd KB's last block stays w[4][8] at the same place.
      if (KB & 1) for (let j = 0; j < 4; j++) for (let i = 0; i < 8; i++) sums[j] += tmp[tap + (KB - 1) * 32 + j * 8 + i]!;
    }
    if (mode === 's8xs8') {
      for (let j = 0; j < 4; j++) view.setInt32(base + j * 4, (view.getInt32(base + j * 4, true) + 128 * sums[j]!) | 0, true);
    }
  }
}

/** A repacked copy of a 2x4c8 blob (tests, the self-check). */
export function repackedRelaxedCopy(blob: Uint8Array, plan: Pick<Conv2dPlan, 'groups' | 'nBlocks' | 'blockBytes' | 'taps' | 'KB'>, mode: RelaxedDotMode): Uint8Array {
  const out = blob.slice();
  repackRelaxed2x4c16(out, 0, plan.groups * plan.nBlocks, plan.blockBytes, plan.taps, plan.KB, mode);
  return out;
}

/**
 * The split form of a -w16 GEMM/IGEMM/im2col layer on the relaxed kernels: its 4-channel blocks that hold
 * a weight outside int8 (an outlier; sorted, distinct) run on the i16 kernels with the int16
 * layout, every other block on the relaxed kernels with the section's int8 blocks (the same
 * weights there). Returns those blocks when the split applies: 8-bit activations, group 1, not
 * depthwise, no weight of -128 in the relaxed blocks (see relaxedEligible), and at most half of
 * the blocks wide (else undefined: the i16 kernels only).
 */
export function wideRelaxedBlocks(plan: Conv2dPlan, inputType: string | undefined, section: Uint8Array): number[] | undefined {
  if ((inputType ?? 'uint8') !== 'uint8' || !plan.wide || plan.strategy === 'dwconv' || plan.groups !== 1) return undefined;
  const sbb = plan.storedBlockBytes, wBytes = plan.taps * plan.KB * 32;
  if (sbb !== 32 + wBytes) throw new EdgeqError('INTERNAL', `-w16 section block of ${sbb} bytes does not match taps ${plan.taps}, KB ${plan.KB}`);
  const blocks = [...new Set(wideOutliers(section, plan).map(([at]) => Math.floor(at / sbb)))].sort((a, b) => a - b);
  if (2 * blocks.length > plan.nBlocks) return undefined;
  const wide = new Set(blocks);
  for (let b = 0; b < plan.nBlocks; b++) {
    if (wide.has(b)) continue;
    for (let i = b * sbb + 16; i < b * sbb + 16 + wBytes; i++) if (section[i] === 0x80) return undefined;
  }
  return blocks;
}

/**
 * The weights of a split -w16 layer (wideRelaxedBlocks(), whose result is `blocks`): the int16
 * layout (expandWideWeights, plan.bytes bytes), then the section's int8 blocks repacked to 2x4c16
 * for `mode` (plan.storedBytes bytes), then one byte per block, 1 for a block in `blocks` (the
 * kinds qu8_conv_im2col_relaxed_2x4c16 reads; zero padded to 16 bytes).
 */
export function wideRelaxedWeights(section: Uint8Array, plan: Conv2dPlan, mode: RelaxedDotMode, blocks: readonly number[]): Uint8Array {
  const out = new Uint8Array(plan.bytes + plan.storedBytes + Math.ceil(plan.nBlocks / 16) * 16);
  out.set(expandWideWeights(section, plan));
  out.set(section.subarray(0, plan.storedBytes), plan.bytes);
  repackRelaxed2x4c16(out, plan.bytes, plan.groups * plan.nBlocks, plan.storedBlockBytes, plan.taps, plan.KB, mode);
  for (const b of blocks) out[plan.bytes + plan.storedBytes + b] = 1;
  return out;
}

/** Packing name of the relaxed depthwise layout (in wasm memory only; never stored in a model). */
export const PACKING_DWCONV_RELAXED = 'qu8-dwconv-c16x4';

/** Bytes of one qu8-dwconv-c16x4 block of 16 channels: i32 kind + 12 zero bytes, i32 bias'[16], floor(taps / 4) groups of i8 w[16][4]. */
export function dwconvRelaxedBlockBytes(taps: number): number {
  return 80 + Math.floor(taps / 4) * 64;
}

/** Kinds of a qu8-dwconv-c16x4 block (its first i32): relaxed; split in two int8 parts; on the i16 steps. */
export const DWCONV_RELAXED_KIND = { RELAXED: 0, SPLIT: 1, I16: 2 } as const;

/**
 * True when qu8_dwconv_relaxed_c16x4 can run this convolution: the depthwise kernel with 8-bit
 * activations (12-bit ones keep qu8_dwconv_c16) and at least 4 taps (one relaxed group). Every
 * depthwise blob qualifies: blocks with weights outside [-127, 127] run split or on the i16 steps.
 */
export function dwconvRelaxedEligible(plan: Conv2dPlan, inputType: string | undefined): boolean {
  return plan.strategy === 'dwconv' && plan.kernelTaps >= 4 && (inputType ?? 'uint8') === 'uint8';
}

/**
 * The qu8-dwconv-c16x4 form of a qu8-dwconv-c16 blob (`taps` taps, blob.length / (128 + taps * 32)
 * blocks of 16 channels; assembly/dwconv.ts, docs/format-packing.md): per block its kind, the bias
 * (plus 128 * sum(w) over the grouped taps per channel for s8xs8, int32 wrap as the kernels' sums)
 * and the first 4 * floor(taps / 4) taps' weights regrouped four taps per channel; then, after all
 * blocks, each block's second weights. The probe vouches for the relaxed dot only with weights in
 * [-127, 127]: a block with a weight outside that range but within +-254 is split (first part
 * clamp(w, -127, 127), second part the rest, both in range); one with a weight of +-255 is left to
 * the i16 steps (kind I16, nothing else written).
 */
export function packDwconvRelaxed(blob: Uint8Array, taps: number, mode: RelaxedDotMode): Uint8Array {
  const bb = 128 + taps * 32, rbb = dwconvRelaxedBlockBytes(taps), groups = Math.floor(taps / 4), grouped = 4 * groups;
  if (!(taps >= 1) || blob.length % bb !== 0) throw new EdgeqError('INTERNAL', `depthwise blob of ${blob.length} bytes does not hold blocks of ${taps} taps`);
  const blocks = blob.length / bb, splitAt = blocks * rbb;
  const out = new Uint8Array(splitAt + blocks * groups * 64);
  const src = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const dst = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const s = b * bb, d = b * rbb, d2 = splitAt + b * groups * 64;
    let maxAbs = 0;
    for (let i = 0; i < taps * 16; i++) maxAbs = Math.max(maxAbs, Math.abs(src.getInt16(s + 64 + 2 * i, true)));
    const kind = maxAbs <= 127 ? DWCONV_RELAXED_KIND.RELAXED : maxAbs <= 254 ? DWCONV_RELAXED_KIND.SPLIT : DWCONV_RELAXED_KIND.I16;
    dst.setInt32(d, kind, true);
    if (kind === DWCONV_RELAXED_KIND.I16) continue;
    for (let c = 0; c < 16; c++) {
      let sum = 0;
      for (let t = 0; t < grouped; t++) {
        const v = src.getInt16(s + 64 + t * 32 + 2 * c, true), a = Math.max(-127, Math.min(127, v));
        const at = (t >> 2) * 64 + c * 4 + (t & 3);
        dst.setInt8(d + 80 + at, a);
        dst.setInt8(d2 + at, v - a);
        sum += v;
      }
      const bias = src.getInt32(s + 4 * c, true);
      dst.setInt32(d + 16 + 4 * c, mode === 's8xs8' ? (bias + 128 * sum) | 0 : bias, true);
    }
  }
  return out;
}
