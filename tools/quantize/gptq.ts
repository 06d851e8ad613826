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
import { ReferenceSession } from '../reference/ort-runner.js';
import { mulberry32 } from '../synth/random.js';
import { Sgemm } from './sgemm.js';
import type { FConv, FloatGraph } from './prepare.js';
import { weightScales } from './ops/conv-weights.js';

export interface HessianOptions {
  /** Largest K a conv may have to be included. Default 1152 (3x3 x 128). */
  maxK?: number;
  /** Output pixels sampled per image and conv. Default 128. */
  pixelsPerImage?: number;
  /** Images used (the first ones of the calibration set). Default 32. */
  images?: number;
  seed?: number;
  /** onnxruntime-web threads (one count per process: the calibration's). Default 1. */
  threads?: number;
}

/** Per conv (by op name): H = sum over sampled patches of x x^T (K x K, row-major) and the sample count. */
export interface LayerHessian { K: number; H: Float64Array; samples: number }

/** The convs GPTQ applies to. */
export function gptqEligible(op: FConv, maxK: number): boolean {
  return op.group === 1 && op.inChannels * op.kernel[0] * op.kernel[1] <= maxK;
}

/**
 * Accumulates, for every eligible conv, H over `pixelsPerImage` random output pixels of each of the
 * first `images` inputs it is shown (patches in OIHW weight order: k = (i * kh + y) * kw + x; padding
 * contributes 0, the real value of the zero point). The calibration pass feeds it the tensors it
 * already computes (collectHistograms' `observe`), so GPTQ needs no fp32 pass of its own.
 */
export class HessianCollector {
  private readonly convs: FConv[];
  private readonly stats = new Map<string, LayerHessian>();
  private readonly rnd: () => number;
  private readonly P: number;
  private readonly images: number;
  private seen = 0;
  private readonly gemm: Sgemm;
  /** Per conv, the patches of up to IMAGES_PER_PRODUCT images not yet in H. */
  private readonly pending = new Map<string, Float32Array>();

  constructor(private readonly g: FloatGraph, private readonly options: HessianOptions = {}) {
    const maxK = options.maxK ?? 1152;
    // Hessian-aware rounding applies to weights, which only convs have: conv-specific by nature.
    this.convs = g.ops.filter((op): op is FConv => op.op === 'conv' && gptqEligible(op, maxK));
    for (const c of this.convs) {
      const K = c.inChannels * c.kernel[0] * c.kernel[1];
      this.stats.set(c.name, { K, H: new Float64Array(K * K), samples: 0 });
    }
    this.P = options.pixelsPerImage ?? 128;
    this.images = options.images ?? 32;
    this.rnd = mulberry32(options.seed ?? 0);
    this.gemm = new Sgemm(options.threads);
  }

  /** The tensors it reads (the eligible convs' inputs other than the graph input). */
  get tensors(): string[] {
    return [...new Set(this.convs.map((c) => c.input))].filter((t) => t !== this.g.input.name);
  }

  /** One calibration input: `tensor(name)` gives each conv input's NCHW data (batch 1). Inputs past `images` are ignored. */
  async add(tensor: (name: string) => Float32Array): Promise<void> {
    if (this.seen >= this.images || this.convs.length === 0) return;
    const P = this.P, row = (this.seen % IMAGES_PER_PRODUCT) * P;
    this.seen++;
    for (const c of this.convs) {
      const data = tensor(c.input);
      // A fully connected layer's [N, C] tensors are [N, C, 1, 1].
      const [, C, Hh = 1, W = 1] = this.g.shapes.get(c.input)!;
      const [, , OH = 1, OW = 1] = this.g.shapes.get(c.output)!;
      const K = this.stats.get(c.name)!.K, [kh, kw] = c.kernel;
      let patches = this.pending.get(c.name);
      if (!patches) this.pending.set(c.name, patches = new Float32Array(IMAGES_PER_PRODUCT * P * K));
      for (let s = 0; s < P; s++) {
        const oh = Math.floor(this.rnd() * OH), ow = Math.floor(this.rnd() * OW);
        const patch = patches.subarray((row + s) * K, (row + s + 1) * K);
        for (let i = 0; i < C; i++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) {
          const ih = oh * c.stride[0] - c.pads[0] + y * c.dilation[0], iw = ow * c.stride[1] - c.pads[1] + xx * c.dilation[1];
          patch[(i * kh + y) * kw + xx] = ih >= 0 && ih < Hh && iw >= 0 && iw < W ? data[(i * Hh + ih) * W + iw] : 0;
        }
      }
    }
    if (this.seen % IMAGES_PER_PRODUCT === 0 || this.seen === this.images) await this.flush();
  }

