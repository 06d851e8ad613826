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
        const patches = new Float64Array(PATCH_BLOCK * K);
        let n = 0;
        for (let s = 0; s < P; s++) {
          const oh = Math.floor(rnd() * OH), ow = Math.floor(rnd() * OW);
          const patch = patches.subarray(n * K, (n + 1) * K);
          for (let i = 0; i < C; i++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) {
            const ih = oh * c.stride[0] - c.pads[0] + y * c.dilation[0], iw = ow * c.stride[1] - c.pads[1] + xx * c.dilation[1];
            patch[(i * kh + y) * kw + xx] = ih >= 0 && ih < Hh && iw >= 0 && iw < W ? data[(i * Hh + ih) * W + iw] : 0;
          }
          if (++n === PATCH_BLOCK || s === P - 1) {
            patches.fill(0, n * K); // a short last block: zero patches add exactly nothing
            addOuterProducts(acc.H, K, patches);
            n = 0;
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

/** Patches per pass over H in collectHessians (H, up to 10 MB, is read and written once per block); addOuterProducts is unrolled for 4. */
const PATCH_BLOCK = 4;

/**
 * H += sum of x x^T over the PATCH_BLOCK patches in `X` (rows of K), upper triangle only (mirrored
 * once at the end). Each entry adds the patches' products one after another in patch order, so the
 * sums are bitwise those of one rank-1 update per patch (a product with a zero adds exactly nothing).
 */
function addOuterProducts(H: Float64Array, K: number, X: Float64Array): void {
  const o1 = K, o2 = 2 * K, o3 = 3 * K;
  for (let a = 0; a < K; a++) {
    const p0 = X[a], p1 = X[o1 + a], p2 = X[o2 + a], p3 = X[o3 + a];
    if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0) continue; // post-ReLU inputs are often 0
    const row = a * K;
    for (let b = a; b < K; b++) H[row + b] = H[row + b] + p0 * X[b] + p1 * X[o1 + b] + p2 * X[o2 + b] + p3 * X[o3 + b];
  }
}

/**
 * "Upper-lower" Cholesky of a symmetric positive definite K x K matrix: upper triangular R with
 * A = R R^T (the usual lower Cholesky with the index order reversed, j = K-1 down to 0). Dot-product
 * form over rows, so every inner loop walks consecutive memory; four rows per pass share row j's loads.
 */
function choleskyUpper(A: Float64Array, K: number): Float64Array {
  const R = new Float64Array(K * K);
  for (let j = K - 1; j >= 0; j--) {
    const rj = j * K;
    let d = A[rj + j];
    for (let k = j + 1; k < K; k++) d -= R[rj + k] * R[rj + k];
    if (!(d > 0)) throw new Error(`GPTQ: Hessian not positive definite at ${j}`);
    const rjj = Math.sqrt(d);
    R[rj + j] = rjj;
    // R[i][j] = (A[i][j] - sum_{k>j} R[i][k] R[j][k]) / R[j][j] for the rows i < j above.
    let i = 0;
    for (; i + 3 < j; i += 4) {
      const r0 = i * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
      let s0 = A[r0 + j], s1 = A[r1 + j], s2 = A[r2 + j], s3 = A[r3 + j];
      for (let k = j + 1; k < K; k++) {
        const v = R[rj + k];
        s0 -= R[r0 + k] * v; s1 -= R[r1 + k] * v; s2 -= R[r2 + k] * v; s3 -= R[r3 + k] * v;
      }
      R[r0 + j] = s0 / rjj; R[r1 + j] = s1 / rjj; R[r2 + j] = s2 / rjj; R[r3 + j] = s3 / rjj;
    }
    for (; i < j; i++) {
      const ri = i * K;
      let s = A[ri + j];
      for (let k = j + 1; k < K; k++) s -= R[ri + k] * R[rj + k];
      R[ri + j] = s / rjj;
    }
  }
  return R;
}

/**
 * U = R^-1 of an upper triangular R (U upper too), bottom row first: from R U = I, row i of U is
 * (e_i - sum_{k>i} R[i][k] U[k][:]) / R[i][i], rows k > i being done. Row updates (axpy), four rows k
 * per pass over row i so that it is loaded and stored once per four.
 */
function invertUpper(R: Float64Array, K: number): Float64Array {
  const U = new Float64Array(K * K);
  for (let i = K - 1; i >= 0; i--) {
    const ui = i * K;
    let k = i + 1;
    for (; k + 3 < K; k += 4) {
      const a0 = R[ui + k], a1 = R[ui + k + 1], a2 = R[ui + k + 2], a3 = R[ui + k + 3];
      const u0 = k * K, u1 = u0 + K, u2 = u1 + K, u3 = u2 + K;
      // Row k + m of U is zero left of column k + m: the first three columns take fewer terms.
      U[ui + k] -= a0 * U[u0 + k];
      U[ui + k + 1] = U[ui + k + 1] - a0 * U[u0 + k + 1] - a1 * U[u1 + k + 1];
      U[ui + k + 2] = U[ui + k + 2] - a0 * U[u0 + k + 2] - a1 * U[u1 + k + 2] - a2 * U[u2 + k + 2];
      for (let j = k + 3; j < K; j++) U[ui + j] = U[ui + j] - a0 * U[u0 + j] - a1 * U[u1 + j] - a2 * U[u2 + j] - a3 * U[u3 + j];
    }
    for (; k < K; k++) {
      const a = R[ui + k], uk = k * K;
      for (let j = k; j < K; j++) U[ui + j] -= a * U[uk + j];
    }
    const inv = 1 / R[ui + i];
    for (let j = i + 1; j < K; j++) U[ui + j] *= inv;
    U[ui + i] = inv;
  }
  return U;
}

/**
 * U upper triangular with positive diagonal and H^-1 = U^T U (GPTQ's cholesky(H^-1, upper=True)).
 * Row k of U carries column k's rounding error onto the later columns. With H = R R^T (R upper,
 * choleskyUpper), H^-1 = R^-T R^-1, so U = R^-1: one factorization and one triangular inverse
 * instead of inverting H and factoring H^-1 (U is unique, so it is the same matrix).
 */
export function inverseCholeskyUpper(H: Float64Array, K: number): Float64Array {
  return invertUpper(choleskyUpper(H, K), K);
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
