// The quantized model as the runtime sees it: a list of int8 ops over NHWC tensors.
// The quantizer builds it, src/format/writer.ts serializes it into a .edgeq file,
// src/format/reader.ts reads it back, and src/runtime executes it.

import type { PreprocessSpec } from '../image/spec.js';

/** One activation tensor. Shapes are NHWC with N = batch (1 in the file, the runtime scales it). */
export interface QTensor {
  name: string;
  /** [N, H, W, C]; a flattened tensor is [N, 1, 1, C]. */
  shape: [number, number, number, number];
  dtype: 'uint8' | 'uint12' | 'float32';
  /** Quantized dtypes only: real = scale * (q - zeroPoint). */
  scale: number;
  zeroPoint: number;
}

export type Activation =
  | { kind: 'none' }
  | { kind: 'relu' }                    // realized by the output clamp (zero point 0 -> clamp at 0)
  | { kind: 'leakyrelu'; alpha: number } // applied in fp32 before rounding
  // Clip / Relu6 (min <= max, finite, real units), realized as the output clamp: quantized,
  // [Q(min), Q(max)] with Q(v) = clamp(roundHalfEven(f32(v) / f32(scale)) + zeroPoint, 0, qmax)
  // (QuantizeLinear's arithmetic, so the clamp equals ONNX's Clip then QuantizeLinear exactly);
  // a float32 output clamps at [min, max]. src/ops/activation.ts, outputClamp().
  | { kind: 'clip'; min: number; max: number }
  // Applied in fp32 in the conv epilogue before rounding (conv only; assembly/common.ts ACT_*):
  // HardSwish x * relu6(x + 3) / 6; HardSigmoid clamp(alpha * x + beta, 0, 1) (alpha, beta finite);
  // Sigmoid 1 / (1 + exp(-x)) (a polynomial exp, max error stated in docs/quantization.md); SiLU x * sigmoid(x).
  | { kind: 'hardswish' }
  | { kind: 'hardsigmoid'; alpha: number; beta: number }
  | { kind: 'sigmoid' }
  | { kind: 'silu' };

/**
 * Convolution (and fully connected layers, as 1x1 convs over a 1x1 map).
 * Weights are int8 symmetric per output channel; the packed blob holds weights in the
 * kernel's layout, int32 bias with the input zero point folded in, and fp32 requantization
 * multipliers (inputScale * weightScale[c] / outputScale, or inputScale * weightScale[c] for fp32 output).
 */
export interface QConv {
  op: 'conv';
  name: string;
  input: number;             // index into QModel.tensors
  output: number;
  kernel: [number, number];  // kh, kw
  stride: [number, number];
  pads: [number, number, number, number]; // top, left, bottom, right
  dilation: [number, number];
  group: number;
  inChannels: number;
  outChannels: number;
  activation: Activation;
  /** Index into QModel.blobs of the packed weights (layout given by `packing`). */
  weights: number;
  packing: string;           // PACKINGS in src/kernels/packing.ts, e.g. 'qu8-gemm-2x4c8' (docs/format-packing.md)
  /**
   * Optional weight scales kept for tools (QDQ export, reports); not needed to run. One per output
   * channel, or a single value when every channel shares it (a per-tensor scale, as importers write).
   */
  weightScales?: Float32Array;
  /**
   * A fused residual add: the index of a uint8 or uint12 tensor of the output's shape added in the epilogue,
   * y = f32(acc) * multiplier[c] + f32(r - zr) * f32(sr / so), then the activation and rounding.
   */
  residual?: number;
}

/** Residual add: out = requant(sa*(a-za) + sb*(b-zb)), optional ReLU; any mix of uint8 / uint12. */
export interface QAdd {
  op: 'add';
  name: string;
  a: number;
  b: number;
  output: number;
  activation: Activation;
  /**
   * The requantization (default 'f32': (a - za) f32(sa / so) + (b - zb) f32(sb / so) in f32, ties to
   * even). 'xnnpack-q21': XNNPACK's qu8 add, as TFLite's XNNPACK delegate runs an imported ADD:
   * 21-bit integer multipliers and a shift, ties up (uint8 operands and output; docs/kernels.md).
   */
  arithmetic?: 'f32' | 'xnnpack-q21';
}

/** Max pool; input and output share dtype, scale and zero point. */
export interface QMaxPool {
  op: 'maxpool';
  name: string;
  input: number;
  output: number;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
}

