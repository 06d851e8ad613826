// Concat along channels (ONNX axis 1, NHWC C) becomes an int8 concat: each input is copied into its
// channel slice of the output when it has the output's scale and zero point, else requantized.
// Shared parameters (the default when the ranges are close): the op's plan widens its inputs' and
// output's calibrated ranges to their union when every input's range spans at least
// SHARED_RANGE_RATIO of it, so the runtime concat is a copy at a cost of at most log2(1 / 0.4) = 1.3
// bits of resolution per input; otherwise each keeps its own range and is requantized.
import { makeNode, attr } from '../../onnx/model.js';
import { getIntAt } from '../../onnx/ops.js';
import type { Range } from '../histogram.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { fail } from './prepare-context.js';

export interface FConcat { op: 'concat'; name: string; inputs: string[]; output: string; nodes: string[] }

/** An input whose range spans at least this share of the union's shares the output's parameters. */
export const SHARED_RANGE_RATIO = 0.4;

export const CONCAT_PATTERNS: OnnxPattern[] = [{
  opType: 'Concat', becomes: 'concat',
  condition: `computed 4-D inputs along axis 1 (channels); one shared scale when every input's range spans >= ${SHARED_RANGE_RATIO} of their union (a copy), else requantized`,
  prepare(ctx, node) {
    const shapes = node.inputs.map((t) => ctx.shapes.get(t)!);
    if (shapes.some((s) => s.length !== 4)) fail(node, `Concat needs 4-D NCHW inputs, got ${shapes.map((s) => `[${s}]`).join(', ')}`);
    const axis = getIntAt(node, 'axis', ctx.opset);
    if (axis !== 1 && axis !== -3) fail(node, `Concat along axis ${axis} is not supported (only axis 1, the channels)`);
    const constant = node.inputs.find((t) => ctx.constants.get(t));
    if (constant !== undefined) fail(node, `a Concat of a constant ("${constant}") is not supported`);
    ctx.emit({ op: 'concat', name: node.name, inputs: node.inputs.map((t) => ctx.resolve(t)), output: node.outputs[0], nodes: [node.name] });
  },
}];

/** The union of ranges when each spans at least SHARED_RANGE_RATIO of it, else undefined. */
export function sharedRange(ranges: readonly Range[]): Range | undefined {
  const lo = Math.min(0, ...ranges.map((r) => r.lo)), hi = Math.max(0, ...ranges.map((r) => r.hi));
  const width = (r: Range) => Math.max(r.hi, 0) - Math.min(r.lo, 0);
  return ranges.every((r) => width(r) >= SHARED_RANGE_RATIO * (hi - lo)) ? { lo, hi } : undefined;
}

export const CONCAT: OpModule<FConcat> = {
  kind: 'concat',
  reads: (op) => [...op.inputs],
  floatOutputs: () => [],
  plan(op, ctx) {
    const names = [...new Set([...op.inputs, op.output])];
    for (const map of [ctx.options.ranges, ctx.options.wideRanges]) {
      if (!map) continue;
      const rs = names.map((t) => map.get(t));
      if (rs.some((r) => r === undefined)) continue;
      const shared = sharedRange(rs as Range[]);
      if (shared) for (const t of names) map.set(t, shared);
    }
  },
  quantize(op, ctx) {
    ctx.ops.push({ op: 'concat', name: op.name, inputs: op.inputs.map((t) => ctx.get(t)), output: ctx.addTensor(op.output) });
  },
  exportQdq(op, ctx) {
    ctx.nodes.push(makeNode('Concat', op.inputs.map((t) => ctx.input(op, t)), [`${op.name}/out`], { axis: attr.int(1) }, op.name));
    ctx.qdq(`${op.name}/out`, op.output);
  },
  describe: (q, t) => `concat  ${q.name}: ${q.inputs.map(t).join(' ++ ')} -> ${t(q.output)}`,
  exportFolded(op, out) {
    out.nodes.push(makeNode('Concat', [...op.inputs], [op.output], { axis: attr.int(1) }, op.name));
  },
};
