// Mul of two computed tensors becomes an int8 multiply: same shapes, or one operand [N,C,1,1]
// broadcast over the other's H x W (the squeeze-and-excitation gate: GlobalAveragePool -> 1x1 conv
// -> activation -> 1x1 conv -> HardSigmoid/Sigmoid, then Mul with the feature map). The gated
// activations x * HardSigmoid(x) and x * Sigmoid(x) are fused into their conv before this pattern
// sees them. A Mul by a constant is rejected naming the node.
import { makeNode } from '../../onnx/model.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { fail } from './prepare-context.js';

export interface FMul { op: 'mul'; name: string; a: string; b: string; output: string; nodes: string[] }

const isGate = (x: number[], g: number[]) => g.length === 4 && x.length === 4 && g[0] === x[0] && g[1] === x[1] && g[2] === 1 && g[3] === 1;

export const MUL_PATTERNS: OnnxPattern[] = [{
  opType: 'Mul', becomes: 'mul',
  condition: 'two computed 4-D inputs of equal shape, or one [N,C,1,1] broadcast over the other (a squeeze-and-excitation gate); not by a constant. x * HardSigmoid(x) and x * Sigmoid(x) on a Conv, Gemm or MatMul output are not a mul: they fuse into that layer as HardSwish / SiLU',
  prepare(ctx, node) {
    const [a, b] = node.inputs;
    if (ctx.constants.get(a) || ctx.constants.get(b)) fail(node, 'a Mul by a constant is not supported (fold the constant into the producing layer before export)');
    const sa = ctx.shapes.get(a)!, sb = ctx.shapes.get(b)!;
    const same = sa.length === 4 && sa.join() === sb.join();
    if (!same && !isGate(sa, sb) && !isGate(sb, sa)) {
      fail(node, `Mul needs 4-D inputs of equal shape or one [N,C,1,1] against [N,C,H,W], got [${sa}] and [${sb}]`);
    }
    // The broadcast operand is b (the kernel reuses b's row over every pixel).
    const [x, g] = !same && isGate(sb, sa) ? [b, a] : [a, b];
    ctx.emit({ op: 'mul', name: node.name, a: ctx.resolve(x), b: ctx.resolve(g), output: node.outputs[0], nodes: [node.name] });
  },
}];

export const MUL: OpModule<FMul> = {
  kind: 'mul',
  reads: (op) => [op.a, op.b],
  floatOutputs: () => [],
  quantize(op, ctx) {
    ctx.ops.push({ op: 'mul', name: op.name, a: ctx.get(op.a), b: ctx.get(op.b), output: ctx.addTensor(op.output) });
  },
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('Mul', [ctx.input(op, op.a), ctx.input(op, op.b)], [`${op.name}/out`], {}, op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `mul     ${q.name}: ${t(q.a)} * ${t(q.b)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('Mul', [op.a, op.b], [op.output], {}, op.name));
  },
};
