// Graph preparation: turns an fp32 ONNX CNN into a short list of float ops that map 1:1 onto
// edgeq's int8 ops. BatchNormalization is folded into the conv before it, Relu/Clip(0,..)/LeakyRelu
// are fused into their producer, Gemm/MatMul(+Add) become 1x1 convs over a 1x1 map, and
// Flatten/Reshape/Identity/Dropout (which do not move data in NHWC when H = W = 1) disappear.
// Anything that cannot be mapped is an error naming the node: there is no silent fp32 fallback.
import { EdgeqError } from 'edgeq';
import type { ModelDef, NodeDef, TensorValue } from '../onnx/model.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { inferShapesAndConstants, resolveConvGeometry, resolveWindow, type WindowGeometry } from '../onnx/shape-inference.js';
import { getFloatAt, getInts, modelOpset, readClipBounds, readGemmAttributes, readWindowAttributes } from '../onnx/ops.js';
import type { Activation } from 'edgeq/format';

/** A conv with BN folded: weights OIHW fp32, bias fp32 [O]. Fully connected layers are 1x1 convs. */
export interface FConv {
  op: 'conv';
  name: string;
  input: string;
  /** The ONNX tensor holding the op's final output (after the fused activation). */
  output: string;
  /** The ONNX tensor before the fused activation (equal to output when there is none). */
  preActivation: string;
  weights: Float32Array;       // [O][I/g][kh][kw]
  bias: Float32Array;          // [O]
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number]; // top, left, bottom, right
  dilation: [number, number];
  group: number;
  inChannels: number;
  outChannels: number;
  activation: Activation;
  /** True for a Gemm/MatMul turned into a 1x1 conv. */
  fullyConnected: boolean;
  /** ONNX nodes this op absorbed (for reports). */
  nodes: string[];
}

export interface FAdd { op: 'add'; name: string; a: string; b: string; output: string; activation: Activation; nodes: string[] }
export interface FMaxPool {
  op: 'maxpool'; name: string; input: string; output: string;
  kernel: [number, number]; stride: [number, number]; pads: [number, number, number, number]; nodes: string[];
}
export interface FGlobalAvgPool { op: 'gap'; name: string; input: string; output: string; nodes: string[] }
export type FOp = FConv | FAdd | FMaxPool | FGlobalAvgPool;

export interface FloatGraph {
  input: { name: string; nchw: [number, number, number, number] };
  /** The int8 graph's output tensor (pass-through ops resolved). */
  output: string;
  /** The ONNX graph output's name and shape (e.g. "logits", [1, 1000]). */
  outputName: string;
  outputShape: number[];
  ops: FOp[];
  /** NCHW (or [N, C] for flattened) shape of every tensor the ops read or write. */
  shapes: Map<string, number[]>;
}

interface Ctx {
  model: ModelDef;
  opset: number;
  consumers: Map<string, NodeDef[]>;
  shapes: Map<string, number[]>;
  /** Values known statically: initializers and Constant outputs. */
  constants: Map<string, TensorValue>;
}

const fail = (node: NodeDef, msg: string): never => {
  throw new EdgeqError('UNSUPPORTED_OP', `node "${node.name}" (${node.opType}): ${msg}`);
};

/** The single consumer of a tensor, or undefined when it has zero or several (or is a graph output). */
function soleConsumer(ctx: Ctx, tensor: string): NodeDef | undefined {
  const c = ctx.consumers.get(tensor) ?? [];
  if (c.length !== 1) return undefined;
  if (ctx.model.graph.outputs.some((o) => o.name === tensor)) return undefined;
  return c[0];
}

/** [top, left, bottom, right] from the ONNX layer's resolved window geometry (auto_pad included). */
function pads2d(node: NodeDef, g: WindowGeometry): [number, number, number, number] {
  if (g.padsBegin.length !== 2) fail(node, `only 2-D windows are supported (${g.padsBegin.length}-D)`);
  return [g.padsBegin[0], g.padsBegin[1], g.padsEnd[0], g.padsEnd[1]];
}

