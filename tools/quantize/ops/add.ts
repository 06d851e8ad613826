// Add: a residual add of two equal-shape tensors (activation chain fused) becomes an int8 add, or,
// with QuantizeOptions.fuseResidual, the epilogue of the conv producing its branch (QConv.residual).
import type { Activation } from 'edgeq/format';
import { addMultipliers } from 'edgeq/kernels';
import { outputClamp } from 'edgeq/ops';
import { makeNode } from '../../onnx/model.js';
import { makeTensor } from '../../onnx/tensor.js';
import { fuseActivation, storedActivation, writeActivation } from './activation.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import type { QdqContext } from './qdq-context.js';
import { fail } from './prepare-context.js';

export interface FAdd { op: 'add'; name: string; a: string; b: string; output: string; activation: Activation; nodes: string[] }

export const ADD_PATTERNS: OnnxPattern[] = [{
  opType: 'Add', becomes: 'add',
  condition: 'two non-constant inputs of equal shape (an Add of a constant only as a MatMul bias)',
  prepare(ctx, node) {
    const [a, b] = node.inputs;
    if (ctx.constants.get(a) || ctx.constants.get(b)) fail(node, 'an Add of a constant is only supported as the bias of a MatMul');
    const sa = ctx.shapes.get(a)!, sb = ctx.shapes.get(b)!;
    if (sa.join() !== sb.join()) fail(node, `residual Add needs equal shapes, got [${sa}] and [${sb}]`);
    const act = fuseActivation(ctx, node.outputs[0]);
    ctx.emit({ op: 'add', name: node.name, a: ctx.resolve(a), b: ctx.resolve(b), output: act.output, activation: act.activation, nodes: [node.name, ...act.nodes] });
  },
}];

/**
 * An add with a uint12 operand or output (onnxruntime's QLinearAdd takes 8 bits, so it would run
 * DQ -> Add -> Q in float32, rounding differently) written as qu8_vadd computes it: each operand
 * dequantized at f32(s / so) (f32(q - z) * f32(s / so), one rounding), their Add, the clamp and
 * QuantizeLinear with scale 1. False, writing nothing, for 8-bit adds (the standard QDQ group,
 * QLinearAdd: docs/quantization.md, "The QDQ export"), a float32 output, and the only / onlyTensor exports.
 */
function exportExact(op: FAdd, ctx: QdqContext): boolean {
  const { options, tensorOf, nodes, inits } = ctx;
  if (options.only !== undefined || options.onlyTensor !== undefined) return false;
  const a = tensorOf.get(op.a)!, b = tensorOf.get(op.b)!, y = tensorOf.get(op.output)!;
  if (y.dtype === 'float32' || a.dtype === 'float32' || b.dtype === 'float32') return false;
  if (a.dtype !== 'uint12' && b.dtype !== 'uint12' && y.dtype !== 'uint12') return false;
  const activation = storedActivation(op.activation, y);
  if (activation.kind !== 'none' && activation.kind !== 'relu' && activation.kind !== 'clip') return false;
  const { ma, mb } = addMultipliers(a, b, y);
  const units = [[op.a, ma], [op.b, mb]].map(([t, m], i) => {
    inits.push(makeTensor(`${op.name}/multiplier${i}`, 'float32', [], [m as number]));
    nodes.push(makeNode('DequantizeLinear', [`${t}/q`, `${op.name}/multiplier${i}`, `${t}/zero_point`], [`${op.name}/units${i}`], {}, `${op.name}/DequantizeLinear${i}`));
    return `${op.name}/units${i}`;
  });
  nodes.push(makeNode('Add', units, [`${op.name}/units`], {}, op.name));
  const c = outputClamp(activation, y);
  ctx.requantized(`${op.name}/units`, op.output, c.outMin, c.outMax);
  return true;
}

export const ADD: OpModule<FAdd> = {
  kind: 'add',
  reads: (op) => [op.a, op.b],
  floatOutputs: (op) => [op.output],
  plan(op, ctx) {
    // Residual fusion: a conv with no activation whose only reader is this Add takes the Add's place.
    if (!ctx.options.fuseResidual) return;
    const { position, graph: g } = ctx;
    // The branch is the input produced last; the other one (the shortcut) must already exist.
    const [branch, shortcut] = (position.get(op.a) ?? -1) > (position.get(op.b) ?? -1) ? [op.a, op.b] : [op.b, op.a];
    const conv = g.ops[position.get(branch) ?? -1];
    if (conv?.op !== 'conv' || conv.activation.kind !== 'none' || ctx.readers.get(branch) !== 1 || ctx.floats.has(branch)) return;
    if (g.outputs.some((o) => o.tensor === branch)) return; // a graph output must exist on its own
    ctx.residualFusions.set(conv.name, { add: op, residual: shortcut });
    ctx.fusedAdds.add(op.name);
  },
  quantize(op, ctx) {
    if (ctx.fusedAdds.has(op.name)) return;
    const a = ctx.get(op.a), b = ctx.get(op.b);
    const output = ctx.addTensor(op.output);
    ctx.ops.push({ op: 'add', name: op.name, a, b, output, activation: storedActivation(op.activation, ctx.tensors[output]) });
  },
  exportQdq(op, ctx) {
    if (ctx.written.has(op.output)) return; // a fused residual: its conv wrote the Add (conv.ts)
    if (exportExact(op, ctx)) return;
    const pre = `${op.name}/out`;
    ctx.nodes.push(makeNode('Add', [ctx.input(op, op.a), ctx.input(op, op.b)], [pre], {}, op.name));
    ctx.qdq(writeActivation(ctx.nodes, ctx.inits, op.activation, pre, op.output, ctx.tensorOf.get(op.output)!.dtype === 'float32' || ctx.floatOnly(op), ctx.tensorOf.get(op.output)), op.output);
  },
  describe: (q, t) => `add     ${q.name}: ${q.activation.kind} | ${t(q.a)} + ${t(q.b)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('Add', [op.a, op.b], [out.pre], {}, op.name));
    const act = writeActivation(out.nodes, out.inits, op.activation, out.pre, op.output, true);
    out.nodes.push(makeNode('Identity', [act], [op.output], {}, `${op.output}/Identity`));
  },
};
