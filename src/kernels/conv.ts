// Convolution planning and the typed calls of qu8_gemm / qu8_igemm / qu8_conv_im2col (and
// qu8_wino3x3 through ./winograd.ts). The conv op module (src/ops/conv.ts) sizes its buffers from
// planConv2d() and builds its kernel calls once per layer with conv2dCalls() (the activation arena
// is fixed, so the indirection buffer is built once and reused every run). prepareConv2d() is the
// one-part form for callers that run a single layer (tests, the kernel suite).

import { EdgeqError } from '../errors.js';
import { elementBytes, quantMax, type QuantDtype } from '../format/qmodel.js';
import { PACKING_GEMM, packGeometry, type PackGeometry } from './packing.js';
import type { Kernels } from './wasm.js';
import { C4_FLAGS, DWCONV_FLAGS, GEMM_FLAGS, RELAXED_FLAGS, bindKernelCall, invokeKernelCall, kernelCall, type KernelCall } from './kernel-api.generated.js';
import { winogradCalls, winogradEligible } from './winograd.js';
import { dwconvRelaxedEligible, relaxedEligible, type RelaxedDotMode } from './relaxed.js';
import { c4BlockBytes, c4K, gemmC4Eligible } from './relaxed-c4.js';

/** A 2-D convolution over NHWC uint8 (or 12-bit, in 16-bit lanes) tensors. */
export interface Conv2dShape {
  batch: number;
  inH: number;
  inW: number;
  inChannels: number;
  outChannels: number;
  /** [kh, kw] */
  kernel: readonly [number, number];
  /** [sh, sw] (default [1, 1]) */
  stride?: readonly [number, number];
  /** [top, left, bottom, right] (default zeros) */
  pads?: readonly [number, number, number, number];
  /** [dh, dw] (default [1, 1]) */
  dilation?: readonly [number, number];
  group?: number;
  /** Input element type: 'uint8' (default) or 'uint12' (16-bit lanes). */
  inputType?: QuantDtype;
}

export type ConvStrategy = 'gemm' | 'igemm' | 'im2col' | 'dwconv';

export interface Conv2dPlan extends PackGeometry {
  strategy: ConvStrategy;
  outH: number;
  outW: number;
  /** Output pixels: batch * outH * outW (GEMM rows). */
  M: number;
  /** Real kernel taps kh * kw. */
  kernelTaps: number;
  /** Bytes of the indirection buffer (0 for 'gemm'): M * kh * kw * 4, 4-byte aligned. */
  indirectionBytes: number;
  /** Bytes of the zero-point row (0 when no tap reads padding): inChannels + 16 rounded up to 16. */
  zeroBytes: number;
  /** Bytes of the im2col scratch (0 unless 'im2col'): im2colRows * (KB * 8 + 8) elements. */
  scratchBytes: number;
  /** Output elements M * outChannels (bytes for uint8 output, x4 for float32). */
  outputElements: number;
}

/** Rows per im2col block; must equal the module's im2col_rows() (checked in prepareConv2d). */
export const IM2COL_ROWS = 128;

function norm(s: Conv2dShape) {
  const stride = s.stride ?? [1, 1];
  const pads = s.pads ?? [0, 0, 0, 0];
  const dilation = s.dilation ?? [1, 1];
  const group = s.group ?? 1;
  return { stride, pads, dilation, group };
}

/**
 * Output size, strategy and every buffer size the Session must place for this convolution.
 * `packing` is the blob's stored packing name (QConv.packing); omitted, the default layout.
 */