/** Global average pool over H x W (quantized -> quantized requantized, any mix of uint8 / uint12, or float32 -> float32). */
export interface QGlobalAvgPool {
  op: 'gap';
  name: string;
  input: number;
  output: number;
  /**
   * How the average is rounded (default 'half-even': requantized in f32, ties to even, onnxruntime's
   * QLinearGlobalAveragePool). 'half-up' / 'half-away-from-128': TFLite's integer average pool of
   * uint8 / of int8 stored + 128 (input and output uint8 with one scale and zero point, H * W <= 65280):
   * (sum + HW / 2) / HW, or 128 + the int8 sum's average rounded half away from zero.
   */
  rounding?: PoolRounding;
}

/** The rounding modes of the average pools (QGlobalAvgPool.rounding, QAvgPool.rounding). */
export type PoolRounding = 'half-even' | 'half-up' | 'half-away-from-128';

/**
 * Elementwise multiply of two quantized tensors into a quantized output (any mix of uint8 / uint12):
 * out = requant(sa*sb*(a-za)*(b-zb)/so). b has a's shape, or [N,1,1,C] (one value per image and
 * channel, broadcast over H x W: the squeeze-and-excitation gate).
 */
export interface QMul {
  op: 'mul';
  name: string;
  a: number;
  b: number;
  output: number;
}

/**
 * Concatenation along channels (NHWC C; ONNX axis 1). Inputs share N, H, W; the output's C is the
 * sum of theirs. An input with the output's dtype, scale and zero point is copied; any other is
 * requantized (dequantize, then QuantizeLinear into the output's parameters).
 */
export interface QConcat {
  op: 'concat';
  name: string;
  inputs: number[];
  output: number;
}

/**
 * Average pool over quantized tensors (uint8 / uint12, requantized into the output's parameters).
 * ONNX ceil_mode = 1 is stored as floor mode over bottom/right pads grown by the overhang.
 * countIncludePad: divide by kernel[0] * kernel[1] (ONNX count_include_pad = 1, as onnxruntime
 * computes it), else by the window's positions inside the image.
 */
export interface QAvgPool {
  op: 'avgpool';
  name: string;
  input: number;
  output: number;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
  countIncludePad: boolean;
  /**
   * Default 'half-even' (onnxruntime's QLinearAveragePool in f32). 'half-up' / 'half-away-from-128':
   * TFLite's integer average over the valid taps, as the gap op's (countIncludePad false, windows of
   * at most 65280 taps).
   */
  rounding?: PoolRounding;
}

/** Softmax over the channels (NHWC's last axis), float32 -> float32: a classifier's last op, after its float32 head. */
export interface QSoftmax {
  op: 'softmax';
  name: string;
  input: number;
  output: number;
}

export type QOp = QConv | QAdd | QMaxPool | QGlobalAvgPool | QMul | QConcat | QAvgPool | QSoftmax;

/** One graph output: its ONNX name and the tensor holding it. */
export interface QOutput { name: string; tensor: number }

export interface QModel {
  /** Graph input: the model takes float32 NCHW, quantized by the runtime into tensors[input] (uint8 or uint12). */
  input: { name: string; tensor: number; nchw: [number, number, number, number] };
  /**
   * Graph outputs, in the ONNX graph's order, each returned as float32 (dequantized if stored
   * quantized). At least one; names and tensors distinct. An output may also be read by later ops
   * (an intermediate tensor the user wants). The file stores one output as `"output": {...}` and
   * several as `"outputs": [...]` (docs/format.md).
   */
  outputs: QOutput[];
  tensors: QTensor[];
  ops: QOp[];
  /** Binary sections (packed weights). Each is 64-byte aligned in the file. */
  blobs: Uint8Array[];
  preprocess?: PreprocessSpec;
  labels?: string[];
  producer: string;
  /** Hex SHA-256 of the source ONNX file. */
  sourceHash?: string;
  /** Free-form extra metadata (calibration method, ...). */
  meta?: Record<string, string | number>;
}

/** A quantized activation dtype: uint8, or 12-bit values (0..4095) stored as little-endian uint16. */
export type QuantDtype = 'uint8' | 'uint12';

/** True for the quantized dtypes (uint8, uint12), false for float32. */
export function isQuantized(dtype: QTensor['dtype']): dtype is QuantDtype {
  return dtype === 'uint8' || dtype === 'uint12';
}

/** Bytes per element as stored in memory and in the runtime's arena. */
export function elementBytes(dtype: QTensor['dtype']): 1 | 2 | 4 {
  return dtype === 'float32' ? 4 : dtype === 'uint12' ? 2 : 1;
}

/** The largest stored value of a quantized dtype (the smallest is 0). */
export function quantMax(dtype: QuantDtype): number {
  return dtype === 'uint12' ? 4095 : 255;
}
