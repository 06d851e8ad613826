// The .edgeq `gap` op: global average pool over H x W, quantized -> quantized (requantized, any
// mix of uint8 / uint12) through qu8_gavgpool, or float32 -> float32 through f32_gavgpool. A
// `rounding` other than 'half-even' selects TFLite's integer average (GAVGPOOL_FLAGS.ROUND_*).
import { isQuantized, type QGlobalAvgPool } from '../format/qmodel.js';
import { GAVGPOOL_FLAGS, kernelCall } from '../kernels/kernel-api.generated.js';
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
    const r = op.rounding;
    if (r !== undefined && r !== 'half-even' && r !== 'half-up' && r !== 'half-away-from-128') fail(`${what}: rounding ${JSON.stringify(r)} is not "half-even", "half-up" or "half-away-from-128"`);
    if (r === 'half-up' || r === 'half-away-from-128') {
      if (x.dtype !== 'uint8' || y.dtype !== 'uint8' || x.scale !== y.scale || x.zeroPoint !== y.zeroPoint) {
        fail(`${what}: rounding "${r}" (TFLite's integer average) needs uint8 input and output with one scale and zero point (${x.dtype} ${x.scale} ${x.zeroPoint} -> ${y.dtype} ${y.scale} ${y.zeroPoint})`);
      }
      if (x.shape[1] * x.shape[2] > 65280) fail(`${what}: rounding "${r}" averages at most 65280 pixels (${x.shape[1]}x${x.shape[2]})`);
    }
  },

  layout: () => TENSORS_ONLY,

  /** One call (the pool reads the whole map once). */
  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    const x = T[op.input], y = T[op.output];
    const [, H, W, C] = x.shape;
    const pi = ctx.tensor(op.input), po = ctx.tensor(op.output);
    if (x.dtype === 'float32') return [kernelCall('f32_gavgpool', { N: ctx.batch, HW: H * W, C, inp: pi, out: po })];
    const args = gavgpoolU8Args(ctx.batch, H * W, C, pi, po, x, y);
    if (op.rounding === 'half-up') args.flags |= GAVGPOOL_FLAGS.ROUND_HALF_UP;
    if (op.rounding === 'half-away-from-128') args.flags |= GAVGPOOL_FLAGS.ROUND_HALF_AWAY_128;
    return [kernelCall('qu8_gavgpool', args)];
  },
};