export function planConv2d(s: Conv2dShape, packing?: string): Conv2dPlan {
  const { stride, pads, dilation, group } = norm(s);
  const [kh, kw] = s.kernel;
  const geom = packGeometry({ outChannels: s.outChannels, inChannels: s.inChannels, kernel: s.kernel, group }, packing);
  const ekh = (kh - 1) * dilation[0] + 1;
  const ekw = (kw - 1) * dilation[1] + 1;
  const outH = Math.floor((s.inH + pads[0] + pads[2] - ekh) / stride[0]) + 1;
  const outW = Math.floor((s.inW + pads[1] + pads[3] - ekw) / stride[1]) + 1;
  if (!(outH > 0 && outW > 0 && s.batch > 0 && s.inH > 0 && s.inW > 0)) {
    throw new EdgeqError('BAD_SHAPE', `convolution ${JSON.stringify(s)} has an empty output`);
  }
  if (pads.some((p) => p < 0 || !Number.isInteger(p)) || stride.some((v) => v < 1) || dilation.some((v) => v < 1)) {
    throw new EdgeqError('BAD_SHAPE', `bad stride/pads/dilation in ${JSON.stringify(s)}`);
  }
  const M = s.batch * outH * outW;
  const kernelTaps = kh * kw;
  const pointwise = kh === 1 && kw === 1 && stride[0] === 1 && stride[1] === 1 && pads.every((p) => p === 0);
  // A strided (or padded) group-1 1x1 convolution gathers its pixels into contiguous 128-row blocks
  // and runs the direct GEMM on them: the im2col path with one tap (the same packed layout).
  const gather = kernelTaps === 1 && !pointwise && group === 1;
  // A depthwise packing (PACKING_DWCONV) runs qu8_dwconv_c16 through the same indirection buffer.
  const strategy: ConvStrategy = geom.depthwise ? 'dwconv' : geom.im2col || gather ? 'im2col' : pointwise ? 'gemm' : 'igemm';
  const needsZero = strategy !== 'gemm' && pads.some((p) => p > 0);
  const eb = elementBytes(s.inputType ?? 'uint8');
  return {
    ...geom, strategy, outH, outW, M, kernelTaps,
    indirectionBytes: strategy === 'gemm' ? 0 : M * kernelTaps * 4,
    zeroBytes: needsZero ? Math.ceil(((s.inChannels + 16) * eb) / 16) * 16 : 0,
    scratchBytes: strategy === 'im2col' ? IM2COL_ROWS * (geom.KB * 8 + 8) * eb : 0,
    outputElements: M * s.outChannels,
  };
}

/**
 * Writes the indirection buffer: for output pixel m = (n * outH + oh) * outW + ow and tap
 * t = kh * KW + kw, u32 [m * taps + t] = byte offset of input pixel
 * (n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw) (its channel 0), or `zero` when that pixel
 * lies in the padding.
 */
export function buildIndirection(
  memory: WebAssembly.Memory, at: number, s: Conv2dShape, input: number, zero: number,
): void {
  const { stride, pads, dilation } = norm(s);
  const plan = planConv2d(s, PACKING_GEMM);
  const [kh, kw] = s.kernel;
  if (at % 4 !== 0) throw new EdgeqError('INTERNAL', `indirection buffer at ${at} is not 4-byte aligned`);
  const ind = new Uint32Array(memory.buffer, at, plan.M * kh * kw);
  const pixBytes = s.inChannels * elementBytes(s.inputType ?? 'uint8');
  let i = 0;
  for (let n = 0; n < s.batch; n++) {
    for (let oh = 0; oh < plan.outH; oh++) {
      for (let ow = 0; ow < plan.outW; ow++) {
        for (let y = 0; y < kh; y++) {
          const ih = oh * stride[0] - pads[0] + y * dilation[0];
          for (let x = 0; x < kw; x++) {
            const iw = ow * stride[1] - pads[1] + x * dilation[1];
            ind[i++] = ih >= 0 && ih < s.inH && iw >= 0 && iw < s.inW
              ? input + ((n * s.inH + ih) * s.inW + iw) * pixBytes
              : zero;
          }
        }
      }
    }
  }
}

