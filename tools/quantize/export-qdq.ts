// Exports the quantized model as a standard ONNX QDQ model that onnxruntime-web runs, with exactly
// the integer weights, biases, scales and zero points of the .edgeq file, so both engines can be
// compared on the same int8 numbers.
//
// Pattern per op (the one ORT's QDQ transformers fuse into QLinearConv / QLinearAdd on WASM: uint8
// activations, int8 per-channel weights, int32 bias):
//   x(uint8 via DQ) -> Conv(DQ(W int8, axis 0), DQ(b int32)) [-> LeakyRelu] -> Q -> DQ -> ...
// A fused ReLU needs no node: its output zero point is 0, so QuantizeLinear's saturation is the ReLU.
// Float32 tensors (the classifier head) have no Q/DQ pair after them.
// A uint12 tensor is Clip(scale*(0-zp), scale*(4095-zp)) -> QuantizeLinear to uint16 -> DequantizeLinear,
// so onnxruntime-web computes exactly the 12-bit grid (QuantizeLinear alone would saturate at 65535).
// uint16 Q/DQ needs opset 21 (onnxruntime-web 1.30 also runs com.microsoft's, but the standard ops are
// portable); a model with only 8-bit tensors keeps opset 13, so its export is unchanged.
import type { FConv, FloatGraph } from './prepare.js';
import { quantMax, type Activation } from 'edgeq/format';
import type { QuantizedConvWeights, QuantizeResult, TensorParams } from './quantize.js';
import type { NodeDef, TensorValue } from '../onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import { writeOnnx } from '../onnx/writer.js';

export const QDQ_OPSET = 13;
/** The opset of an export with 12-bit tensors: the first whose QuantizeLinear takes uint16. */
export const QDQ_OPSET_WIDE = 21;

export interface QdqExportOptions {
  /**
   * Write fused residual convs as edgeq computes them (the branch output stays float until the Add's
   * QuantizeLinear). Default false: the standard pattern every QDQ consumer fuses, which rounds the
   * branch to uint8 on its own.
   */
  fused?: boolean;
  /**
   * Quantize only this op (its input, weights and output); every other op stays fp32. The
   * sensitivity report uses it to show where the error comes from.
   */
  only?: string;
  /**
   * Quantize only this tensor (a Q/DQ pair after it, with its parameters); every weight and every
   * other tensor stays fp32. The 'auto' activation-bits analysis (auto-bits.ts) uses it.
   */
  onlyTensor?: string;
}