/** Fuse a following activation node (Relu, LeakyRelu, Clip(0, x>=big)) into the producer. */
function fuseActivation(ctx: Ctx, tensor: string): { activation: Activation; output: string; nodes: string[] } {
  const next = soleConsumer(ctx, tensor);
  if (next?.opType === 'Relu') return { activation: { kind: 'relu' }, output: next.outputs[0], nodes: [next.name] };
  if (next?.opType === 'LeakyRelu') {
    return { activation: { kind: 'leakyrelu', alpha: getFloatAt(next, 'alpha', ctx.opset) }, output: next.outputs[0], nodes: [next.name] };
  }
  if (next?.opType === 'Clip') {
    // Clip(0, max) behaves as ReLU followed by the output clamp the calibrated range gives.
    if (readClipBounds(next, ctx.opset, ctx.constants).min === 0) return { activation: { kind: 'relu' }, output: next.outputs[0], nodes: [next.name] };
  }
  return { activation: { kind: 'none' }, output: tensor, nodes: [] };
}

/** Skips data-free ops (Identity, Dropout, Flatten/Reshape of an [N,C,1,1] or [N,C] tensor). */
function passThrough(ctx: Ctx, node: NodeDef): boolean {
  if (node.opType === 'Identity' || node.opType === 'Dropout') return true;
  if (node.opType === 'Flatten' || node.opType === 'Reshape') {
    const inShape = ctx.shapes.get(node.inputs[0]) ?? [];
    const outShape = ctx.shapes.get(node.outputs[0]) ?? [];
    const volume = (s: number[]) => s.slice(1).reduce((a, b) => a * b, 1);
    const channelsOnly = inShape.length >= 2 && inShape.slice(2).every((d) => d === 1);
    return channelsOnly && outShape.length === 2 && outShape[0] === inShape[0] && volume(outShape) === volume(inShape);
  }
  return false;
}