/** Output requantization: quantized zero point and clamp, or float32 output. */
export interface ConvOutputParams {
  /** 'uint8' (default), 'uint12' (0..4095 in 16-bit lanes) or 'float32' (classifier heads: f32(acc) * multiplier, no rounding). */
  outputType?: QuantDtype | 'float32';
  /** Quantized output zero point. */
  outputZeroPoint?: number;
  /** Quantized clamp (default 0..255, 0..4095 for uint12); ReLU is outMin = outputZeroPoint. */
  outMin?: number;
  outMax?: number;
  /** float32 output: clamp (default -Infinity..Infinity); ReLU is fMin = 0. */
  fMin?: number;
  fMax?: number;
  /** LeakyReLU slope applied to negative y before rounding (1 = none). */
  alpha?: number;
  /**
   * A fused HardSwish / HardSigmoid / Sigmoid / SiLU (src/ops/activation.ts kernelActivation): its
   * code in the flags' ACT field and its parameters, applied before the clamp; `alpha` is then unused.
   */
  activation?: { code: number; alpha: number; beta: number };
}

/**
 * The kernels' (zp, fmin, fmax, alpha, beta, outF32) arguments for given output parameters, the
 * output flag (FLAG_OUT16) and the activation's flag bits (act: the ACT field, 0 for none).
 */
export function requantArgs(p: ConvOutputParams): { zp: number; fmin: number; fmax: number; alpha: number; beta: number; outF32: number; out16: number; act: number } {
  const alpha = Math.fround(p.activation ? p.activation.alpha : p.alpha ?? 1);
  const beta = Math.fround(p.activation?.beta ?? 0), act = p.activation?.code ?? 0;
  if (p.outputType === 'float32') {
    return { zp: 0, fmin: p.fMin ?? -Infinity, fmax: p.fMax ?? Infinity, alpha, beta, outF32: 1, out16: 0, act };
  }
  const type = p.outputType ?? 'uint8';
  const max = quantMax(type);
  const zp = p.outputZeroPoint ?? 0;
  const lo = p.outMin ?? 0;
  const hi = p.outMax ?? max;
  if (!(Number.isInteger(zp) && zp >= 0 && zp <= max && lo >= 0 && hi <= max && lo <= hi)) {
    throw new EdgeqError('INTERNAL', `bad ${type} output parameters zp=${zp} min=${lo} max=${hi}`);
  }
  return { zp, fmin: lo - zp, fmax: hi - zp, alpha, beta, outF32: 0, out16: type === 'uint12' ? FLAG_OUT16 : 0, act };
}

const { IN16: FLAG_IN16, OUT16: FLAG_OUT16, RES16: FLAG_RES16, W16: FLAG_W16 } = GEMM_FLAGS;
const { SHIFTED: RELAXED_SHIFTED } = RELAXED_FLAGS;

/** Where the convolution's buffers are (byte offsets in the kernel memory). */
export interface Conv2dBuffers {
  input: number;
  output: number;
  /** Packed weights (packConvWeights' blob, copied unchanged; 16-byte aligned at least). */
  weights: number;
  /** plan.indirectionBytes bytes, 4-byte aligned (ignored for 'gemm'). */
  indirection?: number;
  /** plan.zeroBytes bytes (ignored when plan.zeroBytes is 0); filled by prepareConv2d. */
  zero?: number;
  /** plan.scratchBytes bytes, 8-byte aligned (ignored unless 'im2col'); may be shared by layers. */
  scratch?: number;
}

