// The .edgeq `concat` op: channel concatenation of quantized tensors, one qu8_concat call per input
// into its channel slice of the output (rows outStride apart). An input quantized like the output
// is a row copy; any other is requantized (onnxruntime's QLinearConcat arithmetic).
import { isQuantized, quantMax, type QConcat, type QTensor } from '../format/qmodel.js';
import { CONCAT_FLAGS, kernelCall, type KernelCall, type Qu8ConcatArgs } from '../kernels/kernel-api.generated.js';
import { TENSORS_ONLY, type OpModule } from './op-module.js';

/** True when input x is copied as is into y (same dtype, scale and zero point). */
export function concatCopies(x: QTensor, y: QTensor): boolean {
  return x.dtype === y.dtype && Math.fround(x.scale) === Math.fround(y.scale) && x.zeroPoint === y.zeroPoint;
}

/** qu8_concat's arguments: M rows of x's C channels into y's rows (outStride = y's C) at `out`. */
export function concatArgs(M: number, x: QTensor, y: QTensor, inp: number, out: number): Qu8ConcatArgs {
  const zo = y.zeroPoint;
  const flags = (x.dtype === 'uint12' ? CONCAT_FLAGS.IN16 : 0) | (y.dtype === 'uint12' ? CONCAT_FLAGS.OUT16 : 0) | (concatCopies(x, y) ? CONCAT_FLAGS.COPY : 0);
  return {
    M, C: x.shape[3], inp, out, outStride: y.shape[3], zi: x.zeroPoint, si: Math.fround(x.scale), so: Math.fround(y.scale),
    zo, fmin: -zo, fmax: quantMax(y.dtype as 'uint8') - zo, flags,
  };
}

/** Rows a part gets at least. */
const MIN_PART_ROWS = 256;

/** The concatenation as calls: each input's rows, split into at most `parts` ranges. */
export function concatCalls(batch: number, xs: QTensor[], y: QTensor, inputs: number[], out: number, parts: number, reference = false): KernelCall[] {
  const fn = reference ? 'qu8_concat_ref' : 'qu8_concat';
  const rows = batch * y.shape[1] * y.shape[2];
  const eo = y.dtype === 'uint12' ? 2 : 1;
  const p = Math.max(1, Math.min(parts, Math.floor(rows / MIN_PART_ROWS)));
  const calls: KernelCall[] = [];
  let c0 = 0;
  xs.forEach((x, k) => {
    const ei = x.dtype === 'uint12' ? 2 : 1, C = x.shape[3];
    for (let j = 0; j < p; j++) {
      const r0 = Math.floor((rows * j) / p), r1 = Math.floor((rows * (j + 1)) / p);
      if (r1 > r0) calls.push(kernelCall(fn, concatArgs(r1 - r0, x, y, inputs[k]! + r0 * C * ei, out + (r0 * y.shape[3] + c0) * eo)));
    }
    c0 += C;
  });
  return calls;
}

export const concat: OpModule<QConcat> = {
  kind: 'concat',

  reads: (op) => [...op.inputs],
  writes: (op) => [op.output],

  validate(op, v) {
    const { what, fail } = v;
    if (!Array.isArray(op.inputs) || op.inputs.length < 1 || op.inputs.length > 4096) fail(`${what}: inputs must be a list of 1..4096 tensor indices`);
    const xs = op.inputs.map((t, k) => v.read(t, `${what} input ${k}`));
    const y = v.write(op.output, `${what} output`);
    const channels = xs.reduce((s, x) => s + x.shape[3], 0);
    for (const x of xs) {
      if (x.shape[0] !== y.shape[0] || x.shape[1] !== y.shape[1] || x.shape[2] !== y.shape[2]) {
        fail(`${what}: input shape ${JSON.stringify(x.shape)} and output shape ${JSON.stringify(y.shape)} differ outside the channels`);
      }
    }
    if (channels !== y.shape[3]) fail(`${what}: the inputs' ${channels} channels do not make the output's ${y.shape[3]}`);
    if (![...xs, y].every((t) => isQuantized(t.dtype))) fail(`${what}: concat reads and writes uint8/uint12 tensors`);
  },

  layout: () => TENSORS_ONLY,

  prepare(op, _layout, ctx) {
    const T = ctx.model.tensors;
    return concatCalls(ctx.batch, op.inputs.map((t) => T[t]!), T[op.output]!, op.inputs.map((t) => ctx.tensor(t)), ctx.tensor(op.output), ctx.parts);
  },
};
