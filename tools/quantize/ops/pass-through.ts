// Ops that move no data in edgeq's NHWC layout disappear during graph preparation: their output is
// an alias of their input. Identity and Dropout (inference: identity; its mask output must be
// unused) always; Flatten and Reshape of an [N, C, 1, 1] tensor to [N, C]. Constant outputs are
// static values the patterns read (weights, Clip bounds, Reshape shapes).
import type { NodeDef } from '../../onnx/model.js';
import type { OnnxPattern } from './op-module.js';
import { fail, type PrepareContext } from './prepare-context.js';

/** Identity, or a Dropout whose mask output nothing reads. */
export function isDataFree(ctx: PrepareContext, node: NodeDef): boolean {
  if (node.opType === 'Identity') return true;
  const mask = node.outputs[1];
  return node.opType === 'Dropout' && (!mask || (!ctx.consumers.has(mask) && !ctx.model.graph.outputs.some((o) => o.name === mask)));
}

function channelsOnlyReshape(ctx: PrepareContext, node: NodeDef): boolean {
  const inShape = ctx.shapes.get(node.inputs[0]) ?? [];
  const outShape = ctx.shapes.get(node.outputs[0]) ?? [];
  const volume = (s: number[]) => s.slice(1).reduce((a, b) => a * b, 1);
  const channelsOnly = inShape.length >= 2 && inShape.slice(2).every((d) => d === 1);
  return channelsOnly && outShape.length === 2 && outShape[0] === inShape[0] && volume(outShape) === volume(inShape);
}

const aliasOf = (opType: string, condition: string, applies: (ctx: PrepareContext, node: NodeDef) => boolean, why: (ctx: PrepareContext, node: NodeDef) => string): OnnxPattern => ({
  opType, condition, becomes: 'pass-through',
  prepare(ctx, node) {
    if (!applies(ctx, node)) fail(node, why(ctx, node));
    ctx.alias(node.outputs[0], ctx.resolve(node.inputs[0]));
  },
});

const reshapeOnly = (ctx: PrepareContext, node: NodeDef) =>
  `only a reshape of an [N, C, 1, 1] tensor to [N, C] is supported (input shape [${ctx.shapes.get(node.inputs[0])}])`;

export const PASS_THROUGH_PATTERNS: OnnxPattern[] = [
  aliasOf('Identity', 'always', () => true, () => ''),
  aliasOf('Dropout', 'its mask output unread', isDataFree, () => 'a Dropout whose mask output is read is not supported'),
  aliasOf('Flatten', 'of an [N, C, 1, 1] tensor to [N, C]', channelsOnlyReshape, reshapeOnly),
  aliasOf('Reshape', 'of an [N, C, 1, 1] tensor to [N, C]', channelsOnlyReshape, reshapeOnly),
  { opType: 'Constant', condition: 'a value read as a weight, bias, bound or shape', becomes: 'folded', prepare: () => undefined },
];
