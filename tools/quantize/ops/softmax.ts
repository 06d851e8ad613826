// Softmax as the graph's last op: over the channels of the float32 head's output (a Gemm, MatMul or
// Conv that only it reads), float32 -> float32 (src/ops/softmax.ts). Any other axis is
// UNSUPPORTED_OP naming the node, before calibration.
import { EdgeqError } from 'edgeq';
import { attr, makeNode } from '../../onnx/model.js';
import { getIntAt } from '../../onnx/ops.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { fail } from './prepare-context.js';

export interface FSoftmax { op: 'softmax'; name: string; input: string; output: string; nodes: string[] }

export const SOFTMAX_PATTERNS: OnnxPattern[] = [{
  opType: 'Softmax', becomes: 'softmax',
  condition: "the graph's last op, over the channels (axis 1 or -1 of [N, C]; axis 1 of [N, C, H, W], before opset 13 only with H = W = 1), after a Gemm, MatMul or Conv head that only it reads (both float32)",
  prepare(ctx, node) {
    const shape = ctx.shapes.get(node.inputs[0])!;
    const raw = getIntAt(node, 'axis', ctx.opset);
    const axis = raw < 0 ? raw + shape.length : raw;
    // Before opset 13, axis k flattens dims k.. into one: channels only when nothing follows C.
    const channels = axis === 1 && (shape.length === 2 || ctx.opset >= 13 || shape.slice(2).every((d) => d === 1));
    if (!channels) fail(node, `softmax over axis ${raw} of [${shape}] (opset ${ctx.opset}) is not over the channels; edgeq computes softmax over axis 1 only`);
    if (!ctx.model.graph.outputs.some((o) => o.name === node.outputs[0])) fail(node, 'a Softmax is supported only as the graph\'s last op (its output the graph output)');
    ctx.emit({ op: 'softmax', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] });
  },
}];

export const SOFTMAX: OpModule<FSoftmax> = {
  kind: 'softmax',
  reads: (op) => [op.input],
  floatOutputs: (op, g, readers) => (readers.get(op.input) === 1 && g.ops.some((o) => o.op === 'conv' && o.output === op.input) ? [op.input, op.output] : [op.output]),
  quantize(op, ctx) {
    const x = ctx.get(op.input);
    if (ctx.tensors[x].dtype !== 'float32') {
      throw new EdgeqError('UNSUPPORTED_OP', `softmax "${op.name}": its input "${op.input}" is quantized; a Softmax must follow the float32 head (a Gemm, MatMul or Conv that only it reads)`);
    }
    ctx.ops.push({ op: 'softmax', name: op.name, input: x, output: ctx.addTensor(op.output) });
  },
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('Softmax', [ctx.input(op, op.input)], [`${op.name}/out`], { axis: attr.int(1) }, op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `softmax ${q.name}: ${t(q.input)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('Softmax', [op.input], [op.output], { axis: attr.int(1) }, op.name));
  },
};
