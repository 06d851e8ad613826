// The .edgeq `conv` op: 2-D convolution (and fully connected layers), optional fused residual,
// through qu8_gemm / qu8_igemm / qu8_conv_im2col (their relaxed forms, and the 4x8c4 ones for 1x1 GEMMs and RGB stems), qu8_dwconv_c16 (packing qu8-dwconv-c16), or exact Winograd F(2x2, 3x3) (qu8_wino3x3) as
// its fast variant.
import { EdgeqError } from '../errors.js';
import { isQuantized, type QConv, type QTensor, type QuantDtype } from '../format/qmodel.js';
import { conv2dCalls, planConv2d, type Conv2dShape } from '../kernels/conv.js';
import { WIDE_ENTRY_BYTES, WIDE_WEIGHT_MAX, expandDwconvWeights, expandWideWeights, packGeometry } from '../kernels/packing.js';
import { dwconvRelaxedEligible, packDwconvRelaxed, relaxedEligible, repackRelaxed2x4c16, wideRelaxedBlocks, wideRelaxedWeights, type RelaxedDotMode } from '../kernels/relaxed.js';
import { gemmC4Eligible, gemmC4Preferred, packGemmRelaxed4x8c4, type GemmC4Weights } from '../kernels/relaxed-c4.js';
import { packWinogradFromDirect, planWinograd, winogradEligible, winogradFits12Bit, winogradPreferred } from '../kernels/winograd.js';
import { tensorBytes, type OpLayout, type OpModule, type OpPlanContext } from './op-module.js';
import { kernelActivation, outputClamp } from './activation.js';

/** The depthwise kernel's multiply-accumulates per ns on one thread (OpCost.macsPerNs; docs/tuning-log.md, "Threads per op"). */
export const DWCONV_MACS_PER_NS = 12;

/** The kernels' shape of a conv op over input tensor x at `batch` images. */
export function convShape(op: QConv, x: QTensor, batch: number): Conv2dShape {
  return {
    batch, inH: x.shape[1], inW: x.shape[2], inChannels: op.inChannels, outChannels: op.outChannels,
    kernel: op.kernel, stride: op.stride, pads: op.pads, dilation: op.dilation, group: op.group,
    inputType: x.dtype === 'uint12' ? 'uint12' : 'uint8',
  };
}

/** Largest |requantization multiplier| accepted: far above real ones (~1e-6..1e2), small enough that no f32 result overflows. */
const MAX_MULTIPLIER = 2 ** 32;

const INDIRECTION = 'indirection', ZERO_ROW = 'zero row', WINOGRAD_WEIGHTS = 'winograd weights', WIDE_WEIGHTS = 'int16 weights', DWCONV_RELAXED_WEIGHTS = 'relaxed depthwise weights', DWCONV_WEIGHTS = 'int16 depthwise weights', C4_WEIGHTS = 'relaxed 4x8c4 weights';

/**
 * True when every conv op reading `op`'s weight section could run relaxed too (a section two ops
 * share is repacked once, so an op left on the i16 kernels must not share it).
 */
function sharersEligible(op: QConv, ctx: OpPlanContext): boolean {
  const T = ctx.model.tensors;
  return ctx.model.ops.every((o) => o === op || o.op !== 'conv' || o.weights !== op.weights
    || relaxedEligible(planConv2d(convShape(o, T[o.input], ctx.batch), o.packing), T[o.input].dtype === 'uint12' ? 'uint12' : 'uint8', ctx.model.blobs[o.weights]));
}

/** Weight sections already repacked to 2x4c16 in a plan's memory (a section two ops share is repacked once). */
const repacked = new WeakMap<WebAssembly.Memory, Set<number>>();

/**
 * Weights derived from a model blob (another layout of it), built once per blob and `key` (the
 * layout and, for relaxed forms, the lowering): two ops may share a section, and every plan
 * (batch size) of a session lays the same blob out again.
 */
const derivedCache = new WeakMap<Uint8Array, Map<string, unknown>>();

function derivedOnce<T>(blob: Uint8Array, key: string, build: () => T): T {
  let byKey = derivedCache.get(blob);
  if (!byKey) derivedCache.set(blob, (byKey = new Map()));
  if (!byKey.has(key)) byKey.set(key, build());
  return byKey.get(key) as T;
}

