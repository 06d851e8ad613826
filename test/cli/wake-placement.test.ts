// The wake-placement probe behind the benches' "wake placement" line (tools/bench/wake-placement.ts):
// on Linux it wakes a real worker thread and reports where it ran; elsewhere it returns undefined.
import { describe, expect, it } from 'vitest';
import { describeWakePlacement, probeWakePlacement, type WakePlacement } from '../../tools/bench/wake-placement.js';

describe('probeWakePlacement', () => {
  it.runIf(process.platform === 'linux')('wakes a worker per trial: counts within the trials, both threads done no sooner than the work', async () => {
    const r = await probeWakePlacement({ idleMs: [0, 1], trials: 6, workUs: 300 });
    expect(r).toHaveLength(2);
    for (const [i, p] of r!.entries()) {
      expect(p.idleMs).toBe([0, 1][i]);
      expect(p.trials).toBe(6);
      expect(Number.isInteger(p.stacked) && p.stacked >= 0 && p.stacked <= 6).toBe(true);
      expect(p.wakeUs.median).toBeGreaterThanOrEqual(0);
      expect(p.wakeUs.p90).toBeGreaterThanOrEqual(p.wakeUs.median);
      // The main thread works 300 µs after the notify and then waits for the worker's 300 µs.
      expect(p.bothDoneUs.median).toBeGreaterThanOrEqual(300);
      expect(p.bothDoneUs.median).toBeGreaterThanOrEqual(p.wakeUs.median + 300 - 1);
    }
  });

  it.runIf(process.platform !== 'linux')('returns undefined off Linux', async () => {
    expect(await probeWakePlacement({ trials: 1 })).toBeUndefined();
  });

  it('describes a stacked machine as measuring its scheduler, a spread one as not', () => {
    const p = (stacked: number): WakePlacement => ({ idleMs: 1, trials: 50, stacked, wakeUs: { median: 210, p90: 215 }, bothDoneUs: { median: 420, p90: 440 } });
    expect(describeWakePlacement(p(48))).toMatch(/48 of 50 wakes.*210 µs.*stacks a woken worker.*measure its scheduler/);
    expect(describeWakePlacement(p(2))).toMatch(/2 of 50 wakes.*mostly run beside their caller/);
  });
});