export function prepareGraph(model: ModelDef, options: { batch?: number } = {}): FloatGraph {
  const g = model.graph;
  const init = g.initializers;
  const realInputs = g.inputs.filter((i) => !init.has(i.name));
  if (realInputs.length !== 1) {
    throw new EdgeqError('UNSUPPORTED_OP', `model has ${realInputs.length} non-constant inputs (${realInputs.map((i) => i.name).join(', ')}); edgeq takes one image input`);
  }
  if (g.outputs.length !== 1) throw new EdgeqError('UNSUPPORTED_OP', `model has ${g.outputs.length} outputs; edgeq supports one`);
  const inputInfo = realInputs[0];
  const dims = inputInfo.dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? options.batch ?? 1 : NaN));
  if (dims.length !== 4 || dims.some((d) => !Number.isFinite(d))) {
    throw new EdgeqError('BAD_SHAPE', `input "${inputInfo.name}" has shape [${inputInfo.dims.join(', ')}]; edgeq needs a static NCHW image input`);
  }
  if (inputInfo.dataType !== 'float32') throw new EdgeqError('UNSUPPORTED_OP', `input "${inputInfo.name}" is ${inputInfo.dataType}; edgeq quantizes float32 models`);
  const { shapes, constants } = inferShapesAndConstants(model, { [inputInfo.name]: dims });

  const consumers = new Map<string, NodeDef[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const opset = modelOpset(model);
  const ctx: Ctx = { model, opset, consumers, shapes, constants };

  const ops: FOp[] = [];
  const consumed = new Set<string>();   // node names absorbed into an op
  /** ONNX tensor -> the tensor the int8 graph uses for it (pass-through ops alias their input). */
  const alias = new Map<string, string>();
  const resolve = (t: string) => alias.get(t) ?? t;

  for (const node of g.nodes) {
    if (consumed.has(node.name)) continue;
    consumed.add(node.name);
    switch (node.opType) {
      case 'Constant':
        break;
      case 'Identity': case 'Dropout': case 'Flatten': case 'Reshape':
        if (!passThrough(ctx, node)) fail(node, `only a reshape of an [N, C, 1, 1] tensor to [N, C] is supported (input shape [${shapes.get(node.inputs[0])}])`);
        alias.set(node.outputs[0], resolve(node.inputs[0]));
        break;
      case 'Conv':
        ops.push(convOp(ctx, node, resolve(node.inputs[0]), consumed));
        break;
      case 'Gemm': case 'MatMul':
        ops.push(fcOp(ctx, node, resolve(node.inputs[0]), consumed));
        break;
      case 'Add': {
        const [a, b] = node.inputs;
        if (ctx.constants.get(a) || ctx.constants.get(b)) fail(node, 'an Add of a constant is only supported as the bias of a MatMul');
        const sa = shapes.get(a)!, sb = shapes.get(b)!;
        if (sa.join() !== sb.join()) fail(node, `residual Add needs equal shapes, got [${sa}] and [${sb}]`);
        const act = fuseActivation(ctx, node.outputs[0]);
        act.nodes.forEach((n) => consumed.add(n));
        ops.push({ op: 'add', name: node.name, a: resolve(a), b: resolve(b), output: act.output, activation: act.activation, nodes: [node.name, ...act.nodes] });
        break;
      }
      case 'MaxPool': {
        const attrs = readWindowAttributes(node, 2, opset);
        const kernel = attrs.kernelShape ?? [];
        if (kernel.length !== 2) fail(node, `only 2-D max pooling is supported (kernel_shape ${JSON.stringify(kernel)})`);
        if (attrs.ceilMode) fail(node, 'ceil_mode=1 is not supported');
        if (attrs.dilations.some((d) => d !== 1)) fail(node, 'dilated max pooling is not supported');
        if (node.outputs.length > 1 && node.outputs[1]) fail(node, 'the Indices output is not supported');
        const geometry = resolveWindow(node, shapes.get(node.inputs[0])!.slice(2), kernel, attrs);
        const stride = geometry.strides;
        const pads = pads2d(node, geometry);
        ops.push({ op: 'maxpool', name: node.name, input: resolve(node.inputs[0]), output: node.outputs[0], kernel: [kernel[0], kernel[1]], stride: [stride[0], stride[1]], pads, nodes: [node.name] });
        break;
      }
      case 'GlobalAveragePool':
        ops.push({ op: 'gap', name: node.name, input: resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] });
        break;
      case 'AveragePool': {
        // An AveragePool whose window covers the whole map is a global average pool.
        const inShape = shapes.get(node.inputs[0])!;
        const kernel = getInts(node, 'kernel_shape', []);
        const pads = getInts(node, 'pads', [0, 0, 0, 0]);
        if (kernel[0] === inShape[2] && kernel[1] === inShape[3] && pads.every((p) => p === 0)) {
          ops.push({ op: 'gap', name: node.name, input: resolve(node.inputs[0]), output: node.outputs[0], nodes: [node.name] });
          break;
        }
        fail(node, 'only an AveragePool over the whole feature map is supported');
        break;
      }
      case 'Relu': case 'LeakyRelu': case 'Clip':
        fail(node, `a standalone ${node.opType} (not after a Conv, Gemm or Add) is not supported`);
        break;
      case 'BatchNormalization':
        fail(node, 'a BatchNormalization that does not follow a Conv with a single consumer cannot be folded');
        break;
      default:
        fail(node, 'op is not supported by the edgeq quantizer (supported: Conv, BatchNormalization, Relu, LeakyRelu, Clip(0,…), MaxPool, Add, GlobalAveragePool, Flatten/Reshape, Gemm/MatMul, Identity, Dropout)');
    }
  }

  const output = resolve(g.outputs[0].name);
  const outputName = g.outputs[0].name;
  return { input: { name: inputInfo.name, nchw: dims as [number, number, number, number] }, output, outputName, outputShape: shapes.get(outputName) ?? [], ops, shapes };
}

function convOp(ctx: Ctx, node: NodeDef, input: string, consumed: Set<string>): FConv {
  const w = ctx.constants.get(node.inputs[1]);
  if (!w) fail(node, `weight "${node.inputs[1]}" is not a constant initializer`);
  if (w!.dims.length !== 4) fail(node, `only 2-D convolutions are supported (weight dims [${w!.dims}])`);
  const [O, Ig, kh, kw] = w!.dims;
  const geometry = resolveConvGeometry(node, ctx.shapes.get(node.inputs[0])!, w!.dims, ctx.opset);
  const { group } = geometry;
  const stride = geometry.strides;
  const dilation = geometry.dilations;
  const pads = pads2d(node, geometry);
  const weights = Float32Array.from(tensorToFloat32(w!));
  const biasT = node.inputs[2] ? ctx.constants.get(node.inputs[2]) : undefined;
  if (node.inputs[2] && !biasT) fail(node, `bias "${node.inputs[2]}" is not a constant initializer`);
  const bias = biasT ? Float32Array.from(tensorToFloat32(biasT)) : new Float32Array(O);
  const nodes = [node.name];

  let out = node.outputs[0];
  const bn = soleConsumer(ctx, out);
  if (bn?.opType === 'BatchNormalization') {
    foldBatchNorm(ctx, bn, weights, bias, O);
    consumed.add(bn.name);
    nodes.push(bn.name);
    out = bn.outputs[0];
  }
  const act = fuseActivation(ctx, out);
  act.nodes.forEach((n) => consumed.add(n));
  return {
    op: 'conv', name: node.name, input, output: act.output, preActivation: out, weights, bias,
    kernel: [kh, kw], stride: [stride[0], stride[1]], pads, dilation: [dilation[0], dilation[1]], group,
    inChannels: Ig * group, outChannels: O, activation: act.activation, fullyConnected: false,
    nodes: [...nodes, ...act.nodes],
  };
}

