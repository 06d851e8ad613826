// What an ONNX pattern (op-module.ts) sees during graph preparation, and the helpers the patterns share.
import { EdgeqError } from 'edgeq';
import type { ModelDef, NodeDef, TensorValue } from '../../onnx/model.js';
import type { WindowGeometry } from '../../onnx/shape-inference.js';
import type { FOp } from '../prepare.js';

export interface PrepareContext {
  model: ModelDef;
  opset: number;
  /** The nodes reading each tensor, in graph order. */
  consumers: Map<string, NodeDef[]>;
  /** NCHW (or [N, C]) shape of every tensor. */
  shapes: Map<string, number[]>;
  /** Values known statically: initializers and Constant outputs. */
  constants: Map<string, TensorValue>;
  /** Appends a float op. */
  emit(op: FOp): void;
  /** Marks a node as absorbed by the op being built: graph preparation skips it. */
  consume(node: NodeDef): void;
  /** Declares that ONNX tensor `tensor` is `source` in the int8 graph (a data-free op). */
  alias(tensor: string, source: string): void;
  /** The int8 graph's tensor for an ONNX tensor (pass-through ops resolved). */
  resolve(tensor: string): string;
}

/** Throws UNSUPPORTED_OP naming the node. */
export const fail = (node: NodeDef, msg: string): never => {
  throw new EdgeqError('UNSUPPORTED_OP', `node "${node.name}" (${node.opType}): ${msg}`);
};

/** The single consumer of a tensor, or undefined when it has zero or several (or is a graph output). */
export function soleConsumer(ctx: PrepareContext, tensor: string): NodeDef | undefined {
  const c = ctx.consumers.get(tensor) ?? [];
  if (c.length !== 1) return undefined;
  if (ctx.model.graph.outputs.some((o) => o.name === tensor)) return undefined;
  return c[0];
}

/** [top, left, bottom, right] from the ONNX layer's resolved window geometry (auto_pad included). */
export function pads2d(node: NodeDef, g: WindowGeometry): [number, number, number, number] {
  if (g.padsBegin.length !== 2) fail(node, `only 2-D windows are supported (${g.padsBegin.length}-D)`);
  return [g.padsBegin[0], g.padsBegin[1], g.padsEnd[0], g.padsEnd[1]];
}
