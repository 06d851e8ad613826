// Hessian-aware rounding (gptq.ts): it lowers the layer's output error on its calibration inputs
// against nearest rounding, equals nearest rounding when the inputs are uncorrelated, stays in the
// int8 range, and a GPTQ-quantized model runs in edgeq with the QDQ export's answers.
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { prepareGraph } from '../../tools/quantize/prepare.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Session } from '../../src/runtime/session.js';
import { Rng } from '../../tools/synth/random.js';
import { collectHessians, gptqRound, gptqRoundBlocked, inverseCholeskyUpper, inverseCholeskyUpperBlocked } from '../../tools/quantize/gptq.js';
import { Sgemm } from '../../tools/quantize/sgemm.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { exportQdq } from '../../tools/quantize/export-qdq.js';
import { tinyCnn, tinyInputs } from './tiny-cnn.js';

/** A layer (O x K weights, per-row scales) and N inputs x = relu(A z): correlated, like activations. */
function layer(seed: number, K: number, O: number, N: number, correlated: boolean) {
  const rng = new Rng(seed);
  const A = Float64Array.from({ length: K * K }, () => rng.normal() / Math.sqrt(K));
  const X: Float64Array[] = [];
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: K }, () => rng.normal());
    X.push(Float64Array.from({ length: K }, (_, i) => {
      if (!correlated) return z[i];
      let s = 0;
      for (let j = 0; j < K; j++) s += A[i * K + j] * z[j];
      return Math.max(0, s);
    }));
  }
  const H = new Float64Array(K * K);
  for (const x of X) for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) H[a * K + b] += x[a] * x[b];
  const w = Float32Array.from({ length: O * K }, () => rng.normal() * 0.1);
  const scales = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[o * K + k]));
    scales[o] = Math.fround(m / 127);
  }
  const nearest = Int8Array.from(w, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[Math.floor(i / K)]))));
  const outputError = (q: Int8Array) => {
    let e = 0;
    for (const x of X) for (let o = 0; o < O; o++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (q[o * K + k] * scales[o] - w[o * K + k]) * x[k];
      e += s * s;
    }
    return e;
  };
  return { hessian: { K, H, samples: N }, w, scales, nearest, outputError };
}

