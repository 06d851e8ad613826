// Naive references of the mul, concat and average-pool kernels: textbook loops over NHWC arrays
// in the arithmetic each kernel's contract states (assembly/mul.ts, concat.ts, avgpool.ts).
import { roundHalfEven } from './ref.js';

const f32 = Math.fround;
type Q = Uint8Array | Uint16Array;
const make = (qmax: number, n: number): Q => (qmax > 255 ? new Uint16Array(n) : new Uint8Array(n));
const sat = (v: number, qmax: number) => Math.min(Math.max(v, 0), qmax);

/** y = sat(roundHalfEven(f32(f32((a - za) * (b - zb)) * m)) + zo); b [N,1,1,C] broadcast when bPerImage. */
export function refMul(a: Q, b: Q, n: number, hw: number, c: number, bPerImage: boolean, za: number, zb: number, m: number, zo: number, qmax: number): Q {
  const y = make(qmax, n * hw * c);
  for (let i = 0; i < n; i++) for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) {
    const at = (i * hw + p) * c + ch;
    const bv = bPerImage ? b[i * c + ch]! : b[at]!;
    y[at] = sat(roundHalfEven(f32(f32((a[at]! - za) * (bv - zb)) * m)) + zo, qmax);
  }
  return y;
}

/** Channel concat of NHWC inputs [rows, C_k]: y = sat(roundHalfEven(f32(f32(f32(x - zi) * si) / so)) + zo), or a copy. */
export function refConcat(xs: { data: Q; c: number; zi: number; si: number; copy: boolean }[], rows: number, so: number, zo: number, qmax: number): Q {
  const ctot = xs.reduce((s, x) => s + x.c, 0);
  const y = make(qmax, rows * ctot);
  let c0 = 0;
  for (const x of xs) {
    for (let r = 0; r < rows; r++) for (let ch = 0; ch < x.c; ch++) {
      const v = x.data[r * x.c + ch]!;
      y[r * ctot + c0 + ch] = x.copy ? v : sat(roundHalfEven(f32(f32(f32(v - x.zi) * x.si) / so)) + zo, qmax);
    }
    c0 += x.c;
  }
  return y;
}

export interface RefPool {
  n: number; h: number; w: number; c: number;
  kernel: [number, number]; stride: [number, number];
  /** ONNX pads [top, left, bottom, right]. */
  pads: [number, number, number, number];
  ceilMode: boolean; countIncludePad: boolean;
}

/** ONNX output size of one axis (ceil mode: the last window starts inside the input or its leading pad). */
export function refPoolDim(inSize: number, k: number, s: number, p0: number, p1: number, ceil: boolean): number {
  if (!ceil) return Math.floor((inSize + p0 + p1 - k) / s) + 1;
  let o = Math.ceil((inSize + p0 + p1 - k) / s) + 1;
  if ((o - 1) * s >= inSize + p0) o--;
  return o;
}

/**
 * onnxruntime's QLinearAveragePool: per window (clipped to the image), the f32 sum in row-major
 * order of f32(si * (x - zi)), divided by KH * KW (countIncludePad) or the clipped window's size,
 * then q = sat(roundHalfEven(f32(f32(avg / so) + zo))).
 */
export function refAvgPool(x: Q, p: RefPool, zi: number, si: number, so: number, zo: number, qmax: number): { y: Q; oh: number; ow: number } {
  const oh = refPoolDim(p.h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2], p.ceilMode);
  const ow = refPoolDim(p.w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3], p.ceilMode);
  const y = make(qmax, p.n * oh * ow * p.c);
  let o = 0;
  for (let b = 0; b < p.n; b++) for (let yo = 0; yo < oh; yo++) for (let xo = 0; xo < ow; xo++) for (let ch = 0; ch < p.c; ch++) {
    const h0 = yo * p.stride[0] - p.pads[0], w0 = xo * p.stride[1] - p.pads[1];
    const h1 = Math.min(h0 + p.kernel[0], p.h), w1 = Math.min(w0 + p.kernel[1], p.w);
    let s = 0;
    for (let iy = Math.max(h0, 0); iy < h1; iy++) for (let ix = Math.max(w0, 0); ix < w1; ix++) s = f32(s + f32(si * (x[((b * p.h + iy) * p.w + ix) * p.c + ch]! - zi)));
    const count = p.countIncludePad ? p.kernel[0] * p.kernel[1] : (h1 - Math.max(h0, 0)) * (w1 - Math.max(w0, 0));
    y[o++] = sat(roundHalfEven(f32(f32(f32(s / count) / so) + zo)), qmax);
  }
  return { y, oh, ow };
}