export interface Conv2dArgs extends ConvOutputParams {
  shape: Conv2dShape;
  buffers: Conv2dBuffers;
  /** Input zero point (fills the zero row for padded taps). */
  inputZeroPoint: number;
  /** The blob's packing name (QConv.packing); default: the layout packConvWeights picks. */
  packing?: string;
  /** Call the scalar twins (*_ref) instead (tests). */
  reference?: boolean;
  /**
   * Fused residual add: a quantized tensor of the output's shape at byte offset `input`, added in
   * the epilogue: y = f32(acc) * multiplier[c] + f32(r - zeroPoint) * multiplier, then the
   * activation, rounding and clamp. `multiplier` = f32(residualScale / outputScale), or
   * f32(residualScale) for a float32 output (real units, no rounding).
   */
  residual?: { input: number; zeroPoint: number; multiplier: number; dtype?: QuantDtype };
  /**
   * Run as exact integer Winograd F(2x2, 3x3) (winogradEligible() shapes only): `weights` is the
   * packWinogradFromDirect() blob; buffers.scratch holds planWinograd().scratchBytes per part; no
   * indirection buffer or zero row is used. Bit-exact with the direct kernels.
   */
  winograd?: { weights: number };
  /**
   * Run the relaxed-SIMD kernels (qu8_[i]gemm_relaxed_2x4c16) in this exact lowering (a probe
   * verdict): `weights` holds the 2x4c16 layout repacked for this mode (repackRelaxed2x4c16).
   * relaxedEligible() layers only; bit-identical to the i16 kernels.
   */
  relaxed?: RelaxedDotMode;
  /**
   * With `relaxed`, a -w16 layer split by wideRelaxedBlocks(): `blocks` (its result) run on the
   * i16 kernels with the int16 layout at buffers.weights, every other 4-channel block on the
   * relaxed kernels with the 2x4c16 blocks at `weights` (wideRelaxedWeights() holds both, the
   * 2x4c16 ones plan.bytes after the start, then a kind byte per block, which an im2col layer's
   * kernel reads to take both kinds in one call). Bit-identical to the i16 kernels alone.
   */
  wideRelaxed?: { blocks: readonly number[]; weights: number };
  /**
   * With `relaxed`, a depthwise layer on qu8_dwconv_relaxed_c16x4: `weights` holds
   * packDwconvRelaxed()'s c16x4 form for this mode; buffers.weights keeps the qu8-dwconv-c16 blob
   * (read for blocks left to the i16 steps, the last taps % 4 taps, the last C % 8 channels and the
   * multipliers). dwconvRelaxedEligible() layers only; bit-identical to qu8_dwconv_c16.
   */
  dwconvRelaxed?: { weights: number };
  /**
   * With `relaxed`, a GEMM layer on qu8_gemm_relaxed_4x8c4 (gemmC4Eligible() layers): `weights`
   * holds packGemmRelaxed4x8c4()'s layout for this mode, `rowSums` and `corrections` its flags
   * (channel offsets, or sparse corrections of the weights outside [-127, 127]). buffers.weights
   * is not read. Bit-identical to the i16 kernels.
   */
  gemmC4?: { weights: number; rowSums: boolean; corrections?: boolean };
}

/**
 * Builds what the layer needs once (indirection buffer, zero row) and returns the kernel calls
 * that compute it, split into at most `parts` independent pieces (default 1) that may run in any
 * order or concurrently (threads): row ranges (pixel pairs) or, when the weights are the larger
 * operand to re-read, ranges of 4-channel blocks (group 1). Part p of an im2col convolution uses
 * the scratch at `buffers.scratch + p * plan.scratchBytes`.
 */