describe('GPTQ rounding', () => {
  it('halves the output error of a layer with correlated inputs (on those inputs), within [-127, 127]', () => {
    const l = layer(1, 64, 12, 1500, true);
    const q = gptqRound(l.w, 12, l.scales, l.hessian);
    expect(Math.min(...q)).toBeGreaterThanOrEqual(-127);
    expect(Math.max(...q)).toBeLessThanOrEqual(127);
    // Measured 2.1x lower on such layers; every weight still within a few levels of its nearest.
    expect(l.outputError(q)).toBeLessThan(0.7 * l.outputError(l.nearest));
    expect(Math.max(...Array.from(q, (v, i) => Math.abs(v - l.nearest[i])))).toBeLessThanOrEqual(8);
  });
  it('rounds to the nearest level when the inputs are uncorrelated (diagonal Hessian)', () => {
    const l = layer(2, 32, 6, 10, false);
    const diag = { ...l.hessian, H: Float64Array.from(l.hessian.H, (v, i) => (i % 33 === 0 ? v : 0)) };
    expect(Array.from(gptqRound(l.w, 6, l.scales, diag))).toEqual(Array.from(l.nearest));
  });
  it('factors H^-1 = U^T U with U upper triangular, positive diagonal (the Cholesky factor of a plain inverse)', () => {
    const K = 50, rng = new Rng(3);
    const X = Float64Array.from({ length: 2 * K * K }, () => Math.max(0, rng.normal()));
    const H = new Float64Array(K * K);
    for (let n = 0; n < 2 * K; n++) for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) H[a * K + b] += X[n * K + a] * X[n * K + b];
    for (let a = 0; a < K; a++) H[a * K + a] += 0.1;
    const U = inverseCholeskyUpper(H, K);
    for (let a = 0; a < K; a++) {
      expect(U[a * K + a]).toBeGreaterThan(0);
      for (let b = 0; b < a; b++) expect(U[a * K + b]).toBe(0);
    }
    // U^T U H = I.
    let err = 0;
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        let uu = 0;
        for (let m = 0; m <= Math.min(a, k); m++) uu += U[m * K + a] * U[m * K + k];
        s += uu * H[k * K + b];
      }
      err = Math.max(err, Math.abs(s - (a === b ? 1 : 0)));
    }
    expect(err).toBeLessThan(1e-8);
    // Reference: H^-1 by Gauss-Jordan, its lower Cholesky factor L; the unique U is L^T.
    const A = Float64Array.from(H), Hi = Float64Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0));
    for (let c = 0; c < K; c++) {
      const p = A[c * K + c];
      for (let j = 0; j < K; j++) { A[c * K + j] /= p; Hi[c * K + j] /= p; }
      for (let r = 0; r < K; r++) if (r !== c) {
        const f = A[r * K + c];
        for (let j = 0; j < K; j++) { A[r * K + j] -= f * A[c * K + j]; Hi[r * K + j] -= f * Hi[c * K + j]; }
      }
    }
    const L = new Float64Array(K * K);
    for (let j = 0; j < K; j++) for (let i = j; i < K; i++) {
      let s = Hi[i * K + j];
      for (let k = 0; k < j; k++) s -= L[i * K + k] * L[j * K + k];
      L[i * K + j] = i === j ? Math.sqrt(s) : s / L[j * K + j];
    }
    const scale = Math.max(...Array.from(U, Math.abs));
    expect(Math.max(...Array.from(U, (u, i) => Math.abs(u - L[(i % K) * K + Math.floor(i / K)])))).toBeLessThan(1e-8 * scale);
  });
  it('Sgemm multiplies with every transpose combination as a float64 loop does (float32 tolerance)', async () => {
    const rng = new Rng(11);
    const gemm = new Sgemm();
    const M = 37, N = 29, K = 45; // odd sizes: no tile divides them
    const A = Float32Array.from({ length: M * K }, () => rng.normal()), B = Float32Array.from({ length: K * N }, () => rng.normal());
    const want = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) want[m * N + n] += A[m * K + k] * B[k * N + n];
    const At = Float32Array.from({ length: K * M }, (_, i) => A[(i % M) * K + Math.floor(i / M)]);
    const Bt = Float32Array.from({ length: N * K }, (_, i) => B[(i % K) * N + Math.floor(i / K)]);
    for (const [a, b, transA, transB] of [[A, B, false, false], [At, B, true, false], [A, Bt, false, true], [At, Bt, true, true]] as const) {
      const C = await gemm.multiply(a, b, { M, N, K, transA, transB });
      expect(C.length).toBe(M * N);
      expect(Math.max(...Array.from(C, (c, i) => Math.abs(c - want[i])))).toBeLessThan(1e-4);
    }
    await gemm.release();
  });
  it('the blocked factorization equals the float64 reference, and blocked rounding matches gptqRound (levels and output error)', async () => {
    const gemm = new Sgemm();
    for (const [K, O] of [[150, 9], [200, 24]]) { // over two blocks of 64, with a short last one
      const l = layer(K, K, O, 3 * K, true);
      const H = Float64Array.from(l.hessian.H, (v) => v / l.hessian.samples);
      for (let k = 0; k < K; k++) H[k * K + k] += 0.01;
      const ref = inverseCholeskyUpper(H, K), U = await inverseCholeskyUpperBlocked(H, K, gemm);
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(Math.max(...Array.from(U, (u, i) => Math.abs(u - ref[i])))).toBeLessThan(1e-4 * scale);
      const a = gptqRound(l.w, O, l.scales, l.hessian), b = await gptqRoundBlocked(l.w, O, l.scales, l.hessian, gemm);
      const same = a.filter((v, i) => v === b[i]).length;
      expect(same / a.length).toBeGreaterThan(0.99); // float32 products may tip a weight that sits at a rounding boundary
      expect(l.outputError(b)).toBeLessThan(1.01 * l.outputError(a));
      expect(l.outputError(b)).toBeLessThan(0.9 * l.outputError(l.nearest));
    }
    await gemm.release();
  });
  it('collects a symmetric K x K statistic per eligible conv; the quantized model runs in edgeq as in the QDQ export', async () => {
    const bytes = writeOnnx(tinyCnn({ seed: 5 }));
    const g = prepareGraph(readOnnx(bytes));
    const calib = tinyInputs(100, 32);
    const hs = await collectHessians(bytes, g, calib, { images: 4, pixelsPerImage: 16 });
    const grouped = g.ops.filter((op) => op.op === 'conv' && op.group > 1).map((op) => op.name);
    expect(hs.size).toBe(g.ops.filter((op) => op.op === 'conv').length - grouped.length);
    for (const [name, h] of hs) {
      const op = g.ops.find((o) => o.name === name)!;
      expect(op.op === 'conv' && h.K).toBe(op.op === 'conv' ? op.inChannels * op.kernel[0] * op.kernel[1] : -1);
      expect(h.samples).toBe(64);
      for (let a = 0; a < h.K; a += 7) for (let b = 0; b < h.K; b += 5) expect(h.H[a * h.K + b]).toBe(h.H[b * h.K + a]);
    }
    const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, gptq: true });
    expect(q.model.meta?.gptqLayers).toBe(hs.size);
    // The QDQ export with the residual fused, as edgeq runs it (the default .edgeq).
    const qdq = await ReferenceSession.create(exportQdq(q.graph, q, { fused: true })), fp32 = await ReferenceSession.create(bytes);
    const e = await Session.create(q.edgeq);
    for (const x of tinyInputs(7, 10)) {
      const d = (await qdq.run({ input: x })).outputs.logits.data, y = await e.run(x);
      const range = Math.max(...Array.from(d, Math.abs));
      expect(Math.max(...Array.from(y, (v, i) => Math.abs(v - d[i])))).toBeLessThan(1e-3 * range);
      // And close to fp32: the fully connected head ([N, C] tensors) once rounded all its weights to 0.
      const f = (await fp32.run({ input: x })).outputs.logits.data;
      expect(Math.max(...Array.from(d, (v, i) => Math.abs(v - f[i])))).toBeLessThan(0.05 * Math.max(...Array.from(f, Math.abs)));
    }
    await qdq.release(); await fp32.release(); e.release();
  });
});
