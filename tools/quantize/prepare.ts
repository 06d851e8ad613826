// Graph preparation: turns an fp32 ONNX CNN into a short list of float ops that map 1:1 onto
// edgeq's int8 ops. Each ONNX op type's mapping is its pattern in ops/ (ops/registry.ts): BatchNormalization
// is folded into the conv before it, Relu/Clip(0,..)/LeakyRelu chains are fused into their producer,
// Gemm/MatMul(+Add) become 1x1 convs over a 1x1 map, and Flatten/Reshape/Identity/Dropout (which do
// not move data in NHWC when H = W = 1) disappear. Nodes that contribute to no graph output are
// ignored; a graph may have several outputs (an intermediate tensor among them). Anything that cannot be mapped is an error naming the node, raised before shape
// inference for an op type the quantizer does not know: there is no silent fp32 fallback.
import { EdgeqError } from 'edgeq';
import type { GraphDef, ModelDef, NodeDef } from '../onnx/model.js';
import { inferShapesAndConstants, topologicalOrder } from '../onnx/shape-inference.js';
import { modelOpset } from '../onnx/ops.js';
import type { PrepareContext } from './ops/prepare-context.js';
import { patternOf, supportedOpList, type FOp } from './ops/registry.js';

export type { FConv } from './ops/conv.js';
export type { FAdd } from './ops/add.js';
export type { FMaxPool } from './ops/maxpool.js';
export type { FGlobalAvgPool } from './ops/global-avg-pool.js';
export type { FSoftmax } from './ops/softmax.js';
export type { FOp };

/** One graph output of the float graph. */
export interface FloatOutput {
  /** The ONNX graph output's name and shape (e.g. "logits", [1, 1000]). */
  name: string;
  shape: number[];
  /** The int8 graph's tensor holding it (pass-through ops resolved). */
  tensor: string;
}

export interface FloatGraph {
  input: { name: string; nchw: [number, number, number, number] };
  /** The graph outputs in the ONNX graph's order (at least one). */
  outputs: FloatOutput[];
  ops: FOp[];
  /** NCHW (or [N, C] for flattened) shape of every tensor the ops read or write. */
  shapes: Map<string, number[]>;
}

/** The nodes the graph outputs depend on, in topological order (BAD_ONNX for a cycle or a dangling input). */
export function liveNodes(graph: GraphDef): NodeDef[] {
  const order = topologicalOrder(graph);
  const producer = new Map<string, NodeDef>();
  for (const n of order) for (const o of n.outputs) if (o) producer.set(o, n);
  const live = new Set<NodeDef>();
  const stack = graph.outputs.map((o) => producer.get(o.name)).filter((n): n is NodeDef => n !== undefined);
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const i of n.inputs) { const p = producer.get(i); if (p && !live.has(p)) stack.push(p); }
  }
  return order.filter((n) => live.has(n));
}

/** Why the quantizer cannot map `node` by its op type alone, or undefined when a pattern takes it. */
export function unsupportedReason(node: NodeDef): string | undefined {
  if (patternOf(node)) return undefined;
  const domain = node.domain && node.domain !== 'ai.onnx' ? ` in domain "${node.domain}"` : '';
  return `op ${node.opType}${domain} is not supported by the edgeq quantizer (supported: ${supportedOpList()}; docs/ops.md has the conditions)`;
}

export function prepareGraph(model: ModelDef, options: { batch?: number } = {}): FloatGraph {
  const g = model.graph;
  const init = g.initializers;
  const realInputs = g.inputs.filter((i) => !init.has(i.name));
  if (realInputs.length !== 1) {
    throw new EdgeqError('UNSUPPORTED_OP', `model has ${realInputs.length} non-constant inputs (${realInputs.map((i) => i.name).join(', ')}); edgeq takes one image input`);
  }
  if (g.outputs.length === 0) throw new EdgeqError('BAD_ONNX', 'the graph has no outputs');
  const inputInfo = realInputs[0];
  const dims = inputInfo.dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? options.batch ?? 1 : NaN));
  if (dims.length !== 4 || dims.some((d) => !Number.isFinite(d))) {
    throw new EdgeqError('BAD_SHAPE', `input "${inputInfo.name}" has shape [${inputInfo.dims.join(', ')}]; edgeq needs a static NCHW image input`);
  }
  if (inputInfo.dataType !== 'float32') throw new EdgeqError('UNSUPPORTED_OP', `input "${inputInfo.name}" is ${inputInfo.dataType}; edgeq quantizes float32 models`);
  const nodes = liveNodes(g);
  for (const node of nodes) {
    const why = unsupportedReason(node);
    if (why) throw new EdgeqError('UNSUPPORTED_OP', `node "${node.name}" (${node.opType}): ${why}`);
  }
  const live: ModelDef = { ...model, graph: { ...g, nodes } };
  const { shapes, constants } = inferShapesAndConstants(live, { [inputInfo.name]: dims });

  const consumers = new Map<string, NodeDef[]>();
  for (const n of nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const ops: FOp[] = [];
  const consumed = new Set<NodeDef>();   // nodes absorbed into an op
  /** ONNX tensor -> the tensor the int8 graph uses for it (pass-through ops alias their input). */
  const alias = new Map<string, string>();
  const ctx: PrepareContext = {
    model: live, opset: modelOpset(model), consumers, shapes, constants,
    emit: (op) => { ops.push(op); },
    consume: (node) => { consumed.add(node); },
    alias: (tensor, source) => { alias.set(tensor, source); },
    resolve: (t) => alias.get(t) ?? t,
  };
  for (const node of nodes) {
    if (consumed.has(node)) continue;
    consumed.add(node);
    patternOf(node)!.prepare(ctx, node);
  }

  const outputs = g.outputs.map((o): FloatOutput => ({ name: o.name, shape: shapes.get(o.name) ?? [], tensor: ctx.resolve(o.name) }));
  const produced = new Set(ops.map((op) => op.output));
  for (const o of outputs) {
    if (!produced.has(o.tensor)) throw new EdgeqError('UNSUPPORTED_OP', `graph output "${o.name}" is ${o.tensor === inputInfo.name ? 'the graph input itself' : 'computed by no op the quantizer keeps'}; edgeq outputs tensors its ops compute`);
  }
  const dup = outputs.find((o, i) => outputs.findIndex((p) => p.tensor === o.tensor) !== i);
  if (dup) throw new EdgeqError('UNSUPPORTED_OP', `graph outputs "${outputs.find((p) => p.tensor === dup.tensor)!.name}" and "${dup.name}" are the same tensor after pass-through ops; edgeq gives each output its own tensor`);
  return { input: { name: inputInfo.name, nchw: dims as [number, number, number, number] }, outputs, ops, shapes };
}