export function conv2dCalls(k: Kernels, a: Conv2dArgs, parts = 1): KernelCall[] {
  const s = a.shape;
  const plan = planConv2d(s, a.packing);
  const { group } = norm(s);
  const r = requantArgs(a);
  const b = a.buffers;
  const esize = r.outF32 ? 4 : r.out16 ? 2 : 1;
  const outStride = s.outChannels * esize;
  const res = a.residual;
  const resType = res?.dtype ?? 'uint8';
  if (res && (!(res.input > 0) || !Number.isInteger(res.zeroPoint) || res.zeroPoint < 0 || res.zeroPoint > quantMax(resType))) {
    throw new EdgeqError('INTERNAL', `bad fused residual ${JSON.stringify(res)} (needs a non-zero address and a zero point in range)`);
  }
  const rp = res ? res.input : 0, zr = res ? res.zeroPoint : 0, mr = res ? Math.fround(res.multiplier) : 0;
  const inBytes = elementBytes(s.inputType ?? 'uint8'), resBytes = elementBytes(resType);
  // FLAG_W16: the -w16 packings' int16 weights (the i16 kernels: relaxedEligible and winogradEligible refuse them; a split layer's relaxed calls drop it).
  const flags = (inBytes === 2 ? FLAG_IN16 : 0) | r.out16 | (resBytes === 2 ? FLAG_RES16 : 0) | (plan.wide ? FLAG_W16 : 0) | r.act;
  if (a.winograd) {
    if (!winogradEligible(s, a.packing, { outputType: a.outputType, residual: a.residual })) {
      throw new EdgeqError('INTERNAL', `convolution ${JSON.stringify(s)} cannot run as Winograd F(2x2, 3x3)`);
    }
    if (b.scratch === undefined) throw new EdgeqError('INTERNAL', 'a Winograd convolution needs scratch');
    return winogradCalls(s, plan.outH, plan.outW, { input: b.input, output: b.output, weights: a.winograd.weights, scratch: b.scratch },
      a.inputZeroPoint, r, parts, a.reference);
  }
  if (plan.strategy !== 'gemm') {
    if (b.indirection === undefined) throw new EdgeqError('INTERNAL', 'convolution needs an indirection buffer');
    let zero = b.zero ?? 0;
    if (plan.zeroBytes > 0) {
      if (b.zero === undefined) throw new EdgeqError('INTERNAL', 'convolution needs a zero row');
      if (inBytes === 2) new Uint16Array(k.memory.buffer, b.zero, plan.zeroBytes / 2).fill(a.inputZeroPoint);
      else new Uint8Array(k.memory.buffer, b.zero, plan.zeroBytes).fill(a.inputZeroPoint);
      zero = b.zero;
    }
    buildIndirection(k.memory, b.indirection, s, b.input, zero);
  }
  if (plan.strategy === 'im2col') {
    if (b.scratch === undefined) throw new EdgeqError('INTERNAL', 'convolution needs an im2col scratch buffer');
    if (k.im2colRows !== IM2COL_ROWS) throw new EdgeqError('INTERNAL', 'kernel module im2col block size mismatch');
  }
  const hybrid = a.wideRelaxed;
  if (hybrid && !(a.relaxed && plan.wide && plan.strategy !== 'dwconv' && group === 1 && (s.inputType ?? 'uint8') === 'uint8')) {
    throw new EdgeqError('INTERNAL', `convolution ${JSON.stringify(s)} cannot run split between the relaxed and i16 kernels`);
  }
  if (a.relaxed && !hybrid && !a.gemmC4 && !(a.dwconvRelaxed ? dwconvRelaxedEligible(plan, s.inputType) : relaxedEligible(plan, s.inputType))) {
    throw new EdgeqError('INTERNAL', `convolution ${JSON.stringify(s)} cannot run on the relaxed kernels`);
  }
  if (a.dwconvRelaxed && !a.relaxed) throw new EdgeqError('INTERNAL', 'relaxed depthwise weights without a relaxed lowering');
  const { coutPerGroup: N, KB, cinPerGroup, blockBytes } = plan;
  if (plan.strategy === 'dwconv') return dwconvCalls(a, plan, r, flags, parts);
  if (a.gemmC4) {
    if (!a.relaxed || !gemmC4Eligible(plan, s.inputType, r.outF32 ? 'float32' : r.out16 ? 'uint12' : 'uint8', !!res)) {
      throw new EdgeqError('INTERNAL', `convolution ${JSON.stringify(s)} cannot run on qu8_gemm_relaxed_4x8c4`);
    }
    return gemmC4Calls(a, plan, r, parts);
  }
  const split = splitConv(plan, group, parts);
  const ind = b.indirection ?? 0;
  const taps = plan.kernelTaps;
  const calls: KernelCall[] = [];
  // A gathered strided 1x1 (one tap, the plain packing) split by channels runs its parts as IGEMM
  // reading in place, so that no row is gathered once per part.
  // The relaxed kernels have no im2col form: a gathered 1x1 runs as a one-tap IGEMM there too.
  const strategy = plan.strategy === 'im2col' && !plan.im2col && (a.relaxed || (split.length > 1 && split[0]![1] === plan.M)) ? 'igemm' : plan.strategy;
  // The relaxed calls of a split -w16 layer read the int8 2x4c16 blocks (no FLAG_W16).
  const rflags = (hybrid ? flags & ~FLAG_W16 : flags) | (a.relaxed === 's8xs8' ? RELAXED_SHIFTED : 0);
  const rBlockBytes = hybrid ? plan.storedBlockBytes : blockBytes;
  // A split -w16 layer: each part cut at its wide blocks into runs of one kind (an im2col layer's
  // kernel takes the runs itself, gathering each row once).
  const pieces: [number, number, number, number, number, boolean][] = [];
  split.forEach(([m0, m1, nb0, nb1], p) => {
    if (!hybrid || strategy === 'im2col') { pieces.push([m0, m1, nb0, nb1, p, !!a.relaxed]); return; }
    const wide = new Set(hybrid.blocks);
    for (let lo = nb0; lo < nb1;) {
      const isWide = wide.has(lo);
      let hi = lo + 1;
      while (hi < nb1 && wide.has(hi) === isWide) hi++;
      pieces.push([m0, m1, lo, hi, p, !isWide]);
      lo = hi;
    }
  });
  pieces.forEach(([m0, m1, nb0, nb1, p, relaxed]) => {
    const c0 = nb0 * 4, n = Math.min(N, nb1 * 4) - c0;
    const w = hybrid && relaxed ? hybrid.weights + nb0 * rBlockBytes : b.weights + nb0 * blockBytes;
    const out = b.output + m0 * outStride + c0 * esize;
    // The residual has the output's layout with its own element size.
    const rq = {
      zp: r.zp, fmin: r.fmin, fmax: r.fmax, alpha: r.alpha, beta: r.beta, outF32: r.outF32,
      res: rp ? rp + (m0 * s.outChannels + c0) * resBytes : 0, zr, mr, flags,
    };
    const rows = m1 - m0;
    switch (strategy) {
      case 'gemm':
        if (relaxed) {
          calls.push(kernelCall(a.reference ? 'qu8_gemm_relaxed_2x4c16_ref' : 'qu8_gemm_relaxed_2x4c16', {
            M: rows, N: n, KB, groups: group, a: b.input + m0 * s.inChannels * inBytes, aStride: s.inChannels * inBytes,
            aGroupStride: cinPerGroup * inBytes, w, out, outStride, outGroupStride: N, ...rq, flags: rflags,
          }));
          break;
        }
        calls.push(kernelCall(a.reference ? 'qu8_gemm_ref' : 'qu8_gemm', {
          M: rows, N: n, KB, groups: group, a: b.input + m0 * s.inChannels * inBytes, aStride: s.inChannels * inBytes,
          aGroupStride: cinPerGroup * inBytes, w, out, outStride, outGroupStride: N, ...rq,
        }));
        break;
      case 'igemm':
        if (relaxed) {
          calls.push(kernelCall(a.reference ? 'qu8_igemm_relaxed_2x4c16_ref' : 'qu8_igemm_relaxed_2x4c16', {
            M: rows, N: n, KB, taps, groups: group, ind: ind + m0 * taps * 4, aGroupStride: cinPerGroup * inBytes,
            w, out, outStride, outGroupStride: N, ...rq, flags: rflags,
          }));
          break;
        }
        calls.push(kernelCall(a.reference ? 'qu8_igemm_ref' : 'qu8_igemm', {
          M: rows, N: n, KB, taps, groups: group, ind: ind + m0 * taps * 4, aGroupStride: cinPerGroup * inBytes,
          w, out, outStride, outGroupStride: N, ...rq,
        }));
        break;
      case 'im2col':
        if (relaxed) {
          // A split layer: the 2x4c16 blocks at wideRelaxed.weights, the int16 ones at buffers.weights,
          // one kind byte per block after the 2x4c16 blocks (wideRelaxedWeights).
          calls.push(kernelCall(a.reference ? 'qu8_conv_im2col_relaxed_2x4c16_ref' : 'qu8_conv_im2col_relaxed_2x4c16', {
            M: rows, N: n, KB, taps, cin: s.inChannels, ind: ind + m0 * taps * 4, scratch: b.scratch! + p * plan.scratchBytes,
            w, w16: hybrid ? b.weights + nb0 * blockBytes : 0, kinds: hybrid ? hybrid.weights + plan.storedBytes + nb0 : 0,
            out, outStride, ...rq, flags: rflags,
          }));
          break;
        }
        calls.push(kernelCall(a.reference ? 'qu8_conv_im2col_ref' : 'qu8_conv_im2col', {
          M: rows, N: n, KB, taps, cin: s.inChannels, ind: ind + m0 * taps * 4, scratch: b.scratch! + p * plan.scratchBytes,
          w, out, outStride, ...rq,
        }));
        break;
    }
  });
  return calls;
}

