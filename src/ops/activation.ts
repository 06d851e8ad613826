// The output clamp a fused activation (QConv / QAdd .activation) turns into: ReLU and Clip are the
// requantization clamp (free), LeakyReLU is the kernels' alpha, HardSwish / HardSigmoid / Sigmoid /
// SiLU are the conv kernels' activation code and (alpha, beta) (kernelActivation). Shared by the conv and add ops.
import { quantMax, type Activation, type QTensor } from '../format/qmodel.js';
import { GEMM_FLAGS } from '../kernels/kernel-api.generated.js';

const f32 = Math.fround;

/** What the clamp depends on: the output tensor's dtype and quantization. */
export type QuantParams = Pick<QTensor, 'dtype' | 'scale' | 'zeroPoint'>;

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Q(v) of a real value in tensor y's quantization, as ONNX QuantizeLinear computes it
 * (f32(v) / f32(scale) in float32, rounded half to even, + zero point, saturated).
 */
export function quantizeBound(v: number, y: QuantParams): number {
  const q = roundHalfEven(f32(f32(v) / f32(y.scale))) + y.zeroPoint;
  return Math.min(quantMax(y.dtype as 'uint8' | 'uint12'), Math.max(0, q));
}

/**
 * The clamp of an op's output y under its activation: quantized bounds (outMin, outMax) for a
 * quantized y, real bounds (fMin, fMax) for a float32 one. ReLU: [zeroPoint, qmax] / [0, inf);
 * Clip(min, max): [Q(min), Q(max)] / [min, max] (Q: quantizeBound); otherwise the full range.
 * Clamping before rounding at integer bounds equals rounding then clamping, and Q is monotonic:
 * the result is exactly QuantizeLinear(Clip(x, min, max)). HardSigmoid's [0, 1] bound is its clamp too.
 */
export function outputClamp(a: Activation, y: QuantParams): { outMin: number; outMax: number; fMin: number; fMax: number } {
  if (y.dtype === 'float32') {
    return a.kind === 'relu' ? { outMin: 0, outMax: 0, fMin: 0, fMax: Infinity }
      : a.kind === 'clip' ? { outMin: 0, outMax: 0, fMin: a.min, fMax: a.max }
      : a.kind === 'hardsigmoid' ? { outMin: 0, outMax: 0, fMin: 0, fMax: 1 }
      : { outMin: 0, outMax: 0, fMin: -Infinity, fMax: Infinity };
  }
  const qmax = quantMax(y.dtype);
  const clamp = a.kind === 'relu' ? { outMin: y.zeroPoint, outMax: qmax }
    : a.kind === 'clip' ? { outMin: quantizeBound(a.min, y), outMax: quantizeBound(a.max, y) }
    : a.kind === 'hardsigmoid' ? { outMin: quantizeBound(0, y), outMax: quantizeBound(1, y) }
    : { outMin: 0, outMax: qmax };
  return { ...clamp, fMin: -Infinity, fMax: Infinity };
}

/** A fused activation as the conv kernels take it: the flags' ACT code and its f32 parameters. */
export interface KernelActivation {
  /** GEMM_FLAGS.ACT_* (the same bits in every convolution kernel's flags). */
  code: number;
  alpha: number;
  beta: number;
}

/**
 * The kernels' form of a HardSwish / HardSigmoid / Sigmoid / SiLU activation of output y (undefined
 * for the others: none, ReLU, Clip, LeakyReLU). The kernels see y in output units (real / s, s = the
 * output scale; s = 1 for a float32 output) and compute (assembly/common.ts):
 *   HardSwish    y * clamp(y * (s/6) + 1/2, 0, 1)     = hardswish(x) / s
 *   HardSigmoid  y * a + b/s, clamped by outputClamp  = clamp(a x + b, 0, 1) / s
 *   Sigmoid      sigmoid(y * s) * (1/s)               = sigmoid(x) / s
 *   SiLU         y * sigmoid(y * s)                   = x sigmoid(x) / s
 * with every parameter rounded once to f32.
 */
export function kernelActivation(a: Activation, y: QuantParams): KernelActivation | undefined {
  const s = y.dtype === 'float32' ? 1 : y.scale;
  switch (a.kind) {
    case 'hardswish': return { code: GEMM_FLAGS.ACT_HARDSWISH, alpha: f32(s / 6), beta: 0.5 };
    case 'hardsigmoid': return { code: GEMM_FLAGS.ACT_HARDSIGMOID, alpha: f32(a.alpha), beta: f32(a.beta / s) };
    case 'sigmoid': return { code: GEMM_FLAGS.ACT_SIGMOID, alpha: f32(s), beta: f32(1 / s) };
    case 'silu': return { code: GEMM_FLAGS.ACT_SILU, alpha: f32(s), beta: 0 };
    default: return undefined;
  }
}
