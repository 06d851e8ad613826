// MaxPool: a 2-D max pool becomes an int8 max pool whose output keeps its input's scale and zero
// point (max commutes with a monotonic quantization). ceil_mode = 1 is stored as floor mode over
// grown bottom/right pads (pool-window.ts); the QDQ export writes those pads with ceil_mode 0, the
// same windows (padded positions never win a max).
import { attr, makeNode } from '../../onnx/model.js';
import { poolWindow } from './avg-pool.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { fail } from './prepare-context.js';

export interface FMaxPool {
  op: 'maxpool'; name: string; input: string; output: string;
  kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number]; nodes: string[];
}

export const MAXPOOL_PATTERNS: OnnxPattern[] = [{
  opType: 'MaxPool', becomes: 'maxpool',
  condition: '2-D, no dilation, pads smaller than the kernel, ceil_mode 0 or 1, no Indices output',
  prepare(ctx, node) {
    if (node.outputs.length > 1 && node.outputs[1]) fail(node, 'the Indices output is not supported');
    const { kernel, stride, pads } = poolWindow(ctx, node);
    ctx.emit({ op: 'maxpool', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], kernel, stride, pads, nodes: [node.name] });
  },
}];

const poolAttributes = (op: FMaxPool) => ({ kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads) });

export const MAXPOOL: OpModule<FMaxPool> = {
  kind: 'maxpool',
  reads: (op) => [op.input],
  sharesInputParams: true,
  commutesWithChannelScale: true,
  floatOutputs: () => [],
  quantize(op, ctx) {
    const x = ctx.tensors[ctx.get(op.input)];
    const y = ctx.addTensor(op.output, { scale: x.scale, zeroPoint: x.zeroPoint });
    ctx.ops.push({ op: 'maxpool', name: op.name, input: ctx.get(op.input), output: y, kernel: op.kernel, stride: op.stride, pads: op.pads });
  },
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('MaxPool', [ctx.input(op, op.input)], [`${op.name}/out`], poolAttributes(op), op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `maxpool ${q.name}: ${q.kernel.join('x')}/${q.stride.join(',')} | ${t(q.input)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('MaxPool', [op.input], [op.output], poolAttributes(op), op.name));
  },
};
