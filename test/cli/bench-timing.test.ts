// interleavedLatency (tools/bench/timing.ts): engines take turns, each turn after ENGINE_SETTLE_MS
// of idle and one untimed run, so no engine is timed while another's threads still spin.
import { describe, expect, it } from 'vitest';
import { ENGINE_SETTLE_MS, interleavedLatency } from '../../tools/bench/timing.js';

describe('interleavedLatency', () => {
  it('each engine turn starts after the settle time and an untimed run; runs are split over the rounds', async () => {
    const log: { name: string; at: number }[] = [];
    const engine = (name: string) => ({ name, run: () => { log.push({ name, at: performance.now() }); } });
    const runs = 6, rounds = 3, warmup = 2;
    const res = await interleavedLatency([engine('a'), engine('b')], { runs, rounds, warmup });
    expect(res.get('a')!.runs).toBe(runs);
    expect(res.get('b')!.runs).toBe(runs);
    // turns: a, b, a, b, ... with no interleaving inside a turn
    const turns: { name: string; calls: { at: number }[] }[] = [];
    for (const c of log) {
      if (turns.length === 0 || turns.at(-1)!.name !== c.name) turns.push({ name: c.name, calls: [] });
      turns.at(-1)!.calls.push(c);
    }
    expect(turns.map((t) => t.name).join('')).toMatch(/^(ab)+$/);
    // every call: timed runs + per round one untimed run per turn (+ round 0's warm-up, which is its own phase)
    const calls = (n: string) => log.filter((c) => c.name === n).length;
    expect(calls('a')).toBeGreaterThanOrEqual(runs + rounds + warmup);
    // between the end of one engine's turn and the first call of the next: at least the settle time
    for (let i = 1; i < turns.length; i++) {
      const gap = turns[i].calls[0].at - turns[i - 1].calls.at(-1)!.at;
      expect(gap, `turn ${i}`).toBeGreaterThanOrEqual(ENGINE_SETTLE_MS - 2);
    }
  });
});