/**
 * qu8_gemm_relaxed_4x8c4 (or, for the flattened im2col layout, qu8_conv_im2col_relaxed_4x8c4) calls
 * of a layer, split by row pairs or by pairs of 4-channel blocks (the layout's 8-channel blocks).
 */
function gemmC4Calls(a: Conv2dArgs, plan: Conv2dPlan, r: ReturnType<typeof requantArgs>, parts: number): KernelCall[] {
  const s = a.shape, b = a.buffers, K = c4K(plan), N = s.outChannels, c4 = a.gemmC4!;
  const flags = r.act | (a.relaxed === 's8xs8' ? C4_FLAGS.SHIFTED : 0) | (c4.rowSums ? C4_FLAGS.ROW_SUMS : 0) | (c4.corrections ? C4_FLAGS.CORRECTIONS : 0);
  const rq = { zp: r.zp, fmin: r.fmin, fmax: r.fmax, alpha: r.alpha, beta: r.beta, flags };
  return splitConv(plan, 1, parts, 2).map(([m0, m1, nb0, nb1], p) => {
    const common = { M: m1 - m0, N: Math.min(N, nb1 * 4) - nb0 * 4, w: c4.weights + (nb0 / 2) * c4BlockBytes(K), out: b.output + m0 * N + nb0 * 4, outStride: N, ...rq };
    if (plan.strategy === 'im2col') {
      return kernelCall(a.reference ? 'qu8_conv_im2col_relaxed_4x8c4_ref' : 'qu8_conv_im2col_relaxed_4x8c4', {
        ...common, KB: plan.KB, taps: plan.kernelTaps, kw: s.kernel[1], cin: s.inChannels, ind: b.indirection! + m0 * plan.kernelTaps * 4, scratch: b.scratch! + p * plan.scratchBytes,
      });
    }
    return kernelCall(a.reference ? 'qu8_gemm_relaxed_4x8c4_ref' : 'qu8_gemm_relaxed_4x8c4', { ...common, K, a: b.input + m0 * K, aStride: K });
  });
}

