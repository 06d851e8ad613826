// Pad (constant mode, value 0, spatial axes only, pads >= 0) before a Conv that alone reads it is
// folded into the conv's pads: the conv's padded taps read the input zero point, which is real 0,
// exactly the padded value. Any other Pad is UNSUPPORTED_OP naming the node, before calibration.
import type { NodeDef } from '../../onnx/model.js';
import { readPad } from '../../onnx/ops.js';
import type { OnnxPattern } from './op-module.js';
import { fail, soleConsumer, type PrepareContext } from './prepare-context.js';

/** The [top, left, bottom, right] pads of a foldable Pad node, or UNSUPPORTED_OP naming it. */
export function foldablePad(ctx: PrepareContext, node: NodeDef): [number, number, number, number] {
  const { mode, pads, value } = readPad(node, ctx.opset, ctx.constants);
  if (mode !== 'constant') fail(node, `Pad mode "${mode}" is not supported (only constant, folded into the next Conv)`);
  if (value !== 0) fail(node, `Pad value ${value} is not supported (only 0, folded into the next Conv)`);
  if (pads.length !== 8) fail(node, `Pad of a rank-${pads.length / 2} tensor is not supported (only NCHW, folded into the next Conv)`);
  if (pads.some((p) => p < 0)) fail(node, `negative pads [${pads}] (cropping) are not supported`);
  if (pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) fail(node, `pads [${pads}] pad the batch or channel axis; only H and W can be padded`);
  const next = soleConsumer(ctx, node.outputs[0]);
  if (next?.opType !== 'Conv' || next.inputs[0] !== node.outputs[0]) fail(node, 'a Pad is supported only before a Conv that alone reads it (folded into its pads)');
  return [pads[2], pads[3], pads[6], pads[7]];
}

/** The Pad node writing `tensor`, if any (a Conv's input). */
export function padBefore(ctx: PrepareContext, tensor: string): NodeDef | undefined {
  return ctx.model.graph.nodes.find((n) => n.opType === 'Pad' && n.outputs[0] === tensor);
}

export const PAD_PATTERNS: OnnxPattern[] = [{
  opType: 'Pad', becomes: 'folded',
  condition: 'constant mode, value 0, H and W only, pads >= 0, before a Conv that alone reads it: added to the conv\'s pads',
  prepare(ctx, node) {
    foldablePad(ctx, node);
    ctx.alias(node.outputs[0], ctx.resolve(node.inputs[0]));
  },
}];
