// AveragePool: a window covering the whole map without pads is a global average pool ('gap');
// any other 2-D window becomes an int8 average pool (count_include_pad 0 or 1, ceil_mode 0 or 1:
// stored as floor mode over grown bottom/right pads, pool-window.ts) whose arithmetic is
// onnxruntime's QLinearAveragePool, so the QDQ export runs the same integers. count_include_pad = 1
// with a ceil-mode overhang is rejected: there onnxruntime's QDQ and fp32 results disagree.
import { attr, makeNode } from '../../onnx/model.js';
import { getIntAt, readWindowAttributes } from '../../onnx/ops.js';
import { resolveWindow } from '../../onnx/shape-inference.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { ceilModePads } from './pool-window.js';
import { fail, pads2d } from './prepare-context.js';

export interface FAvgPool {
  op: 'avgpool'; name: string; input: string; output: string;
  kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number]; countIncludePad: boolean; nodes: string[];
}

/**
 * A 2-D pooling node's window as the .edgeq stores it: pads below the kernel (else UNSUPPORTED_OP
 * naming the node), no dilation, ceil_mode folded into the end pads.
 */
export function poolWindow(ctx: Parameters<OnnxPattern['prepare']>[0], node: Parameters<OnnxPattern['prepare']>[1]) {
  const attrs = readWindowAttributes(node, 2, ctx.opset);
  const kernel = attrs.kernelShape ?? [];
  if (kernel.length !== 2) fail(node, `only 2-D pooling is supported (kernel_shape ${JSON.stringify(kernel)})`);
  if (attrs.dilations.some((d) => d !== 1)) fail(node, 'dilated pooling is not supported');
  const inShape = ctx.shapes.get(node.inputs[0])!;
  const geometry = resolveWindow(node, inShape.slice(2), kernel, attrs);
  const onnxPads = pads2d(node, geometry);
  if (onnxPads[0] >= kernel[0] || onnxPads[2] >= kernel[0] || onnxPads[1] >= kernel[1] || onnxPads[3] >= kernel[1]) {
    fail(node, `pads [${onnxPads}] must be smaller than the kernel [${kernel}]`);
  }
  const pads = attrs.ceilMode ? ceilModePads(inShape[2]!, inShape[3]!, kernel, geometry.strides, onnxPads) : onnxPads;
  return { kernel: [kernel[0], kernel[1]] as [number, number], stride: [geometry.strides[0], geometry.strides[1]] as [number, number], pads, onnxPads, ceilMode: attrs.ceilMode, inShape };
}

export const AVG_POOL_PATTERNS: OnnxPattern[] = [{
  opType: 'AveragePool', becomes: 'avgpool',
  condition: '2-D, no dilation, pads smaller than the kernel; count_include_pad and ceil_mode 0 or 1, not both 1 where the last window overhangs the padded input; a window covering the whole map without pads becomes gap',
  prepare(ctx, node) {
    const w = poolWindow(ctx, node);
    const countIncludePad = getIntAt(node, 'count_include_pad', ctx.opset) !== 0;
    // onnxruntime's QDQ (QLinearAveragePool) divides a window that overhangs the padded input in
    // ceil mode by the whole kernel, its fp32 AveragePool (and the ONNX spec) by the padded part:
    // the two disagree, so the quantized op would match one and not the other.
    if (countIncludePad && w.ceilMode && w.pads.some((p, i) => p !== w.onnxPads[i])) {
      fail(node, 'count_include_pad=1 with ceil_mode=1 where the last window overhangs the padded input is not supported (onnxruntime\'s QDQ and fp32 AveragePool divide such windows differently)');
    }
    const global = w.kernel[0] === w.inShape[2] && w.kernel[1] === w.inShape[3] && w.pads.every((p) => p === 0);
    if (global) {
      ctx.emit({ op: 'gap', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] });
      return;
    }
    ctx.emit({ op: 'avgpool', name: node.name, input: ctx.resolve(node.inputs[0]), output: node.outputs[0], kernel: w.kernel, stride: w.stride, pads: w.pads, countIncludePad, nodes: [node.name] });
  },
}];

const poolAttributes = (op: FAvgPool) => ({
  kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads), count_include_pad: attr.int(op.countIncludePad ? 1 : 0),
});

export const AVG_POOL: OpModule<FAvgPool> = {
  kind: 'avgpool',
  reads: (op) => [op.input],
  commutesWithChannelScale: true,
  floatOutputs: () => [],
  quantize(op, ctx) {
    ctx.ops.push({ op: 'avgpool', name: op.name, input: ctx.get(op.input), output: ctx.addTensor(op.output), kernel: op.kernel, stride: op.stride, pads: op.pads, countIncludePad: op.countIncludePad });
  },
  // Stored pads with ceil_mode 0 are onnxruntime's ceil_mode 1 window for window: the same output
  // size, and the divisor is KH * KW (count_include_pad) or the positions inside the image either way.
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('AveragePool', [ctx.input(op, op.input)], [`${op.name}/out`], poolAttributes(op), op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `avgpool ${q.name}: ${q.kernel.join('x')}/${q.stride.join(',')} pads ${q.pads.join(',')}${q.countIncludePad ? ' include-pad' : ''} | ${t(q.input)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('AveragePool', [op.input], [op.output], poolAttributes(op), op.name));
  },
};
