// The .edgeq `avgpool` op: average pool over NHWC uint8 or uint12 into a quantized output (its own
// scale and zero point), through qu8_avgpool, split by output rows. The arithmetic is onnxruntime's
// QLinearAveragePool (assembly/avgpool.ts), so the QDQ export runs the same integers; a `rounding`
// other than 'half-even' selects TFLite's integer average (AVGPOOL_FLAGS.ROUND_*).
import { isQuantized, quantMax, type QAvgPool, type QMaxPool, type QTensor } from '../format/qmodel.js';
import { AVGPOOL_FLAGS, kernelCall, type KernelCall, type Qu8AvgpoolArgs } from '../kernels/kernel-api.generated.js';
import { TENSORS_ONLY, type OpModule, type OpValidation } from './op-module.js';

/**
 * Checks a pooling window (max and average pool) and its output shape. Pads: top/left below the
 * kernel (ONNX), bottom/right below kernel + stride - 1 (ONNX's bound plus the largest ceil-mode
 * overhang); every window must hold at least one position of the image.
 */
export function validatePoolWindow(op: QMaxPool | QAvgPool, x: QTensor, y: QTensor, v: OpValidation): void {
  const { what, fail } = v;
  const [kh, kw] = v.pair(op.kernel, `${what} kernel`, 1);
  const [sh, sw] = v.pair(op.stride, `${what} stride`, 1);
  const [pt, pl, pb, pr] = v.quad(op.pads, `${what} pads`);
  if (pt >= kh || pl >= kw || pb >= kh + sh - 1 || pr >= kw + sw - 1) {
    fail(`${what}: pads ${JSON.stringify(op.pads)} must be below the kernel ${JSON.stringify(op.kernel)} (bottom/right: below kernel + stride - 1)`);
  }
  const oh = v.outDim(x.shape[1], kh, sh, 1, pt, pb);
  const ow = v.outDim(x.shape[2], kw, sw, 1, pl, pr);
  if (!(oh >= 1 && ow >= 1) || (oh - 1) * sh - pt >= x.shape[1] || (ow - 1) * sw - pl >= x.shape[2]) {
    fail(`${what}: a window of kernel ${JSON.stringify(op.kernel)}, stride ${JSON.stringify(op.stride)}, pads ${JSON.stringify(op.pads)} lies outside the ${x.shape[1]}x${x.shape[2]} input`);
  }
  if (y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== x.shape[3] || y.shape[0] !== x.shape[0]) {
    fail(`${what}: output shape ${JSON.stringify(y.shape)} should be [${x.shape[0]},${oh},${ow},${x.shape[3]}]`);
  }
}

/** Output height and width of a pool window in floor mode over the (stored) pads. */
export function poolOutputSize(h: number, w: number, op: Pick<QAvgPool, 'kernel' | 'stride' | 'pads'>): [number, number] {
  return [Math.floor((h + op.pads[0] + op.pads[2] - op.kernel[0]) / op.stride[0]) + 1, Math.floor((w + op.pads[1] + op.pads[3] - op.kernel[1]) / op.stride[1]) + 1];
}

/** qu8_avgpool's arguments for the whole pool: x [batch, H, W, C] -> y, at byte offsets inp / out. */
export function avgpoolArgs(op: Pick<QAvgPool, 'kernel' | 'stride' | 'pads' | 'countIncludePad' | 'rounding'>, batch: number, x: QTensor, y: QTensor, inp: number, out: number): Qu8AvgpoolArgs {
  const [, H, W, C] = x.shape;
  const [OH, OW] = poolOutputSize(H, W, op);
  if (!isQuantized(x.dtype) || !isQuantized(y.dtype)) throw new Error(`avgpool: ${x.dtype} -> ${y.dtype} is not quantized`);
  const flags = (x.dtype === 'uint12' ? AVGPOOL_FLAGS.IN16 : 0) | (y.dtype === 'uint12' ? AVGPOOL_FLAGS.OUT16 : 0) | (op.countIncludePad ? AVGPOOL_FLAGS.INCLUDE_PAD : 0)
    | (op.rounding === 'half-up' ? AVGPOOL_FLAGS.ROUND_HALF_UP : op.rounding === 'half-away-from-128' ? AVGPOOL_FLAGS.ROUND_HALF_AWAY_128 : 0);
  return {
    N: batch, H, W, C, OH, OW, KH: op.kernel[0], KW: op.kernel[1], SH: op.stride[0], SW: op.stride[1], padTop: op.pads[0], padLeft: op.pads[1],
    inp, out, zi: x.zeroPoint, si: Math.fround(x.scale), so: Math.fround(y.scale), zo: y.zeroPoint, qmax: quantMax(y.dtype), flags,
  };
}

