// A TensorFlow Lite uint8 graph as the QDQ ONNX graph it stands for, so that tools/import's lowering
// (the one that imports quantized ONNX files) maps it onto .edgeq ops with the file's own integers.
// Every TFLite activation tensor k becomes a quantized ONNX value `q(k)` and its DequantizeLinear
// `dq(k)`; an op reads dq values and writes a float result that a QuantizeLinear with the output
// tensor's parameters quantizes (the lowering fuses each such group into one edgeq op). NHWC TFLite
// shapes become NCHW ONNX dims (the lowering stores NHWC again); weights are transposed to ONNX's
// layouts, SAME padding is made explicit the way TFLite computes it, and fused activations become
// Relu / Clip nodes that the lowering folds into the output clamp.
import { EdgeqError } from 'edgeq';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo, type ModelDef, type NodeDef, type TensorValue } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import {
  BUILTIN, type AddOptions, type Conv2DOptions, type DepthwiseConv2DOptions, type FullyConnectedOptions, type FusedActivation,
  type Pool2DOptions, type TfliteModel, type TfliteOperator, type TfliteSubgraph, type TfliteTensor,
} from './reader.js';

const UINT8 = 3, INT32 = 2, FLOAT32 = 0;

/** What to do with a final SOFTMAX: edgeq has no softmax op, so the graph ends at its input (the logits). */
export interface TfliteGraph {
  onnx: ModelDef;
  /** The TFLite input tensor (uint8 NHWC) and its quantization. */
  input: { name: string; shape: number[]; scale: number; zeroPoint: number };
  /** True when a final SOFTMAX was dropped (the .edgeq returns the logits). */
  droppedSoftmax: boolean;
}

function unsupported(op: TfliteOperator | undefined, message: string): never {
  throw new EdgeqError('UNSUPPORTED_OP', `${op ? `operator ${op.index} (${op.opName}): ` : ''}${message}`);
}

function badModel(op: TfliteOperator | undefined, message: string): never {
  throw new EdgeqError('BAD_MODEL', `${op ? `operator ${op.index} (${op.opName}): ` : ''}${message}`);
}

/** TFLite NHWC (or [N, C]) shape to ONNX NCHW dims. */
function onnxDims(op: TfliteOperator | undefined, t: TfliteTensor): number[] {
  const s = t.shape;
  if (s.length === 4) return [s[0]!, s[3]!, s[1]!, s[2]!];
  if (s.length === 2) return [...s];
  return unsupported(op, `tensor ${t.index} "${t.name}" has shape [${s}]; edgeq imports NHWC [N, H, W, C] and [N, C] activations`);
}

/** TFLite's SAME padding for one spatial axis: [before, after]. */
export function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** int8, the range of edgeq's int8 weight packings; a conv whose w - zw leaves it is packed as int16 (exact, docs/tflite.md). */
export const WEIGHT_MIN = -128, WEIGHT_MAX = 127;

/** A weight tensor with values whose difference from the zero point lies outside int8. */
export interface WeightOverflow { operator: number; tensor: string; count: number; size: number; min: number; max: number }

/** The weight tensors of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED whose w - zw leaves int8 (stored as int16 weights). */
export function weightOverflows(g: TfliteSubgraph): WeightOverflow[] {
  const out: WeightOverflow[] = [];
  for (const op of g.operators) {
    if (op.builtin !== BUILTIN.CONV_2D && op.builtin !== BUILTIN.DEPTHWISE_CONV_2D && op.builtin !== BUILTIN.FULLY_CONNECTED) continue;
    const w = g.tensors[op.inputs[1] ?? -1];
    if (!w?.data || w.type !== UINT8 || !w.quantization) continue;
    const { zeroPoint, quantizedDimension: axis } = w.quantization;
    const inner = w.shape.slice(axis + 1).reduce((a, d) => a * d, 1), n = zeroPoint.length;
    let count = 0, min = 0, max = 0;
    for (let i = 0; i < w.data.length; i++) {
      const v = w.data[i]! - zeroPoint[n === 1 ? 0 : Math.floor(i / inner) % n]!;
      if (v < WEIGHT_MIN || v > WEIGHT_MAX) count++;
      min = Math.min(min, v); max = Math.max(max, v);
    }
    if (count > 0) out.push({ operator: op.index, tensor: w.name, count, size: w.data.length, min, max });
  }
  return out;
}

