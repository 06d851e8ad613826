// How a conv (or a fully connected layer, a 1x1 conv) is written to ONNX: its fp32 or dequantized
// int8 weights as initializers and the Conv (or Flatten -> Gemm -> Reshape) node reading them.
import type { NodeDef, TensorValue } from '../../onnx/model.js';
import { attr, makeNode } from '../../onnx/model.js';
import { makeTensor } from '../../onnx/tensor.js';
import type { FConv } from './conv.js';
import type { QuantizedConvWeights } from './conv-weights.js';

/** The folded fp32 weights and bias as `<op>/W` and `<op>/B`. */
export function floatWeights(inits: TensorValue[], op: FConv): void {
  const I = op.inChannels / op.group;
  inits.push(makeTensor(`${op.name}/W`, 'float32', op.fullyConnected ? [op.outChannels, I] : [op.outChannels, I, ...op.kernel], op.weights));
  inits.push(makeTensor(`${op.name}/B`, 'float32', [op.outChannels], op.bias));
}

/** int8 per-channel weights and int32 bias as initializers, dequantized into `<op>/W` and `<op>/B`. */
export function quantizedWeights(nodes: NodeDef[], inits: TensorValue[], op: FConv, w: QuantizedConvWeights, inputScale: number): void {
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

/** Partial sums of an exactly written conv stay below this: every integer up to 2^24 is a float32. */
export const FLOAT_EXACT_LIMIT = 2 ** 24;

/** A large int32 bias is split: the Conv node adds its low part (0..255), a later Add the rest (exactConvNodes). */
export const EXACT_BIAS_LOW = 256;

/**
 * The largest |sum_k w[o,k] * (x[k] - zp)| over the output channels, for inputs 0..maxInput. The
 * exact form (exactConvNodes) needs it plus EXACT_BIAS_LOW below FLOAT_EXACT_LIMIT.
 */
export function floatProductsBound(w: QuantizedConvWeights, inputZeroPoint: number, maxInput: number): number {
  const O = w.scales.length, per = w.weights.length / O, dx = Math.max(inputZeroPoint, maxInput - inputZeroPoint);
  let bound = 0;
  for (let o = 0; o < O; o++) {
    let sum = 0;
    for (let k = 0; k < per; k++) sum += Math.abs(w.weights[o * per + k]) * dx;
    bound = Math.max(bound, sum);
  }
  return bound;
}

/**
 * The integer conv as float32 ops that compute it exactly: DequantizeLinear with scale 1 of the
 * stored input (x - zp, integers) and of the int8 weights; the Conv (or Gemm) of those integers,
 * whose partial sums are integers below FLOAT_EXACT_LIMIT (floatProductsBound + EXACT_BIAS_LOW), so
 * exact in any order. The int32 bias goes in whole where |bias| + floatProductsBound stays below the
 * limit; else its low part (0..255) goes in the Conv and the rest, a multiple of 256 (exact in
 * float32), is added after it: one correctly rounded float32 add of two exact values, which is
 * f32(acc), the kernels' int32 to float32 conversion. Then Mul by the per-channel requantization
 * multipliers: the kernels' y = f32(acc) * multiplier[c], one f32 rounding. `xq`: the stored input
 * tensor (the QuantizeLinear output); returns the tensor of y (output units).
 */
export function exactConvNodes(nodes: NodeDef[], inits: TensorValue[], op: FConv, w: QuantizedConvWeights, xq: string, xZeroPoint: string,
  productsBound: number, multipliers: Float32Array): string {
  const O = op.outChannels, I = op.inChannels / op.group, [kh, kw] = op.kernel, p = op.name;
  const oihw = new Int8Array(w.weights.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    oihw[((o * I + i) * kh + y) * kw + x] = w.weights[((o * kh + y) * kw + x) * I + i];
  }
  let maxBias = 0;
  for (const b of w.bias) maxBias = Math.max(maxBias, Math.abs(b));
  const split = productsBound + maxBias >= FLOAT_EXACT_LIMIT;
  const high = Int32Array.from(w.bias, (b) => Math.floor(b / EXACT_BIAS_LOW) * EXACT_BIAS_LOW);
  inits.push(makeTensor(`${p}/one`, 'float32', [], [1]));
  inits.push(makeTensor(`${p}/W_q`, 'int8', op.fullyConnected ? [O, I] : [O, I, kh, kw], oihw));
  inits.push(makeTensor(`${p}/B_q`, 'int32', [O], split ? Int32Array.from(w.bias, (b, o) => b - high[o]) : w.bias));
  inits.push(makeTensor(`${p}/multiplier`, 'float32', [1, O, 1, 1], multipliers));
  nodes.push(makeNode('DequantizeLinear', [xq, `${p}/one`, xZeroPoint], [`${p}/x_int`], {}, `${p}/x/DequantizeLinear`));
  nodes.push(makeNode('DequantizeLinear', [`${p}/W_q`, `${p}/one`], [`${p}/W`], {}, `${p}/W/DequantizeLinear`));
  nodes.push(makeNode('DequantizeLinear', [`${p}/B_q`, `${p}/one`], [`${p}/B`], {}, `${p}/B/DequantizeLinear`));
  let acc = convNodes(nodes, inits, op, `${p}/x_int`, `${p}/acc`);
  if (split) {
    inits.push(makeTensor(`${p}/B_high_q`, 'int32', [1, O, 1, 1], high));
    nodes.push(makeNode('DequantizeLinear', [`${p}/B_high_q`, `${p}/one`], [`${p}/B_high`], {}, `${p}/B_high/DequantizeLinear`));
    nodes.push(makeNode('Add', [acc, `${p}/B_high`], [`${p}/acc_biased`], {}, `${p}/B_high/Add`));
    acc = `${p}/acc_biased`;
  }
  nodes.push(makeNode('Mul', [acc, `${p}/multiplier`], [`${p}/units`], {}, `${p}/Mul`));
  return `${p}/units`;
}