/** y = gamma * (x - mean) / sqrt(var + eps) + beta, folded into W and b per output channel. */
function foldBatchNorm(ctx: Ctx, bn: NodeDef, weights: Float32Array, bias: Float32Array, O: number): void {
  const get = (i: number, what: string) => {
    const t = ctx.constants.get(bn.inputs[i]);
    if (!t) fail(bn, `${what} "${bn.inputs[i]}" is not a constant initializer`);
    const v = tensorToFloat32(t!);
    if (v.length !== O) fail(bn, `${what} has ${v.length} values for ${O} channels`);
    return v;
  };
  const gamma = get(1, 'scale'), beta = get(2, 'B'), mean = get(3, 'mean'), variance = get(4, 'var');
  const eps = getFloatAt(bn, 'epsilon', ctx.opset);
  const per = weights.length / O;
  for (let o = 0; o < O; o++) {
    // Folded in float64, rounded once to float32.
    const k = gamma[o] / Math.sqrt(variance[o] + eps);
    for (let j = 0; j < per; j++) weights[o * per + j] = weights[o * per + j] * k;
    bias[o] = (bias[o] - mean[o]) * k + beta[o];
  }
}

/** Gemm (alpha=beta=1 or any constant alpha/beta) and MatMul(+Add) as a 1x1 conv over [N, C, 1, 1]. */
function fcOp(ctx: Ctx, node: NodeDef, input: string, consumed: Set<string>): FConv {
  const inShape = ctx.shapes.get(node.inputs[0])!;
  if (inShape.length !== 2) fail(node, `fully connected input must be [N, K], got [${inShape}]`);
  const wT = ctx.constants.get(node.inputs[1]);
  if (!wT) fail(node, `weight "${node.inputs[1]}" is not a constant initializer`);
  const raw = tensorToFloat32(wT!);
  let K: number, N: number, transposed: boolean;
  let alpha = 1, beta = 1;
  if (node.opType === 'Gemm') {
    const gemm = readGemmAttributes(node, ctx.opset);
    if (gemm.transA) fail(node, 'transA=1 is not supported');
    transposed = gemm.transB;
    ({ alpha, beta } = gemm);
  } else {
    transposed = false;
  }
  if (transposed) [N, K] = wT!.dims; else [K, N] = wT!.dims;
  if (K !== inShape[1]) fail(node, `weight [${wT!.dims}] does not match input [${inShape}]`);
  const weights = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) weights[n * K + k] = alpha * (transposed ? raw[n * K + k] : raw[k * N + n]);
  const bias = new Float32Array(N);
  const nodes = [node.name];
  let out = node.outputs[0];
  let biasName = node.opType === 'Gemm' ? node.inputs[2] : undefined;
  if (node.opType === 'MatMul') {
    const add = soleConsumer(ctx, out);
    if (add?.opType === 'Add') {
      const other = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
      if (ctx.constants.get(other)) {
        biasName = other;
        consumed.add(add.name);
        nodes.push(add.name);
        out = add.outputs[0];
      }
    }
  }
  if (biasName) {
    const b = ctx.constants.get(biasName);
    if (!b) fail(node, `bias "${biasName}" is not a constant initializer`);
    const bv = tensorToFloat32(b!);
    if (bv.length !== N && bv.length !== 1) fail(node, `bias has ${bv.length} values for ${N} outputs`);
    for (let n = 0; n < N; n++) bias[n] = beta * (bv.length === 1 ? bv[0] : bv[n]);
  }
  const act = fuseActivation(ctx, out);
  act.nodes.forEach((n) => consumed.add(n));
  return {
    op: 'conv', name: node.name, input, output: act.output, preActivation: out, weights, bias,
    kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1,
    inChannels: K, outChannels: N, activation: act.activation, fullyConnected: true,
    nodes: [...nodes, ...act.nodes],
  };
}
