// The .edgeq `maxpool` op: max pool over NHWC uint8 or uint12 (quantization passes through),
// through u8_maxpool, split by output rows.
import { isQuantized, type QMaxPool } from '../format/qmodel.js';
import { maxpoolCalls } from '../kernels/ops.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';

export const maxpool: OpModule<QMaxPool> = {
  kind: 'maxpool',

  reads: (op) => [op.input],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const x = v.read(op.input, `${what} input`);
    const y = v.write(op.output, `${what} output`);
    const [kh, kw] = v.pair(op.kernel, `${what} kernel`, 1);
    const [sh, sw] = v.pair(op.stride, `${what} stride`, 1);
    const [pt, pl, pb, pr] = v.quad(op.pads, `${what} pads`);
    if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) fail(`${what}: pads ${JSON.stringify(op.pads)} must be smaller than the kernel`);
    const oh = v.outDim(x.shape[1], kh, sh, 1, pt, pb);
    const ow = v.outDim(x.shape[2], kw, sw, 1, pl, pr);
    if (!isQuantized(x.dtype) || y.dtype !== x.dtype) fail(`${what}: max pool needs uint8 or uint12 input and output of the same dtype (${x.dtype} -> ${y.dtype})`);
    if (y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== x.shape[3] || y.shape[0] !== x.shape[0]) {
      fail(`${what}: output shape ${JSON.stringify(y.shape)} should be [${x.shape[0]},${oh},${ow},${x.shape[3]}]`);
    }
    if (x.scale !== y.scale || x.zeroPoint !== y.zeroPoint) fail(`${what}: max pool input and output must share scale and zero point`);
  },

  layout: () => TENSORS_ONLY,

  /** Split by output rows, so that threads share a large pool (docs/tuning-log.md). */
  prepare(op, _layout, ctx) {
    const x = ctx.model.tensors[op.input];
    const [, H, W, C] = x.shape;
    return maxpoolCalls({
      batch: ctx.batch, inH: H, inW: W, channels: C, kernel: op.kernel, stride: op.stride, pads: op.pads,
      input: ctx.tensor(op.input), output: ctx.tensor(op.output), dtype: x.dtype,
    }, ctx.parts);
  },
};