/** qu8_dwconv_c16 calls of a depthwise convolution (indirection buffer already built), split by pixel rows. */
function dwconvCalls(a: Conv2dArgs, plan: Conv2dPlan, r: ReturnType<typeof requantArgs>, gemmFlags: number, parts: number): KernelCall[] {
  const s = a.shape, b = a.buffers;
  const esize = r.outF32 ? 4 : r.out16 ? 2 : 1;
  const outStride = s.inChannels * esize;
  const res = a.residual;
  const resBytes = elementBytes(res?.dtype ?? 'uint8');
  // The GEMM flag bits and the depthwise ones name the same operands; map them by name.
  // The activation code field has the same bits in both groups.
  const flags = (gemmFlags & FLAG_IN16 ? DWCONV_FLAGS.IN16 : 0) | (gemmFlags & FLAG_OUT16 ? DWCONV_FLAGS.OUT16 : 0) | (gemmFlags & FLAG_RES16 ? DWCONV_FLAGS.RES16 : 0) | r.act;
  const taps = plan.kernelTaps;
  return splitConv(plan, s.inChannels, parts).map(([m0, m1]) => {
    const args = {
      M: m1 - m0, C: s.inChannels, taps, ind: b.indirection! + m0 * taps * 4, w: b.weights,
      out: b.output + m0 * outStride, outStride, zp: r.zp, fmin: r.fmin, fmax: r.fmax, alpha: r.alpha, beta: r.beta, outF32: r.outF32,
      res: res ? res.input + m0 * s.inChannels * resBytes : 0, zr: res ? res.zeroPoint : 0, mr: res ? Math.fround(res.multiplier) : 0, flags,
    };
    if (!a.dwconvRelaxed) return kernelCall(a.reference ? 'qu8_dwconv_c16_ref' : 'qu8_dwconv_c16', args);
    return kernelCall(a.reference ? 'qu8_dwconv_relaxed_c16x4_ref' : 'qu8_dwconv_relaxed_c16x4', {
      ...args, wr: a.dwconvRelaxed.weights, flags: flags | (a.relaxed === 's8xs8' ? DWCONV_FLAGS.SHIFTED : 0),
    });
  });
}

