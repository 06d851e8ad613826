// The .edgeq `softmax` op: softmax over the channels of a float32 tensor (NHWC's last axis), into a
// float32 tensor of the same shape, through f32_softmax (assembly/softmax.ts: exp and sum in f64).
// A classifier's last op, after its float32 head (the quantizer emits it only there).
import type { QSoftmax } from '../format/qmodel.js';
import { kernelCall } from '../kernels/kernel-api.generated.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';

export const softmax: OpModule<QSoftmax> = {
  kind: 'softmax',

  reads: (op) => [op.input],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const x = v.read(op.input, `${what} input`);
    const y = v.write(op.output, `${what} output`);
    if (x.dtype !== 'float32' || y.dtype !== 'float32') fail(`${what}: softmax reads and writes float32 tensors (${x.dtype} -> ${y.dtype})`);
    if (!x.shape.every((d, k) => d === y.shape[k])) fail(`${what}: output shape ${JSON.stringify(y.shape)} must equal the input's ${JSON.stringify(x.shape)}`);
  },

  layout: () => TENSORS_ONLY,

  /** One call over every N x H x W row of C channels. */
  prepare(op, _layout, ctx) {
    const [, H, W, C] = ctx.model.tensors[op.input].shape;
    return [kernelCall('f32_softmax', { rows: ctx.batch * H * W, C, inp: ctx.tensor(op.input), out: ctx.tensor(op.output) })];
  },
};
