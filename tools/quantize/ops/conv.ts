// Conv: an ONNX Conv (with a following BatchNormalization folded in and its activation chain fused)
// becomes one int8 conv: int8 per-channel weights (conv-weights.ts), a uint8/uint12 or float32
// output with one fp32 requantization multiplier per channel, inputScale * weightScale[c] /
// outputScale (XNNPACK's fp32 scheme). Fully connected layers (fully-connected.ts) are 1x1 convs.
import { EdgeqError } from 'edgeq';
import { quantMax, type Activation, type QConv, type QuantDtype } from 'edgeq/format';
import { outputClamp, type QuantParams } from 'edgeq/ops';
import { packConv } from 'edgeq/kernels';
import { attr, makeNode, type NodeDef } from '../../onnx/model.js';
import { makeTensor, tensorToFloat32 } from '../../onnx/tensor.js';
import { resolveConvGeometry } from '../../onnx/shape-inference.js';
import { accumulatorBound, fitsAccumulator } from '../overflow.js';
import { F32_MAX, fuseActivation, storedActivation, writeActivation } from './activation.js';
import { foldBatchNorm } from './batch-norm.js';
import { quantizeConvWeights } from './conv-weights.js';
import { convNodes, EXACT_BIAS_LOW, exactConvNodes, FLOAT_EXACT_LIMIT, floatProductsBound, floatWeights, quantizedWeights } from './conv-onnx.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import type { QdqContext } from './qdq-context.js';
import { fail, pads2d, soleConsumer, type PrepareContext } from './prepare-context.js';
import { foldablePad, padBefore } from './pad.js';

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

function convOp(ctx: PrepareContext, node: NodeDef): FConv {
  const w = ctx.constants.get(node.inputs[1]);
  if (!w) fail(node, `weight "${node.inputs[1]}" is not a constant initializer`);
  if (w!.dims.length !== 4) fail(node, `only 2-D convolutions are supported (weight dims [${w!.dims}])`);
  const [O, Ig, kh, kw] = w!.dims;
  const geometry = resolveConvGeometry(node, ctx.shapes.get(node.inputs[0])!, w!.dims, ctx.opset);
  const { group } = geometry;
  const stride = geometry.strides;
  const dilation = geometry.dilations;
  const pads = pads2d(node, geometry);
  // A zero Pad before the conv (ops/pad.ts) adds to its pads; its input is the conv's.
  const pad = padBefore(ctx, node.inputs[0]);
  if (pad) foldablePad(ctx, pad).forEach((p, i) => { pads[i] += p; });
  const weights = Float32Array.from(tensorToFloat32(w!));
  const biasT = node.inputs[2] ? ctx.constants.get(node.inputs[2]) : undefined;
  if (node.inputs[2] && !biasT) fail(node, `bias "${node.inputs[2]}" is not a constant initializer`);
  const bias = biasT ? Float32Array.from(tensorToFloat32(biasT)) : new Float32Array(O);
  const nodes = [node.name];

  let out = node.outputs[0];
  const bn = soleConsumer(ctx, out);
  if (bn?.opType === 'BatchNormalization') {
    foldBatchNorm(ctx, bn, weights, bias, O);
    ctx.consume(bn);
    nodes.push(bn.name);
    out = bn.outputs[0];
  }
  const act = fuseActivation(ctx, out, true);
  return {
    op: 'conv', name: node.name, input: ctx.resolve(node.inputs[0]), output: act.output, preActivation: out, weights, bias,
    kernel: [kh, kw], stride: [stride[0], stride[1]], pads, dilation: [dilation[0], dilation[1]], group,
    inChannels: Ig * group, outChannels: O, activation: act.activation, fullyConnected: false,
    nodes: [...nodes, ...act.nodes],
  };
}

/**
 * Per output channel, the kernels' requantization multiplier f32(f32(inputScale * weightScale[c]) /
 * outputScale); for a float32 output, the accumulator's scale f32(inputScale * weightScale[c]).
 */
export function requantMultipliers(inputScale: number, weightScales: Float32Array, y: QuantParams): Float32Array {
  return Float32Array.from(weightScales, (s) => {
    const acc = Math.fround(inputScale * s);
    return y.dtype === 'float32' ? acc : Math.fround(acc / y.scale);
  });
}

/** Activations the exact form writes as the kernels apply them (a clamp, LeakyRelu's f32 multiply); the others are fp32 epilogues. */
const EXACT_ACTIVATIONS = new Set(['none', 'relu', 'clip', 'leakyrelu']);

