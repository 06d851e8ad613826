import { describe, expect, it } from 'vitest';
import { Rng, mixSeed, mulberry32, seededShuffle, splitCalibration } from '../../tools/synth/random.js';

describe('seeded RNG', () => {
  it('is deterministic and seed-dependent', () => {
    const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
    const xa = Array.from({ length: 5 }, a), xb = Array.from({ length: 5 }, b), xc = Array.from({ length: 5 }, c);
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    for (const v of xa) expect(v >= 0 && v < 1).toBe(true);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
  });

  it('draws standard normals (Box-Muller) with the right moments', () => {
    const rng = new Rng(7);
    const n = 200_000;
    let s = 0, s2 = 0, s4 = 0;
    for (let i = 0; i < n; i++) { const v = rng.normal(); s += v; s2 += v * v; s4 += v ** 4; }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.1);
  });

  it('shuffles and splits reproducibly', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(seededShuffle(items, 3)).toEqual(seededShuffle(items, 3));
    expect([...seededShuffle(items, 3)].sort((x, y) => x - y)).toEqual(items);
    const { calib, eval: rest } = splitCalibration(items, 10, 5);
    expect(calib.length).toBe(10);
    expect(rest.length).toBe(40);
    expect([...calib, ...rest].sort((x, y) => x - y)).toEqual(items);
    expect(splitCalibration(items, 10, 5)).toEqual({ calib, eval: rest });
    expect(() => splitCalibration(items, 51, 0)).toThrow(/calibration count/);
  });
});