export function exportQdq(g: FloatGraph, q: QuantizeResult, options: QdqExportOptions = {}): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const tensorOf = q.tensorParams;

  let wide = false; // any uint12 Q/DQ pair: opset 21
  /** A Q -> DQ pair with `t`'s parameters from float tensor `raw` to `out`, named after `name`. */
  const qdqPair = (raw: string, name: string, out: string, t: TensorParams) => {
    inits.push(makeTensor(`${name}/scale`, 'float32', [], [t.scale]));
    inits.push(makeTensor(`${name}/zero_point`, t.dtype === 'uint12' ? 'uint16' : 'uint8', [], [t.zeroPoint]));
    if (t.dtype === 'uint12') {
      wide = true;
      // The 12-bit grid's ends in real units (float32, as ORT computes them).
      inits.push(makeTensor(`${name}/min`, 'float32', [], [Math.fround(t.scale * (0 - t.zeroPoint))]));
      inits.push(makeTensor(`${name}/max`, 'float32', [], [Math.fround(t.scale * (quantMax('uint12') - t.zeroPoint))]));
      nodes.push(makeNode('Clip', [raw, `${name}/min`, `${name}/max`], [`${name}/clip`], {}, `${name}/Clip`));
      raw = `${name}/clip`;
    }
    nodes.push(makeNode('QuantizeLinear', [raw, `${name}/scale`, `${name}/zero_point`], [`${name}/q`], {}, `${name}/QuantizeLinear`));
    nodes.push(makeNode('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [out], {}, `${name}/DequantizeLinear`));
  };
  const onlyOutput = options.only === undefined ? undefined : g.ops.find((o) => o.name === options.only)?.output;
  /** Whether tensor `name` gets its Q/DQ pair in this export. */
  const quantized = (name: string) => (options.onlyTensor !== undefined ? name === options.onlyTensor
    : options.only === undefined || onlyOutput === name);

  /** Adds Q -> DQ after a float tensor `raw`, naming the DQ output `name` (the ONNX tensor's own name). */
  const qdq = (raw: string, name: string) => {
    const t = tensorOf.get(name)!;
    if (t.dtype === 'float32' || !quantized(name)) {
      if (raw !== name) nodes.push(makeNode('Identity', [raw], [name], {}, `${name}/identity`));
      return;
    }
    qdqPair(raw, name, name, t);
  };

  /** In `only` mode, the quantized op reads its inputs through a Q/DQ pair of its own. */
  const input = (op: { name: string }, name: string): string => {
    if (options.only !== op.name) return name;
    const t = tensorOf.get(name)!;
    if (t.dtype === 'float32') return name;
    const n = `${op.name}/in/${name}`;
    qdqPair(name, n, n, t);
    return n;
  };
  const floatOnly = (op: { name: string }) => options.onlyTensor !== undefined || (options.only !== undefined && options.only !== op.name);

  const inputRaw = `${g.input.name}/float`;
  qdq(inputRaw, g.input.name);
  for (const op of g.ops) {
    switch (op.op) {
      case 'conv': {
        const xin = input(op, op.input);
        const p = op.name;
        if (floatOnly(op)) {
          floatWeights(inits, op);
        } else {
          quantizedWeights(nodes, inits, op, q.convWeights.get(op.name)!, tensorOf.get(op.input)!.scale);
        }
        let pre = convNodes(nodes, inits, op, xin, `${p}/out`);
        pre = activation(nodes, op.activation, pre, op.output, tensorOf.get(op.output)!.dtype === 'float32' || floatOnly(op));
        if (options.fused && q.fusedConvs.has(op.name)) nodes.push(makeNode('Identity', [pre], [op.output], {}, `${op.output}/identity`));
        else qdq(pre, op.output);
        break;
      }
      case 'add': {
        const pre = `${op.name}/out`;
        nodes.push(makeNode('Add', [input(op, op.a), input(op, op.b)], [pre], {}, op.name));
        qdq(activation(nodes, op.activation, pre, op.output, tensorOf.get(op.output)!.dtype === 'float32' || floatOnly(op)), op.output);
        break;
      }
      case 'maxpool':
        nodes.push(makeNode('MaxPool', [input(op, op.input)], [`${op.name}/out`], {
          kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads),
        }, op.name));
        qdq(`${op.name}/out`, op.output);
        break;
      case 'gap':
        nodes.push(makeNode('GlobalAveragePool', [input(op, op.input)], [`${op.name}/out`], {}, op.name));
        qdq(`${op.name}/out`, op.output);
        break;
    }
  }
  // The model's output keeps its ONNX name and shape ([N, C] after a flatten).
  let last = g.output;
  if (g.outputShape.length === 2) {
    if (last === g.outputName) {
      rename(nodes, last, `${last}/nchw`);
      last = `${last}/nchw`;
    }
    nodes.push(makeNode('Flatten', [last], [g.outputName], { axis: attr.int(1) }, 'output/Flatten'));
  } else if (last !== g.outputName) {
    nodes.push(makeNode('Identity', [last], [g.outputName], {}, 'output/Identity'));
  }
  const graph = makeGraph({
    name: 'edgeq-qdq',
    nodes,
    inputs: [makeValueInfo(inputRaw, 'float32', [...g.input.nchw])],
    outputs: [makeValueInfo(g.outputName, 'float32', g.outputShape)],
    initializers: inits,
  });
  // The graph input is named after the original input; the internal float tensor is renamed instead.
  rename(graph.nodes, g.input.name, `${g.input.name}/dq`);
  rename(graph.nodes, inputRaw, g.input.name);
  graph.inputs[0].name = g.input.name;
  return writeOnnx(makeModel(graph, { opset: wide ? QDQ_OPSET_WIDE : QDQ_OPSET, producerName: 'edgeq-quantize', docString: 'QDQ export of an edgeq model' }));
}