/** The kernels' int16 blocks of a qu8-dwconv-c16-w8 section (expandDwconvWeights), once per section. */
function dwconvBlob(blob: Uint8Array, g: ReturnType<typeof packGeometry>): Uint8Array {
  return derivedOnce(blob, `dwconv int16 ${g.nBlocks} ${g.taps}`, () => expandDwconvWeights(blob, g));
}

/** The kernels' int16 layout of a -w16 section (expandWideWeights). */
function wideBlob(blob: Uint8Array, g: ReturnType<typeof packGeometry>): Uint8Array {
  return derivedOnce(blob, `int16 ${g.groups} ${g.nBlocks} ${g.taps} ${g.KB}`, () => expandWideWeights(blob, g));
}

/** A split -w16 layer's weights (wideRelaxedWeights) for one relaxed lowering. */
function wideRelaxedBlob(blob: Uint8Array, plan: ReturnType<typeof planConv2d>, mode: RelaxedDotMode, blocks: readonly number[]): Uint8Array {
  return derivedOnce(blob, `split ${plan.groups} ${plan.nBlocks} ${plan.taps} ${plan.KB} ${mode}`, () => wideRelaxedWeights(blob, plan, mode, blocks));
}

/** The wide blocks of a -w16 layer that runs split between the relaxed and i16 kernels (wideRelaxedBlocks), or undefined. */
function splitWide(op: QConv, ctx: OpPlanContext, plan: ReturnType<typeof planConv2d>, fastVariant: unknown): number[] | undefined {
  if (!ctx.relaxedDot || fastVariant || !plan.wide) return undefined;
  return wideRelaxedBlocks(plan, ctx.model.tensors[op.input].dtype, ctx.model.blobs[op.weights]);
}

/**
 * A GEMM or flattened im2col layer's qu8-gemm-4x8c4 form (packGemmRelaxed4x8c4, from the int8 blob
 * or a -w16 section's int16 layout) when the 4x8c4 kernels run it (eligible and preferred); undefined
 * when the layer or its weights do not fit, or the 2x4c16 kernels are faster on it.
 */
function gemmC4Form(op: QConv, ctx: OpPlanContext, plan: ReturnType<typeof planConv2d>, fastVariant: unknown): GemmC4Weights | undefined {
  const T = ctx.model.tensors, mode = ctx.relaxedDot;
  if (!mode || fastVariant || !gemmC4Eligible(plan, T[op.input].dtype, T[op.output].dtype, op.residual !== undefined) || !gemmC4Preferred(plan)) return undefined;
  const blob = ctx.model.blobs[op.weights];
  return derivedOnce(blob, `gemm-4x8c4 ${plan.nBlocks} ${plan.KB} ${mode}`, () => packGemmRelaxed4x8c4(plan.wide ? wideBlob(blob, plan) : blob, plan, mode));
}

/** A depthwise blob's relaxed form (packDwconvRelaxed) for one relaxed lowering. */
function dwconvRelaxedBlob(blob: Uint8Array, taps: number, mode: RelaxedDotMode): Uint8Array {
  return derivedOnce(blob, `dwconv-c16x4 ${taps} ${mode}`, () => packDwconvRelaxed(blob, taps, mode));
}

/** The relaxed lowering a depthwise op runs with (qu8_dwconv_relaxed_c16x4), or undefined (qu8_dwconv_c16). */
function dwconvRelaxedMode(ctx: OpPlanContext, plan: ReturnType<typeof planConv2d>, inputType: string): RelaxedDotMode | undefined {
  return ctx.relaxedDot && dwconvRelaxedEligible(plan, inputType) ? ctx.relaxedDot : undefined;
}

/** Winograd-transformed weights (packWinogradFromDirect). */
function winogradBlob(blob: Uint8Array, outChannels: number, inChannels: number): Uint8Array {
  return derivedOnce(blob, 'winograd', () => packWinogradFromDirect(blob, outChannels, inChannels));
}