  /** H += X^T X of the pending patches: their products per entry summed in float32 (sgemm), the blocks in float64. */
  private async flush(): Promise<void> {
    const rows = (((this.seen - 1) % IMAGES_PER_PRODUCT) + 1) * this.P;
    for (const [name, patches] of this.pending) {
      const acc = this.stats.get(name)!, K = acc.K;
      const G = await this.gemm.multiply(patches.subarray(0, rows * K), patches.subarray(0, rows * K), { M: K, N: K, K: rows, transA: true });
      for (let i = 0; i < K * K; i++) acc.H[i] += G[i];
      acc.samples += rows;
    }
  }

  /**
   * The statistics of inputs whose channels were divided by `scales` after they were collected
   * (activation smoothing, by input tensor): H[a][b] / (s[a's channel] s[b's channel]), exact.
   */
  rescaleInputs(scales: ReadonlyMap<string, Float64Array>): void {
    for (const c of this.convs) {
      const s = scales.get(c.input);
      if (!s) continue;
      const { K, H } = this.stats.get(c.name)!;
      const taps = c.kernel[0] * c.kernel[1];
      for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) H[a * K + b] /= s[Math.floor(a / taps)] * s[Math.floor(b / taps)];
    }
  }

  /** The Hessians (upper triangle mirrored: exactly symmetric, whatever order the GEMM summed in); ends the GEMM sessions. */
  async finish(): Promise<Map<string, LayerHessian>> {
    if (this.seen % IMAGES_PER_PRODUCT !== 0 && this.seen < this.images) await this.flush(); // fewer inputs than `images`
    await this.release();
    for (const { K, H } of this.stats.values()) for (let a = 0; a < K; a++) for (let b = a + 1; b < K; b++) H[b * K + a] = H[a * K + b];
    return this.stats;
  }

  /** Ends the GEMM sessions and drops pending patches (finish does it; call it when calibration fails instead). */
  release(): Promise<void> {
    this.pending.clear();
    return this.gemm.release();
  }
}

/** Images whose patches go into one X^T X product (4 x 128 patches: fewer, larger products; up to ~2.4 MB per conv held). */
const IMAGES_PER_PRODUCT = 4;

