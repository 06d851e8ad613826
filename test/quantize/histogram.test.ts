// Calibration statistics and range selection on distributions with known answers.
import { describe, expect, it } from 'vitest';
import { ActivationHistogram, chooseRange, quantParams, quantizationError, mseRange } from '../../tools/quantize/histogram.js';
import { Rng } from '../../tools/synth/random.js';

const uniform = (n: number, lo: number, hi: number, seed = 1) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.uniform(lo, hi)); };
const gaussian = (n: number, seed = 2) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.normal()); };

describe('ActivationHistogram', () => {
  it('keeps exact min/max and counts while its range grows', () => {
    const h = new ActivationHistogram();
    h.add(uniform(1000, 0, 1));
    h.add(uniform(1000, -3, 10, 3)); // forces the range to grow by merging bins
    expect(h.count).toBe(2000);
    expect(h.min).toBeGreaterThanOrEqual(-3);
    expect(h.max).toBeLessThanOrEqual(10);
    const total = h.pos.reduce((a, b) => a + b, 0) + h.neg.reduce((a, b) => a + b, 0);
    expect(total).toBe(2000);
    expect(h.width * h.pos.length).toBeGreaterThanOrEqual(10);
  });

  it('quantile of a uniform distribution is linear', () => {
    const h = new ActivationHistogram();
    h.add(uniform(200_000, 0, 4));
    for (const q of [0.1, 0.5, 0.9, 0.99]) expect(h.quantile(q)).toBeCloseTo(4 * q, 1);
  });
});

describe('range selection', () => {
  it('minmax returns the exact extremes (and always contains 0)', () => {
    const h = new ActivationHistogram();
    h.add(Float32Array.from([0.5, 2, 3.25]));
    expect(chooseRange(h, { method: 'minmax' })).toEqual({ lo: 0, hi: 3.25 });
    const s = new ActivationHistogram();
    s.add(Float32Array.from([-1.5, 2]));
    expect(chooseRange(s, { method: 'minmax' })).toEqual({ lo: -1.5, hi: 2 });
  });

  it('percentile clips a rare outlier', () => {
    const h = new ActivationHistogram();
    const x = uniform(100_000, 0, 1);
    x[0] = 50; // one huge outlier
    h.add(x);
    const r = chooseRange(h, { method: 'percentile', percentile: 99.9 });
    expect(r.hi).toBeGreaterThan(0.99);
    expect(r.hi).toBeLessThan(1.01);
  });

  it('mse finds the known optimum of a Gaussian (about 3.9 sigma for 8 bits, as ACIQ derives)', () => {
    // Banner et al. (ACIQ) give ~3.92 sigma as the MSE-optimal clip of a Gaussian at 8 bits; the
    // search must land there and agree with a brute-force scan of the same error model.
    const h = new ActivationHistogram();
    h.add(gaussian(400_000));
    const r = mseRange(h, 256);
    let best = Infinity, bestT = 0;
    for (let t = 0.5; t <= 1.0001; t += 0.0005) {
      const e = quantizationError(h, h.min * t, h.max * t, 256);
      if (e < best) { best = e; bestT = t; }
    }
    // The search is at least as good as the best proportional range (it also refines each side).
    expect(quantizationError(h, r.lo, r.hi, 256)).toBeLessThanOrEqual(best + 1e-12);
    expect(Math.abs(r.hi / h.max - bestT)).toBeLessThan(0.05);
    expect(quantizationError(h, r.lo, r.hi, 256)).toBeLessThan(quantizationError(h, h.min, h.max, 256));
    expect(r.hi).toBeGreaterThan(3.5);
    expect(r.hi).toBeLessThan(4.4);
    expect(-r.lo).toBeGreaterThan(3.5);
    expect(-r.lo).toBeLessThan(4.4);
    expect(r.hi).toBeLessThan(h.max);
  });

  it('mse on a uniform distribution keeps (almost) the whole range', () => {
    const h = new ActivationHistogram();
    h.add(uniform(200_000, 0, 1));
    expect(mseRange(h, 256).hi).toBeGreaterThan(0.97);
  });

  it('entropy clips a long tail and keeps a compact distribution', () => {
    const compact = new ActivationHistogram();
    compact.add(uniform(200_000, 0, 1));
    expect(chooseRange(compact, { method: 'entropy' }).hi).toBeGreaterThan(0.9);
    const tailed = new ActivationHistogram();
    const r = new Rng(9);
    tailed.add(Float32Array.from({ length: 200_000 }, () => -Math.log(1 - r.next()))); // exponential, max ~ 12
    const e = chooseRange(tailed, { method: 'entropy' });
    expect(e.hi).toBeLessThan(tailed.max * 0.9);
    expect(e.hi).toBeGreaterThan(3);
  });

  it('quantParams makes zero exactly representable', () => {
    for (const [lo, hi] of [[0, 6], [-1, 3], [-2.5, 0.7], [0.5, 2]]) {
      const { scale, zeroPoint } = quantParams({ lo, hi });
      expect(Number.isInteger(zeroPoint)).toBe(true);
      expect(zeroPoint).toBeGreaterThanOrEqual(0);
      expect(zeroPoint).toBeLessThanOrEqual(255);
      expect(scale * (0 - zeroPoint) + scale * zeroPoint).toBe(0);
      expect(scale).toBeCloseTo((Math.max(hi, 0) - Math.min(lo, 0)) / 255, 6);
    }
    expect(quantParams({ lo: 0, hi: 6 }).zeroPoint).toBe(0); // ReLU outputs: zero point 0, so the clamp is the ReLU
  });
});
