// GlobalAveragePool (or an AveragePool whose window is the whole map, avg-pool.ts) becomes an int8
// global average pool; when it computes the graph output from a conv that only it reads, both stay float32.
import { makeNode } from '../../onnx/model.js';
import type { OnnxPattern, OpModule } from './op-module.js';

export interface FGlobalAvgPool { op: 'gap'; name: string; input: string; output: string; nodes: string[] }

export const GLOBAL_AVG_POOL_PATTERNS: OnnxPattern[] = [
  {
    opType: 'GlobalAveragePool', becomes: 'gap', condition: 'always',
    prepare: (ctx, node) => ctx.emit({ op: 'gap', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] }),
  },
];

export const GLOBAL_AVG_POOL: OpModule<FGlobalAvgPool> = {
  kind: 'gap',
  reads: (op) => [op.input],
  commutesWithChannelScale: true,
  floatOutputs: (op, g, readers) => (readers.get(op.input) === 1 && g.ops.some((o) => o.op === 'conv' && o.output === op.input) ? [op.input, op.output] : []),
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
