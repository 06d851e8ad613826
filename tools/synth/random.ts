// The one seeded random number generator of edgeq. Synthetic images, the embedded
// ResNet-50's weights, calibration subsets and benchmark inputs all draw from it, so a
// seed reproduces them bit for bit on every platform (integer math plus IEEE doubles).

import { EdgeqError } from 'edgeq';

/** mulberry32: a 32-bit state PRNG; returns uniform doubles in [0, 1) with 32 random bits. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed (so sub-streams, e.g. per image or per layer, stay independent). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    // Hash both halves so seeds above 2^32 still differ.
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    for (const v of [lo, hi]) {
      h = Math.imul(h ^ v, 0x01000193);
      h ^= h >>> 13;
      h = Math.imul(h, 0x5bd1e995);
      h ^= h >>> 15;
    }
  }
  return h >>> 0;
}

/** A seeded random stream with the distributions edgeq needs. */
export class Rng {
  private readonly next01: () => number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.next01 = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.next01();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next01();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next01() * n);
  }

  /** Standard normal by Box-Muller (pairs are generated together; the second is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    // 1 - u lies in (0, 1], so the log is finite.
    const u1 = 1 - this.next01();
    const u2 = this.next01();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills `out` with normal values of the given standard deviation (float32 rounding happens on store). */
  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fisher-Yates shuffle of a copy of `items`. */
  shuffled<T>(items: readonly T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

/** A seeded shuffle of `items` (a copy). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffled(items);
}

/**
 * Splits `all` into a calibration subset of `count` items, chosen by a seeded shuffle, and the rest
 * for evaluation. Both keep the original order of `all`, so the split depends only on (all, count, seed).
 */
export function splitCalibration<T>(all: readonly T[], count: number, seed: number): { calib: T[]; eval: T[] } {
  if (!Number.isInteger(count) || count < 0 || count > all.length) {
    throw new EdgeqError('BAD_OPTION', `calibration count ${count} must be an integer in [0, ${all.length}]`);
  }
  const order = seededShuffle(all.map((_, i) => i), seed);
  const chosen = new Set(order.slice(0, count));
  const calib: T[] = [];
  const evalSet: T[] = [];
  all.forEach((item, i) => (chosen.has(i) ? calib : evalSet).push(item));
  return { calib, eval: evalSet };
}