/**
 * How a convolution splits into parts: [m0, m1, nb0, nb1] (pixel rows m0..m1, 4-channel blocks
 * nb0..nb1). Rows (even boundaries, the tile holds 2 pixels) unless re-reading the weights once
 * per part costs more than re-reading the input once per part and there are enough channel
 * blocks (group 1 only). A part gets at least ~64K MACs; small layers stay whole. Channel ranges
 * start on multiples of the largest of 16, 8, 4, 2, 1 blocks that still leaves max(2, ceil(parts / 8))
 * ranges (16 blocks: 64 output bytes, so parts write no common cache line), and never below
 * `blockUnit` blocks (2 for the 4x8c4 layout's 8-channel blocks).
 */
export function splitConv(plan: Conv2dPlan, group: number, parts: number, blockUnit = 1): [number, number, number, number][] {
  const { M, nBlocks, KB, kernelTaps } = plan;
  const kBytes = KB * 8 * (plan.im2col ? 1 : kernelTaps);
  const macs = plan.depthwise ? M * group * kernelTaps : M * nBlocks * 4 * kBytes * group;
  const p = Math.max(1, Math.min(parts, Math.floor(macs / 65536)));
  if (p === 1) return [[0, M, 0, nBlocks]];
  const weightBytes = nBlocks * plan.blockBytes;
  const inputBytes = M * kBytes;
  const byChannels = group === 1 && nBlocks >= p && (weightBytes > inputBytes || M < 8 * p);
  const out: [number, number, number, number][] = [];
  if (byChannels) {
    const want = Math.max(2, Math.ceil(p / 8));
    const unit = [16, 8, 4, 2, 1].find((u) => u <= blockUnit || Math.floor(nBlocks / u) >= want)!;
    const units = Math.ceil(nBlocks / unit), q = Math.min(p, Math.floor(nBlocks / unit));
    for (let i = 0; i < q; i++) {
      const a = Math.min(nBlocks, unit * Math.floor((units * i) / q)), b = i === q - 1 ? nBlocks : Math.min(nBlocks, unit * Math.floor((units * (i + 1)) / q));
      if (b > a) out.push([0, M, a, b]);
    }
  } else {
    const pairs = Math.ceil(M / 2);
    for (let i = 0; i < p; i++) {
      const a = Math.min(M, 2 * Math.floor((pairs * i) / p)), b = Math.min(M, 2 * Math.floor((pairs * (i + 1)) / p));
      if (b > a) out.push([a, b, 0, nBlocks]);
    }
  }
  return out;
}

/** Runs a list of kernel calls in order. */
export function runCalls(k: Kernels, calls: readonly KernelCall[]): void {
  for (const c of calls) invokeKernelCall(k.exports, c);
}

/**
 * Builds what the layer needs once (indirection buffer, zero row) and returns the function that
 * runs it whole (one part). The returned function only calls into wasm: cheap to call every inference.
 */
export function prepareConv2d(k: Kernels, a: Conv2dArgs): () => void {
  // One call, or several for a -w16 layer split between the relaxed and i16 kernels.
  const bound = conv2dCalls(k, a, 1).map((c) => bindKernelCall(k.exports, c));
  return bound.length === 1 ? bound[0]! : () => { for (const f of bound) f(); };
}
