// The fp32 ONNX equivalent of a QOperator int8 model: every quantized op becomes its float op with
// dequantized weights (w_scale[c] * (w - w_zero_point[c])) and biases (bias * x_scale * w_scale[c]),
// so the real (BatchNorm-folded) weights of an int8-only release can be requantized by edgeq's own
// quantizer. An output quantized with zero point 0 saturates at 0 and at 255 * scale: that is the
// model's ReLU / ReLU6 after a conv, matmul or add, written as Clip(0, 255 * scale) (MobileNetV2's 6/255 scale gives exactly
// Relu6). Other quantization ranges are written only with `clip: 'ranges'` (every output then
// saturates where the int8 model does; by default they are left out, as they clamp only what
// calibration left out).
import { EdgeqError } from 'edgeq';
import type { ModelDef, NodeDef, TensorValue } from '../onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { getInt } from '../onnx/ops.js';
import { makeFloatTensor, makeTensor, tensorToNumbers } from '../onnx/tensor.js';
import { topologicalOrder } from '../onnx/shape-inference.js';
import { centeredWeights, fail, scalesOf, zeroPointsOf } from './params.js';

/** The ai.onnx opset the fp32 model imports. */
export const DEQUANTIZED_OPSET = 13;

export interface DequantizeOptions {
  /** 'activations' (default): Clip only where a zero point 0 implies ReLU / ReLU6; 'ranges': every output's quantized range. */
  clip?: 'activations' | 'ranges';
}

