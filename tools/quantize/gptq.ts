// Hessian-aware weight rounding (GPTQ, Frantar et al. 2022): instead of rounding each int8 weight to
// the nearest level on its own, the weights of a conv are rounded one input position k at a time and
// the rounding error of column k is pushed onto the not-yet-rounded columns through the inverse of
// H = E[x x^T] (x: the layer's input patches on calibration images). That minimizes the error of the
// layer's *output* on those inputs, E||(W_q - W) x||^2, not of the weights themselves; with 12-bit
// activations the int8 weights are the larger error left.
//
// Scope: group-1 convs (and fully connected layers) whose K = inChannels * kh * kw is at most
// `maxK` (the Cholesky and the K x K statistics grow as K^3 and K^2). Scales stay max|w| / 127 per
// output channel; only the rounding changes.
import { ReferenceSession } from '../../src/reference/ort-runner.js';
import { mulberry32 } from '../../src/synth/random.js';
import type { FConv, FloatGraph } from './prepare.js';

export interface HessianOptions {
  /** Largest K a conv may have to be included. Default 1152 (3x3 x 128). */
  maxK?: number;
  /** Output pixels sampled per image and conv. Default 128. */
  pixelsPerImage?: number;
  /** Images used (the first ones of the calibration set). Default 32. */
  images?: number;
  seed?: number;
}

/** Per conv (by op name): H = sum over sampled patches of x x^T (K x K, row-major) and the sample count. */
export interface LayerHessian { K: number; H: Float64Array; samples: number }

/** The convs GPTQ applies to. */
export function gptqEligible(op: FConv, maxK: number): boolean {
  return op.group === 1 && op.inChannels * op.kernel[0] * op.kernel[1] <= maxK;
}

/**
 * Runs the fp32 model on the first `images` calibration inputs and accumulates, for every eligible
 * conv, H over `pixelsPerImage` random output pixels per image (patches in OIHW weight order:
 * k = (i * kh + y) * kw + x; padding contributes 0, the real value of the zero point).
 */
export async function collectHessians(
  onnxBytes: Uint8Array, g: FloatGraph, inputs: Float32Array[], options: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  const maxK = options.maxK ?? 1152, P = options.pixelsPerImage ?? 128;
  const convs = g.ops.filter((op): op is FConv => op.op === 'conv' && gptqEligible(op, maxK));
  const out = new Map<string, LayerHessian>();
  if (convs.length === 0) return out;
  const extra = [...new Set(convs.map((c) => c.input))].filter((t) => t !== g.input.name);
  const session = await ReferenceSession.create(onnxBytes, { extraOutputs: extra });
  const rnd = mulberry32(options.seed ?? 0);
  for (const c of convs) {
    const K = c.inChannels * c.kernel[0] * c.kernel[1];
    out.set(c.name, { K, H: new Float64Array(K * K), samples: 0 });
  }
  try {
    for (const x of inputs.slice(0, options.images ?? 32)) {
      const { outputs } = await session.run({ [g.input.name]: { dims: g.input.nchw, data: x } });
      for (const c of convs) {
        const data = c.input === g.input.name ? x : outputs[c.input].data;
        const [, C, Hh, W] = g.shapes.get(c.input)!;
        const [, , OH, OW] = g.shapes.get(c.output)!;
        const acc = out.get(c.name)!;
        const K = acc.K, [kh, kw] = c.kernel;
        const patch = new Float64Array(K);
        for (let s = 0; s < P; s++) {
          const oh = Math.floor(rnd() * OH), ow = Math.floor(rnd() * OW);
          for (let i = 0; i < C; i++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) {
            const ih = oh * c.stride[0] - c.pads[0] + y * c.dilation[0], iw = ow * c.stride[1] - c.pads[1] + xx * c.dilation[1];
            patch[(i * kh + y) * kw + xx] = ih >= 0 && ih < Hh && iw >= 0 && iw < W ? data[(i * Hh + ih) * W + iw] : 0;
          }
          // Upper triangle only; mirrored once at the end.
          const H = acc.H;
          for (let a = 0; a < K; a++) {
            const pa = patch[a];
            if (pa === 0) continue;
            const row = a * K;
            for (let b = a; b < K; b++) H[row + b] += pa * patch[b];
          }
        }
        acc.samples += P;
      }
    }
  } finally {
    await session.release();
  }
  for (const { K, H } of out.values()) for (let a = 0; a < K; a++) for (let b = a + 1; b < K; b++) H[b * K + a] = H[a * K + b];
  return out;
}

