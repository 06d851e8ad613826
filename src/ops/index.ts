// The op registry: one module per .edgeq op kind (the `op` string of QModel.ops). Adding an op
// kind: its QOp type (src/format/qmodel.ts), its module here, its kernel (assembly/), docs and tests.
import type { QOp } from '../format/qmodel.js';
import { add } from './add.js';
import { avgPool } from './avg-pool.js';
import { concat } from './concat.js';
import { conv } from './conv.js';
import { globalAvgPool } from './global-avg-pool.js';
import { maxpool } from './maxpool.js';
import { mul } from './mul.js';
import { softmax } from './softmax.js';
import type { OpModule } from './op-module.js';

export * from './op-module.js';
export { add, conv, globalAvgPool, maxpool, mul, concat, avgPool, softmax };
export { convShape } from './conv.js';
export { kernelActivation, outputClamp, quantizeBound, type KernelActivation, type QuantParams } from './activation.js';

/** Every op module, keyed by its .edgeq `op` string. */
export const OP_MODULES: { readonly [K in QOp['op']]: OpModule<Extract<QOp, { op: K }>> } = {
  conv, add, maxpool, gap: globalAvgPool, mul, concat, avgpool: avgPool, softmax,
};

/** The .edgeq op kinds this runtime executes. */
export const OP_KINDS = Object.freeze(Object.keys(OP_MODULES)) as readonly QOp['op'][];

/** The module of a known op kind, or undefined (e.g. for an unknown `op` string in a file). */
export function opModuleOf(kind: unknown): OpModule | undefined {
  return typeof kind === 'string' && Object.hasOwn(OP_MODULES, kind) ? (OP_MODULES[kind as QOp['op']] as OpModule) : undefined;
}

/** The module of a validated op. */
export function opModule<O extends QOp>(op: O): OpModule<O> {
  return OP_MODULES[op.op as O['op']] as unknown as OpModule<O>;
}