export function dequantizeModel(model: ModelDef, options: DequantizeOptions = {}): ModelDef {
  if (options.clip !== undefined && options.clip !== 'activations' && options.clip !== 'ranges') {
    throw new EdgeqError('BAD_OPTION', `clip must be 'activations' or 'ranges', got ${JSON.stringify(options.clip)}`);
  }
  const g = model.graph;
  const inits = new Map<string, TensorValue>(g.initializers);
  const out: NodeDef[] = [];
  const newInits: TensorValue[] = [];
  const used = new Set<string>();
  const c = (node: NodeDef, i: number, what: string): TensorValue => {
    const t = node.inputs[i] ? inits.get(node.inputs[i]!) : undefined;
    if (!t) fail(node, `${what} "${node.inputs[i] ?? ''}" must be a constant initializer`, 'BAD_ONNX');
    return t!;
  };
  const opt = (node: NodeDef, i: number): TensorValue | undefined => (node.inputs[i] ? inits.get(node.inputs[i]!) : undefined);
  const scalar = (node: NodeDef, i: number) => scalesOf(node, c(node, i, 'scale'), 1)[0]!;
  const zero = (node: NodeDef, i: number) => zeroPointsOf(node, opt(node, i), 1).values[0]!;
  const keep = (name: string) => { used.add(name); return name; };
  /** Writes `y` (the op's float result) as `name`, with the Clip a zero-point-0 output implies. */
  const finish = (node: NodeDef, y: string, name: string, si: number, zi: number, activation = true) => {
    const s = scalar(node, si), z = zero(node, zi), signed = opt(node, zi)?.dataType === 'int8';
    const [lo, hi] = signed ? [-128, 127] : [0, 255];
    if ((activation && z === 0 && !signed) || options.clip === 'ranges') {
      newInits.push(makeFloatTensor(`${name}/min`, [], [Math.fround(s * (lo - z))]), makeFloatTensor(`${name}/max`, [], [Math.fround(s * (hi - z))]));
      out.push(makeNode('Clip', [y, `${name}/min`, `${name}/max`], [name], {}, `${node.name}/Clip`));
    } else {
      // No Clip: the float op (pushed just before) writes `name` itself.
      out[out.length - 1]!.outputs[0] = name;
    }
  };
  /** Weight (OIHW or [K, N]) dequantized along output axis `axisOf(i)`. */
  const weights = (node: NodeDef, wi: number, si: number, zi: number, channels: number, channelOf: (i: number) => number): Float32Array => {
    const w = c(node, wi, 'weight');
    const s = scalesOf(node, c(node, si, 'weight scale'));
    if (s.length !== 1 && s.length !== channels) fail(node, `weight scale has ${s.length} values for ${channels} channels`, 'BAD_ONNX');
    const q = centeredWeights(node, w, opt(node, zi), channels, channelOf);
    return Float32Array.from(q, (v, i) => Math.fround(v * s[s.length === 1 ? 0 : channelOf(i)]!));
  };
  const biasOf = (node: NodeDef, bi: number, xs: number, node_ws: Float32Array, count: number): Float32Array => {
    const b = opt(node, bi);
    const values = b ? tensorToNumbers(b) : new Array<number>(count).fill(0);
    return Float32Array.from({ length: count }, (_, o) => Math.fround(values[o]! * Math.fround(xs * node_ws[node_ws.length === 1 ? 0 : o]!)));
  };

  /** Input i of a QLinear op: an activation as it is, a constant dequantized with (scale si, zero point zi). */
  const operand = (node: NodeDef, i: number, si: number, zi: number): string => {
    const k = inits.get(node.inputs[i]!);
    if (!k) return keep(node.inputs[i]!);
    const s = scalar(node, si), z = zeroPointsOf(node, opt(node, zi), 1).values[0]!;
    newInits.push(makeFloatTensor(`${node.name}/const${i}`, k.dims, Float32Array.from(tensorToNumbers(k), (v) => Math.fround(s * (v - z)))));
    return `${node.name}/const${i}`;
  };

  const flattens = flattenReshapes(model);
  for (const node of topologicalOrder(g)) {
    const p = node.name;
    if (flattens.has(node)) {
      out.push(makeNode('Flatten', [keep(node.inputs[0]!)], [node.outputs[0]!], { axis: attr.int(1) }, p));
      continue;
    }
    switch (node.opType) {
      case 'QuantizeLinear': out.push(makeNode('Identity', [keep(node.inputs[0]!)], [node.outputs[0]!], {}, p)); break;
      case 'DequantizeLinear': {
        if (inits.has(node.inputs[0]!)) fail(node, 'DequantizeLinear of a constant is the QDQ form; dequantize takes QOperator files');
        out.push(makeNode('Identity', [keep(node.inputs[0]!)], [node.outputs[0]!], {}, p));
        break;
      }
      case 'QLinearConv': {
        const w = c(node, 3, 'weight');
        const [O, I, kh, kw] = w.dims as [number, number, number, number];
        const per = I * kh * kw;
        const W = weights(node, 3, 4, 5, O, (i) => Math.floor(i / per));
        const ws = scalesOf(node, c(node, 4, 'weight scale'));
        newInits.push(makeFloatTensor(`${p}/W`, w.dims, W), makeFloatTensor(`${p}/B`, [O], biasOf(node, 8, scalar(node, 1), ws, O)));
        const attributes = { ...node.attributes };
        out.push(makeNode('Conv', [keep(node.inputs[0]!), `${p}/W`, `${p}/B`], [`${p}/y`], attributes, p));
        finish(node, `${p}/y`, node.outputs[0]!, 6, 7);
        break;
      }
      case 'QLinearMatMul': {
        const w = c(node, 3, 'weight');
        if (w.dims.length !== 2) fail(node, 'only 2-D weights are dequantized', 'BAD_SHAPE');
        const [, N] = w.dims as [number, number];
        newInits.push(makeFloatTensor(`${p}/W`, w.dims, weights(node, 3, 4, 5, N, (i) => i % N)));
        out.push(makeNode('MatMul', [keep(node.inputs[0]!), `${p}/W`], [`${p}/y`], {}, p));
        finish(node, `${p}/y`, node.outputs[0]!, 6, 7);
        break;
      }
      case 'QLinearAdd': case 'QLinearMul': {
        out.push(makeNode(node.opType === 'QLinearAdd' ? 'Add' : 'Mul', [operand(node, 0, 1, 2), operand(node, 3, 4, 5)], [`${p}/y`], {}, p));
        finish(node, `${p}/y`, node.outputs[0]!, 6, 7, node.opType === 'QLinearAdd');
        break;
      }
      case 'QLinearConcat': {
        // y_scale, y_zero_point, then (x, x_scale, x_zero_point) per input.
        const xs = node.inputs.map((_, i) => i).filter((i) => i >= 2 && (i - 2) % 3 === 0).map((i) => operand(node, i, i + 1, i + 2));
        out.push(makeNode('Concat', xs, [`${p}/y`], { axis: node.attributes.axis ?? attr.int(1) }, p));
        finish(node, `${p}/y`, node.outputs[0]!, 0, 1, false);
        break;
      }
      case 'QLinearAveragePool': {
        if (getInt(node, 'channels_last', 0) !== 0) fail(node, 'channels_last=1 is not supported');
        const { channels_last: _, ...attributes } = node.attributes;
        out.push(makeNode('AveragePool', [keep(node.inputs[0]!)], [`${p}/y`], attributes, p));
        finish(node, `${p}/y`, node.outputs[0]!, 3, 4, false);
        break;
      }
      case 'QLinearGlobalAveragePool': {
        if (getInt(node, 'channels_last', 0) !== 0) fail(node, 'channels_last=1 is not supported');
        out.push(makeNode('GlobalAveragePool', [keep(node.inputs[0]!)], [`${p}/y`], {}, p));
        // A pool's range is no activation (the mean of ReLU outputs is >= 0 already): no Clip by default.
        finish(node, `${p}/y`, node.outputs[0]!, 3, 4, false);
        break;
      }
      default:
        if (node.domain && node.domain !== 'ai.onnx') fail(node, `${node.domain} ${node.opType} has no float equivalent here`);
        if (/^(QLinear|QGemm|ConvInteger|MatMulInteger)/.test(node.opType)) fail(node, 'has no float equivalent here (dequantize maps QLinearConv, QLinearMatMul, QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool)');
        for (const i of node.inputs) if (i) keep(i);
        out.push({ ...node, attributes: { ...node.attributes } });
    }
  }
  // Constants the float graph still reads (Reshape targets, Clip bounds of the source).
  const read = new Set(liveNodes(out, g.outputs.map((o) => o.name)).flatMap((n) => n.inputs));
  for (const name of used) { const t = inits.get(name); if (t && read.has(name)) newInits.push(t); }
  const graph = makeGraph({
    name: `${g.name || 'graph'}-fp32`, nodes: liveNodes(out, g.outputs.map((o) => o.name)), initializers: newInits,
    inputs: g.inputs.map((i) => makeValueInfo(i.name, i.dataType, i.dims)),
    outputs: g.outputs.map((o) => makeValueInfo(o.name, o.dataType, o.dims)),
  });
  const main = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? DEQUANTIZED_OPSET;
  if (main > DEQUANTIZED_OPSET) throw new EdgeqError('UNSUPPORTED_OP', `opset ${main} is above ${DEQUANTIZED_OPSET}, the opset dequantize writes`);
  // Opset 13 reads Squeeze / Unsqueeze axes from inputs: older attributes become constants.
  for (const n of graph.nodes) {
    if ((n.opType === 'Unsqueeze' || n.opType === 'Squeeze') && n.attributes.axes?.type === 'ints') {
      const axes = makeTensor(`${n.name}/axes`, 'int64', [n.attributes.axes.value.length], n.attributes.axes.value);
      graph.initializers.set(axes.name, axes);
      n.inputs = [n.inputs[0]!, axes.name];
      delete n.attributes.axes;
    }
  }
  return makeModel(graph, { opset: DEQUANTIZED_OPSET, producerName: 'edgeq-dequantize', docString: `fp32 equivalent of a QOperator int8 model (${model.producerName})` });
}


