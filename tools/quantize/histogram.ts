// Activation statistics collected during calibration, in one pass over the images: exact min/max and
// two magnitude histograms (positive values and negative values) whose range grows by merging bin
// pairs, so no first pass is needed to find the range.

export const HISTOGRAM_BINS = 2048;

export class ActivationHistogram {
  min = Infinity;
  max = -Infinity;
  count = 0;
  /** Bin width of both histograms; covers [0, width * bins). */
  width = 0;
  readonly pos: Float64Array;
  readonly neg: Float64Array;
  /** Per-channel sums of NCHW (or [N, C]) values and how many values each channel has seen (bias correction uses the means). */
  channelSums: Float64Array | undefined;
  channelCount = 0;

  /** `bins` per sign: the default for a tensor; fewer for the per-channel histograms smoothing keeps. */
  constructor(readonly bins = HISTOGRAM_BINS) {
    this.pos = new Float64Array(bins);
    this.neg = new Float64Array(bins);
  }

  /**
   * The histogram of the values of several histograms, each multiplied by a positive factor (a
   * tensor whose channel c is divided by s_c: one part per channel, factor 1 / s_c). Counts are
   * re-binned at their bins' centres; min, max and count are exact (channel sums are not kept).
   */
  static scaledMerge(parts: readonly { h: ActivationHistogram; factor: number }[], bins = HISTOGRAM_BINS): ActivationHistogram {
    const out = new ActivationHistogram(bins);
    let mag = 0;
    for (const { h, factor } of parts) {
      if (h.count === 0) continue;
      out.min = Math.min(out.min, h.min * factor);
      out.max = Math.max(out.max, h.max * factor);
      mag = Math.max(mag, Math.abs(h.min) * factor, Math.abs(h.max) * factor);
    }
    out.width = mag > 0 ? (mag * 1.0001) / bins : 1e-8;
    const inv = 1 / out.width;
    for (const { h, factor } of parts) {
      for (let i = 0; i < h.bins; i++) {
        const j = Math.min(bins - 1, ((i + 0.5) * h.width * factor * inv) | 0);
        out.pos[j] += h.pos[i];
        out.neg[j] += h.neg[i];
      }
      out.count += h.count;
    }
    return out;
  }

  /** Variance of the values (from the bins' centres). */
  variance(): number {
    let sum = 0, squares = 0;
    for (let i = 0; i < this.bins; i++) {
      const v = (i + 0.5) * this.width;
      sum += (this.pos[i] - this.neg[i]) * v;
      squares += (this.pos[i] + this.neg[i]) * v * v;
    }
    const n = Math.max(1, this.count), mean = sum / n;
    return Math.max(0, squares / n - mean * mean);
  }

  /** Accumulates per-channel sums of an NCHW (or [N, C]) tensor. */
  addChannels(values: ArrayLike<number>, dims: readonly number[]): void {
    const [n, c] = dims;
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    const sums = (this.channelSums ??= new Float64Array(c));
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        const base = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) acc += values[base + i];
        sums[ch] += acc;
      }
    }
    this.channelCount += n * inner;
  }

  /** Per-channel means, once addChannels has seen data. */
  get channelMeans(): Float64Array | undefined {
    return this.channelSums?.map((v) => v / Math.max(1, this.channelCount));
  }

  add(values: ArrayLike<number>): void {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo <= hi)) return; // empty or NaN-only
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    const mag = Math.max(Math.abs(lo), Math.abs(hi));
    if (this.width === 0) this.width = mag > 0 ? (mag * 1.0001) / this.bins : 1e-8;
    while (mag >= this.width * this.bins) this.grow();
    const inv = 1 / this.width;
    const { pos, neg } = this;
    const last = this.bins - 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v >= 0) pos[Math.min(last, (v * inv) | 0)]++;
      else neg[Math.min(last, (-v * inv) | 0)]++;
    }
    this.count += values.length;
  }

  /** Doubles the covered range: bins 2i and 2i+1 merge into bin i. */
  private grow(): void {
    for (const h of [this.pos, this.neg]) {
      for (let i = 0; i < this.bins / 2; i++) h[i] = h[2 * i] + h[2 * i + 1];
      h.fill(0, this.bins / 2);
    }
    this.width *= 2;
  }

  /**
   * The value below which a fraction q of all samples lie (q in [0, 1]), interpolated within a bin.
   * Negative values come first (largest magnitude first), then positive values.
   */
  quantile(q: number): number {
    const target = q * this.count;
    let acc = 0;
    for (let i = this.bins - 1; i >= 0; i--) {
      const c = this.neg[i];
      if (acc + c >= target && c > 0) return -(i + 1 - (target - acc) / c) * this.width;
      acc += c;
    }
    for (let i = 0; i < this.bins; i++) {
      const c = this.pos[i];
      if (acc + c >= target && c > 0) return (i + (target - acc) / c) * this.width;
      acc += c;
    }
    return this.max;
  }
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse', 'entropy'];

