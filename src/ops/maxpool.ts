// The .edgeq `maxpool` op: max pool over NHWC uint8 or uint12 (quantization passes through),
// through u8_maxpool, split by output rows. ONNX ceil_mode = 1 is stored as floor mode over
// bottom/right pads grown by the overhang (padded positions never win a max).
import { isQuantized, type QMaxPool } from '../format/qmodel.js';
import { maxpoolCalls } from '../kernels/ops.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';
import { validatePoolWindow } from './avg-pool.js';

export const maxpool: OpModule<QMaxPool> = {
  kind: 'maxpool',

  reads: (op) => [op.input],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const x = v.read(op.input, `${what} input`);
    const y = v.write(op.output, `${what} output`);
    validatePoolWindow(op, x, y, v);
    if (!isQuantized(x.dtype) || y.dtype !== x.dtype) fail(`${what}: max pool needs uint8 or uint12 input and output of the same dtype (${x.dtype} -> ${y.dtype})`);
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