/**
 * Reshapes whose target is `Concat(Unsqueeze(Gather(Shape(t), 0)), [-1])` (PyTorch's
 * `x.view(x.size(0), -1)`): exactly Flatten(axis 1) for any batch, which the quantizer maps.
 */
function flattenReshapes(model: ModelDef): Set<NodeDef> {
  const g = model.graph;
  const producer = new Map<string, NodeDef>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const found = new Set<NodeDef>();
  for (const n of g.nodes) {
    if (n.opType !== 'Reshape' || g.initializers.has(n.inputs[1] ?? '')) continue;
    const concat = producer.get(n.inputs[1] ?? '');
    if (concat?.opType !== 'Concat' || concat.inputs.length !== 2) continue;
    const rest = g.initializers.get(concat.inputs[1]!);
    const unsq = producer.get(concat.inputs[0]!);
    const gather = unsq?.opType === 'Unsqueeze' ? producer.get(unsq.inputs[0]!) : undefined;
    const shape = gather?.opType === 'Gather' ? producer.get(gather.inputs[0]!) : undefined;
    const index = gather ? g.initializers.get(gather.inputs[1]!) : undefined;
    if (rest && tensorToNumbers(rest).join() === '-1' && shape?.opType === 'Shape' && index && tensorToNumbers(index).join() === '0') found.add(n);
  }
  return found;
}

/** The nodes that contribute to `outputs` (dead shape arithmetic removed), in order. */
function liveNodes(nodes: NodeDef[], outputs: string[]): NodeDef[] {
  const needed = new Set(outputs);
  const live = new Set<NodeDef>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (n.outputs.some((o) => needed.has(o))) { live.add(n); for (const x of n.inputs) if (x) needed.add(x); }
  }
  return nodes.filter((n) => live.has(n));
}