export interface RangeOptions {
  method: CalibrationMethod;
  /** For 'percentile': the share of values kept inside the range, in percent. Default 99.99. */
  percentile?: number;
  /** Number of quantization levels (256 for uint8). */
  levels?: number;
}

/** A real range [lo, hi] that contains 0 (so zero is exactly representable, as padding needs). */
export interface Range { lo: number; hi: number }

export function chooseRange(h: ActivationHistogram, options: RangeOptions): Range {
  if (h.count === 0) return { lo: 0, hi: 0 };
  const levels = options.levels ?? 256;
  let lo: number, hi: number;
  switch (options.method) {
    case 'minmax':
      lo = h.min; hi = h.max;
      break;
    case 'percentile': {
      const p = (options.percentile ?? 99.99) / 100;
      lo = h.min < 0 ? Math.max(h.min, h.quantile(1 - p)) : h.min;
      hi = h.max > 0 ? Math.min(h.max, h.quantile(p)) : h.max;
      break;
    }
    case 'mse':
      ({ lo, hi } = mseRange(h, levels));
      break;
    case 'entropy':
      ({ lo, hi } = entropyRange(h, levels));
      break;
  }
  return { lo: Math.min(lo, 0), hi: Math.max(hi, 0) };
}

/**
 * Expected squared quantization error of the histogram for the uniform grid over [lo, hi] with
 * `levels` levels: values inside lose step^2/12 on average, values outside are clipped.
 */
export function quantizationError(h: ActivationHistogram, lo: number, hi: number, levels: number): number {
  const step = (hi - lo) / (levels - 1);
  const inner = (step * step) / 12;
  let err = 0;
  for (let i = 0; i < h.bins; i++) {
    const cp = h.pos[i], cn = h.neg[i];
    const v = (i + 0.5) * h.width;
    if (cp > 0) err += cp * (v > hi ? (v - hi) * (v - hi) : inner);
    if (cn > 0) err += cn * (-v < lo ? (lo + v) * (lo + v) : inner);
  }
  return err / Math.max(1, h.count);
}

/** The range [t*min, t*max] with the t that minimizes the expected squared error (grid search). */
export function mseRange(h: ActivationHistogram, levels: number): Range {
  const lo0 = Math.min(h.min, 0), hi0 = Math.max(h.max, 0);
  let best = { lo: lo0, hi: hi0 }, bestErr = Infinity;
  for (let k = 1000; k >= 20; k--) {
    const t = k / 1000;
    const lo = lo0 * t, hi = hi0 * t;
    if (hi - lo <= 0) break;
    const err = quantizationError(h, lo, hi, levels);
    if (err < bestErr) { bestErr = err; best = { lo, hi }; }
  }
  // A lopsided tensor (LeakyRelu outputs, a residual branch) may want each side clipped on its own:
  // refine lo and hi alternately around the proportional optimum.
  if (lo0 < 0 && hi0 > 0) {
    for (let pass = 0; pass < 2; pass++) {
      for (const side of ['lo', 'hi'] as const) {
        const base = side === 'lo' ? lo0 : hi0;
        for (let k = 200; k >= 4; k--) {
          const v = (base * k) / 200;
          const cand = side === 'lo' ? { lo: v, hi: best.hi } : { lo: best.lo, hi: v };
          const err = quantizationError(h, cand.lo, cand.hi, levels);
          if (err < bestErr) { bestErr = err; best = cand; }
        }
      }
    }
  }
  return best;
}