/**
 * Converts subgraph 0 of a read TFLite model (uint8 per-tensor activations) to a QDQ ONNX model.
 * Every uint8 weight is kept: the lowering packs a conv whose w - zw leaves int8 with int16 weights.
 */
export function tfliteToOnnx(model: TfliteModel): TfliteGraph {
  if (model.subgraphs.length !== 1) unsupported(undefined, `the model has ${model.subgraphs.length} subgraphs; edgeq imports one`);
  return new Converter(model.subgraphs[0]!).run();
}

class Converter {
  private readonly nodes: NodeDef[] = [];
  private readonly inits: TensorValue[] = [];
  private readonly names = new Map<number, string>();
  /** Activation tensors that hold a q(k) value (quantized and dequantized). */
  private readonly ready = new Set<number>();
  private readonly inputName = 'input';

  constructor(private readonly g: TfliteSubgraph) {
    const seen = new Map<string, number>();
    for (const t of g.tensors) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    for (const t of g.tensors) this.names.set(t.index, t.name && seen.get(t.name) === 1 ? t.name : `${t.name}#${t.index}`);
  }

  private q(k: number): string { return this.names.get(k)!; }
  private dq(k: number): string { return `${this.q(k)}/dq`; }

  private tensor(op: TfliteOperator | undefined, k: number, what: string): TfliteTensor {
    const t = this.g.tensors[k];
    if (!t) badModel(op, `${what} tensor ${k} does not exist`);
    return t!;
  }

  /** The per-tensor uint8 parameters of activation tensor k. */
  private act(op: TfliteOperator | undefined, k: number, what: string): { scale: number; zeroPoint: number } {
    const t = this.tensor(op, k, what);
    if (t.type !== UINT8) unsupported(op, `${what} "${t.name}" is ${t.typeName}; edgeq imports uint8 TFLite models`);
    if (t.data) unsupported(op, `${what} "${t.name}" is a constant; edgeq ops here read activations`);
    const qp = t.quantization;
    if (!qp) badModel(op, `${what} "${t.name}" is uint8 without quantization parameters`);
    if (qp!.scale.length !== 1) unsupported(op, `${what} "${t.name}" is quantized per channel; edgeq activations are per tensor`);
    const z = qp!.zeroPoint[0]!;
    if (!(z >= 0 && z <= 255)) badModel(op, `${what} "${t.name}" zero point ${z} is outside uint8`);
    return { scale: qp!.scale[0]!, zeroPoint: z };
  }

  private scalar(name: string, type: 'float32' | 'uint8' | 'int32', values: number[]): string {
    this.inits.push(makeTensor(name, type, values.length === 1 ? [] : [values.length], values));
    return name;
  }

  /** Emits QuantizeLinear(`from`) -> q(k) and DequantizeLinear(q(k)) -> dq(k) with tensor k's parameters. */
  private quantizeInto(op: TfliteOperator | undefined, from: string, k: number): void {
    const p = this.act(op, k, 'output');
    const s = this.scalar(`${this.q(k)}/scale`, 'float32', [p.scale]), z = this.scalar(`${this.q(k)}/zero_point`, 'uint8', [p.zeroPoint]);
    this.nodes.push(makeNode('QuantizeLinear', [from, s, z], [this.q(k)], {}, `${this.q(k)}/quantize`));
    this.dequantize(k);
  }

  private dequantize(k: number): void {
    const s = `${this.q(k)}/scale`, z = `${this.q(k)}/zero_point`;
    if (!this.inits.some((t) => t.name === s)) {
      const p = this.act(undefined, k, 'tensor');
      this.scalar(s, 'float32', [p.scale]);
      this.scalar(z, 'uint8', [p.zeroPoint]);
    }
    this.nodes.push(makeNode('DequantizeLinear', [this.q(k), s, z], [this.dq(k)], {}, `${this.q(k)}/dequantize`));
    this.ready.add(k);
  }

  private input(op: TfliteOperator, i: number, what = 'input'): number {
    const k = op.inputs[i];
    if (k === undefined || k < 0) badModel(op, `${what} ${i} is missing`);
    if (!this.ready.has(k!)) unsupported(op, `${what} "${this.tensor(op, k!, what).name}" is not computed by an op edgeq imports`);
    return k!;
  }

