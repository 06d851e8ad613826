// The output clamp a fused activation (QConv / QAdd .activation) turns into: ReLU and Clip are the
// requantization clamp (free), LeakyReLU is the kernels' alpha. Shared by the conv and add ops.
import { quantMax, type Activation, type QTensor } from '../format/qmodel.js';

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
 * the result is exactly QuantizeLinear(Clip(x, min, max)).
 */
export function outputClamp(a: Activation, y: QuantParams): { outMin: number; outMax: number; fMin: number; fMax: number } {
  if (y.dtype === 'float32') {
    return a.kind === 'relu' ? { outMin: 0, outMax: 0, fMin: 0, fMax: Infinity }
      : a.kind === 'clip' ? { outMin: 0, outMax: 0, fMin: a.min, fMax: a.max }
      : { outMin: 0, outMax: 0, fMin: -Infinity, fMax: Infinity };
  }
  const qmax = quantMax(y.dtype);
  const clamp = a.kind === 'relu' ? { outMin: y.zeroPoint, outMax: qmax }
    : a.kind === 'clip' ? { outMin: quantizeBound(a.min, y), outMax: quantizeBound(a.max, y) }
    : { outMin: 0, outMax: qmax };
  return { ...clamp, fMin: -Infinity, fMax: Infinity };
}