/**
 * Writes a conv that onnxruntime has no integer kernel for in the form that computes the .edgeq's
 * integers (exactConvNodes): a fused residual (QLinearConv rounds the branch before the Add) or a
 * uint12 input or output (QLinearConv takes 8 bits). Then y = f32(acc) * multiplier[c]
 * (+ f32(r - zr) * f32(sr / so) for a fused residual: DequantizeLinear of the stored residual with
 * that scale, then Add), LeakyRelu, the clamp and QuantizeLinear with scale 1, as the kernels round
 * (docs/quantization.md, "The QDQ export"); a float32 output is the clamped sum itself. False, writing
 * nothing, where the standard form is kept: uint8 in and out without a fused residual (QLinearConv
 * computes the same integers), an fp32-epilogue activation, `fused: false`, the `only` / `onlyTensor`
 * exports, or products that could reach FLOAT_EXACT_LIMIT (floatProductsBound).
 */
function exportExact(op: FConv, ctx: QdqContext): boolean {
  const { options, result, nodes, inits } = ctx;
  if (options.only !== undefined || options.onlyTensor !== undefined) return false;
  const qop = result.model.ops.find((o): o is QConv => o.op === 'conv' && o.name === op.name);
  if (!qop) return false;
  // Names from the .edgeq, parameters from the export's tensorOf (a caller may keep some tensors float32).
  const T = result.model.tensors, params = (i: number) => ({ name: T[i].name, ...ctx.tensorOf.get(T[i].name)! });
  const x = params(qop.input), y = params(qop.output), r = qop.residual === undefined ? undefined : params(qop.residual);
  if (x.dtype === 'float32' || r?.dtype === 'float32' || (r && options.fused === false)) return false;
  if (!r && x.dtype !== 'uint12' && y.dtype !== 'uint12') return false;
  if (!EXACT_ACTIVATIONS.has(qop.activation.kind)) return false;
  const w = result.convWeights.get(op.name)!;
  const bound = floatProductsBound(w, x.zeroPoint, quantMax(x.dtype as QuantDtype));
  if (bound + EXACT_BIAS_LOW >= FLOAT_EXACT_LIMIT) return false;
  let units = exactConvNodes(nodes, inits, op, w, `${x.name}/q`, `${x.name}/zero_point`, bound, requantMultipliers(x.scale, w.scales, y));
  if (r) {
    inits.push(makeTensor(`${op.name}/residual_multiplier`, 'float32', [], [Math.fround(r.scale / y.scale)]));
    nodes.push(makeNode('DequantizeLinear', [`${r.name}/q`, `${op.name}/residual_multiplier`, `${r.name}/zero_point`], [`${op.name}/residual_units`], {}, `${op.name}/residual/DequantizeLinear`));
    nodes.push(makeNode('Add', [units, `${op.name}/residual_units`], [`${op.name}/sum`], {}, `${op.name}/residual/Add`));
    units = `${op.name}/sum`;
  }
  if (qop.activation.kind === 'leakyrelu') {
    nodes.push(makeNode('LeakyRelu', [units], [`${op.name}/leaky`], { alpha: attr.float(qop.activation.alpha) }, `${op.name}/LeakyRelu`));
    units = `${op.name}/leaky`;
  }
  const c = outputClamp(qop.activation, y);
  if (y.dtype === 'float32') {
    // A float32 output (a trunk's last fused residual): the clamp in real units, no rounding.
    inits.push(makeTensor(`${op.name}/fmin`, 'float32', [], [Math.max(c.fMin, -F32_MAX)]), makeTensor(`${op.name}/fmax`, 'float32', [], [Math.min(c.fMax, F32_MAX)]));
    nodes.push(makeNode('Clip', [units, `${op.name}/fmin`, `${op.name}/fmax`], [y.name], {}, `${op.name}/Clip`));
  } else {
    ctx.requantized(units, y.name, c.outMin, c.outMax);
  }
  ctx.written.add(y.name);
  return true;
}

export const CONV_PATTERNS: OnnxPattern[] = [{
  opType: 'Conv', becomes: 'conv',
  condition: '2-D, constant weights and bias; a BatchNormalization that alone reads its output is folded in; group == channels (depthwise) packs qu8-dwconv-c16',
  prepare: (ctx, node) => ctx.emit(convOp(ctx, node)),
}];

