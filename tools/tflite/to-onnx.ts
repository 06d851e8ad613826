// A TensorFlow Lite uint8 or int8 graph as the QDQ ONNX graph it stands for, so that tools/import's lowering
// (the one that imports quantized ONNX files) maps it onto .edgeq ops with the file's own integers.
// Every TFLite activation tensor k becomes a quantized ONNX value `q(k)` and its DequantizeLinear
// `dq(k)`; an op reads dq values and writes a float result that a QuantizeLinear with the output
// tensor's parameters quantizes (the lowering fuses each such group into one edgeq op). NHWC TFLite
// shapes become NCHW ONNX dims (the lowering stores NHWC again); weights are transposed to ONNX's
// layouts, SAME padding is made explicit the way TFLite computes it, and fused activations become
// Relu / Clip nodes that the lowering folds into the output clamp. int8 activations are written as
// uint8 i + 128 with zero point z + 128 (every op reads q - z); int8 weights stay int8. A PAD is
// folded into the pads of the convs that read it, a LOGISTIC / HARD_SWISH after a conv into that
// conv (Sigmoid / HardSwish before its QuantizeLinear); a final SOFTMAX ends the graph at its input
// and is reported (softmaxBeta) for importTflite to append edgeq's softmax op.
import { EdgeqError } from 'edgeq';
import type { PoolRounding } from 'edgeq/format';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo, type ModelDef, type NodeDef, type TensorValue } from '../onnx/model.js';
import { makeTensor } from '../onnx/tensor.js';
import {
  BUILTIN, type AddOptions, type ConcatenationOptions, type Conv2DOptions, type DepthwiseConv2DOptions, type FullyConnectedOptions, type FusedActivation,
  type MulOptions, type Pool2DOptions, type ReducerOptions, type SoftmaxOptions, type TfliteModel, type TfliteOperator, type TfliteSubgraph, type TfliteTensor,
} from './reader.js';

const UINT8 = 3, INT32 = 2, FLOAT32 = 0, INT8 = 9;

/**
 * The ONNX graph ends at the input of a final SOFTMAX (the logits, dequantized); `softmax` says so
 * and carries its beta, which importTflite lowers to edgeq's softmax op after the lowering.
 */
export interface TfliteGraph {
  onnx: ModelDef;
  /**
   * The TFLite input tensor (NHWC) and its own quantization. An int8 input is stored in the .edgeq
   * as uint8 i + 128 with zero point zeroPoint + 128 (tflitePreprocess accounts for it).
   */
  input: { name: string; shape: number[]; scale: number; zeroPoint: number; type: 'uint8' | 'int8' };
  /** True when a final SOFTMAX was dropped from the ONNX graph (it then ends at the logits). */
  droppedSoftmax: boolean;
  /** The dropped SOFTMAX's beta (softmax(beta * logits)); undefined when there was none. */
  softmaxBeta?: number;
  /**
   * The ONNX node names of the AVERAGE_POOL_2D pools and how TFLite rounds them (its integer
   * average: uint8 ties up, int8 ties away from zero); the importer sets them on the `gap` / `avgpool` ops.
   */
  poolRounding: Map<string, PoolRounding>;
  /** The ONNX node names of the ADDs TFLite's XNNPACK delegate runs (scale ratios in [2^-10, 2^8)): XNNPACK's qu8 / qs8 add arithmetic. */
  xnnpackAdds: Set<string>;
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
  private readonly poolRounding = new Map<string, PoolRounding>();
  private readonly xnnpackAdds = new Set<string>();
  private readonly inits: TensorValue[] = [];
  private readonly names = new Map<number, string>();
  /** Activation tensors that hold a q(k) value (quantized and dequantized). */
  private readonly ready = new Set<number>();
  private readonly inputName = 'input';
  /** PAD outputs not computed as tensors: folded into the pads of the conv that reads them. */
  private readonly padded = new Map<number, { from: number; pads: [number, number, number, number]; op: TfliteOperator }>();
  /** How many operators read each tensor. */
  private readonly readers = new Map<number, TfliteOperator[]>();
  /** LOGISTIC / HARD_SWISH operators fused into the conv before them (skipped when reached). */
  private readonly fused = new Set<TfliteOperator>();

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

