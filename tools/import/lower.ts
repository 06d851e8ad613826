// Lowers an already quantized ONNX graph (QOperator or QDQ form) onto .edgeq ops, keeping the file's
// own integers: no calibration, no requantization of weights. The graph is read once in topological
// order and every ONNX tensor gets a symbolic value:
//   q       a quantized activation: an edgeq tensor (uint8; an int8 tensor is stored + 128, zero point included)
//   dq      the float DequantizeLinear of a q value (QDQ form, and the final DequantizeLinear)
//   pending a float compute result (Conv, Gemm, MatMul, Add, Mul, Concat, pools, with its Relu/Clip/LeakyRelu)
//           that becomes an edgeq op once a QuantizeLinear gives its output parameters (or the graph
//           output reads it as float32)
//   const   a constant (initializer, Constant, a folded Shape -> Gather -> Unsqueeze -> Concat chain)
//   dqconst DequantizeLinear of a constant (QDQ weights and biases)
// QOperator nodes (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearMul, QLinearConcat,
// QLinearAveragePool, QLinearGlobalAveragePool) become edgeq ops directly. Anything edgeq cannot
// compute exactly is an EdgeqError naming the node.
import { EdgeqError } from 'edgeq';
import { type Activation, type QModel, type QOp, type QTensor } from 'edgeq/format';
import { packConv } from 'edgeq/kernels';
import type { ModelDef, NodeDef, TensorValue } from '../onnx/model.js';
import { getFloat, getInt, getInts, nodeLabel, readClipBounds, readConvAttributes, readWindowAttributes } from '../onnx/ops.js';
import { resolveConvGeometry, resolveWindow, topologicalOrder } from '../onnx/shape-inference.js';
import { constantNodeValue } from '../onnx/shape-inference.js';
import { makeTensor, tensorToNumbers } from '../onnx/tensor.js';
import { storedActivation } from '../quantize/ops/activation.js';
import { ceilModePads } from '../quantize/ops/pool-window.js';
import { actParams, biasOf, centeredWeights, constantOf, fail, scalesOf, zeroPointsOf, type ActParams } from './params.js';

/** The ops of the runtime today; a quantized op outside them is UNSUPPORTED_OP naming it. */
const MISSING_RUNTIME_OPS: Record<string, string> = {
  QLinearLeakyRelu: 'a standalone LeakyRelu', QLinearSigmoid: 'Sigmoid',
};

/** An average pool window as the .edgeq stores it (ceil mode folded into the end pads). */
interface PoolWindow { kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number]; countIncludePad: boolean }

interface Dims { dims: number[] }
type QValue = Dims & { kind: 'q'; t: number };
type DqValue = Dims & { kind: 'dq'; t: number };
interface ConstValue { kind: 'const'; value: TensorValue }
interface DqConstValue { kind: 'dqconst'; q: TensorValue; scale: TensorValue; zeroPoint?: TensorValue; axis: number; node: NodeDef }
interface FloatInput extends Dims { kind: 'input'; name: string }

/** A float op result waiting for its output's quantization. */
type Pending = Dims & {
  kind: 'pending';
  node: NodeDef;
  activation: Activation;
  op:
    | { op: 'conv'; conv: ConvSpec }
    | { op: 'add'; a: number; b: number }
    | { op: 'gap'; x: number }
    | { op: 'mul'; a: number; b: number }
    | { op: 'concat'; inputs: number[] }
    | ({ op: 'avgpool'; x: number } & PoolWindow)
    | { op: 'maxpool'; x: number; kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number] };
};
type Value = QValue | DqValue | ConstValue | DqConstValue | FloatInput | Pending;

/** A convolution (or a fully connected layer as a 1x1 conv) with its integer weights. */
interface ConvSpec {
  x: number;
  /** OHWI w - zw in [-255, 255] (packed as int8 where every value fits, else int16: packConv). */
  weights: Int8Array | Int16Array;
  bias: Int32Array;
  /** Per output channel, float32. */
  wScales: Float32Array;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
  dilation: [number, number];
  group: number;
  inChannels: number;
  outChannels: number;
  /** The output's ONNX dims. */
  outDims: number[];
}

export interface LowerResult {
  model: Omit<QModel, 'producer'>;
  /** Which form the file was in. */
  form: 'qoperator' | 'qdq';
}

/** NCHW or [N, C] ONNX dims to the runtime's NHWC shape. */
function nhwc(node: NodeDef | undefined, dims: number[]): [number, number, number, number] {
  if (dims.length === 4) return [dims[0]!, dims[2]!, dims[3]!, dims[1]!];
  if (dims.length === 2) return [dims[0]!, 1, 1, dims[1]!];
  return fail(node, `tensor dims [${dims}] are neither NCHW nor [N, C]`, 'BAD_SHAPE');
}

export function lowerQuantized(model: ModelDef): LowerResult {
  return new Lowering(model).run();
}

class Lowering {
  private readonly values = new Map<string, Value>();
  private readonly tensors: QTensor[] = [];
  private readonly ops: QOp[] = [];
  private readonly blobs: Uint8Array[] = [];
  private readonly opset: number;
  private inputNchw: [number, number, number, number] | undefined;
  private inputName = '';
  private qoperator = false;

  constructor(private readonly model: ModelDef) {
    const main = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    this.opset = main?.version ?? 13;
  }

