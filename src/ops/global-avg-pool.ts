// The .edgeq `gap` op: global average pool over H x W, quantized -> quantized (requantized, any
// mix of uint8 / uint12) through qu8_gavgpool, or float32 -> float32 through f32_gavgpool.
import { isQuantized, type QGlobalAvgPool } from '../format/qmodel.js';
import { kernelCall } from '../kernels/kernel-api.generated.js';
import { gavgpoolU8Args } from '../kernels/ops.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';

export const globalAvgPool: OpModule<QGlobalAvgPool> = {
  kind: 'gap',

  reads: (op) => [op.input],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const x = v.read(op.input, `${what} input`);
    const y = v.write(op.output, `${what} output`);
    if (y.shape[1] !== 1 || y.shape[2] !== 1 || y.shape[3] !== x.shape[3] || y.shape[0] !== x.shape[0]) {
      fail(`${what}: output shape ${JSON.stringify(y.shape)} should be [${x.shape[0]},1,1,${x.shape[3]}]`);
    }
    if (isQuantized(x.dtype) !== isQuantized(y.dtype)) fail(`${what}: input and output must both be quantized or both float32 (${x.dtype} -> ${y.dtype})`);
  },

  layout: () => TENSORS_ONLY,

  /** One call (the pool reads the whole map once). */
  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    const x = T[op.input], y = T[op.output];
    const [, H, W, C] = x.shape;
    const pi = ctx.tensor(op.input), po = ctx.tensor(op.output);
    if (x.dtype === 'float32') return [kernelCall('f32_gavgpool', { N: ctx.batch, HW: H * W, C, inp: pi, out: po })];
    return [kernelCall('qu8_gavgpool', gavgpoolU8Args(ctx.batch, H * W, C, pi, po, x, y))];
  },
};