/**
 * TensorRT-style entropy calibration: the clipping threshold whose quantized distribution has the
 * smallest KL divergence from the clipped reference distribution. Applied to the larger side of the
 * histogram; the other side is scaled by the same factor so the range keeps its shape.
 */
export function entropyRange(h: ActivationHistogram, levels: number): Range {
  const usePos = h.max >= -h.min;
  const hist = usePos ? h.pos : h.neg;
  const side = usePos ? h.max : -h.min;
  const sideLevels = h.min < 0 && h.max > 0 ? Math.max(2, Math.round((levels * side) / (h.max - h.min))) : levels;
  const lastBin = Math.min(h.bins, Math.ceil(side / h.width));
  let bestI = lastBin, bestKl = Infinity;
  const start = Math.min(lastBin, Math.max(sideLevels, 16));
  for (let i = start; i <= lastBin; i++) {
    const kl = klForThreshold(hist, i, sideLevels);
    if (kl < bestKl) { bestKl = kl; bestI = i; }
  }
  const threshold = Math.min(side, bestI * h.width);
  const t = side > 0 ? threshold / side : 1;
  return { lo: Math.min(h.min, 0) * t, hi: Math.max(h.max, 0) * t };
}

function klForThreshold(hist: Float64Array, bins: number, levels: number): number {
  // Reference P: the first `bins` bins, with the tail folded into the last one.
  const p = new Float64Array(bins);
  for (let j = 0; j < bins; j++) p[j] = hist[j];
  for (let j = bins; j < hist.length; j++) p[bins - 1] += hist[j];
  // Candidate Q: P merged into `levels` groups, each group's mass spread over its non-empty bins.
  const q = new Float64Array(bins);
  for (let l = 0; l < levels; l++) {
    const a = Math.floor((l * bins) / levels), b = Math.floor(((l + 1) * bins) / levels);
    let mass = 0, nonEmpty = 0;
    for (let j = a; j < b; j++) { mass += hist[j]; if (hist[j] > 0) nonEmpty++; }
    if (nonEmpty > 0) for (let j = a; j < b; j++) if (hist[j] > 0) q[j] = mass / nonEmpty;
  }
  let sp = 0, sq = 0;
  for (let j = 0; j < bins; j++) { sp += p[j]; sq += q[j]; }
  if (sp === 0 || sq === 0) return Infinity;
  let kl = 0;
  for (let j = 0; j < bins; j++) {
    if (p[j] === 0) continue;
    const pj = p[j] / sp;
    const qj = q[j] / sq;
    kl += qj > 0 ? pj * Math.log(pj / qj) : pj * 20; // a mass the grid cannot hold costs a fixed penalty
  }
  return kl;
}

/** uint8 asymmetric parameters for a range containing 0: real = scale * (q - zeroPoint). */
export function quantParams(range: Range, levels = 256): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.lo, 0), hi = Math.max(range.hi, 0);
  if (hi - lo < 1e-12) return { scale: 1e-8, zeroPoint: 0 };
  // Scales are stored and used as float32 everywhere (kernels, QDQ export).
  const scale = Math.fround((hi - lo) / (levels - 1));
  const zeroPoint = Math.min(levels - 1, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}