/** In-place Cholesky of a symmetric positive definite K x K matrix: returns lower L (A = L L^T). */
function cholesky(A: Float64Array, K: number): Float64Array {
  const L = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    let d = A[j * K + j];
    for (let k = 0; k < j; k++) d -= L[j * K + k] * L[j * K + k];
    if (!(d > 0)) throw new Error(`GPTQ: Hessian not positive definite at ${j}`);
    const ljj = Math.sqrt(d);
    L[j * K + j] = ljj;
    for (let i = j + 1; i < K; i++) {
      let s = A[i * K + j];
      for (let k = 0; k < j; k++) s -= L[i * K + k] * L[j * K + k];
      L[i * K + j] = s / ljj;
    }
  }
  return L;
}

/**
 * U upper triangular with H^-1 = U^T U (GPTQ's cholesky(H^-1, upper=True)): U = L_h^T for the lower
 * Cholesky factor L_h of H^-1. Row k of U carries column k's rounding error onto the later columns.
 */
function inverseCholeskyUpper(H: Float64Array, K: number): Float64Array {
  const L = cholesky(H, K);
  const Li = new Float64Array(K * K); // L^-1, lower triangular
  for (let i = 0; i < K; i++) {
    Li[i * K + i] = 1 / L[i * K + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * K + k] * Li[k * K + j];
      Li[i * K + j] = s / L[i * K + i];
    }
  }
  const Hi = new Float64Array(K * K); // H^-1 = Li^T Li
  for (let a = 0; a < K; a++) {
    for (let b = a; b < K; b++) {
      let s = 0;
      for (let k = b; k < K; k++) s += Li[k * K + a] * Li[k * K + b];
      Hi[a * K + b] = s;
      Hi[b * K + a] = s;
    }
  }
  const Lh = cholesky(Hi, K);
  const U = new Float64Array(K * K);
  for (let a = 0; a < K; a++) for (let b = a; b < K; b++) U[a * K + b] = Lh[b * K + a];
  return U;
}

/** The O(K^3) part, once per Hessian: one calibration is often quantized several times (variants, bit widths). */
const factors = new WeakMap<LayerHessian, { damp: number; U: Float64Array; dead: number[] }>();

/** chol(H^-1) upper of the damped, normalized Hessian, and the dead inputs (never nonzero: their weights are dropped). */
function factor(h: LayerHessian, damp: number): { U: Float64Array; dead: number[] } {
  const cached = factors.get(h);
  if (cached && cached.damp === damp) return cached;
  const K = h.K;
  const H = Float64Array.from(h.H, (v) => v / Math.max(1, h.samples));
  let mean = 0;
  for (let k = 0; k < K; k++) mean += H[k * K + k];
  mean /= K;
  const dead: number[] = [];
  for (let k = 0; k < K; k++) {
    if (H[k * K + k] === 0) { H[k * K + k] = 1; dead.push(k); }
    H[k * K + k] += damp * (mean > 0 ? mean : 1);
  }
  const f = { damp, U: inverseCholeskyUpper(H, K), dead };
  factors.set(h, f);
  return f;
}

/**
 * GPTQ rounding of one conv: `w` OIHW fp32, `scales` per output channel (kept), `h` its Hessian.
 * Returns the int8 weights in OIHW order (levels -127..127).
 */
export function gptqRound(w: Float32Array, O: number, scales: Float32Array, h: LayerHessian, damp = 0.01): Int8Array {
  const K = h.K;
  const { U, dead } = factor(h, damp);
  const W = Float64Array.from(w);
  for (const k of dead) for (let o = 0; o < O; o++) W[o * K + k] = 0;
  const q = new Int8Array(O * K);
  for (let k = 0; k < K; k++) {
    const d = U[k * K + k];
    for (let o = 0; o < O; o++) {
      const s = scales[o];
      const v = W[o * K + k];
      const qi = Math.max(-127, Math.min(127, Math.round(v / s)));
      q[o * K + k] = qi;
      const err = (v - qi * s) / d;
      if (err === 0) continue;
      const row = o * K;
      for (let j = k + 1; j < K; j++) W[row + j] -= err * U[k * K + j];
    }
  }
  return q;
}