/** Runs the fp32 model on `inputs` in a pass of its own and collects the Hessians (HessianCollector). */
export async function collectHessians(
  onnxBytes: Uint8Array, g: FloatGraph, inputs: Float32Array[], options: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  const collector = new HessianCollector(g, options);
  const session = await ReferenceSession.create(onnxBytes, { extraOutputs: collector.tensors, threads: options.threads });
  try {
    for (const x of inputs.slice(0, options.images ?? 32)) {
      const { outputs } = await session.run({ [g.input.name]: { dims: g.input.nchw, data: x } });
      await collector.add((t) => (t === g.input.name ? x : outputs[t].data));
    }
  } catch (err) {
    await collector.release();
    throw err;
  } finally {
    await session.release();
  }
  return collector.finish();
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

/**
 * The damped, normalized Hessian: H / samples + damp * mean diagonal * I. An input never nonzero on the
 * calibration images ("dead") gets a diagonal of 1 and no correlations, so its weights round to nearest
 * and pass no error on (GPTQ's reference drops them; a channel silent on 32 images may still fire later).
 */
function dampedHessian(h: LayerHessian, damp: number): Float64Array {
  const K = h.K, n = Math.max(1, h.samples);
  const H = new Float64Array(K * K);
  for (let i = 0; i < K * K; i++) H[i] = h.H[i] / n;
  let mean = 0;
  for (let k = 0; k < K; k++) mean += H[k * K + k];
  mean /= K;
  for (let k = 0; k < K; k++) {
    if (H[k * K + k] === 0) H[k * K + k] = 1;
    H[k * K + k] += damp * (mean > 0 ? mean : 1);
  }
  return H;
}

/**
 * GPTQ rounding of one conv: `w` OIHW fp32, `scales` per output channel (kept), `h` its Hessian.
 * Returns the int8 weights in OIHW order (levels -127..127). The plain float64 algorithm, column by
 * column: the reference gptqRoundBlocked is tested against.
 */
export function gptqRound(w: Float32Array, O: number, scales: Float32Array, h: LayerHessian, damp = 0.01): Int8Array {
  const K = h.K;
  const U = inverseCholeskyUpper(dampedHessian(h, damp), K);
  const W = Float64Array.from(w);
  const q = new Int8Array(O * K);
  roundColumns(W, q, U, scales, O, K, 0, K);
  return q;
}

/**
 * Rounds columns k0..k1-1 of W (O rows of K, float64, updated in place) into q, column by column, each
 * column's scaled rounding error pushed onto the later columns up to k1 through row k of U; the errors
 * go to E (O x (k1 - k0)) when given, for the blocks' trailing update.
 */
function roundColumns(W: Float64Array, q: Int8Array, U: Float64Array, scales: Float32Array, O: number, K: number, k0: number, k1: number, E?: Float32Array): void {
  const b = k1 - k0;
  for (let k = k0; k < k1; k++) {
    const d = U[k * K + k], uk = k * K;
    for (let o = 0; o < O; o++) {
      const s = scales[o], row = o * K;
      const v = W[row + k];
      const qi = Math.max(-127, Math.min(127, Math.round(v / s)));
      q[row + k] = qi;
      const err = (v - qi * s) / d;
      if (E) E[o * b + k - k0] = err;
      if (err === 0) continue;
      for (let j = k + 1; j < k1; j++) W[row + j] -= err * U[uk + j];
    }
  }
}

// ---- The blocked form the quantizer runs: the same algorithm with its O(K^3) and O(O K^2) parts as
// float32 matrix products in onnxruntime-web (sgemm.ts), ~10x faster on ResNet-50's layers. ----

/** Columns per block: the JavaScript part is O(K^2 BLOCK), the rest goes to sgemm (64 measured faster than 32 or 128 at K = 1152). */
const BLOCK = 64;

/**
 * Lower Cholesky A = L L^T in place (A's lower triangle becomes L; the strict upper one is left as it
 * was), right-looking by blocks: the diagonal block and the panel under it in float64, the trailing
 * update A22 -= L21 L21^T as one sgemm per block.
 */
export async function choleskyLowerBlocked(A: Float64Array, K: number, gemm: Sgemm): Promise<void> {
  for (let j0 = 0; j0 < K; j0 += BLOCK) {
    const j1 = Math.min(K, j0 + BLOCK), b = j1 - j0, n2 = K - j1;
    for (let j = j0; j < j1; j++) {
      const rj = j * K;
      let d = A[rj + j];
      for (let k = j0; k < j; k++) d -= A[rj + k] * A[rj + k];
      if (!(d > 0)) throw new Error(`GPTQ: Hessian not positive definite at ${j}`);
      const ljj = Math.sqrt(d);
      A[rj + j] = ljj;
      for (let i = j + 1; i < K; i++) { // the rest of column j: in the block, then the panel under it
        const ri = i * K;
        let s = A[ri + j];
        for (let k = j0; k < j; k++) s -= A[ri + k] * A[rj + k];
        A[ri + j] = s / ljj;
      }
    }
    if (n2 === 0) break;
    const L21 = new Float32Array(n2 * b);
    for (let i = 0; i < n2; i++) for (let j = 0; j < b; j++) L21[i * b + j] = A[(j1 + i) * K + j0 + j];
    const P = await gemm.multiply(L21, L21, { M: n2, N: n2, K: b, transB: true });
    for (let i = 0; i < n2; i++) {
      const row = (j1 + i) * K + j1;
      for (let j = 0; j <= i; j++) A[row + j] -= P[i * n2 + j];
    }
  }
}

/**
 * X = L^-1 of a lower triangular L (the lower triangle of `L`), by block rows top down: block row i
 * is L_ii^-1 (e_i - L[i, :i0] X[:i0, :]), the product L[i, :i0] X[:i0, :i0] one sgemm, the
 * substitution with L_ii in float64.
 */
export async function invertLowerBlocked(L: Float64Array, K: number, gemm: Sgemm): Promise<Float64Array> {
  const X = new Float64Array(K * K);
  for (let i0 = 0; i0 < K; i0 += BLOCK) {
    const i1 = Math.min(K, i0 + BLOCK), b = i1 - i0;
    let T: Float32Array | undefined; // L[i0:i1, 0:i0] X[0:i0, 0:i0], b x i0
    if (i0 > 0) {
      const Lp = new Float32Array(b * i0), Xt = new Float32Array(i0 * i0);
      for (let i = 0; i < b; i++) for (let k = 0; k < i0; k++) Lp[i * i0 + k] = L[(i0 + i) * K + k];
      for (let k = 0; k < i0; k++) for (let c = 0; c <= k; c++) Xt[k * i0 + c] = X[k * K + c];
      T = await gemm.multiply(Lp, Xt, { M: b, N: i0, K: i0 });
    }
    for (let i = i0; i < i1; i++) {
      const ri = i * K, inv = 1 / L[ri + i];
      for (let c = 0; c <= i; c++) {
        let s = c < i0 ? -T![(i - i0) * i0 + c] : c === i ? 1 : 0;
        for (let k = Math.max(i0, c); k < i; k++) s -= L[ri + k] * X[k * K + c];
        X[ri + c] = s * inv;
      }
    }
  }
  return X;
}

/**
 * U (upper, H^-1 = U^T U) as inverseCholeskyUpper computes it, by blocks: with J the order reversal,
 * J H J = L L^T (lower Cholesky), so H = R R^T with R = J L J upper, and U = R^-1 = J L^-1 J.
 */
export async function inverseCholeskyUpperBlocked(H: Float64Array, K: number, gemm: Sgemm): Promise<Float64Array> {
  const A = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) A[i * K + j] = H[(K - 1 - i) * K + (K - 1 - j)];
  await choleskyLowerBlocked(A, K, gemm);
  const X = await invertLowerBlocked(A, K, gemm);
  const U = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = i; j < K; j++) U[i * K + j] = X[(K - 1 - i) * K + (K - 1 - j)];
  return U;
}

