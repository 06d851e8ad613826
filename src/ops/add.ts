// The .edgeq `add` op: elementwise residual add of two quantized tensors (any mix of uint8 /
// uint12) into a quantized or float32 output, optional ReLU or Clip (the epilogue's clamp), through qu8_vadd.
import { elementBytes, isQuantized, type QAdd } from '../format/qmodel.js';
import { kernelCall, type KernelCall } from '../kernels/kernel-api.generated.js';
import { vaddArgs } from '../kernels/ops.js';
import { TENSORS_ONLY, tensorBytes, type OpModule } from './op-module.js';
import { outputClamp } from './activation.js';

/** Elements a part gets at least; part boundaries fall on multiples of this many elements. */
const MIN_PART_ELEMENTS = 16384, PART_ALIGN = 64;

export const add: OpModule<QAdd> = {
  kind: 'add',

  reads: (op) => [op.a, op.b],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    const a = v.read(op.a, `${what} input a`);
    const b = v.read(op.b, `${what} input b`);
    const y = v.write(op.output, `${what} output`);
    const same = (p: typeof a, q: typeof a) => p.shape.every((d, k) => d === q.shape[k]);
    if (!same(a, b) || !same(a, y)) fail(`${what}: shapes ${JSON.stringify(a.shape)} + ${JSON.stringify(b.shape)} -> ${JSON.stringify(y.shape)} must all be equal`);
    // The inputs are quantized; the output may be float32 (a network's last Add).
    if (![a, b].every((t) => isQuantized(t.dtype))) fail(`${what}: add reads uint8/uint12 tensors (${a.dtype} + ${b.dtype} -> ${y.dtype})`);
    v.activation(op.activation, what);
    if (['hardswish', 'hardsigmoid', 'sigmoid', 'silu'].includes(op.activation.kind)) fail(`${what}: activation ${op.activation.kind} is fused into convolutions only`);
  },

  layout: () => TENSORS_ONLY,

  /** Ranges of elements (the operands may differ in element size), at most ctx.parts. */
  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    const a = T[op.a], b = T[op.b], y = T[op.output];
    const relu = op.activation.kind === 'relu';
    const n = tensorBytes(y, ctx.batch) / elementBytes(y.dtype);
    const pa = ctx.tensor(op.a), pb = ctx.tensor(op.b), po = ctx.tensor(op.output);
    const ea = elementBytes(a.dtype), eb = elementBytes(b.dtype), eo = elementBytes(y.dtype);
    const p = Math.max(1, Math.min(ctx.parts, Math.floor(n / MIN_PART_ELEMENTS)));
    // Clip: the epilogue's clamp at the activation's bounds (src/ops/activation.ts).
    const c = outputClamp(op.activation, y);
    const clipped = (args: ReturnType<typeof vaddArgs>) => op.activation.kind !== 'clip' ? args
      : y.dtype === 'float32' ? { ...args, fmin: c.fMin, fmax: c.fMax } : { ...args, fmin: c.outMin - y.zeroPoint, fmax: c.outMax - y.zeroPoint };
    const calls: KernelCall[] = [];
    for (let j = 0; j < p; j++) {
      const lo = Math.floor((n * j) / p / PART_ALIGN) * PART_ALIGN;
      const hi = j === p - 1 ? n : Math.floor((n * (j + 1)) / p / PART_ALIGN) * PART_ALIGN;
      if (hi > lo) calls.push(kernelCall('qu8_vadd', clipped(vaddArgs(hi - lo, pa + lo * ea, pb + lo * eb, po + lo * eo, a, b, y, relu))));
    }
    return calls;
  },
};
