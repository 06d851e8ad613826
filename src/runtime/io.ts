// Moving data across the wasm boundary: the float NCHW input is quantized into the input tensor
// (uint8 or uint12 NHWC), or a uint8 NHWC input copied in as it is, and each output tensor is read
// back as float32 in ONNX layout (NCHW).
import { EdgeqError } from '../errors.js';
import { quantMax } from '../format/qmodel.js';
import type { ExecutionPlan } from './plan.js';

/** Round half to even (the kernels' and ONNX QuantizeLinear's rounding); Math.round rounds half up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * q = clamp(round_half_even(x / scale) + zeroPoint, 0, 255 or 4095), written NHWC. Rejects NaN and
 * ±Infinity. x is copied into the plan's staging buffer and quantized there by f32_quantize_nchw
 * (float64 arithmetic: x * (1 / scale), rounded half to even, as roundHalfEven; SIMD in the SIMD
 * builds, 4 elements a step).
 */
export function quantizeInput(x: Float32Array, plan: ExecutionPlan, c: number, h: number, w: number): void {
  const { offset, tensor, staging } = plan.input;
  const k = plan.kernels;
  new Float32Array(k.memory.buffer, staging, x.length).set(x);
  // A 12-bit input (uint12, --activations 12) is written as 16-bit lanes.
  const wide = tensor.dtype === 'uint12';
  const hw = h * w;
  const bad = k.exports.f32_quantize_nchw(plan.batch, c, hw, staging, offset, 1 / tensor.scale, tensor.zeroPoint, quantMax(wide ? 'uint12' : 'uint8'), wide ? 1 : 0);
  if (bad >= 0) throw notFinite(x[bad]!, bad, Math.floor(bad / (c * hw)), Math.floor(bad / hw) % c, bad % hw);
}

/** The input tensor from a run's input: float32 NCHW quantized (quantizeInput), or uint8 NHWC integers copied as they are. */
export function writeInput(x: Float32Array | Uint8Array, plan: ExecutionPlan, c: number, h: number, w: number): void {
  if (x instanceof Uint8Array) new Uint8Array(plan.kernels.memory.buffer, plan.input.offset, x.length).set(x);
  else quantizeInput(x, plan, c, h, w);
}

function notFinite(v: number, index: number, n: number, ch: number, p: number): EdgeqError {
  const why = Number.isFinite(v) ? ' once divided by the input scale' : '';
  return new EdgeqError('BAD_INPUT', `input value ${v} at index ${index} (image ${n}, channel ${ch}, pixel ${p}) is not finite${why}`);
}

/** Graph output `index` (model.outputs order, default the first) as float32, NCHW (identical to NHWC when H = W = 1). */
export function dequantizeOutput(plan: ExecutionPlan, index = 0): Float32Array {
  const { offset, tensor } = plan.outputs[index]!;
  const [, h, w, c] = tensor.shape;
  const count = plan.batch * h * w * c;
  const buf = plan.kernels.memory.buffer;
  const src = tensor.dtype === 'float32' ? new Float32Array(buf, offset, count)
    : tensor.dtype === 'uint12' ? new Uint16Array(buf, offset, count) : new Uint8Array(buf, offset, count);
  // One pixel per image (a classifier's logits or probabilities): NHWC is NCHW, and float32 is a copy.
  const out = new Float32Array(count);
  if (h * w === 1 && tensor.dtype === 'float32') {
    out.set(src);
    return out;
  }
  const s = tensor.scale, z = tensor.zeroPoint;
  if (h * w === 1) {
    for (let i = 0; i < count; i++) out[i] = s * (src[i]! - z);
    return out;
  }
  // NHWC -> NCHW in blocks of TRANSPOSE_PIXELS pixels, so that each channel's writes stay in a few
  // cache lines (7x faster than a pixel-major walk on a 28x28x512 output: docs/tuning-log.md,
  // "Output dequantization"); s * (v - z) in f64, stored as f32, as before.
  const hw = h * w, f32 = tensor.dtype === 'float32';
  for (let n = 0; n < plan.batch; n++) {
    const base = n * hw * c;
    for (let p0 = 0; p0 < hw; p0 += TRANSPOSE_PIXELS) {
      const pe = Math.min(hw, p0 + TRANSPOSE_PIXELS);
      for (let ch = 0; ch < c; ch++) {
        const o = base + ch * hw, i = base + ch;
        if (f32) for (let p = p0; p < pe; p++) out[o + p] = src[i + p * c]!;
        else for (let p = p0; p < pe; p++) out[o + p] = s * (src[i + p * c]! - z);
      }
    }
  }
  return out;
}

/** Pixels per block of dequantizeOutput's transpose. */
const TRANSPOSE_PIXELS = 8;