/** The folded fp32 weights and bias as `<op>/W` and `<op>/B`. */
export function floatWeights(inits: TensorValue[], op: FConv): void {
  const I = op.inChannels / op.group;
  inits.push(makeTensor(`${op.name}/W`, 'float32', op.fullyConnected ? [op.outChannels, I] : [op.outChannels, I, ...op.kernel], op.weights));
  inits.push(makeTensor(`${op.name}/B`, 'float32', [op.outChannels], op.bias));
}

/** int8 per-channel weights and int32 bias as initializers, dequantized into `<op>/W` and `<op>/B`. */
function quantizedWeights(nodes: NodeDef[], inits: TensorValue[], op: FConv, w: QuantizedConvWeights, inputScale: number): void {
  const O = op.outChannels, I = op.inChannels / op.group, [kh, kw] = op.kernel, p = op.name;
  const oihw = new Int8Array(w.weights.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    oihw[((o * I + i) * kh + y) * kw + x] = w.weights[((o * kh + y) * kw + x) * I + i];
  }
  inits.push(makeTensor(`${p}/W_q`, 'int8', op.fullyConnected ? [O, I] : [O, I, kh, kw], oihw));
  inits.push(makeTensor(`${p}/W_scale`, 'float32', [O], w.scales));
  inits.push(makeTensor(`${p}/W_zero_point`, 'int8', [O], new Int8Array(O)));
  inits.push(makeTensor(`${p}/B_q`, 'int32', [O], w.bias));
  inits.push(makeTensor(`${p}/B_scale`, 'float32', [O], Float32Array.from(w.scales, (s) => Math.fround(inputScale * s))));
  inits.push(makeTensor(`${p}/B_zero_point`, 'int32', [O], new Int32Array(O)));
  nodes.push(makeNode('DequantizeLinear', [`${p}/W_q`, `${p}/W_scale`, `${p}/W_zero_point`], [`${p}/W`], { axis: attr.int(0) }, `${p}/W/DequantizeLinear`));
  nodes.push(makeNode('DequantizeLinear', [`${p}/B_q`, `${p}/B_scale`, `${p}/B_zero_point`], [`${p}/B`], { axis: attr.int(0) }, `${p}/B/DequantizeLinear`));
}

/**
 * The conv (or, for a fully connected op, Flatten -> Gemm -> Reshape back to [N, C, 1, 1], so every
 * tensor keeps one layout) reading `<op>/W` and `<op>/B`. Returns the tensor it writes.
 */
export function convNodes(nodes: NodeDef[], inits: TensorValue[], op: FConv, input: string, out: string): string {
  const p = op.name;
  if (op.fullyConnected) {
    nodes.push(makeNode('Flatten', [input], [`${p}/flat`], { axis: attr.int(1) }, `${p}/Flatten`));
    nodes.push(makeNode('Gemm', [`${p}/flat`, `${p}/W`, `${p}/B`], [out], { transB: attr.int(1) }, p));
    inits.push(makeTensor(`${p}/shape4`, 'int64', [4], [0, -1, 1, 1]));
    nodes.push(makeNode('Reshape', [out, `${p}/shape4`], [`${out}4`], {}, `${p}/Reshape`));
    return `${out}4`;
  }
  nodes.push(makeNode('Conv', [input, `${p}/W`, `${p}/B`], [out], {
    kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads),
    dilations: attr.ints(op.dilation), group: attr.int(op.group),
  }, p));
  return out;
}

export function activation(nodes: NodeDef[], act: Activation, pre: string, out: string, isFloat: boolean): string {
  if (act.kind === 'leakyrelu') {
    nodes.push(makeNode('LeakyRelu', [pre], [`${out}/act`], { alpha: attr.float(act.alpha) }, `${out}/LeakyRelu`));
    return `${out}/act`;
  }
  if (act.kind === 'relu' && isFloat) {
    // Only a float32 output needs an explicit ReLU; a uint8 one gets it from its zero point 0.
    nodes.push(makeNode('Relu', [pre], [`${out}/act`], {}, `${out}/Relu`));
    return `${out}/act`;
  }
  return pre;
}

function rename(nodes: NodeDef[], from: string, to: string): void {
  for (const n of nodes) {
    n.inputs = n.inputs.map((t) => (t === from ? to : t));
    n.outputs = n.outputs.map((t) => (t === from ? to : t));
  }
}