  /**
   * The per-tensor parameters of activation tensor k as edgeq stores it: uint8 as it is; int8 as
   * uint8 u = i + 128 with zero point z + 128 (every op here reads q - z, which the shift keeps).
   */
  private act(op: TfliteOperator | undefined, k: number, what: string): { scale: number; zeroPoint: number } {
    const t = this.tensor(op, k, what);
    if (t.type !== UINT8 && t.type !== INT8) unsupported(op, `${what} "${t.name}" is ${t.typeName}; edgeq imports uint8 and int8 TFLite models`);
    if (t.data) unsupported(op, `${what} "${t.name}" is a constant; edgeq ops here read activations`);
    const qp = t.quantization;
    if (!qp) badModel(op, `${what} "${t.name}" is ${t.typeName} without quantization parameters`);
    if (qp!.scale.length !== 1) unsupported(op, `${what} "${t.name}" is quantized per channel; edgeq activations are per tensor`);
    const z = qp!.zeroPoint[0]!;
    const [lo, hi] = t.type === INT8 ? [-128, 127] : [0, 255];
    if (!(z >= lo && z <= hi)) badModel(op, `${what} "${t.name}" zero point ${z} is outside ${t.typeName}`);
    return { scale: qp!.scale[0]!, zeroPoint: t.type === INT8 ? z + 128 : z };
  }