export const CONV: OpModule<FConv> = {
  kind: 'conv',
  reads: (op) => [op.input],
  floatOutputs: (op) => [op.output],
  plan(op, ctx) {
    // Overflow proof (overflow.ts): a conv whose 12-bit input could overflow its accumulator fails
    // mode 12 (and a 12-bit graph input asked for by `inputBits`) and keeps that input at 8 bits in
    // 'auto', before any tensor is laid out.
    const { bits, options } = ctx;
    if (ctx.floats.has(op.input) || bits.of(op.input) !== 12) return;
    const p = ctx.paramsOf(bits.root(op.input)); // a max pool output has its source's parameters
    const q = quantizeConvWeights(op, p.scale, options.channelMeans?.get(op.input), options.gptq?.get(op.name));
    const b = accumulatorBound(q, p.zeroPoint, quantMax('uint12'));
    if (fitsAccumulator(b)) { ctx.provenWide.set(op.name, q); return; }
    const asked = bits.root(op.input) === ctx.graph.input.name && options.inputBits === 12 && !options.inputBitsFallback;
    if (ctx.mode === 12 || asked) {
      throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}": with a 12-bit input ("${op.input}") its int32 accumulator can reach `
        + `${b.bound.toExponential(4)} (output channel ${b.channel}) >= 2^31 - 1; ${asked ? 'use --input-bits 8' : 'use --activations auto (keeps this input at 8 bits) or 8'}`);
    }
    ctx.narrowed.push(bits.narrow(op.input));
  },
  quantize(op, ctx) {
    const { tensors, options } = ctx;
    const x = tensors[ctx.get(op.input)];
    if (x.dtype === 'float32') throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}" reads a float32 tensor "${x.name}"`);
    const fused = ctx.residualFusions.get(op.name);
    const y = tensors[ctx.addTensor(fused ? fused.add.output : op.output)];
    const wide = x.dtype === 'uint12';
    const q = (wide ? ctx.provenWide.get(op.name) : undefined) ?? quantizeConvWeights(op, x.scale, options.channelMeans?.get(op.input), options.gptq?.get(op.name));
    ctx.convWeights.set(op.name, q);
    const acc = accumulatorBound(q, x.zeroPoint, quantMax(x.dtype));
    if (!fitsAccumulator(acc)) {
      throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}": its int32 accumulator can reach ${acc.bound.toExponential(4)} (output channel ${acc.channel}) >= 2^31 - 1`);
    }
    ctx.accumulators.set(op.name, { ...acc, inputBits: wide ? 12 : 8 });
    const multipliers = requantMultipliers(x.scale, q.scales, y);
    const packed = packConv({
      weights: q.weights, bias: q.bias, multipliers, inputZeroPoint: x.zeroPoint,
      kernel: op.kernel, inChannels: op.inChannels, outChannels: op.outChannels, group: op.group,
    });
    ctx.ops.push({
      op: 'conv', name: op.name, input: ctx.get(op.input), output: ctx.index.get(y.name)!, kernel: op.kernel, stride: op.stride,
      pads: op.pads, dilation: op.dilation, group: op.group, inChannels: op.inChannels, outChannels: op.outChannels,
      activation: storedActivation(fused ? fused.add.activation : op.activation, y), weights: ctx.blobs.length, packing: packed.packing, weightScales: q.scales,
      ...(fused ? { residual: ctx.get(fused.residual) } : {}),
    });
    ctx.blobs.push(packed.blob);
  },
  exportQdq(op, ctx) {
    if (exportExact(op, ctx)) return;
    const { nodes, inits, tensorOf } = ctx;
    const xin = ctx.input(op, op.input);
    if (ctx.floatOnly(op)) floatWeights(inits, op);
    else quantizedWeights(nodes, inits, op, ctx.result.convWeights.get(op.name)!, tensorOf.get(op.input)!.scale);
    let pre = convNodes(nodes, inits, op, xin, `${op.name}/out`);
    pre = writeActivation(nodes, inits, op.activation, pre, op.output, tensorOf.get(op.output)!.dtype === 'float32' || ctx.floatOnly(op), tensorOf.get(op.output));
    // The fused form by default in a full export; the only / onlyTensor exports keep the standard one unless asked.
    const fusedForm = ctx.options.fused ?? (ctx.options.only === undefined && ctx.options.onlyTensor === undefined);
    if (fusedForm && ctx.result.fusedConvs.has(op.name)) nodes.push(makeNode('Identity', [pre], [op.output], {}, `${op.output}/identity`));
    else ctx.qdq(pre, op.output);
  },
  describe: (q, t) => `conv    ${q.name}: ${q.kernel.join('x')}/${q.stride.join(',')} ${q.inChannels}->${q.outChannels}${q.group > 1 ? ` g${q.group}` : ''} ${q.activation.kind} ${q.packing} | ${t(q.input)} -> ${t(q.output)}`,
  exportFolded(op, out) {
    floatWeights(out.inits, op);
    const pre = writeActivation(out.nodes, out.inits, op.activation, convNodes(out.nodes, out.inits, op, op.input, out.pre), op.output, true);
    out.nodes.push(makeNode('Identity', [pre], [op.output], {}, `${op.output}/Identity`));
  },
};
