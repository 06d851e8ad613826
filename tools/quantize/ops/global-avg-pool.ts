// GlobalAveragePool (or an AveragePool whose window is the whole map) becomes an int8 global average
// pool; when it computes the graph output from a conv that only it reads, both stay float32.
import { makeNode } from '../../onnx/model.js';
import { getInts } from '../../onnx/ops.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { fail } from './prepare-context.js';

export interface FGlobalAvgPool { op: 'gap'; name: string; input: string; output: string; nodes: string[] }

export const GLOBAL_AVG_POOL_PATTERNS: OnnxPattern[] = [
  {
    opType: 'GlobalAveragePool', becomes: 'gap', condition: 'always',
    prepare: (ctx, node) => ctx.emit({ op: 'gap', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] }),
  },
  {
    opType: 'AveragePool', becomes: 'gap', condition: 'a window covering the whole feature map, no padding (a global average pool)',
    prepare(ctx, node) {
      const inShape = ctx.shapes.get(node.inputs[0])!;
      const kernel = getInts(node, 'kernel_shape', []);
      const pads = getInts(node, 'pads', [0, 0, 0, 0]);
      if (!(kernel[0] === inShape[2] && kernel[1] === inShape[3] && pads.every((p) => p === 0))) fail(node, 'only an AveragePool over the whole feature map is supported');
      ctx.emit({ op: 'gap', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] });
    },
  },
];

export const GLOBAL_AVG_POOL: OpModule<FGlobalAvgPool> = {
  kind: 'gap',
  reads: (op) => [op.input],
  commutesWithChannelScale: true,
  floatOutputs: (op, g, readers) => (readers.get(op.input) === 1 && g.ops.some((o) => o.op === 'conv' && o.output === op.input) ? [op.input, g.output] : []),
  quantize(op, ctx) {
    ctx.ops.push({ op: 'gap', name: op.name, input: ctx.get(op.input), output: ctx.addTensor(op.output) });
  },
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('GlobalAveragePool', [ctx.input(op, op.input)], [`${op.name}/out`], {}, op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `gap     ${q.name}: ${t(q.input)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('GlobalAveragePool', [op.input], [op.output], {}, op.name));
  },
};