  private scalar(name: string, type: 'float32' | 'uint8' | 'int8' | 'int32', values: number[]): string {
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
    const pad = this.padded.get(k!);
    if (pad) unsupported(op, `reads the output of operator ${pad.op.index} (PAD); edgeq imports a PAD only folded into the pads of the CONV_2D / DEPTHWISE_CONV_2D that reads it`);
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
    for (const op of ops) for (const k of op.inputs) if (k >= 0) this.readers.set(k, [...this.readers.get(k) ?? [], op]);
    // The tensor the runtime's input quantization writes (uint8 / int8 input, or QUANTIZE's output).
    let first: TfliteTensor;
    if (inT.type === UINT8 || inT.type === INT8) {
      // The image input: the runtime quantizes a float NCHW input with the tensor's own parameters.
      first = inT;
      this.quantizeInto(undefined, this.inputName, inT.index);
    } else if (inT.type === FLOAT32 && ops[0]?.builtin === BUILTIN.QUANTIZE && ops[0].inputs[0] === inT.index) {
      first = this.tensor(ops[0], ops[0].outputs[0]!, 'output');
      this.quantizeInto(ops[0], this.inputName, first.index);
      ops = ops.slice(1);
    } else {
      return unsupported(undefined, `graph input "${inT.name}" is ${inT.typeName}; edgeq imports a uint8 or int8 input (or a float32 one followed by QUANTIZE)`);
    }
    const inputParams = { scale: first.quantization!.scale[0]!, zeroPoint: first.quantization!.zeroPoint[0]!, type: first.type === INT8 ? 'int8' as const : 'uint8' as const };
    let outK = g.outputs[0]!;
    let droppedSoftmax = false, dequantizedOutput = false, softmaxBeta: number | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const last = i === ops.length - 1;
      if (this.fused.has(op)) continue;
      // A final DEQUANTIZE of the SOFTMAX's output: the softmax is still the last computing op.
      const tail = ops[i + 1];
      const dequantized = tail !== undefined && i + 1 === ops.length - 1 && tail.builtin === BUILTIN.DEQUANTIZE && tail.inputs[0] === op.outputs[0] && tail.outputs[0] === outK;
      if (op.builtin === BUILTIN.SOFTMAX && (last && op.outputs[0] === outK || dequantized)) {
        if (dequantized) i++;
        outK = this.input(op, 0);
        droppedSoftmax = true;
        softmaxBeta = (op.options as Partial<SoftmaxOptions>).beta ?? 1;
        if (!(Number.isFinite(softmaxBeta) && softmaxBeta > 0)) unsupported(op, `beta ${softmaxBeta} is not a positive finite number`);
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
    return { onnx: makeModel(graph, { opset: 13 }), input: { name: inT.name, shape: inT.shape, ...inputParams }, droppedSoftmax, softmaxBeta, poolRounding: this.poolRounding, xnnpackAdds: this.xnnpackAdds };
  }

  private operator(op: TfliteOperator): void {
    switch (op.builtin) {
      case BUILTIN.CONV_2D: return this.conv(op, op.options as Conv2DOptions, false);
      case BUILTIN.DEPTHWISE_CONV_2D: return this.conv(op, op.options as DepthwiseConv2DOptions, true);
      case BUILTIN.FULLY_CONNECTED: return this.fullyConnected(op, op.options as FullyConnectedOptions);
      case BUILTIN.ADD: return this.add(op, op.options as AddOptions);
      case BUILTIN.AVERAGE_POOL_2D: case BUILTIN.MAX_POOL_2D: return this.pool(op, op.options as Pool2DOptions);
      case BUILTIN.RESHAPE: case BUILTIN.SQUEEZE: return this.reshape(op);
      case BUILTIN.CONCATENATION: return this.concatenation(op, op.options as Partial<ConcatenationOptions>);
      case BUILTIN.MUL: return this.mul(op, op.options as Partial<MulOptions>);
      case BUILTIN.PAD: return this.pad(op);
      case BUILTIN.MEAN: return this.mean(op, op.options as Partial<ReducerOptions>);
      case BUILTIN.LOGISTIC: case BUILTIN.HARD_SWISH:
        return unsupported(op, `edgeq has no standalone ${op.opName === 'LOGISTIC' ? 'sigmoid' : 'hard-swish'} op; it is imported only fused into the CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED (no fused activation) whose output only it reads`);
      case BUILTIN.QUANTIZE: case BUILTIN.DEQUANTIZE:
        return unsupported(op, `a ${op.opName} inside the graph (a requantization or a float section); edgeq imports QUANTIZE only after a float32 graph input and DEQUANTIZE only as the last op`);
      case BUILTIN.SOFTMAX: return unsupported(op, 'a SOFTMAX is imported only as the last op (or before a final DEQUANTIZE)');
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

  /**
   * The node (and .edgeq op) name of a TFLite operator: its index and op code, as TFLite's profiler
   * and Netron name it. The output tensor keeps the tensor's own name; repeating it here (TFLite's
   * fused names run to hundreds of characters) doubled the names in the .edgeq header.
   */
  private nodeName(op: TfliteOperator): string {
    return `${op.index} ${op.opName}`;
  }

  /** A uint8 weight as a DequantizeLinear of its initializer (ONNX layout `dims`, values permuted by `from`). */
  private weight(op: TfliteOperator, k: number, dims: number[], from: (i: number) => number, channels: number, axis: number, perChannelDim: number): { name: string; scales: Float32Array } {
    const t = this.tensor(op, k, 'weight');
    if (t.type === INT8) return this.int8Weight(op, t, dims, from, channels, axis, perChannelDim);
    if (t.type !== UINT8) unsupported(op, `weight "${t.name}" is ${t.typeName}; edgeq imports uint8 and int8 TFLite weights`);
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
    const pad = this.padded.get(op.inputs[0]!);
    const xk = pad ? pad.from : this.input(op, 0);
    const x = this.tensor(op, op.inputs[0]!, 'input'), w = this.tensor(op, op.inputs[1]!, 'weight'), yk = op.outputs[0]!;
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
    const [pt0, pb0] = o.padding === 'SAME' ? samePadding(H, kh, o.strideH, o.dilationH) : [0, 0];
    const [pl0, pr0] = o.padding === 'SAME' ? samePadding(W, kw, o.strideW, o.dilationW) : [0, 0];
    const oh = Math.floor((H + pt0 + pb0 - (kh - 1) * o.dilationH - 1) / o.strideH) + 1, ow = Math.floor((W + pl0 + pr0 - (kw - 1) * o.dilationW - 1) / o.strideW) + 1;
    if (y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== O) badModel(op, `output [${y.shape}] is not the [1, ${oh}, ${ow}, ${O}] the geometry gives`);
    // A folded PAD (zero point fill, like the conv's own padding) adds to the pads over its input.
    const [pt, pl, pb, pr] = pad ? [pt0 + pad.pads[0], pl0 + pad.pads[1], pb0 + pad.pads[2], pr0 + pad.pads[3]] : [pt0, pl0, pb0, pr0];
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
    this.finishConv(op, o.activation, pre, yk);
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
    this.finishConv(op, o.activation, pre, yk);
  }

  private add(op: TfliteOperator, o: AddOptions): void {
    const a = this.input(op, 0), b = this.input(op, 1), yk = op.outputs[0]!;
    const ta = this.tensor(op, a, 'input'), tb = this.tensor(op, b, 'input');
    if (ta.shape.join() !== tb.shape.join()) unsupported(op, `operands [${ta.shape}] and [${tb.shape}] differ; edgeq adds equal shapes`);
    const pre = `${this.q(yk)}/add`;
    this.nodes.push(makeNode('Add', [this.dq(a), this.dq(b)], [pre], {}, this.nodeName(op)));
    const py = this.act(op, yk, 'output'), ratios = [this.act(op, a, 'input').scale, this.act(op, b, 'input').scale].map((s) => Math.fround(Math.fround(s) / Math.fround(py.scale)));
    if (ratios.every((r) => r >= 2 ** -10 && r < 2 ** 8)) this.xnnpackAdds.add(this.nodeName(op));
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
      if (o.filterH === H && o.filterW === W && y.shape[1] === 1 && y.shape[2] === 1) {
        this.nodes.push(makeNode('GlobalAveragePool', [this.dq(xk)], [pre], {}, this.nodeName(op)));
        this.poolRounding.set(this.nodeName(op), x.type === INT8 ? 'half-away-from-128' : 'half-up');
      } else {
        // TFLite divides by the taps inside the input (count_include_pad 0), for SAME padding too.
        if (!(o.strideH >= 1 && o.strideW >= 1 && o.filterH >= 1 && o.filterW >= 1)) badModel(op, `filter ${o.filterH}x${o.filterW} and strides ${o.strideH}x${o.strideW} must be positive`);
        const [pt, pb] = o.padding === 'SAME' ? samePadding(H, o.filterH, o.strideH, 1) : [0, 0];
        const [pl, pr] = o.padding === 'SAME' ? samePadding(W, o.filterW, o.strideW, 1) : [0, 0];
        const oh = Math.floor((H + pt + pb - o.filterH) / o.strideH) + 1, ow = Math.floor((W + pl + pr - o.filterW) / o.strideW) + 1;
        if (y.shape[1] !== oh || y.shape[2] !== ow || y.shape[3] !== x.shape[3]) badModel(op, `output [${y.shape}] is not the [1, ${oh}, ${ow}, ${x.shape[3]}] the window gives`);
        this.nodes.push(makeNode('AveragePool', [this.dq(xk)], [pre], {
          kernel_shape: attr.ints([o.filterH, o.filterW]), strides: attr.ints([o.strideH, o.strideW]), pads: attr.ints([pt, pl, pb, pr]), count_include_pad: attr.int(0),
        }, this.nodeName(op)));
        if (o.filterH * o.filterW <= 65280) this.poolRounding.set(this.nodeName(op), x.type === INT8 ? 'half-away-from-128' : 'half-up');
      }
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

  // ---- the ops of docs/tflite.md added with int8 support (concatenation, mul, pad, mean, fused sigmoid / hard-swish) ----

  /**
   * The conv's fused activation and output quantization. A LOGISTIC or HARD_SWISH that is the only
   * reader of a conv without a fused activation is fused into it (Sigmoid / HardSwish before the
   * QuantizeLinear, as the ONNX importer fuses QDQ ones): the conv's own uint8 output is then never
   * rounded, which TFLite does before its activation kernel (docs/tflite.md bounds the difference).
   */
  private finishConv(op: TfliteOperator, a: FusedActivation, pre: string, yk: number): void {
    const readers = this.readers.get(yk) ?? [];
    const next = readers.length === 1 ? readers[0]! : undefined;
    if (a === 'NONE' && next && (next.builtin === BUILTIN.LOGISTIC || next.builtin === BUILTIN.HARD_SWISH) && !this.g.outputs.includes(yk)) {
      const zk = next.outputs[0]!;
      if (next.builtin === BUILTIN.LOGISTIC) {
        // TFLite's quantized LOGISTIC writes scale 1/256 with zero point 0 (uint8) or -128 (int8).
        const z = this.tensor(next, zk, 'output');
        const qp = z.quantization;
        if (!qp || qp.scale[0] !== Math.fround(1 / 256) || qp.zeroPoint[0] !== (z.type === INT8 ? -128 : 0)) {
          badModel(next, `output "${z.name}" must have scale 1/256 and zero point ${z.type === INT8 ? -128 : 0} (TFLite's quantized LOGISTIC)`);
        }
      }
      const kind = next.builtin === BUILTIN.LOGISTIC ? 'Sigmoid' : 'HardSwish';
      const out = `${pre}/${kind.toLowerCase()}`;
      this.nodes.push(makeNode(kind, [pre], [out], {}, this.nodeName(next)));
      this.fused.add(next);
      return this.quantizeInto(next, out, zk);
    }
    this.quantizeInto(op, this.activation(op, a, pre), yk);
  }

  /**
   * An int8 weight (TensorFlow's scheme: symmetric, zero point 0, per channel along `perChannelDim`)
   * as a DequantizeLinear of its int8 initializer. w - zw must lie in [-127, 127] (edgeq's int8 kernels).
   */
  private int8Weight(op: TfliteOperator, t: TfliteTensor, dims: number[], from: (i: number) => number, channels: number, axis: number, perChannelDim: number): { name: string; scales: Float32Array } {
    if (!t.data) unsupported(op, `weight "${t.name}" is not a constant`);
    const qp = t.quantization;
    if (!qp) badModel(op, `weight "${t.name}" has no quantization parameters`);
    const n = qp!.scale.length;
    if (n !== 1 && qp!.quantizedDimension !== perChannelDim) unsupported(op, `weight "${t.name}" is quantized along dimension ${qp!.quantizedDimension}; edgeq needs the output channel (${perChannelDim})`);
    if (n !== 1 && n !== channels) badModel(op, `weight "${t.name}" has ${n} scales for ${channels} output channels`);
    for (const z of qp!.zeroPoint) if (!(z >= -128 && z <= 127)) badModel(op, `weight "${t.name}" zero point ${z} is outside int8`);
    const raw = new Int8Array(t.data!.buffer, t.data!.byteOffset, t.data!.length);
    const values = new Int8Array(raw.length);
    const inner = t.shape.slice(qp!.quantizedDimension + 1).reduce((a, d) => a * d, 1);
    for (let i = 0; i < values.length; i++) {
      const v = raw[from(i)]!;
      const d = v - qp!.zeroPoint[n === 1 ? 0 : Math.floor(from(i) / inner) % n]!;
      if (d < WEIGHT_MIN || d > WEIGHT_MAX) unsupported(op, `weight "${t.name}" value ${v} at ${from(i)} is ${d} from its zero point; edgeq's int8 kernels take w - zw in [-127, 127]`);
      values[i] = v;
    }
    const name = this.q(t.index);
    this.inits.push(makeTensor(name, 'int8', dims, values));
    const s = this.scalar(`${name}/scale`, 'float32', Array.from(qp!.scale)), z = this.scalar(`${name}/zero_point`, 'int8', qp!.zeroPoint);
    this.nodes.push(makeNode('DequantizeLinear', [name, s, z], [`${name}/dq`], n > 1 ? { axis: attr.int(axis) } : {}, `${name}/dequantize`));
    const scales = n === 1 ? new Float32Array(channels).fill(qp!.scale[0]!) : Float32Array.from(qp!.scale);
    return { name: `${name}/dq`, scales };
  }

  /** CONCATENATION along the channels (NHWC axis 3 / -1, or axis 1 / -1 of [N, C]): Concat(axis 1). */
  private concatenation(op: TfliteOperator, o: Partial<ConcatenationOptions>): void {
    if ((o.activation ?? 'NONE') !== 'NONE') unsupported(op, `a fused ${o.activation} after a concatenation is not supported`);
    const ks = op.inputs.map((_, i) => this.input(op, i));
    if (ks.length < 1) badModel(op, 'has no inputs');
    const yk = op.outputs[0]!;
    const rank = this.tensor(op, yk, 'output').shape.length;
    const axis = o.axis ?? 0, r = axis < 0 ? axis + rank : axis;
    if (r !== rank - 1 || (rank !== 4 && rank !== 2)) unsupported(op, `a concatenation along axis ${axis} of rank-${rank} tensors; edgeq concatenates the channels (axis ${rank - 1} / -1 of NHWC)`);
    const ts = ks.map((k) => this.tensor(op, k, 'input'));
    const y = this.tensor(op, yk, 'output');
    for (const t of ts) {
      if (t.shape.length !== rank || t.shape.some((d, i) => i !== rank - 1 && d !== y.shape[i])) badModel(op, `input "${t.name}" [${t.shape}] and output [${y.shape}] differ outside the channels`);
    }
    if (ts.reduce((a, t) => a + t.shape[rank - 1]!, 0) !== y.shape[rank - 1]) badModel(op, `output [${y.shape}] does not hold the inputs' ${ts.reduce((a, t) => a + t.shape[rank - 1]!, 0)} channels`);
    const pre = `${this.q(yk)}/concat`;
    this.nodes.push(makeNode('Concat', ks.map((k) => this.dq(k)), [pre], { axis: attr.int(1) }, this.nodeName(op)));
    this.quantizeInto(op, pre, yk);
  }

  /** MUL of two activations: equal shapes, or a [1, 1, 1, C] gate against [1, H, W, C] (squeeze-and-excitation). */
  private mul(op: TfliteOperator, o: Partial<MulOptions>): void {
    if ((o.activation ?? 'NONE') !== 'NONE') unsupported(op, `a fused ${o.activation} after a multiplication is not supported (edgeq's mul has no output clamp)`);
    const a = this.input(op, 0), b = this.input(op, 1), yk = op.outputs[0]!;
    const ta = this.tensor(op, a, 'input'), tb = this.tensor(op, b, 'input'), y = this.tensor(op, yk, 'output');
    const gate = (x: number[], g: number[]) => x.length === 4 && g.length === 4 && g[0] === x[0] && g[1] === 1 && g[2] === 1 && g[3] === x[3];
    const same = ta.shape.join() === tb.shape.join();
    if (!same && !gate(ta.shape, tb.shape) && !gate(tb.shape, ta.shape)) unsupported(op, `operands [${ta.shape}] and [${tb.shape}]: edgeq multiplies equal shapes or a [1, H, W, C] map by a [1, 1, 1, C] gate`);
    const big = same || gate(ta.shape, tb.shape) ? ta : tb;
    if (big.shape.join() !== y.shape.join()) badModel(op, `output [${y.shape}] is not the operands' [${big.shape}]`);
    const pre = `${this.q(yk)}/mul`;
    this.nodes.push(makeNode('Mul', [this.dq(a), this.dq(b)], [pre], {}, this.nodeName(op)));
    this.quantizeInto(op, pre, yk);
  }

  /**
   * PAD (constant, filled with the zero point, as TFLite's quantized PAD does) of H and W only: not
   * a tensor; the conv that reads it adds the pads to its own (a zero-point tap contributes nothing).
   */
  private pad(op: TfliteOperator): void {
    const xk = this.input(op, 0), yk = op.outputs[0]!;
    const x = this.tensor(op, xk, 'input'), y = this.tensor(op, yk, 'output');
    const p = this.tensor(op, op.inputs[1] ?? -1, 'paddings');
    if (!p.data || p.type !== INT32 || p.shape.join() !== `${x.shape.length},2`) unsupported(op, `paddings "${p.name}" must be a constant int32 [${x.shape.length}, 2] tensor`);
    if (x.shape.length !== 4) unsupported(op, `input [${x.shape}] must be NHWC`);
    const view = new DataView(p.data!.buffer, p.data!.byteOffset, p.data!.byteLength);
    const v = Array.from({ length: 8 }, (_, i) => view.getInt32(4 * i, true));
    if (v.some((d) => d < 0)) unsupported(op, `negative paddings [${v}] (a crop) are not supported`);
    if (v[0] !== 0 || v[1] !== 0 || v[6] !== 0 || v[7] !== 0) unsupported(op, `paddings [${v}] pad the batch or the channels; edgeq folds spatial (H, W) padding only`);
    const px = this.act(op, xk, 'input'), py = this.act(op, yk, 'output');
    if (px.scale !== py.scale || px.zeroPoint !== py.zeroPoint) badModel(op, `output parameters (${py.scale}, ${py.zeroPoint}) differ from the input's (${px.scale}, ${px.zeroPoint}); TFLite's PAD keeps them`);
    if (y.shape.join() !== [x.shape[0], x.shape[1]! + v[2]! + v[3]!, x.shape[2]! + v[4]! + v[5]!, x.shape[3]].join()) badModel(op, `output [${y.shape}] is not input [${x.shape}] padded by [${v}]`);
    const readers = this.readers.get(yk) ?? [];
    if (readers.length === 0 || this.g.outputs.includes(yk) || readers.some((r) => r.builtin !== BUILTIN.CONV_2D && r.builtin !== BUILTIN.DEPTHWISE_CONV_2D || r.inputs[0] !== yk)) {
      unsupported(op, 'a PAD is imported only folded into the pads of the CONV_2D / DEPTHWISE_CONV_2D ops that read it (edgeq has no pad op)');
    }
    this.padded.set(yk, { from: xk, pads: [v[2]!, v[4]!, v[3]!, v[5]!], op });
  }

  /** MEAN over H and W ([1, 2] of NHWC, either order, negatives allowed): a global average pool, requantized into the output's parameters. */
  private mean(op: TfliteOperator, o: Partial<ReducerOptions>): void {
    const xk = this.input(op, 0), yk = op.outputs[0]!;
    const x = this.tensor(op, xk, 'input'), y = this.tensor(op, yk, 'output');
    const at = this.tensor(op, op.inputs[1] ?? -1, 'axes');
    if (!at.data || at.type !== INT32) unsupported(op, `axes "${at.name}" must be a constant int32 tensor`);
    if (x.shape.length !== 4) unsupported(op, `input [${x.shape}] must be NHWC`);
    const view = new DataView(at.data!.buffer, at.data!.byteOffset, at.data!.byteLength);
    const axes = Array.from({ length: at.data!.length / 4 }, (_, i) => view.getInt32(4 * i, true)).map((a) => (a < 0 ? a + 4 : a)).sort();
    if (axes.join() !== '1,2') unsupported(op, `a mean over axes [${axes}]; edgeq averages over H and W (axes 1 and 2)`);
    const C = x.shape[3]!;
    const keep = o.keepDims ?? false;
    if (y.shape.join() !== (keep ? [1, 1, 1, C] : [1, C]).join()) badModel(op, `output [${y.shape}] is not the [${keep ? `1, 1, 1, ${C}` : `1, ${C}`}] a mean over H and W gives`);
    const pre = `${this.q(yk)}/mean`;
    this.nodes.push(makeNode('GlobalAveragePool', [this.dq(xk)], [pre], {}, this.nodeName(op)));
    if (keep) return this.quantizeInto(op, pre, yk);
    // keep_dims false: quantize the [1, C, 1, 1] average, then a layout-free Reshape to [1, C].
    const p = this.act(op, yk, 'output');
    const s = this.scalar(`${this.q(yk)}/scale`, 'float32', [p.scale]), z = this.scalar(`${this.q(yk)}/zero_point`, 'uint8', [p.zeroPoint]);
    const q4 = `${this.q(yk)}/4d`, shape = `${this.q(yk)}/shape`;
    this.nodes.push(makeNode('QuantizeLinear', [pre, s, z], [q4], {}, `${this.q(yk)}/quantize`));
    this.inits.push(makeTensor(shape, 'int64', [2], [1, C]));
    this.nodes.push(makeNode('Reshape', [q4, shape], [this.q(yk)], {}, `${op.index} ${op.opName}/squeeze`));
    this.dequantize(yk);
  }
}