/** An int16 weight at byte `at` of the op's section must lie in [-WIDE_WEIGHT_MAX, WIDE_WEIGHT_MAX]. */
function checkWide(op: QConv, view: DataView, at: number): void {
  const v = view.getInt16(at, true);
  if (v < -WIDE_WEIGHT_MAX || v > WIDE_WEIGHT_MAX) {
    throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}, byte ${at}: int16 weight ${v} is outside [-${WIDE_WEIGHT_MAX}, ${WIDE_WEIGHT_MAX}]`);
  }
}

export const conv: OpModule<QConv> = {
  kind: 'conv',

  reads: (op) => (op.residual !== undefined ? [op.input, op.residual] : [op.input]),
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail, isInt } = v;
    const x = v.read(op.input, `${what} input`);
    const y = v.write(op.output, `${what} output`);
    const [kh, kw] = v.pair(op.kernel, `${what} kernel`, 1);
    const [sh, sw] = v.pair(op.stride, `${what} stride`, 1);
    const [dh, dw] = v.pair(op.dilation, `${what} dilation`, 1);
    const [pt, pl, pb, pr] = v.quad(op.pads, `${what} pads`);
    if (!isInt(op.group, 1) || !isInt(op.inChannels, 1) || !isInt(op.outChannels, 1)) fail(`${what}: group/inChannels/outChannels must be positive integers`);
    if (op.inChannels % op.group !== 0 || op.outChannels % op.group !== 0) fail(`${what}: channels ${op.inChannels}->${op.outChannels} not divisible by group ${op.group}`);
    if (!isQuantized(x.dtype)) fail(`${what}: input tensor ${op.input} (${x.name}) must be uint8 or uint12, not ${x.dtype}`);
    if (x.shape[3] !== op.inChannels) fail(`${what}: input has ${x.shape[3]} channels, op expects ${op.inChannels}`);
    const oh = v.outDim(x.shape[1], kh, sh, dh, pt, pb);
    const ow = v.outDim(x.shape[2], kw, sw, dw, pl, pr);
    if (y.shape[0] !== x.shape[0] || y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== op.outChannels) {
      fail(`${what}: output shape ${JSON.stringify(y.shape)} should be [${x.shape[0]},${oh},${ow},${op.outChannels}]`);
    }
    v.activation(op.activation, what);
    if (!isInt(op.weights) || op.weights >= v.model.blobs.length) fail(`${what}: weights section ${op.weights} does not exist (${v.model.blobs.length} sections)`);
    if (typeof op.packing !== 'string') fail(`${what}: missing packing name`);
    if (op.residual !== undefined) {
      const r = v.read(op.residual, `${what} residual`);
      if (!r.shape.every((d, k) => d === y.shape[k])) fail(`${what}: residual shape ${JSON.stringify(r.shape)} must equal the output shape ${JSON.stringify(y.shape)}`);
      if (!isQuantized(r.dtype)) fail(`${what}: a fused residual needs a uint8/uint12 residual tensor, not ${r.dtype}`);
    }
  },

  /**
   * The blob's size against the size its layout needs (under 2^31, the kernels' i32 offsets), its
   * requantization multipliers (the last 16 bytes of every block, 64 for qu8-dwconv-c16) finite and at most 2^32 in
   * magnitude (every output stays finite), and its padded K lanes zero: the kernels read up to 7
   * bytes past a pixel's channels (the next pixel, another tensor, stale scratch) and only zero
   * weights make that harmless. The int16 weights (-w16 packings, qu8-dwconv-c16) must lie in
   * [-255, 255], the range the kernels' i16 products are stated for.
   */
  checkWeights(op, model) {
    let g: ReturnType<typeof packGeometry>;
    try {
      g = packGeometry({ outChannels: op.outChannels, inChannels: op.inChannels, kernel: op.kernel, group: op.group }, op.packing);
    } catch (err) {
      throw new EdgeqError('BAD_MODEL', `op "${op.name}": ${(err as Error).message}`, { cause: err });
    }
    const blob = model.blobs[op.weights];
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    // A -w16 or qu8-dwconv-c16-w8 section: the int8 blocks, a u32 outlier count, the outliers (WIDE_ENTRY_BYTES each).
    const listed = g.wide || g.compact;
    const count = listed && blob.length >= g.storedBytes + 4 ? view.getUint32(g.storedBytes, true) : 0;
    const want = listed ? g.storedBytes + 4 + count * WIDE_ENTRY_BYTES : g.bytes;
    if (blob.length !== want || g.bytes >= 2 ** 31) {
      throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights} has ${blob.length} bytes, packing ${op.packing} needs ${want}${listed ? ` (${count} outliers)` : ''}`);
    }
    if (g.depthwise) {
      // qu8-dwconv-c16-w8: each outlier the position of a weight of the int8 blocks (not a bias or
      // multiplier byte) and a value in [-255, 255]; then the blocks as the kernels read them.
      for (let i = 0; i < count; i++) {
        const e = g.storedBytes + 4 + i * WIDE_ENTRY_BYTES;
        const at = view.getUint32(e, true), v = view.getInt32(e + 4, true), inBlock = at % g.storedBlockBytes;
        const what = `op "${op.name}": weights section ${op.weights}, outlier ${i} (byte ${e})`;
        if (!(at < g.storedBytes && inBlock >= 64 && inBlock < g.storedBlockBytes - 64)) throw new EdgeqError('BAD_MODEL', `${what}: position ${at} is not a weight of the int8 blocks`);
        if (!(v >= -WIDE_WEIGHT_MAX && v <= WIDE_WEIGHT_MAX)) throw new EdgeqError('BAD_MODEL', `${what}: value ${v} is outside [-${WIDE_WEIGHT_MAX}, ${WIDE_WEIGHT_MAX}]`);
      }
      const blocks = g.compact ? dwconvBlob(blob, g) : blob;
      const bv = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
      const where = g.compact ? ' (expanded to int16)' : '';
      // qu8-dwconv-c16: 16 multipliers at the end of every block. Lanes past the channel count are
      // never read into a stored output (the kernel's tail is per channel): no padding rule.
      for (let base = 0; base < blocks.length; base += g.blockBytes) {
        for (let j = base + g.blockBytes - 64; j < base + g.blockBytes; j += 4) {
          const m = bv.getFloat32(j, true);
          if (!(Math.abs(m) <= MAX_MULTIPLIER)) {
            throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}${where}, byte ${j}: requantization multiplier ${m} is not finite or exceeds 2^32`);
          }
        }
        for (let j = base + 64; j < base + g.blockBytes - 64; j += 2) checkWide(op, bv, j);
      }
      return;
    }
    const kReal = g.im2col ? op.kernel[0] * op.kernel[1] * g.cinPerGroup : g.cinPerGroup, kPadded = g.KB * 8;
    const sbb = g.storedBlockBytes;
    for (let base = 0; base < g.storedBytes; base += sbb) {
      for (let j = base + sbb - 16; j < base + sbb; j += 4) {
        const m = view.getFloat32(j, true);
        if (!(Math.abs(m) <= MAX_MULTIPLIER)) {
          throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}, byte ${j}: requantization multiplier ${m} is not finite or exceeds 2^32`);
        }
      }
      for (let t = 0; t < g.taps && kReal < kPadded; t++) {
        for (let k = t * kPadded + kReal; k < (t + 1) * kPadded; k++) {
          for (let lane = 0; lane < 4; lane++) {
            const at = base + 16 + (k >> 3) * 32 + lane * 8 + (k & 7);
            if (blob[at] !== 0) throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}, byte ${at}: padding weight (tap ${t}, K index ${k % kPadded}) is ${blob[at]}, must be 0`);
          }
        }
      }
    }
    // Each outlier: the position of a real (not padding) weight in the int8 blocks, a value in [-255, 255].
    for (let i = 0; i < count; i++) {
      const e = g.storedBytes + 4 + i * WIDE_ENTRY_BYTES;
      const at = view.getUint32(e, true), v = view.getInt32(e + 4, true);
      const inBlock = at % sbb - 16, k = (inBlock >> 5) * 8 + (inBlock & 7);
      const what = `op "${op.name}": weights section ${op.weights}, outlier ${i} (byte ${e})`;
      if (!(at < g.storedBytes && inBlock >= 0 && inBlock < sbb - 32)) throw new EdgeqError('BAD_MODEL', `${what}: position ${at} is not a weight of the int8 blocks`);
      if (k % kPadded >= kReal) throw new EdgeqError('BAD_MODEL', `${what}: position ${at} is a padding weight (K index ${k % kPadded})`);
      if (!(v >= -WIDE_WEIGHT_MAX && v <= WIDE_WEIGHT_MAX)) throw new EdgeqError('BAD_MODEL', `${what}: value ${v} is outside [-${WIDE_WEIGHT_MAX}, ${WIDE_WEIGHT_MAX}]`);
    }
  },

  /**
   * Winograd F(2x2, 3x3) (bit-exact with the direct kernels) where eligible and preferred (and, for
   * a 12-bit input, provably exact on these weights); growth: the transformed int16 weights (16 per
   * 3x3 kernel) minus the int8 direct blob they replace.
   */
  fastVariant(op, ctx) {
    const T = ctx.model.tensors;
    const shape = convShape(op, T[op.input], ctx.batch);
    const opts = { outputType: T[op.output].dtype, residual: op.residual };
    if (!winogradEligible(shape, op.packing, opts) || !winogradPreferred(shape)) return undefined;
    // The relaxed kernels beat Winograd on every such layer measured (docs/tuning-log.md), with no extra weights.
    if (ctx.relaxedDot && relaxedEligible(planConv2d(shape, op.packing), shape.inputType, ctx.model.blobs[op.weights]) && sharersEligible(op, ctx)) return undefined;
    if (shape.inputType === 'uint12' && !winogradFits12Bit(ctx.model.blobs[op.weights], op.outChannels, op.inChannels)) return undefined;
    return { growth: 32 * op.outChannels * op.inChannels - ctx.model.blobs[op.weights].length };
  },

  /** MACs as the direct kernels run them (K padded to 8, N to 4); bytes: input, output, residual and weights. */
  cost(op, ctx) {
    const T = ctx.model.tensors;
    const plan = planConv2d(convShape(op, T[op.input], ctx.batch), op.packing);
    const kBytes = plan.KB * 8 * (plan.im2col ? 1 : plan.kernelTaps);
    const macs = plan.depthwise ? plan.M * op.group * plan.kernelTaps : plan.M * plan.nBlocks * 4 * kBytes * op.group;
    const bytes = tensorBytes(T[op.input], ctx.batch) + tensorBytes(T[op.output], ctx.batch)
      + (op.residual === undefined ? 0 : tensorBytes(T[op.residual], ctx.batch)) + ctx.model.blobs[op.weights].length;
    return plan.depthwise ? { macs, bytes, macsPerNs: DWCONV_MACS_PER_NS } : { macs, bytes };
  },

  layout(op, ctx: OpPlanContext, fastVariant): OpLayout {
    const shape = convShape(op, ctx.model.tensors[op.input], ctx.batch);
    const plan = planConv2d(shape, op.packing);
    if (fastVariant) {
      return {
        sections: [], constants: [], fastVariant,
        derived: { name: WINOGRAD_WEIGHTS, bytes: winogradBlob(ctx.model.blobs[op.weights], op.outChannels, op.inChannels) },
        scratchBytes: planWinograd(shape, plan.outH, plan.outW).scratchBytes,
      };
    }
    const constants = [];
    if (plan.indirectionBytes > 0) constants.push({ name: INDIRECTION, size: plan.indirectionBytes });
    if (plan.zeroBytes > 0) constants.push({ name: ZERO_ROW, size: plan.zeroBytes });
    // A GEMM on qu8_gemm_relaxed_4x8c4: only its 4x8c4 form is placed.
    const c4 = gemmC4Form(op, ctx, plan, fastVariant);
    if (c4) return { sections: [], constants, derived: { name: C4_WEIGHTS, bytes: c4.bytes }, scratchBytes: plan.scratchBytes, fastVariant };
    // A -w16 section is expanded to the kernels' int16 layout; the file's section is not copied.
    if (plan.wide) {
      // Split between the relaxed and i16 kernels where the outliers sit in few blocks: both layouts.
      const wideBlocks = splitWide(op, ctx, plan, fastVariant);
      const bytes = wideBlocks ? wideRelaxedBlob(ctx.model.blobs[op.weights], plan, ctx.relaxedDot!, wideBlocks) : wideBlob(ctx.model.blobs[op.weights], plan);
      return { sections: [], constants, derived: { name: WIDE_WEIGHTS, bytes }, scratchBytes: plan.scratchBytes, fastVariant };
    }
    // A depthwise layer on the relaxed kernel: the section as it is, and its c16x4 form beside it.
    // A qu8-dwconv-c16-w8 section is expanded to the int16 blocks, which lead the derived buffer.
    const dwMode = dwconvRelaxedMode(ctx, plan, shape.inputType ?? 'uint8');
    if (plan.compact) {
      const blocks = dwconvBlob(ctx.model.blobs[op.weights], plan);
      let bytes = blocks;
      if (dwMode) {
        const relaxedForm = dwconvRelaxedBlob(blocks, plan.kernelTaps, dwMode);
        bytes = new Uint8Array(blocks.length + relaxedForm.length);
        bytes.set(blocks);
        bytes.set(relaxedForm, blocks.length);
      }
      return { sections: [], constants, derived: { name: DWCONV_WEIGHTS, bytes }, scratchBytes: plan.scratchBytes, fastVariant };
    }
    if (dwMode) {
      const bytes = dwconvRelaxedBlob(ctx.model.blobs[op.weights], plan.kernelTaps, dwMode);
      return { sections: [op.weights], constants, derived: { name: DWCONV_RELAXED_WEIGHTS, bytes }, scratchBytes: plan.scratchBytes, fastVariant };
    }
    return { sections: [op.weights], constants, scratchBytes: plan.scratchBytes, fastVariant };
  },

  prepare(op, layout, ctx) {
    const T = ctx.model.tensors;
    const x = T[op.input], y = T[op.output];
    // ReLU and Clip are the requantization clamp (src/ops/activation.ts).
    const c = outputClamp(op.activation, y);
    const out = y.dtype === 'float32'
      ? { outputType: 'float32' as const, fMin: c.fMin, fMax: c.fMax }
      : { outputType: y.dtype, outputZeroPoint: y.zeroPoint, outMin: c.outMin, outMax: c.outMax };
    // The validator admits only quantized residual tensors.
    const rt = op.residual === undefined ? undefined : T[op.residual];
    const shape = convShape(op, x, ctx.batch);
    const plan = planConv2d(shape, op.packing);
    const c4 = gemmC4Form(op, ctx, plan, layout.fastVariant);
    // Relaxed kernels: the section's 2x4c8 blob becomes 2x4c16 in place, once (no second copy).
    const wideBlocks = c4 ? undefined : splitWide(op, ctx, plan, layout.fastVariant);
    const dwMode = dwconvRelaxedMode(ctx, plan, shape.inputType ?? 'uint8');
    const relaxed = c4 ? ctx.relaxedDot : dwMode ?? (ctx.relaxedDot && !layout.fastVariant && (wideBlocks || relaxedEligible(plan, shape.inputType, ctx.model.blobs[op.weights]) && sharersEligible(op, ctx)) ? ctx.relaxedDot : undefined);
    if (relaxed && !wideBlocks && !dwMode && !c4) {
      const memory = ctx.kernels.memory;
      let done = repacked.get(memory);
      if (!done) repacked.set(memory, (done = new Set()));
      const at = ctx.section(op.weights);
      if (!done.has(at)) {
        repackRelaxed2x4c16(new Uint8Array(memory.buffer), at, plan.groups * plan.nBlocks, plan.blockBytes, plan.taps, plan.KB, relaxed);
        done.add(at);
      }
    }
    return conv2dCalls(ctx.kernels, {
      relaxed, wideRelaxed: wideBlocks ? { blocks: wideBlocks, weights: ctx.derived! + plan.bytes } : undefined,
      dwconvRelaxed: dwMode ? { weights: plan.compact ? ctx.derived! + plan.bytes : ctx.derived! } : undefined,
      gemmC4: c4 ? { weights: ctx.derived!, rowSums: c4.rowSums, corrections: c4.corrections } : undefined,
      shape, packing: op.packing, inputZeroPoint: x.zeroPoint,
      alpha: op.activation.kind === 'leakyrelu' ? op.activation.alpha : 1, activation: kernelActivation(op.activation, y), ...out,
      residual: op.residual === undefined || !rt ? undefined
        : { input: ctx.tensor(op.residual), zeroPoint: rt.zeroPoint, multiplier: Math.fround(rt.scale / y.scale), dtype: rt.dtype as QuantDtype },
      buffers: {
        input: ctx.tensor(op.input), output: ctx.tensor(op.output), weights: layout.fastVariant || c4 ? -1 : plan.wide || plan.compact ? ctx.derived! : ctx.section(op.weights), scratch: ctx.scratch,
        indirection: ctx.constants[INDIRECTION], zero: ctx.constants[ZERO_ROW],
      },
      winograd: layout.fastVariant ? { weights: ctx.derived! } : undefined,
    }, ctx.parts);
  },
};
