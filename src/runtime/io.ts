// Moving data across the wasm boundary: the float NCHW input is quantized into the input tensor
// (uint8 or uint12 NHWC), and the output tensor is read back as float32 in ONNX layout (NCHW).
import { EdgeqError } from '../errors.js';
import { quantMax } from '../format/qmodel.js';
import type { ExecutionPlan } from './plan.js';

/** Round half to even (the kernels' and ONNX QuantizeLinear's rounding); Math.round rounds half up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** q = clamp(round_half_even(x / scale) + zeroPoint, 0, 255 or 4095), written NHWC. Rejects NaN and ±Infinity. */
export function quantizeInput(x: Float32Array, plan: ExecutionPlan, c: number, h: number, w: number): void {
  const { offset, tensor } = plan.input;
  // A 12-bit input (uint12, --activations 12) is written as 16-bit lanes.
  const wide = tensor.dtype === 'uint12';
  const out = wide ? new Uint16Array(plan.kernels.memory.buffer, offset, x.length) : new Uint8Array(plan.kernels.memory.buffer, offset, x.length);
  const qmax = quantMax(wide ? 'uint12' : 'uint8');
  const inv = 1 / tensor.scale;
  const zp = tensor.zeroPoint;
  const hw = h * w;
  for (let n = 0; n < plan.batch; n++) {
    const base = n * c * hw;
    for (let ch = 0; ch < c; ch++) {
      const src = base + ch * hw;
      for (let p = 0; p < hw; p++) {
        const v = x[src + p];
        if (!Number.isFinite(v)) {
          throw new EdgeqError('BAD_INPUT', `input value ${v} at index ${src + p} (image ${n}, channel ${ch}, pixel ${p}) is not finite`);
        }
        const q = roundHalfEven(v * inv) + zp;
        out[base + p * c + ch] = q < 0 ? 0 : q > qmax ? qmax : q;
      }
    }
  }
}

/** The output tensor as float32, NCHW (identical to NHWC when H = W = 1). */
export function dequantizeOutput(plan: ExecutionPlan): Float32Array {
  const { offset, tensor } = plan.output;
  const [, h, w, c] = tensor.shape;
  const count = plan.batch * h * w * c;
  const buf = plan.kernels.memory.buffer;
  const src = tensor.dtype === 'float32' ? new Float32Array(buf, offset, count)
    : tensor.dtype === 'uint12' ? new Uint16Array(buf, offset, count) : new Uint8Array(buf, offset, count);
  const out = new Float32Array(count);
  const s = tensor.scale, z = tensor.zeroPoint;
  const deq = tensor.dtype === 'float32' ? (v: number) => v : (v: number) => s * (v - z);
  const hw = h * w;
  for (let n = 0; n < plan.batch; n++) {
    const base = n * hw * c;
    for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) out[base + ch * hw + p] = deq(src[base + p * c + ch]);
  }
  return out;
}