  run(): TfliteGraph {
    const g = this.g;
    if (g.inputs.length !== 1 || g.outputs.length !== 1) unsupported(undefined, `the graph has ${g.inputs.length} inputs and ${g.outputs.length} outputs; edgeq models have one of each`);
    const inT = this.tensor(undefined, g.inputs[0]!, 'graph input');
    if (inT.shape.length !== 4 || inT.shape[3] !== 3 && inT.shape[3] !== 1) unsupported(undefined, `graph input "${inT.name}" has shape [${inT.shape}]; edgeq imports NHWC image inputs [1, H, W, C]`);
    const nchw = [1, inT.shape[3]!, inT.shape[1]!, inT.shape[2]!];
    let ops = g.operators;
    let inputParams: { scale: number; zeroPoint: number };
    if (inT.type === UINT8) {
      // The uint8 image input: the runtime quantizes a float NCHW input with the tensor's own parameters.
      inputParams = this.act(undefined, inT.index, 'graph input');
      this.quantizeInto(undefined, this.inputName, inT.index);
    } else if (inT.type === FLOAT32 && ops[0]?.builtin === BUILTIN.QUANTIZE && ops[0].inputs[0] === inT.index) {
      inputParams = this.act(ops[0], ops[0].outputs[0]!, 'output');
      this.quantizeInto(ops[0], this.inputName, ops[0].outputs[0]!);
      ops = ops.slice(1);
    } else {
      return unsupported(undefined, `graph input "${inT.name}" is ${inT.typeName}; edgeq imports a uint8 input (or a float32 one followed by QUANTIZE)`);
    }
    let outK = g.outputs[0]!;
    let droppedSoftmax = false, dequantizedOutput = false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const last = i === ops.length - 1;
      if (op.builtin === BUILTIN.SOFTMAX && last && op.outputs[0] === outK) {
        outK = this.input(op, 0);
        droppedSoftmax = true;
        continue;
      }
      if (op.builtin === BUILTIN.DEQUANTIZE && last && op.outputs[0] === outK) {
        outK = this.input(op, 0);
        dequantizedOutput = true;
        continue;
      }
      this.operator(op);
    }
    if (!this.ready.has(outK)) unsupported(undefined, `graph output "${this.tensor(undefined, outK, 'output').name}" is not computed by the ops edgeq imports`);
    const outName = droppedSoftmax || dequantizedOutput ? 'logits' : 'output';
    this.nodes.push(makeNode('Identity', [this.dq(outK)], [outName], {}, 'output'));
    const outT = this.tensor(undefined, outK, 'output');
    const graph = makeGraph({
      name: g.name || 'tflite',
      nodes: this.nodes,
      inputs: [makeValueInfo(this.inputName, 'float32', nchw)],
      outputs: [makeValueInfo(outName, 'float32', onnxDims(undefined, outT))],
      initializers: this.inits,
    });
    return { onnx: makeModel(graph, { opset: 13 }), input: { name: inT.name, shape: inT.shape, ...inputParams }, droppedSoftmax };
  }

  private operator(op: TfliteOperator): void {
    switch (op.builtin) {
      case BUILTIN.CONV_2D: return this.conv(op, op.options as Conv2DOptions, false);
      case BUILTIN.DEPTHWISE_CONV_2D: return this.conv(op, op.options as DepthwiseConv2DOptions, true);
      case BUILTIN.FULLY_CONNECTED: return this.fullyConnected(op, op.options as FullyConnectedOptions);
      case BUILTIN.ADD: return this.add(op, op.options as AddOptions);
      case BUILTIN.AVERAGE_POOL_2D: case BUILTIN.MAX_POOL_2D: return this.pool(op, op.options as Pool2DOptions);
      case BUILTIN.RESHAPE: case BUILTIN.SQUEEZE: return this.reshape(op);
      case BUILTIN.SOFTMAX: return unsupported(op, 'edgeq has no softmax op; a SOFTMAX is imported only as the last op (the model then returns its logits)');
      default: return unsupported(op, `${op.opName} is not an op edgeq imports from TFLite (docs/tflite.md lists them)`);
    }
  }

  /** The fused activation as a Relu / Clip node after `pre`; returns the activated value. */
  private activation(op: TfliteOperator, a: FusedActivation, pre: string): string {
    if (a === 'NONE') return pre;
    const out = `${pre}/${a.toLowerCase()}`;
    if (a === 'RELU') { this.nodes.push(makeNode('Relu', [pre], [out], {}, `${op.index} ${op.opName}/relu`)); return out; }
    const [lo, hi] = a === 'RELU6' ? [0, 6] : a === 'RELU_N1_TO_1' ? [-1, 1] : unsupported(op, `fused activation ${a} is not supported`);
    const min = this.scalar(`${out}/min`, 'float32', [lo]), max = this.scalar(`${out}/max`, 'float32', [hi]);
    this.nodes.push(makeNode('Clip', [pre, min, max], [out], {}, `${op.index} ${op.opName}/clip`));
    return out;
  }

  private nodeName(op: TfliteOperator): string {
    return `${op.index} ${op.opName} ${this.tensor(op, op.outputs[0]!, 'output').name}`;
  }

  /** A uint8 weight as a DequantizeLinear of its initializer (ONNX layout `dims`, values permuted by `from`). */
  private weight(op: TfliteOperator, k: number, dims: number[], from: (i: number) => number, channels: number, axis: number, perChannelDim: number): { name: string; scales: Float32Array } {
    const t = this.tensor(op, k, 'weight');
    if (t.type !== UINT8) unsupported(op, `weight "${t.name}" is ${t.typeName}; edgeq imports uint8 TFLite weights`);
    if (!t.data) unsupported(op, `weight "${t.name}" is not a constant`);
    const qp = t.quantization;
    if (!qp) badModel(op, `weight "${t.name}" has no quantization parameters`);
    if (qp!.scale.length !== 1 && qp!.quantizedDimension !== perChannelDim) unsupported(op, `weight "${t.name}" is quantized along dimension ${qp!.quantizedDimension}; edgeq needs the output channel (${perChannelDim})`);
    for (const z of qp!.zeroPoint) if (!(z >= 0 && z <= 255)) badModel(op, `weight "${t.name}" zero point ${z} is outside uint8`);
    const values = new Uint8Array(t.data!.length);
    for (let i = 0; i < values.length; i++) values[i] = t.data![from(i)]!;
    const name = this.q(k);
    this.inits.push(makeTensor(name, 'uint8', dims, values));
    const n = qp!.scale.length;
    const s = this.scalar(`${name}/scale`, 'float32', Array.from(qp!.scale)), z = this.scalar(`${name}/zero_point`, 'uint8', qp!.zeroPoint);
    this.nodes.push(makeNode('DequantizeLinear', [name, s, z], [`${name}/dq`], n > 1 ? { axis: attr.int(axis) } : {}, `${name}/dequantize`));
    const scales = n === 1 ? new Float32Array(channels).fill(qp!.scale[0]!) : Float32Array.from(qp!.scale);
    return { name: `${name}/dq`, scales };
  }

  /** An int32 bias as DequantizeLinear with scale input scale x weight scale (the integers are TFLite's own). */
  private bias(op: TfliteOperator, i: number, channels: number, xScale: number, wScales: Float32Array): string | undefined {
    const k = op.inputs[i];
    if (k === undefined || k < 0) return undefined;
    const t = this.tensor(op, k, 'bias');
    if (t.type !== INT32 || !t.data) unsupported(op, `bias "${t.name}" is ${t.typeName}${t.data ? '' : ' and not a constant'}; edgeq imports int32 constant biases`);
    if (t.data!.length !== channels * 4) badModel(op, `bias "${t.name}" has ${t.data!.length / 4} values for ${channels} output channels`);
    const view = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
    const values = Array.from({ length: channels }, (_, c) => view.getInt32(4 * c, true));
    const name = this.q(k);
    this.inits.push(makeTensor(name, 'int32', [channels], values));
    const s = this.scalar(`${name}/scale`, 'float32', Array.from(wScales, (w) => Math.fround(xScale * w)));
    this.nodes.push(makeNode('DequantizeLinear', [name, s], [`${name}/dq`], { axis: attr.int(0) }, `${name}/dequantize`));
    return `${name}/dq`;
  }

  private conv(op: TfliteOperator, o: Conv2DOptions | DepthwiseConv2DOptions, depthwise: boolean): void {
    const xk = this.input(op, 0);
    const x = this.tensor(op, xk, 'input'), w = this.tensor(op, op.inputs[1]!, 'weight'), yk = op.outputs[0]!;
    const y = this.tensor(op, yk, 'output');
    if (x.shape.length !== 4 || w.shape.length !== 4 || y.shape.length !== 4) unsupported(op, `input [${x.shape}], weight [${w.shape}], output [${y.shape}] must be 4-D`);
    const [, H, W, C] = x.shape as [number, number, number, number];
    let O: number, kh: number, kw: number, I: number;
    if (depthwise) {
      [, kh, kw, O] = w.shape as [number, number, number, number];
      const m = (o as DepthwiseConv2DOptions).depthMultiplier;
      if (m !== 1 || O !== C) unsupported(op, `depth multiplier ${m} (${C} -> ${O} channels); edgeq's depthwise conv maps each channel to one`);
      I = 1;
    } else {
      [O, kh, kw, I] = w.shape as [number, number, number, number];
      if (I !== C) badModel(op, `weight [${w.shape}] reads ${I} channels but input [${x.shape}] has ${C}`);
    }
    if (!(o.strideH >= 1 && o.strideW >= 1 && o.dilationH >= 1 && o.dilationW >= 1)) badModel(op, `strides ${o.strideH}x${o.strideW} and dilations ${o.dilationH}x${o.dilationW} must be positive`);
    const [pt, pb] = o.padding === 'SAME' ? samePadding(H, kh, o.strideH, o.dilationH) : [0, 0];
    const [pl, pr] = o.padding === 'SAME' ? samePadding(W, kw, o.strideW, o.dilationW) : [0, 0];
    const oh = Math.floor((H + pt + pb - (kh - 1) * o.dilationH - 1) / o.strideH) + 1, ow = Math.floor((W + pl + pr - (kw - 1) * o.dilationW - 1) / o.strideW) + 1;
    if (y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== O) badModel(op, `output [${y.shape}] is not the [1, ${oh}, ${ow}, ${O}] the geometry gives`);
    // ONNX OIHW from TFLite OHWI (conv) or 1HWO (depthwise, as [O, 1, kh, kw]).
    const from = depthwise
      ? (i: number) => { const o2 = Math.floor(i / (kh * kw)), r = i % (kh * kw); return r * O + o2; }
      : (i: number) => { const o2 = Math.floor(i / (I * kh * kw)), r = i % (I * kh * kw), ci = Math.floor(r / (kh * kw)), s = r % (kh * kw); return (o2 * kh * kw + s) * I + ci; };
    const wt = this.weight(op, op.inputs[1]!, [O, I, kh, kw], from, O, 0, depthwise ? 3 : 0);
    const xs = this.act(op, xk, 'input').scale;
    const b = this.bias(op, 2, O, xs, wt.scales);
    const pre = `${this.q(yk)}/conv`;
    this.nodes.push(makeNode('Conv', [this.dq(xk), wt.name, ...(b ? [b] : [])], [pre], {
      kernel_shape: attr.ints([kh, kw]), strides: attr.ints([o.strideH, o.strideW]), dilations: attr.ints([o.dilationH, o.dilationW]),
      pads: attr.ints([pt, pl, pb, pr]), group: attr.int(depthwise ? C : 1),
    }, this.nodeName(op)));
    this.quantizeInto(op, this.activation(op, o.activation, pre), yk);
  }

  private fullyConnected(op: TfliteOperator, o: FullyConnectedOptions): void {
    if (o.weightsFormat !== 0) unsupported(op, `weights_format ${o.weightsFormat} is not the default layout`);
    const xk = this.input(op, 0);
    const x = this.tensor(op, xk, 'input'), w = this.tensor(op, op.inputs[1]!, 'weight'), yk = op.outputs[0]!;
    if (w.shape.length !== 2) badModel(op, `weight shape [${w.shape}] must be [N, K]`);
    const [N, K] = w.shape as [number, number];
    const count = x.shape.reduce((a, d) => a * d, 1);
    if (count !== K) unsupported(op, `input [${x.shape}] is not one row of ${K} values (edgeq runs batch 1)`);
    let src = this.dq(xk);
    if (x.shape.length !== 2) {
      src = `${this.q(xk)}/flat`;
      this.nodes.push(makeNode('Flatten', [this.dq(xk)], [src], { axis: attr.int(1) }, `${op.index} ${op.opName}/flatten`));
    }
    const wt = this.weight(op, op.inputs[1]!, [N, K], (i) => i, N, 0, 0);
    const b = this.bias(op, 2, N, this.act(op, xk, 'input').scale, wt.scales);
    const pre = `${this.q(yk)}/fc`;
    this.nodes.push(makeNode('Gemm', [src, wt.name, ...(b ? [b] : [])], [pre], { transB: attr.int(1) }, this.nodeName(op)));
    const y = this.tensor(op, yk, 'output');
    if (y.shape.reduce((a, d) => a * d, 1) !== N) badModel(op, `output [${y.shape}] does not hold ${N} values`);
    if (y.shape.length !== 2) unsupported(op, `output shape [${y.shape}] must be [1, ${N}]`);
    this.quantizeInto(op, this.activation(op, o.activation, pre), yk);
  }

  private add(op: TfliteOperator, o: AddOptions): void {
    const a = this.input(op, 0), b = this.input(op, 1), yk = op.outputs[0]!;
    const ta = this.tensor(op, a, 'input'), tb = this.tensor(op, b, 'input');
    if (ta.shape.join() !== tb.shape.join()) unsupported(op, `operands [${ta.shape}] and [${tb.shape}] differ; edgeq adds equal shapes`);
    const pre = `${this.q(yk)}/add`;
    this.nodes.push(makeNode('Add', [this.dq(a), this.dq(b)], [pre], {}, this.nodeName(op)));
    this.quantizeInto(op, this.activation(op, o.activation, pre), yk);
  }

  private pool(op: TfliteOperator, o: Pool2DOptions): void {
    const xk = this.input(op, 0), yk = op.outputs[0]!;
    const x = this.tensor(op, xk, 'input'), y = this.tensor(op, yk, 'output');
    if (x.shape.length !== 4 || y.shape.length !== 4) unsupported(op, `input [${x.shape}] and output [${y.shape}] must be 4-D`);
    const [, H, W] = x.shape as [number, number, number, number];
    const px = this.act(op, xk, 'input'), py = this.act(op, yk, 'output');
    if (px.scale !== py.scale || px.zeroPoint !== py.zeroPoint) unsupported(op, `output parameters (${py.scale}, ${py.zeroPoint}) differ from the input's (${px.scale}, ${px.zeroPoint}); TFLite pools keep them`);
    if (o.activation !== 'NONE') unsupported(op, `a fused ${o.activation} after a pool is not supported`);
    const pre = `${this.q(yk)}/pool`;
    if (op.builtin === BUILTIN.AVERAGE_POOL_2D) {
      // Only the global average (the window is the whole map, one output pixel) is an edgeq op here.
      if (!(o.filterH === H && o.filterW === W && y.shape[1] === 1 && y.shape[2] === 1)) {
        unsupported(op, `a ${o.filterH}x${o.filterW} average pool over ${H}x${W} is not global; edgeq imports the global average pool only`);
      }
      this.nodes.push(makeNode('GlobalAveragePool', [this.dq(xk)], [pre], {}, this.nodeName(op)));
    } else {
      if (!(o.strideH >= 1 && o.strideW >= 1 && o.filterH >= 1 && o.filterW >= 1)) badModel(op, `filter ${o.filterH}x${o.filterW} and strides ${o.strideH}x${o.strideW} must be positive`);
      const [pt, pb] = o.padding === 'SAME' ? samePadding(H, o.filterH, o.strideH, 1) : [0, 0];
      const [pl, pr] = o.padding === 'SAME' ? samePadding(W, o.filterW, o.strideW, 1) : [0, 0];
      this.nodes.push(makeNode('MaxPool', [this.dq(xk)], [pre], {
        kernel_shape: attr.ints([o.filterH, o.filterW]), strides: attr.ints([o.strideH, o.strideW]), pads: attr.ints([pt, pl, pb, pr]),
      }, this.nodeName(op)));
    }
    this.quantizeInto(op, pre, yk);
  }

  /** RESHAPE / SQUEEZE: an ONNX Reshape of q(x) to the output's dims (the lowering allows only layout-free ones). */
  private reshape(op: TfliteOperator): void {
    const xk = this.input(op, 0), yk = op.outputs[0]!;
    const y = this.tensor(op, yk, 'output');
    const px = this.act(op, xk, 'input'), py = this.act(op, yk, 'output');
    if (px.scale !== py.scale || px.zeroPoint !== py.zeroPoint) unsupported(op, `output parameters (${py.scale}, ${py.zeroPoint}) differ from the input's (${px.scale}, ${px.zeroPoint})`);
    const shape = `${this.q(yk)}/shape`;
    const dims = onnxDims(op, y);
    this.inits.push(makeTensor(shape, 'int64', [dims.length], dims));
    this.nodes.push(makeNode('Reshape', [this.q(xk), shape], [this.q(yk)], {}, this.nodeName(op)));
    this.dequantize(yk);
  }
}