/**
 * gptqRound by blocks of columns ("lazy batch" updates, Frantar et al.): within a block, column by
 * column as gptqRound; the block's scaled errors then reach all later columns at once,
 * W[:, k1:] -= E U[k0:k1, k1:], as one sgemm. Same result but for float32 rounding in those products.
 */
export async function gptqRoundBlocked(
  w: Float32Array, O: number, scales: Float32Array, h: LayerHessian, gemm: Sgemm, damp = 0.01,
): Promise<Int8Array> {
  const K = h.K;
  const U = await inverseCholeskyUpperBlocked(dampedHessian(h, damp), K, gemm);
  const W = Float64Array.from(w);
  const q = new Int8Array(O * K);
  for (let k0 = 0; k0 < K; k0 += BLOCK) {
    const k1 = Math.min(K, k0 + BLOCK), b = k1 - k0, rest = K - k1;
    const E = new Float32Array(O * b);
    roundColumns(W, q, U, scales, O, K, k0, k1, E);
    if (rest === 0) break;
    const Ub = new Float32Array(b * rest);
    for (let k = 0; k < b; k++) for (let j = 0; j < rest; j++) Ub[k * rest + j] = U[(k0 + k) * K + k1 + j];
    const D = await gemm.multiply(E, Ub, { M: O, N: rest, K: b });
    for (let o = 0; o < O; o++) {
      const row = o * K + k1;
      for (let j = 0; j < rest; j++) W[row + j] -= D[o * rest + j];
    }
  }
  return q;
}

/** A conv's GPTQ levels: int8 OIHW, rounded for these per-channel scales (weightScales without an input scale). */
export interface GptqWeights { weights: Int8Array; scales: Float32Array }

/**
 * GPTQ levels of every conv with a Hessian, each rounded once (quantizeConvWeights takes them for every
 * variant quantized from one calibration: bias correction on or off, fused or not, 8 or 12 bits).
 */
export async function gptqRoundConvs(
  g: FloatGraph, hessians: ReadonlyMap<string, LayerHessian>, options: { threads?: number } = {},
): Promise<Map<string, GptqWeights>> {
  const gemm = new Sgemm(options.threads);
  const out = new Map<string, GptqWeights>();
  try {
    for (const op of g.ops) {
      const h = op.op === 'conv' ? hessians.get(op.name) : undefined;
      if (!h || op.op !== 'conv') continue;
      const scales = weightScales(op);
      out.set(op.name, { weights: await gptqRoundBlocked(op.weights, op.outChannels, scales, h, gemm), scales });
    }
  } finally {
    await gemm.release();
  }
  return out;
}
