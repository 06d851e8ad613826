// The .edgeq `add` op: elementwise residual add of two quantized tensors (any mix of uint8 /
// uint12) into a quantized or float32 output, optional ReLU or Clip (the epilogue's clamp), through qu8_vadd;
// arithmetic 'xnnpack-q21': XNNPACK's qu8 add fixed point (VADD_FLAGS.Q21).
import { elementBytes, isQuantized, type QAdd } from '../format/qmodel.js';
import { kernelCall, VADD_FLAGS, type KernelCall } from '../kernels/kernel-api.generated.js';
import { roundHalfEven } from '../runtime/io.js';
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
    if (op.arithmetic !== undefined && op.arithmetic !== 'f32' && op.arithmetic !== 'xnnpack-q21') fail(`${what}: arithmetic ${JSON.stringify(op.arithmetic)} is not "f32" or "xnnpack-q21"`);
    if (op.arithmetic === 'xnnpack-q21') {
      if (![a, b, y].every((t) => t.dtype === 'uint8')) fail(`${what}: arithmetic "xnnpack-q21" adds uint8 tensors into uint8 (${a.dtype} + ${b.dtype} -> ${y.dtype})`);
      const ra = Math.fround(a.scale / y.scale), rb = Math.fround(b.scale / y.scale);
      if (!(ra >= 2 ** -10 && ra < 2 ** 8 && rb >= 2 ** -10 && rb < 2 ** 8)) fail(`${what}: arithmetic "xnnpack-q21" needs scale ratios sa / so = ${ra} and sb / so = ${rb} in [2^-10, 2^8)`);
    }
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
    const q21 = op.arithmetic === 'xnnpack-q21' ? xnnpackAddParams(a.scale, b.scale, y.scale) : undefined;
    const arithmetic = (args: ReturnType<typeof vaddArgs>) => !q21 ? args
      : { ...args, ma: q21.am, mb: q21.bm, flags: args.flags | VADD_FLAGS.Q21 | q21.shift * VADD_FLAGS.SHIFT_1 };
    const calls: KernelCall[] = [];
    for (let j = 0; j < p; j++) {
      const lo = Math.floor((n * j) / p / PART_ALIGN) * PART_ALIGN;
      const hi = j === p - 1 ? n : Math.floor((n * (j + 1)) / p / PART_ALIGN) * PART_ALIGN;
      if (hi > lo) calls.push(kernelCall('qu8_vadd', arithmetic(clipped(vaddArgs(hi - lo, pa + lo * ea, pb + lo * eb, po + lo * eo, a, b, y, relu)))));
    }
    return calls;
  },
};

/**
 * XNNPACK's qu8 add parameters (xnn_init_qu8_add_minmax_*_params) for scales sa + sb -> so: the f32
 * ratios ra = sa / so, rb = sb / so (both in [2^-10, 2^8)), shift = 20 - exponent(max(ra, rb)) in
 * [12, 30], multipliers lrintf(r * 2^shift) (the largest in [2^20, 2^21]).
 */
export function xnnpackAddParams(sa: number, sb: number, so: number): { am: number; bm: number; shift: number } {
  const ra = Math.fround(Math.fround(sa) / Math.fround(so)), rb = Math.fround(Math.fround(sb) / Math.fround(so));
  const shift = 20 - ((new Uint32Array(Float32Array.of(Math.max(ra, rb)).buffer)[0]! >>> 23) - 127);
  return { am: roundHalfEven(ra * 2 ** shift), bm: roundHalfEven(rb * 2 ** shift), shift };
}