  run(): LowerResult {
    const g = this.model.graph;
    if (g.inputs.length !== 1) fail(undefined, `the graph has ${g.inputs.length} inputs; edgeq models take one image input`);
    if (g.outputs.length === 0) fail(undefined, 'the graph has no outputs', 'BAD_ONNX');
    const input = g.inputs[0]!;
    if (input.dataType !== 'float32') fail(undefined, `graph input "${input.name}" is ${input.dataType}; edgeq takes a float32 input and quantizes it with the file's QuantizeLinear`);
    if (input.dims.length !== 4) fail(undefined, `graph input "${input.name}" has dims [${input.dims}]; edgeq takes NCHW images`, 'BAD_SHAPE');
    const dims = input.dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : NaN));
    if (dims.some((d) => !Number.isInteger(d))) fail(undefined, `graph input "${input.name}" dims [${input.dims}] must be static but for the batch`, 'BAD_SHAPE');
    dims[0] = 1;
    this.inputNchw = dims as [number, number, number, number];
    this.inputName = input.name;
    this.values.set(input.name, { kind: 'input', name: input.name, dims });
    for (const t of g.initializers.values()) this.values.set(t.name, { kind: 'const', value: t });
    for (const node of topologicalOrder(g)) this.visit(node);

    // Every graph output, in order (a model may output several tensors, an intermediate one among them).
    const outputs = g.outputs.map(({ name: outName }) => {
      const out = this.values.get(outName);
      let outTensor: number;
      if (out?.kind === 'dq') outTensor = out.t;
      else if (out?.kind === 'pending') outTensor = this.materialize(out, undefined, outName);
      else if (out?.kind === 'q') return fail(undefined, `graph output "${outName}" is quantized; edgeq returns float32 outputs (end the graph with its DequantizeLinear)`);
      else return fail(undefined, `graph output "${outName}" is not computed from the quantized graph`);
      return { name: outName, tensor: outTensor };
    });
    const shared = outputs.find((o, i) => outputs.findIndex((p) => p.tensor === o.tensor) !== i);
    if (shared) fail(undefined, `graph outputs "${outputs.find((p) => p.tensor === shared.tensor)!.name}" and "${shared.name}" are the same tensor; edgeq gives each output its own tensor`);
    if (!this.tensors[0] || this.tensors[0].name !== this.inputName) fail(undefined, `graph input "${this.inputName}" is never quantized by a QuantizeLinear`);
    return {
      form: this.qoperator ? 'qoperator' : 'qdq',
      model: {
        input: { name: this.inputName, tensor: 0, nchw: this.inputNchw! },
        outputs,
        tensors: this.tensors, ops: this.ops, blobs: this.blobs,
      },
    };
  }

  // ---- values ----

  private get(node: NodeDef, i: number): Value | undefined {
    const name = node.inputs[i];
    if (!name) return undefined;
    const v = this.values.get(name);
    if (!v) fail(node, `input "${name}" is not produced by any supported node`, 'BAD_ONNX');
    return v;
  }

  private constant(node: NodeDef, i: number, what: string): TensorValue {
    const v = this.get(node, i);
    if (!v || v.kind !== 'const') fail(node, `${what} "${node.inputs[i] ?? ''}" must be a constant initializer`, 'BAD_ONNX');
    return (v as ConstValue).value;
  }

  private optionalConstant(node: NodeDef, i: number, what: string): TensorValue | undefined {
    return node.inputs[i] ? this.constant(node, i, what) : undefined;
  }

  private quantized(node: NodeDef, i: number, what = 'input'): QValue {
    const v = this.get(node, i);
    if (v?.kind !== 'q') fail(node, `${what} "${node.inputs[i] ?? ''}" must be a quantized (uint8/int8) activation`);
    return v as QValue;
  }

  /** A dq value (QDQ form): the quantized tensor it reads. */
  private dequantized(node: NodeDef, i: number, what = 'input'): DqValue {
    const v = this.get(node, i);
    if (v?.kind !== 'dq') fail(node, `${what} "${node.inputs[i] ?? ''}" must come from a DequantizeLinear of a quantized activation (a QDQ group)`);
    if (this.tensors[(v as DqValue).t]!.dtype === 'float32') fail(node, `${what} "${node.inputs[i]}" is a float32 result; edgeq ops here read quantized tensors`);
    return v as DqValue;
  }

  private set(node: NodeDef, v: Value, k = 0): void {
    this.values.set(node.outputs[k]!, v);
  }

  /** A new uint8 tensor with `p`'s parameters and ONNX dims `dims`. */
  private addTensor(node: NodeDef | undefined, name: string, dims: number[], p: ActParams | undefined): number {
    this.tensors.push(p ? { name, shape: nhwc(node, dims), dtype: 'uint8', scale: p.scale, zeroPoint: p.zeroPoint }
      : { name, shape: nhwc(node, dims), dtype: 'float32', scale: 1, zeroPoint: 0 });
    return this.tensors.length - 1;
  }

  private paramsOf(t: number): ActParams {
    const x = this.tensors[t]!;
    return { scale: x.scale, zeroPoint: x.zeroPoint, signed: false };
  }

  // ---- nodes ----

  private visit(node: NodeDef): void {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    if (domain !== '' && domain !== 'com.microsoft') fail(node, `domain "${node.domain}" is not one edgeq imports`);
    if (MISSING_RUNTIME_OPS[node.opType]) {
      fail(node, `the edgeq runtime has no ${MISSING_RUNTIME_OPS[node.opType]} op, so this quantized graph cannot be imported exactly`);
    }
    switch (node.opType) {
      case 'Constant': return this.set(node, { kind: 'const', value: constantNodeValue(node) });
      case 'QuantizeLinear': return this.quantizeLinear(node);
      case 'DequantizeLinear': return this.dequantizeLinear(node);
      case 'QLinearConv': this.qoperator = true; return this.qlinearConv(node);
      case 'QLinearMatMul': this.qoperator = true; return this.qlinearMatMul(node);
      case 'QGemm': this.qoperator = true; return this.qgemm(node);
      case 'QLinearAdd': this.qoperator = true; return this.qlinearAdd(node);
      case 'QLinearGlobalAveragePool': this.qoperator = true; return this.qlinearGap(node);
      case 'QLinearMul': this.qoperator = true; return this.qlinearMul(node);
      case 'QLinearConcat': this.qoperator = true; return this.qlinearConcat(node);
      case 'QLinearAveragePool': this.qoperator = true; return this.qlinearAvgPool(node);
      case 'Conv': return this.floatConv(node);
      case 'Gemm': case 'MatMul': return this.floatFc(node);
      case 'Add': return this.floatAdd(node);
      case 'Mul': return this.floatMul(node);
      case 'GlobalAveragePool': return this.globalAvgPool(node);
      case 'AveragePool': return this.avgPool(node);
      case 'MaxPool': return this.maxPool(node);
      case 'Relu': case 'Clip': case 'LeakyRelu': case 'HardSigmoid': case 'HardSwish': case 'Sigmoid': return this.activation(node);
      case 'Flatten': case 'Reshape': case 'Identity': case 'Squeeze': return this.reshape(node);
      case 'Concat':
        if (node.inputs.every((_, i) => this.get(node, i)?.kind === 'const')) return this.fold(node);
        return this.floatConcat(node);
      case 'Shape': case 'Gather': case 'Unsqueeze': case 'Cast': return this.fold(node);
      default: fail(node, `${node.domain ? `${node.domain} ` : ''}${node.opType} is not an op edgeq imports (docs/import.md lists them)`);
    }
  }

  private quantizeLinear(node: NodeDef): void {
    const x = this.get(node, 0);
    const p = actParams(node, this.constant(node, 1, 'scale'), this.optionalConstant(node, 2, 'zero point'));
    if (getInt(node, 'axis', 1) !== 1 && this.constant(node, 1, 'scale').data.length > 1) fail(node, 'per-channel activation quantization is not supported');
    if (x?.kind === 'input') {
      if (this.tensors.length > 0) fail(node, `graph input "${x.name}" is quantized twice; edgeq quantizes it once`);
      this.addTensor(node, x.name, x.dims, p);
      return this.set(node, { kind: 'q', t: 0, dims: x.dims });
    }
    if (x?.kind === 'pending') {
      const t = this.materialize(x, p, node.outputs[0]!);
      return this.set(node, { kind: 'q', t, dims: x.dims });
    }
    if (x?.kind === 'dq') {
      // Q(DQ(t)) with t's own parameters is t; other parameters would be a requantization op.
      const own = this.paramsOf(x.t);
      if (own.scale === p.scale && own.zeroPoint === p.zeroPoint) return this.set(node, { kind: 'q', t: x.t, dims: x.dims });
      fail(node, `requantizes "${node.inputs[0]}" from (${own.scale}, ${own.zeroPoint}) to (${p.scale}, ${p.zeroPoint}); edgeq has no requantize op`);
    }
    fail(node, `quantizes "${node.inputs[0]}", which is not the graph input nor the result of an op edgeq imports`);
  }

  private dequantizeLinear(node: NodeDef): void {
    const x = this.get(node, 0);
    if (x?.kind === 'const') {
      const scale = this.constant(node, 1, 'scale');
      const zeroPoint = this.optionalConstant(node, 2, 'zero point');
      return this.set(node, { kind: 'dqconst', q: x.value, scale, zeroPoint, axis: getInt(node, 'axis', 1), node });
    }
    if (x?.kind !== 'q') fail(node, `dequantizes "${node.inputs[0]}", which is neither a constant nor a quantized activation`);
    const q = x as QValue;
    const p = actParams(node, this.constant(node, 1, 'scale'), this.optionalConstant(node, 2, 'zero point'));
    const own = this.paramsOf(q.t);
    if (own.scale !== p.scale || own.zeroPoint !== p.zeroPoint) {
      fail(node, `dequantizes "${node.inputs[0]}" with (${p.scale}, ${p.zeroPoint}) but it was quantized with (${own.scale}, ${own.zeroPoint})`);
    }
    this.set(node, { kind: 'dq', t: q.t, dims: q.dims });
  }

  private pending(node: NodeDef, op: Pending['op'], dims: number[]): Pending {
    return { kind: 'pending', node, op, dims, activation: { kind: 'none' } };
  }

  /** Turns a pending float op into its edgeq op, writing a tensor quantized with `p` (float32 when undefined). */
  private materialize(v: Pending, p: ActParams | undefined, name: string): number {
    const { node, op } = v;
    if (op.op === 'maxpool') {
      const own = this.paramsOf(op.x);
      if (!p || own.scale !== p.scale || own.zeroPoint !== p.zeroPoint) {
        fail(node, 'a max pool output must keep its input\'s scale and zero point (max commutes with the quantization only then)');
      }
      const y = this.addTensor(node, name, v.dims, p);
      this.ops.push({ op: 'maxpool', name: node.name, input: op.x, output: y, kernel: op.kernel, stride: op.stride, pads: op.pads });
      return y;
    }
    if ((op.op === 'mul' || op.op === 'concat' || op.op === 'avgpool') && !p) {
      fail(node, `a ${node.opType} of quantized tensors must be followed by its QuantizeLinear (edgeq's ${op.op} writes a quantized tensor)`);
    }
    if (op.op === 'gap' && (this.tensors[op.x]!.dtype === 'float32') !== !p) {
      fail(node, 'a global average pool maps uint8 -> uint8 or float32 -> float32 (its output must be quantized exactly when its input is)');
    }
    const y = this.addTensor(node, name, v.dims, p);
    const activation = p ? storedActivation(v.activation, { dtype: 'uint8', scale: p.scale, zeroPoint: p.zeroPoint }) : v.activation;
    if (op.op === 'conv') this.emitConv(node, op.conv, y, activation);
    else if (op.op === 'add') this.ops.push({ op: 'add', name: node.name, a: op.a, b: op.b, output: y, activation });
    else if (op.op === 'mul') this.ops.push({ op: 'mul', name: node.name, a: op.a, b: op.b, output: y });
    else if (op.op === 'concat') this.ops.push({ op: 'concat', name: node.name, inputs: op.inputs, output: y });
    else if (op.op === 'avgpool') {
      const { kernel, stride, pads, countIncludePad } = op;
      this.ops.push({ op: 'avgpool', name: node.name, input: op.x, output: y, kernel, stride, pads, countIncludePad });
    }
    else {
      if (v.activation.kind !== 'none') fail(node, `an activation after a global average pool is not supported`);
      this.ops.push({ op: 'gap', name: node.name, input: op.x, output: y });
    }
    return y;
  }

  /** Packs the conv's integers: bias, input zero point folded in, and one fp32 multiplier per channel (XNNPACK's fp32 scheme). */
  private emitConv(node: NodeDef, c: ConvSpec, y: number, activation: Activation, name = node.name): void {
    const x = this.tensors[c.x]!, out = this.tensors[y]!;
    const multipliers = new Float32Array(c.outChannels);
    for (let o = 0; o < c.outChannels; o++) {
      const acc = Math.fround(x.scale * c.wScales[o]!);
      multipliers[o] = out.dtype === 'float32' ? acc : Math.fround(acc / out.scale);
    }
    const packed = packConv({ weights: c.weights, bias: c.bias, multipliers, inputZeroPoint: x.zeroPoint, kernel: c.kernel, inChannels: c.inChannels, outChannels: c.outChannels, group: c.group });
    this.ops.push({
      op: 'conv', name, input: c.x, output: y, kernel: c.kernel, stride: c.stride, pads: c.pads, dilation: c.dilation, group: c.group,
      inChannels: c.inChannels, outChannels: c.outChannels, activation, weights: this.blobs.length, packing: packed.packing, weightScales: c.wScales.every((v) => v === c.wScales[0]) ? c.wScales.subarray(0, 1) : c.wScales,
    });
    this.blobs.push(packed.blob);
  }

  // ---- convolutions ----

  /** Geometry and OHWI integer weights of a Conv / QLinearConv reading x (NCHW dims) with weight w (OIHW). */
  private convSpec(node: NodeDef, x: QValue | DqValue, w: TensorValue, wScale: TensorValue, wZero: TensorValue | undefined, bias: Int32Array | undefined): ConvSpec {
    if (w.dims.length !== 4 || x.dims.length !== 4) fail(node, `only 2-D convolutions are supported (weight [${w.dims}], input [${x.dims}])`);
    const geo = resolveConvGeometry(node, x.dims, w.dims, this.opset);
    const [O, I, kh, kw] = w.dims as [number, number, number, number];
    const wScales = this.channelScales(node, wScale, O);
    const per = I * kh * kw;
    const centered = centeredWeights(node, w, wZero, O, (i) => Math.floor(i / per));
    const weights = new Int16Array(centered.length);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let yy = 0; yy < kh; yy++) for (let xx = 0; xx < kw; xx++) {
      weights[((o * kh + yy) * kw + xx) * I + i] = centered[((o * I + i) * kh + yy) * kw + xx]!;
    }
    return {
      x: x.t, weights, bias: bias ?? new Int32Array(O), wScales, kernel: [kh, kw], stride: [geo.strides[0]!, geo.strides[1]!],
      pads: [geo.padsBegin[0]!, geo.padsBegin[1]!, geo.padsEnd[0]!, geo.padsEnd[1]!], dilation: [geo.dilations[0]!, geo.dilations[1]!],
      group: geo.group, inChannels: geo.inChannels, outChannels: O, outDims: geo.outputDims,
    };
  }

  /** Per output channel weight scales (a per-tensor scale repeated). */
  private channelScales(node: NodeDef, scale: TensorValue, channels: number): Float32Array {
    const s = scalesOf(node, scale, scale.data.length === 1 ? 1 : channels);
    return s.length === channels ? Float32Array.from(s) : new Float32Array(channels).fill(s[0]!);
  }

  private qlinearConv(node: NodeDef): void {
    const x = this.quantized(node, 0);
    this.checkInputParams(node, x, 1, 2);
    const w = this.constant(node, 3, 'weight');
    const bias = biasOf(node, this.optionalConstant(node, 8, 'bias'), w.dims[0] ?? 0);
    const spec = this.convSpec(node, x, w, this.constant(node, 4, 'weight scale'), this.optionalConstant(node, 5, 'weight zero point'), bias);
    const y = this.outputParams(node, 6, 7);
    const t = this.addTensor(node, node.outputs[0]!, spec.outDims, y);
    this.emitConv(node, spec, t, { kind: 'none' });
    this.set(node, { kind: 'q', t, dims: spec.outDims });
  }

  /** The file's (scale, zero point) of a QOperator input must be those its tensor was written with. */
  private checkInputParams(node: NodeDef, x: QValue, si: number, zi: number, input = 0): void {
    const p = actParams(node, this.constant(node, si, 'scale'), this.optionalConstant(node, zi, 'zero point'));
    const own = this.paramsOf(x.t);
    if (own.scale !== p.scale || own.zeroPoint !== p.zeroPoint) {
      fail(node, `reads "${node.inputs[input]}" as (${p.scale}, ${p.zeroPoint}) but it holds (${own.scale}, ${own.zeroPoint})`);
    }
  }

  private outputParams(node: NodeDef, si: number, zi: number): ActParams {
    return actParams(node, this.constant(node, si, 'output scale'), this.optionalConstant(node, zi, 'output zero point'));
  }

  /** A fully connected layer over [N, K] as a 1x1 conv: `at(k, n)` is where weight (k, n) sits in `centered`. */
  private fcSpec(node: NodeDef, x: QValue | DqValue, K: number, N: number, centered: Int16Array, at: (k: number, n: number) => number, wScales: Float32Array, bias: Int32Array): ConvSpec {
    if (x.dims.length !== 2) fail(node, `fully connected input must be [N, K], got [${x.dims}]`, 'BAD_SHAPE');
    if (x.dims[1] !== K) fail(node, `weight K ${K} does not match input [${x.dims}]`, 'BAD_SHAPE');
    const weights = new Int16Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) weights[n * K + k] = centered[at(k, n)]!;
    return {
      x: x.t, weights, bias, wScales, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1,
      inChannels: K, outChannels: N, outDims: [x.dims[0]!, N],
    };
  }

  /** A [K, N] (or transposed [N, K]) weight with per-column (per output) or per-tensor scale and zero point. */
  private matrixSpec(node: NodeDef, x: QValue | DqValue, w: TensorValue, scale: TensorValue, zero: TensorValue | undefined, transB: boolean, bias?: Int32Array): ConvSpec {
    if (w.dims.length !== 2) fail(node, `weight "${w.name}" must be 2-D, got [${w.dims}]`, 'BAD_SHAPE');
    const [K, N] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    const wScales = this.channelScales(node, scale, N);
    const centered = centeredWeights(node, w, zero, N, (i) => (transB ? Math.floor(i / K) : i % N));
    return this.fcSpec(node, x, K, N, centered, (k, n) => (transB ? n * K + k : k * N + n), wScales, bias ?? new Int32Array(N));
  }

  private qlinearMatMul(node: NodeDef): void {
    const x = this.quantized(node, 0);
    this.checkInputParams(node, x, 1, 2);
    const spec = this.matrixSpec(node, x, this.constant(node, 3, 'weight'), this.constant(node, 4, 'weight scale'), this.optionalConstant(node, 5, 'weight zero point'), false);
    const t = this.addTensor(node, node.outputs[0]!, spec.outDims, this.outputParams(node, 6, 7));
    this.emitConv(node, spec, t, { kind: 'none' });
    this.set(node, { kind: 'q', t, dims: spec.outDims });
  }

  /** com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C (int32), y_scale, y_zp; no y_scale = float32 output. */
  private qgemm(node: NodeDef): void {
    if (getInt(node, 'transA', 0) !== 0) fail(node, 'transA=1 is not supported');
    if (getFloat(node, 'alpha', 1) !== 1) fail(node, `alpha ${getFloat(node, 'alpha', 1)} is not supported (edgeq's multiplier is input scale x weight scale)`);
    const x = this.quantized(node, 0);
    this.checkInputParams(node, x, 1, 2);
    const w = this.constant(node, 3, 'weight');
    const transB = getInt(node, 'transB', 0) !== 0;
    const N = transB ? w.dims[0]! : w.dims[1]!;
    const bias = biasOf(node, this.optionalConstant(node, 6, 'bias'), N);
    const spec = this.matrixSpec(node, x, w, this.constant(node, 4, 'weight scale'), this.optionalConstant(node, 5, 'weight zero point'), transB, bias);
    const p = node.inputs[7] ? this.outputParams(node, 7, 8) : undefined;
    const t = this.addTensor(node, node.outputs[0]!, spec.outDims, p);
    this.emitConv(node, spec, t, { kind: 'none' });
    this.set(node, p ? { kind: 'q', t, dims: spec.outDims } : { kind: 'dq', t, dims: spec.outDims });
  }

  /** QDQ Conv: DQ(x), DQ(W int8, axis 0), DQ(B int32) -> Conv. */
  private floatConv(node: NodeDef): void {
    const x = this.dequantized(node, 0);
    const w = this.weightOf(node, 1);
    const O = w.q.dims[0] ?? 0;
    const bias = node.inputs[2] ? this.biasOf(node, 2, x, w, O) : undefined;
    const spec = this.convSpec(node, x, w.q, w.scale, w.zeroPoint, bias);
    this.set(node, this.pending(node, { op: 'conv', conv: spec }, spec.outDims));
  }

  private weightOf(node: NodeDef, i: number): DqConstValue {
    const v = this.get(node, i);
    if (v?.kind !== 'dqconst') fail(node, `weight "${node.inputs[i] ?? ''}" must be a DequantizeLinear of a constant int8/uint8 tensor`);
    const w = v as DqConstValue;
    if (w.scale.data.length > 1 && w.axis !== 0) fail(w.node, `per-channel weights must be quantized along axis 0 (got axis ${w.axis})`);
    return w;
  }

  /** A DQ(int32) bias whose scale is input scale x weight scale (the integers are used as they are, as onnxruntime does). */
  private biasOf(node: NodeDef, i: number, x: DqValue, w: DqConstValue, count: number, wScales?: Float32Array): Int32Array {
    const v = this.get(node, i);
    if (v?.kind !== 'dqconst') fail(node, `bias "${node.inputs[i] ?? ''}" must be a DequantizeLinear of a constant int32 tensor`);
    const b = v as DqConstValue;
    const bias = biasOf(node, b.q, count);
    const zp = b.zeroPoint ? tensorToNumbers(b.zeroPoint) : [0];
    if (zp.some((z) => z !== 0)) fail(node, `bias "${b.q.name}" has a non-zero zero point`);
    const bs = scalesOf(node, b.scale);
    const ws = wScales ?? this.channelScales(node, w.scale, count);
    const xs = this.tensors[x.t]!.scale;
    for (let c = 0; c < count; c++) {
      const want = Math.fround(xs * ws[c]!), got = bs[bs.length === 1 ? 0 : c]!;
      if (Math.abs(got - want) > 1e-6 * want) fail(node, `bias "${b.q.name}" scale ${got} (channel ${c}) is not input scale x weight scale ${want}; its integers would need requantizing`);
    }
    return bias;
  }

  /** QDQ Gemm (transA 0, alpha = beta = 1) and MatMul over DQ(x) [N, K] with a DQ weight. */
  private floatFc(node: NodeDef): void {
    const x = this.dequantized(node, 0);
    const w = this.weightOf(node, 1);
    let transB = false;
    if (node.opType === 'Gemm') {
      if (getInt(node, 'transA', 0) !== 0) fail(node, 'transA=1 is not supported');
      if (getFloat(node, 'alpha', 1) !== 1 || getFloat(node, 'beta', 1) !== 1) fail(node, 'alpha and beta must be 1');
      transB = getInt(node, 'transB', 0) !== 0;
    }
    if (w.q.dims.length !== 2) fail(node, `weight "${w.q.name}" must be 2-D`, 'BAD_SHAPE');
    const N = transB ? w.q.dims[0]! : w.q.dims[1]!;
    if (w.scale.data.length > 1 && w.axis !== (transB ? 0 : 1)) fail(w.node, `per-channel weights must be quantized along the output axis (${transB ? 0 : 1})`);
    const bias = node.opType === 'Gemm' && node.inputs[2] ? this.biasOf(node, 2, x, w, N) : undefined;
    const spec = this.matrixSpec(node, x, w.q, w.scale, w.zeroPoint, transB, bias);
    this.set(node, this.pending(node, { op: 'conv', conv: spec }, spec.outDims));
  }

  // ---- adds and pools ----

  private qlinearAdd(node: NodeDef): void {
    const aConst = this.get(node, 0)?.kind === 'const', bConst = this.get(node, 3)?.kind === 'const';
    if (aConst && bConst) fail(node, 'both operands are constants');
    const a = aConst ? undefined : this.addOperand(node, 0, 1, 2);
    const b = bConst ? undefined : this.addOperand(node, 3, 4, 5, a);
    const like = (a ?? b)!;
    const ra = a ?? this.constantOperand(node, 0, 1, 2, like);
    const rb = b ?? this.constantOperand(node, 3, 4, 5, like);
    const t = this.addTensor(node, node.outputs[0]!, like.dims, this.outputParams(node, 6, 7));
    this.ops.push({ op: 'add', name: node.name, a: ra.t, b: rb.t, output: t, activation: { kind: 'none' } });
    this.set(node, { kind: 'q', t, dims: like.dims });
  }

  /** A QLinearAdd activation operand, checked against the parameters its tensor holds (and `other`'s shape). */
  private addOperand(node: NodeDef, i: number, si: number, zi: number, other?: QValue): QValue {
    const q = this.quantized(node, i);
    this.checkInputParams(node, q, si, zi, i);
    if (other && other.dims.join() !== q.dims.join()) fail(node, `operands [${other.dims}] and [${q.dims}] differ; edgeq adds equal shapes (or a per-channel constant)`, 'BAD_SHAPE');
    return q;
  }

  /**
   * A constant per-channel (or scalar) quantized operand as a tensor of `like`'s shape: a 1x1
   * depthwise conv over `like` with zero weights, bias q - z and multiplier 1 into a tensor with
   * the constant's scale and zero point writes exactly q at every pixel (acc = q - z, exact in f32).
   */
  private constantOperand(node: NodeDef, i: number, si: number, zi: number, like: QValue): QValue {
    const c = this.constant(node, i, 'operand');
    const p = actParams(node, this.constant(node, si, 'scale'), this.optionalConstant(node, zi, 'zero point'));
    if ((c.dataType === 'int8') !== p.signed || (c.dataType !== 'int8' && c.dataType !== 'uint8')) fail(node, `constant "${c.name}" is ${c.dataType} but its zero point is ${p.signed ? 'int8' : 'uint8'}`, 'BAD_ONNX');
    const C = like.dims[1]!;
    const n = c.data.length;
    // Broadcasting aligns dims on the right: per channel means every axis but axis 1 is 1.
    const offset = like.dims.length - c.dims.length;
    const perChannel = offset >= 0 && n === C && c.dims.every((d, k) => d === 1 || k + offset === 1);
    if (n !== 1 && !perChannel) fail(node, `constant operand "${c.name}" [${c.dims}] must be a scalar or one value per channel of [${like.dims}]`, 'BAD_SHAPE');
    const bias = new Int32Array(C);
    for (let ch = 0; ch < C; ch++) bias[ch] = Number(c.data[n === 1 ? 0 : ch]) + (p.signed ? 128 : 0) - p.zeroPoint;
    const t = this.addTensor(node, `${c.name}/broadcast`, like.dims, p);
    const spec: ConvSpec = {
      x: like.t, weights: new Int8Array(C), bias, wScales: new Float32Array(C).fill(1), kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0],
      dilation: [1, 1], group: C, inChannels: C, outChannels: C, outDims: like.dims,
    };
    // Multiplier exactly 1: the weight scale is 1 / input scale rounded so that f32(s_x * w) / s_y == 1.
    const xs = this.tensors[like.t]!.scale;
    spec.wScales.fill(this.unitWeightScale(xs, p.scale));
    this.emitConv(node, spec, t, { kind: 'none' }, `${node.name}/constant ${c.name}`);
    return { kind: 'q', t, dims: like.dims };
  }

  /** A float32 w with fround(fround(xs * w) / ys) === 1 (the multiplier emitConv computes). */
  private unitWeightScale(xs: number, ys: number): number {
    let w = Math.fround(ys / xs);
    for (let k = 0; k < 64 && Math.fround(Math.fround(xs * w) / ys) !== 1; k++) {
      const m = Math.fround(Math.fround(xs * w) / ys);
      w = Math.fround(w * (m > 1 ? 1 - 2 ** -24 : 1 + 2 ** -24));
    }
    if (Math.fround(Math.fround(xs * w) / ys) !== 1) throw new EdgeqError('INTERNAL', `no float32 weight scale gives a multiplier of 1 for scales ${xs}, ${ys}`);
    return w;
  }

  private floatAdd(node: NodeDef): void {
    const a = this.get(node, 0), b = this.get(node, 1);
    // MatMul + Add(DQ(int32 bias)) in the QDQ form: the bias of the fully connected layer.
    const fc = a?.kind === 'pending' ? a : b?.kind === 'pending' ? b : undefined;
    const bias = a?.kind === 'dqconst' ? a : b?.kind === 'dqconst' ? b : undefined;
    if (fc && bias && fc.op.op === 'conv' && fc.node.opType === 'MatMul' && fc.activation.kind === 'none') {
      const conv = fc.op.conv;
      const x = { kind: 'dq', t: conv.x, dims: [] } as DqValue;
      const values = this.biasOf(node, a === bias ? 0 : 1, x, bias, conv.outChannels, conv.wScales);
      return this.set(node, { ...fc, op: { op: 'conv', conv: { ...conv, bias: Int32Array.from(values, (v, c) => v + conv.bias[c]!) } } });
    }
    const da = this.dequantized(node, 0), db = this.dequantized(node, 1);
    if (da.dims.join() !== db.dims.join()) fail(node, `operands [${da.dims}] and [${db.dims}] differ; edgeq adds equal shapes`, 'BAD_SHAPE');
    this.set(node, this.pending(node, { op: 'add', a: da.t, b: db.t }, da.dims));
  }

  /** QDQ GlobalAveragePool of DQ(x) (uint8 -> uint8 once quantized), or of a float conv output (float32 -> float32, a classifier head). */
  private globalAvgPool(node: NodeDef): void {
    const v = this.get(node, 0);
    let x: number, dims: number[];
    if (v?.kind === 'pending' && v.op.op === 'conv') {
      x = this.materialize(v, undefined, node.inputs[0]!);
      dims = v.dims;
    } else {
      const d = this.dequantized(node, 0);
      x = d.t;
      dims = d.dims;
    }
    if (dims.length !== 4) fail(node, `input must be NCHW, got [${dims}]`, 'BAD_SHAPE');
    this.set(node, this.pending(node, { op: 'gap', x }, [dims[0]!, dims[1]!, 1, 1]));
  }

  private qlinearGap(node: NodeDef): void {
    if (getInt(node, 'channels_last', 0) !== 0) fail(node, 'channels_last=1 is not supported');
    const x = this.quantized(node, 0);
    if (x.dims.length !== 4) fail(node, `input must be NCHW, got [${x.dims}]`, 'BAD_SHAPE');
    this.checkInputParams(node, x, 1, 2);
    const dims = [x.dims[0]!, x.dims[1]!, 1, 1];
    const t = this.addTensor(node, node.outputs[0]!, dims, this.outputParams(node, 3, 4));
    this.ops.push({ op: 'gap', name: node.name, input: x.t, output: t });
    this.set(node, { kind: 'q', t, dims });
  }

  private maxPool(node: NodeDef): void {
    const v = this.get(node, 0);
    if (v?.kind !== 'q' && v?.kind !== 'dq') fail(node, `input "${node.inputs[0]}" must be a quantized activation (or its DequantizeLinear)`);
    const x = v as QValue | DqValue;
    const attrs = readWindowAttributes(node, 2, this.opset);
    const kernel = attrs.kernelShape ?? [];
    if (kernel.length !== 2 || x.dims.length !== 4) fail(node, 'only 2-D max pooling is supported');
    if (attrs.ceilMode) fail(node, 'ceil_mode=1 is not supported');
    if (attrs.dilations.some((d) => d !== 1)) fail(node, 'dilated max pooling is not supported');
    if (node.outputs.length > 1 && node.outputs[1]) fail(node, 'the Indices output is not supported');
    const geo = resolveWindow(node, x.dims.slice(2), kernel, attrs);
    const dims = [x.dims[0]!, x.dims[1]!, ...geo.outputSpatial];
    const pool = { op: 'maxpool' as const, x: x.t, kernel: [kernel[0]!, kernel[1]!] as [number, number], stride: [geo.strides[0]!, geo.strides[1]!] as [number, number],
      pads: [geo.padsBegin[0]!, geo.padsBegin[1]!, geo.padsEnd[0]!, geo.padsEnd[1]!] as [number, number, number, number] };
    if (v!.kind === 'dq') return this.set(node, this.pending(node, pool, dims));
    // QOperator form: MaxPool on the quantized tensor itself keeps its parameters.
    const t = this.addTensor(node, node.outputs[0]!, dims, this.paramsOf(x.t));
    this.ops.push({ op: 'maxpool', name: node.name, input: x.t, output: t, kernel: pool.kernel, stride: pool.stride, pads: pool.pads });
    this.set(node, { kind: 'q', t, dims });
  }

  // ---- mul, concat, average pool ----

  /** com.microsoft QLinearMul: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp, both operands quantized activations. */
  private qlinearMul(node: NodeDef): void {
    this.refuseConstantOperands(node, [0, 3]);
    const a = this.quantized(node, 0), b = this.quantized(node, 3);
    this.checkInputParams(node, a, 1, 2, 0);
    this.checkInputParams(node, b, 4, 5, 3);
    const [x, g] = this.mulOperands(node, a, b);
    const t = this.addTensor(node, node.outputs[0]!, x.dims, this.outputParams(node, 6, 7));
    this.ops.push({ op: 'mul', name: node.name, a: x.t, b: g.t, output: t });
    this.set(node, { kind: 'q', t, dims: x.dims });
  }

  /** QDQ Mul of two DequantizeLinear activations. */
  private floatMul(node: NodeDef): void {
    this.refuseConstantOperands(node, [0, 1]);
    const [x, g] = this.mulOperands(node, this.dequantized(node, 0), this.dequantized(node, 1));
    this.set(node, this.pending(node, { op: 'mul', a: x.t, b: g.t }, x.dims));
  }

  private refuseConstantOperands(node: NodeDef, inputs: number[]): void {
    for (const i of inputs) {
      const kind = this.get(node, i)?.kind;
      if (kind === 'const' || kind === 'dqconst') fail(node, `operand "${node.inputs[i]}" is a constant; edgeq's mul multiplies two quantized activations`);
    }
  }

  /**
   * The operands in the runtime's order: equal shapes (NCHW or [N, C]), or an [N, C, 1, 1] gate
   * against an [N, C, H, W] map, the gate second (the kernel broadcasts b over H x W). Any other
   * broadcast is UNSUPPORTED_OP.
   */
  private mulOperands<T extends QValue | DqValue>(node: NodeDef, a: T, b: T): [T, T] {
    const gate = (x: number[], g: number[]) => x.length === 4 && g.length === 4 && g[0] === x[0] && g[1] === x[1] && g[2] === 1 && g[3] === 1;
    if (a.dims.join() === b.dims.join() && (a.dims.length === 4 || a.dims.length === 2)) return [a, b];
    if (gate(a.dims, b.dims)) return [a, b];
    if (gate(b.dims, a.dims)) return [b, a];
    return fail(node, `operands [${a.dims}] and [${b.dims}]: edgeq multiplies equal NCHW or [N, C] shapes, or an [N, C, H, W] map by an [N, C, 1, 1] gate`);
  }

  /** com.microsoft QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp) per input; axis 1 (channels). */
  private qlinearConcat(node: NodeDef): void {
    if (node.inputs.length < 5 || (node.inputs.length - 2) % 3 !== 0) {
      fail(node, `has ${node.inputs.length} inputs; QLinearConcat takes y_scale, y_zero_point, then (x, x_scale, x_zero_point) per input`, 'BAD_ONNX');
    }
    const xs: QValue[] = [];
    for (let i = 2; i < node.inputs.length; i += 3) {
      if (this.get(node, i)?.kind === 'const') fail(node, `input "${node.inputs[i]}" is a constant; edgeq's concat reads quantized activations`);
      const x = this.quantized(node, i);
      this.checkInputParams(node, x, i + 1, i + 2, i);
      xs.push(x);
    }
    const dims = this.concatDims(node, xs.map((x) => x.dims));
    const t = this.addTensor(node, node.outputs[0]!, dims, this.outputParams(node, 0, 1));
    this.ops.push({ op: 'concat', name: node.name, inputs: xs.map((x) => x.t), output: t });
    this.set(node, { kind: 'q', t, dims });
  }

  /** QDQ Concat of DequantizeLinear activations. */
  private floatConcat(node: NodeDef): void {
    const xs = node.inputs.map((_, i) => this.dequantized(node, i));
    this.set(node, this.pending(node, { op: 'concat', inputs: xs.map((x) => x.t) }, this.concatDims(node, xs.map((x) => x.dims))));
  }

  /** The output dims of a Concat along the channels (axis 1 of NCHW or [N, C]); another axis is UNSUPPORTED_OP. */
  private concatDims(node: NodeDef, dims: number[][]): number[] {
    const rank = dims[0]!.length;
    const axis = getInt(node, 'axis', Number.NaN);
    if (!Number.isInteger(axis)) fail(node, 'has no axis attribute', 'BAD_ONNX');
    if (rank !== 4 && rank !== 2) fail(node, `inputs [${dims[0]}] are neither NCHW nor [N, C]`, 'BAD_SHAPE');
    if ((axis < 0 ? axis + rank : axis) !== 1) fail(node, `a Concat along axis ${axis} of rank-${rank} tensors is not supported (edgeq concatenates channels, axis 1)`);
    for (const d of dims) {
      if (d.length !== rank || d.some((v, k) => k !== 1 && v !== dims[0]![k])) fail(node, `inputs [${dims[0]}] and [${d}] differ outside the channels`, 'BAD_SHAPE');
    }
    const out = [...dims[0]!];
    out[1] = dims.reduce((c, d) => c + d[1]!, 0);
    return out;
  }

  /** com.microsoft QLinearAveragePool: X, x_scale, x_zp, y_scale, y_zp (channels_last 0). */
  private qlinearAvgPool(node: NodeDef): void {
    if (getInt(node, 'channels_last', 0) !== 0) fail(node, 'channels_last=1 is not supported');
    const x = this.quantized(node, 0);
    this.checkInputParams(node, x, 1, 2);
    const { window, dims } = this.avgPoolWindow(node, x.dims);
    const t = this.addTensor(node, node.outputs[0]!, dims, this.outputParams(node, 3, 4));
    this.ops.push({ op: 'avgpool', name: node.name, input: x.t, output: t, ...window });
    this.set(node, { kind: 'q', t, dims });
  }

  /** QDQ AveragePool of a DequantizeLinear activation. */
  private avgPool(node: NodeDef): void {
    const x = this.dequantized(node, 0);
    const { window, dims } = this.avgPoolWindow(node, x.dims);
    this.set(node, this.pending(node, { op: 'avgpool', x: x.t, ...window }, dims));
  }

  /**
   * An average pool's window as the .edgeq stores it: 2-D, no dilation, pads below the kernel,
   * ceil_mode folded into grown end pads (pool-window.ts). count_include_pad=1 with ceil_mode=1
   * where the last window overhangs the padded input is refused, as the quantizer refuses it:
   * onnxruntime's QLinearAveragePool divides such a window by the whole kernel, its fp32
   * AveragePool (and the ONNX spec) by the padded part.
   */
  private avgPoolWindow(node: NodeDef, xDims: number[]): { window: PoolWindow; dims: number[] } {
    const attrs = readWindowAttributes(node, 2, this.opset);
    const kernel = attrs.kernelShape ?? [];
    if (kernel.length !== 2 || xDims.length !== 4) fail(node, `only 2-D average pooling is supported (kernel_shape [${kernel}], input [${xDims}])`);
    if (attrs.dilations.some((d) => d !== 1)) fail(node, 'dilated average pooling is not supported');
    const geo = resolveWindow(node, xDims.slice(2), kernel, attrs);
    const onnxPads: [number, number, number, number] = [geo.padsBegin[0]!, geo.padsBegin[1]!, geo.padsEnd[0]!, geo.padsEnd[1]!];
    if (onnxPads[0] >= kernel[0]! || onnxPads[2] >= kernel[0]! || onnxPads[1] >= kernel[1]! || onnxPads[3] >= kernel[1]!) {
      fail(node, `pads [${onnxPads}] must be smaller than the kernel [${kernel}]`);
    }
    const stride: [number, number] = [geo.strides[0]!, geo.strides[1]!];
    const pads = attrs.ceilMode ? ceilModePads(xDims[2]!, xDims[3]!, kernel, stride, onnxPads) : onnxPads;
    const countIncludePad = getInt(node, 'count_include_pad', 0) !== 0;
    if (countIncludePad && attrs.ceilMode && pads.some((p, i) => p !== onnxPads[i])) {
      fail(node, 'count_include_pad=1 with ceil_mode=1 where the last window overhangs the padded input is not supported (onnxruntime\'s QLinearAveragePool and fp32 AveragePool divide such windows differently)');
    }
    return { window: { kernel: [kernel[0]!, kernel[1]!], stride, pads, countIncludePad }, dims: [xDims[0]!, xDims[1]!, ...geo.outputSpatial] };
  }

  /**
   * Relu / Clip / LeakyRelu (after a Conv, Gemm, MatMul or Add) and HardSigmoid / HardSwish / Sigmoid
   * (after a Conv, Gemm or MatMul: the add kernel has no fp32 activation) between a float op and its
   * QuantizeLinear: fused into the op's requantization. The gated forms x * HardSigmoid(x) and
   * x * Sigmoid(x) are not recognised here (their Mul reads the op's output twice).
   */
  private activation(node: NodeDef): void {
    const v = this.get(node, 0);
    const convOnly = node.opType === 'HardSigmoid' || node.opType === 'HardSwish' || node.opType === 'Sigmoid';
    if (v?.kind !== 'pending' || (v.op.op !== 'conv' && (convOnly || v.op.op !== 'add'))) {
      fail(node, `a ${node.opType} must follow a Conv, Gemm, MatMul${convOnly ? '' : ' or Add'} of a QDQ group (edgeq has no standalone activation op)`);
    }
    const p = v as Pending;
    if (p.activation.kind !== 'none') fail(node, `a second activation after "${p.node.name}" is not supported`);
    let activation: Activation;
    if (node.opType === 'Relu') activation = { kind: 'relu' };
    else if (node.opType === 'HardSwish') activation = { kind: 'hardswish' };
    else if (node.opType === 'Sigmoid') activation = { kind: 'sigmoid' };
    else if (node.opType === 'HardSigmoid') {
      const alpha = getFloat(node, 'alpha', 0.2), beta = getFloat(node, 'beta', 0.5);
      if (!Number.isFinite(alpha) || !Number.isFinite(beta)) fail(node, `HardSigmoid alpha ${alpha} and beta ${beta} must be finite`);
      activation = { kind: 'hardsigmoid', alpha: Math.fround(alpha), beta: Math.fround(beta) };
    }
    else if (node.opType === 'LeakyRelu') activation = { kind: 'leakyrelu', alpha: Math.fround(getFloat(node, 'alpha', 0.01)) };
    else {
      const consts = new Map<string, TensorValue>();
      for (const k of [1, 2]) { const c = node.inputs[k] ? this.values.get(node.inputs[k]!) : undefined; if (c?.kind === 'const') consts.set(node.inputs[k]!, c.value); }
      const { min, max } = readClipBounds(node, this.opset, consts);
      if (!(min <= max)) fail(node, `Clip bounds ${min}, ${max} must be numbers with min <= max`);
      activation = min === 0 && max === Infinity ? { kind: 'relu' } : { kind: 'clip', min: Math.max(min, -3.4028234663852886e38), max: Math.min(max, 3.4028234663852886e38) };
    }
    this.set(node, { ...p, activation });
  }

  // ---- layout-free ops and constant folding ----

  /** The dims Flatten / Reshape / Squeeze / Unsqueeze / Identity give a tensor of dims `dims`. */
  private reshapedDims(node: NodeDef, dims: number[]): number[] {
    const rank = dims.length;
    const axesOf = (r: number): number[] => {
      const axes = getInts(node, 'axes') ?? (node.inputs[1] ? tensorToNumbers(this.constant(node, 1, 'axes')) : undefined);
      return (axes ?? []).map((a) => (a < 0 ? a + r : a));
    };
    switch (node.opType) {
      case 'Identity': return dims;
      case 'Flatten': {
        const axis = getInt(node, 'axis', 1), r = axis < 0 ? axis + rank : axis;
        if (!(r >= 0 && r <= rank)) fail(node, `axis ${axis} is outside rank ${rank}`, 'BAD_SHAPE');
        return [dims.slice(0, r).reduce((a, d) => a * d, 1), dims.slice(r).reduce((a, d) => a * d, 1)];
      }
      case 'Squeeze': {
        const axes = node.inputs[1] || getInts(node, 'axes') ? axesOf(rank) : dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        if (axes.some((a) => dims[a] !== 1)) fail(node, `cannot squeeze axes [${axes}] of [${dims}]`, 'BAD_SHAPE');
        return dims.filter((_, i) => !axes.includes(i));
      }
      case 'Unsqueeze': {
        const axes = axesOf(rank + (getInts(node, 'axes') ?? (node.inputs[1] ? tensorToNumbers(this.constant(node, 1, 'axes')) : [])).length);
        const out: number[] = [];
        for (let i = 0, k = 0; i < rank + axes.length; i++) out.push(axes.includes(i) ? 1 : dims[k++]!);
        if (out.some((d) => d === undefined)) fail(node, `bad axes for [${dims}]`, 'BAD_SHAPE');
        return out;
      }
      default: { // Reshape
        const target = tensorToNumbers(this.constant(node, 1, 'shape'));
        const total = dims.reduce((a, d) => a * d, 1);
        let out = target.map((d, i) => (d === 0 ? dims[i]! : d));
        const known = out.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
        out = out.map((d) => (d === -1 ? total / known : d));
        if (out.reduce((a, d) => a * d, 1) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) fail(node, `cannot reshape [${dims}] to [${target}]`, 'BAD_SHAPE');
        return out;
      }
    }
  }

  /** Flatten / Reshape / Squeeze / Identity: the same tensor when the NHWC layout does not change. */
  private reshape(node: NodeDef): void {
    const v = this.get(node, 0);
    if (!v) fail(node, 'has no input', 'BAD_ONNX');
    if (v!.kind === 'const') return this.fold(node);
    if (v!.kind === 'dqconst' || v!.kind === 'input') fail(node, `reshapes "${node.inputs[0]}", which is not an activation`);
    const x = v as QValue | DqValue | Pending;
    const dims = this.reshapedDims(node, x.dims);
    // Only a change that keeps NHWC order is free: [N, C] <-> [N, C, 1, 1], or no change.
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    const flat = (d: number[]) => (d.length === 4 && d[2] === 1 && d[3] === 1 ? [d[0]!, d[1]!] : d);
    if (!same(flat(dims), flat(x.dims)) || (dims.length !== 2 && dims.length !== 4)) {
      fail(node, `reshaping [${x.dims}] to [${dims}] changes the memory layout (edgeq tensors are NHWC); only [N, C] <-> [N, C, 1, 1] is free`);
    }
    this.set(node, { ...x, dims });
  }

  /** Constant folding of the shape arithmetic exporters put before a Reshape. */
  private fold(node: NodeDef): void {
    const int64 = (values: number[]): ConstValue => ({ kind: 'const', value: makeTensor(node.outputs[0]!, 'int64', [values.length], values) });
    if (node.opType === 'Shape') {
      const v = this.get(node, 0);
      const dims = v && 'dims' in v ? (v as Dims).dims : v?.kind === 'const' ? v.value.dims : undefined;
      if (!dims) fail(node, `the shape of "${node.inputs[0]}" is not known`);
      return this.set(node, int64(dims!));
    }
    const c = this.constant(node, 0, 'input');
    const vals = tensorToNumbers(c);
    switch (node.opType) {
      case 'Gather': {
        if (c.dims.length !== 1) fail(node, 'only 1-D constant Gather is folded');
        const idx = this.constant(node, 1, 'indices');
        const out = tensorToNumbers(idx).map((i) => vals[i < 0 ? i + vals.length : i]);
        if (out.some((x) => x === undefined)) fail(node, 'index out of range', 'BAD_ONNX');
        return this.set(node, { kind: 'const', value: makeTensor(node.outputs[0]!, c.dataType, idx.dims, out as number[]) });
      }
      case 'Unsqueeze': case 'Identity': case 'Reshape': case 'Flatten': case 'Squeeze':
        return this.set(node, { kind: 'const', value: { ...c, name: node.outputs[0]!, dims: this.reshapedDims(node, c.dims) } });
      case 'Cast': {
        // Shape arithmetic only: integer casts of integer values.
        const to = getInt(node, 'to', 0), type = to === 7 ? 'int64' : to === 6 ? 'int32' : undefined;
        if (!type || !/int/.test(c.dataType)) fail(node, 'only integer casts of integer constants are folded');
        return this.set(node, { kind: 'const', value: makeTensor(node.outputs[0]!, type!, c.dims, vals) });
      }
      case 'Concat': {
        const all: number[] = [];
        for (let i = 0; i < node.inputs.length; i++) {
          const t = this.constant(node, i, 'input');
          if (t.dims.length > 1) fail(node, 'only 1-D constants (shape vectors) are concatenated at import');
          all.push(...tensorToNumbers(t));
        }
        return this.set(node, int64(all));
      }
      default: fail(node, 'cannot be folded');
    }
  }
}
