// Add: a residual add of two equal-shape tensors (activation chain fused) becomes an int8 add, or,
// with QuantizeOptions.fuseResidual, the epilogue of the conv producing its branch (QConv.residual).
import type { Activation } from 'edgeq/format';
import { makeNode } from '../../onnx/model.js';
import { fuseActivation, storedActivation, writeActivation } from './activation.js';
import type { OnnxPattern, OpModule } from './op-module.js';
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

export const ADD: OpModule<FAdd> = {
  kind: 'add',
  reads: (op) => [op.a, op.b],
  floatOutputs: (_op, g) => [g.output],
  plan(op, ctx) {
    // Residual fusion: a conv with no activation whose only reader is this Add takes the Add's place.
    if (!ctx.options.fuseResidual) return;
    const { position, graph: g } = ctx;
    // The branch is the input produced last; the other one (the shortcut) must already exist.
    const [branch, shortcut] = (position.get(op.a) ?? -1) > (position.get(op.b) ?? -1) ? [op.a, op.b] : [op.b, op.a];
    const conv = g.ops[position.get(branch) ?? -1];
    if (conv?.op !== 'conv' || conv.activation.kind !== 'none' || ctx.readers.get(branch) !== 1 || ctx.floats.has(branch)) return;
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