/**
 * The pool as up to `parts` independent calls: per image, ranges of output rows (the same kernel
 * over a shifted window: out advanced by the first row, padTop reduced by that row's input offset).
 */
export function avgpoolCalls(args: Qu8AvgpoolArgs, parts: number, reference = false): KernelCall[] {
  const fn = reference ? 'qu8_avgpool_ref' : 'qu8_avgpool';
  const inPix = args.C * ((args.flags & AVGPOOL_FLAGS.IN16) ? 2 : 1), outPix = args.C * ((args.flags & AVGPOOL_FLAGS.OUT16) ? 2 : 1);
  const perImage = Math.max(1, Math.min(Math.ceil(parts / args.N), args.OH));
  if (args.N === 1 && perImage === 1) return [kernelCall(fn, args)];
  const calls: KernelCall[] = [];
  for (let n = 0; n < args.N; n++) {
    for (let i = 0; i < perImage; i++) {
      const r0 = Math.floor((args.OH * i) / perImage), r1 = Math.floor((args.OH * (i + 1)) / perImage);
      if (r1 <= r0) continue;
      calls.push(kernelCall(fn, {
        ...args, N: 1, OH: r1 - r0, padTop: args.padTop - r0 * args.SH,
        inp: args.inp + n * args.H * args.W * inPix, out: args.out + (n * args.OH + r0) * args.OW * outPix,
      }));
    }
  }
  return calls;
}

export const avgPool: OpModule<QAvgPool> = {
  kind: 'avgpool',

  reads: (op) => [op.input],
  writes: (op) => [op.output],

  validate(op, v) {
    const x = v.read(op.input, `${v.what} input`);
    const y = v.write(op.output, `${v.what} output`);
    validatePoolWindow(op, x, y, v);
    if (typeof op.countIncludePad !== 'boolean') v.fail(`${v.what}: countIncludePad ${JSON.stringify(op.countIncludePad)} must be a boolean`);
    if (!isQuantized(x.dtype) || !isQuantized(y.dtype)) v.fail(`${v.what}: average pool reads and writes uint8/uint12 tensors (${x.dtype} -> ${y.dtype})`);
    const r = op.rounding;
    if (r !== undefined && r !== 'half-even' && r !== 'half-up' && r !== 'half-away-from-128') v.fail(`${v.what}: rounding ${JSON.stringify(r)} is not "half-even", "half-up" or "half-away-from-128"`);
    if (r === 'half-up' || r === 'half-away-from-128') {
      if (x.dtype !== 'uint8' || y.dtype !== 'uint8' || x.scale !== y.scale || x.zeroPoint !== y.zeroPoint || op.countIncludePad) {
        v.fail(`${v.what}: rounding "${r}" (TFLite's integer average) needs uint8 input and output with one scale and zero point and countIncludePad false`);
      }
      if (op.kernel[0] * op.kernel[1] > 65280) v.fail(`${v.what}: rounding "${r}" averages windows of at most 65280 taps (kernel ${JSON.stringify(op.kernel)})`);
    }
  },

  layout: () => TENSORS_ONLY,

  /** Split by output rows, like the max pool. */
  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    return avgpoolCalls(avgpoolArgs(op, ctx.batch, T[op.input], T[op.output], ctx.tensor(op.input), ctx.tensor(op.output)), ctx.parts);
  },
};
