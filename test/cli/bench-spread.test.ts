// `edgeq bench --repeat n`: each round's ratios come from its engines' medians, and the spread lines
// give min / median / max per thread count (checked on hand-made rounds).
import { describe, expect, it } from 'vitest';
import { roundRatios, scalingLines, spreadLines } from '../../tools/cli/bench.js';
import type { ModelBenchResult } from '../../tools/bench/model-bench.js';

function round(threads: number, ms: Record<string, number>): ModelBenchResult {
  const engines = Object.entries(ms).map(([role, median]) => ({ engine: role, role, latency: { median, min: median * 0.9 } }));
  return { threads, macs: 4.09e9, engines } as unknown as ModelBenchResult;
}

describe('bench --repeat', () => {
  it('round ratios are ratios of medians', () => {
    const q = roundRatios(round(2, { 'ort-fp32': 400, 'ort-int8': 200, edgeq: 100, 'edgeq-1t': 170, 'edgeq-fused': 90 }));
    expect(q).toMatchObject({ threads: 2, int8: 0.5, fp32: 0.25, defaultInt8: 0.45, speedup: 1.7 });
    expect(q.gmacs).toBeCloseTo(40.9, 1);
    expect(roundRatios(round(1, { 'ort-fp32': 400, 'ort-int8': 200, edgeq: 100 })).speedup).toBeUndefined();
  });

  it('spread: min / median / max per thread count, over the rounds', () => {
    const rounds = [120, 100, 140].map((e1) => [
      round(1, { 'ort-fp32': 500, 'ort-int8': 250, edgeq: e1 }),
      round(2, { 'ort-fp32': 250, 'ort-int8': 125, edgeq: e1 / 2, 'edgeq-1t': e1 * (e1 === 100 ? 0.8 : 0.9) }),
    ]);
    const lines = spreadLines(rounds);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(' 1 thread(s), 3 rounds: edgeq / ort int8 0.400 / 0.480 / 0.560; edgeq / ort fp32 0.200 / 0.240 / 0.280;');
    expect(lines[0]).not.toContain('own speed-up');
    expect(lines[1]).toContain(' 2 thread(s), 3 rounds: edgeq / ort int8 0.400 / 0.480 / 0.560;');
    expect(lines[1]).toContain('own speed-up 1.60 / 1.80 / 1.80x');
  });

  it('scaling: each engine at every thread count with its speed-up over its own fewest-thread median', () => {
    // given out of order; edgeq-1t (the same-process reference) and engines missing at a count are left out
    const results = [
      round(4, { 'ort-int8': 50, edgeq: 40, 'edgeq-1t': 150 }),
      round(1, { 'ort-int8': 200, edgeq: 160, 'edgeq-fused': 150 }),
      round(2, { 'ort-int8': 110, edgeq: 80, 'edgeq-1t': 150 }),
    ];
    const lines = scalingLines(results);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^threads\s+1\s+2\s+4$/);
    expect(lines[1]).toMatch(/^ort-int8\s+1\.00x 200\.0ms\s+1\.82x 110\.0ms\s+4\.00x 50\.0ms$/);
    expect(lines[2]).toMatch(/^edgeq\s+1\.00x 160\.0ms\s+2\.00x 80\.0ms\s+4\.00x 40\.0ms$/);
  });
});
