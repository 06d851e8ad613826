// BatchNormalization has no int8 op: it is folded into the Conv whose output it alone reads (conv.ts).
import type { NodeDef } from '../../onnx/model.js';
import { getFloatAt } from '../../onnx/ops.js';
import { tensorToFloat32 } from '../../onnx/tensor.js';
import type { OnnxPattern } from './op-module.js';
import { fail, type PrepareContext } from './prepare-context.js';

/** y = gamma * (x - mean) / sqrt(var + eps) + beta, folded into W and b per output channel. */
export function foldBatchNorm(ctx: PrepareContext, bn: NodeDef, weights: Float32Array, bias: Float32Array, O: number): void {
  const get = (i: number, what: string) => {
    const t = ctx.constants.get(bn.inputs[i]);
    if (!t) fail(bn, `${what} "${bn.inputs[i]}" is not a constant initializer`);
    const v = tensorToFloat32(t!);
    if (v.length !== O) fail(bn, `${what} has ${v.length} values for ${O} channels`);
    return v;
  };
  const gamma = get(1, 'scale'), beta = get(2, 'B'), mean = get(3, 'mean'), variance = get(4, 'var');
  const eps = getFloatAt(bn, 'epsilon', ctx.opset);
  const per = weights.length / O;
  for (let o = 0; o < O; o++) {
    // Folded in float64, rounded once to float32.
    const k = gamma[o] / Math.sqrt(variance[o] + eps);
    for (let j = 0; j < per; j++) weights[o * per + j] = weights[o * per + j] * k;
    bias[o] = (bias[o] - mean[o]) * k + beta[o];
  }
}

export const BATCH_NORM_PATTERNS: OnnxPattern[] = [{
  opType: 'BatchNormalization', becomes: 'folded',
  condition: 'constant parameters, the sole reader of a Conv output (folded into that conv)',
  prepare: (_ctx, node) => fail(node, 'a BatchNormalization that does not follow a Conv with a single consumer cannot be folded'),
}];
