// `edgeq bench --html`: the report is one self-contained file (no script, no external resource),
// shows every engine's samples per thread count, the ratios of medians, the scaling curve and the
// per-op breakdown; Chromium renders it (a screenshot of these made-up figures is kept under the
// cache's env/artifacts/; docs/bench-report.png is a real run's report).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderBenchReport } from '../../tools/bench/report-html.js';
import type { EngineFigures, ModelBenchResult } from '../../tools/bench/model-bench.js';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, HAS_CHROMIUM } from '../env/fixture.js';

warnSkip(HAS_CHROMIUM, CHROMIUM_SKIP);

/** A seeded spread of samples around a median. */
function samples(median: number, n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2 ** 31; return median * (0.9 + 0.25 * (s / 2 ** 31)); });
}

function engine(role: EngineFigures['role'], name: string, median: number, seed: number): EngineFigures {
  const sorted = samples(median, 20, seed).sort((a, b) => a - b);
  return {
    engine: name, role, createMs: 500, fileBytes: 26e6, memoryBytes: 40e6, top1Agreement: role === 'ort-fp32' ? 1 : 0.86, meanCosine: 0.994, maxAbsError: 4.8,
    latency: { runs: 20, median: sorted[10]!, p90: sorted[18]!, min: sorted[0]!, mean: median, samples: sorted },
  };
}

function result(threads: number, scale: number): ModelBenchResult {
  return {
    model: 'resnet50-synthetic', inputs: 50, runs: 20, calibration: { method: 'mse', images: 100, cached: true, seconds: 0 },
    engines: [engine('ort-fp32', 'onnxruntime-web fp32', 480 / scale, 1), engine('ort-int8', 'onnxruntime-web int8 (QDQ)', 260 / scale, 2),
      engine('edgeq', 'edgeq int8 (simd)', 140 / scale, 3), engine('edgeq-fused', 'edgeq int8 (simd, default model)', 150 / scale, 4)],
    edgeqVsOrtInt8Top1: 0.98, fusedVsUnfused: { top1Agreement: 0.84, meanCosine: 0.99, maxAbsDiff: 1.9, maxAbsLogit: 41 }, defaultInputBits: 12,
    threads, edgeqThreads: threads, macs: 4.09e9, machine: { node: 'v20.20.2', cpus: 2, platform: 'linux x64' },
  };
}

const input = {
  results: [result(1, 1), result(2, 1.7)],
  machine: { cpu: 'AMD EPYC (test data)', versions: { edgeq: '0.2.0', 'onnxruntime-web': '1.30.0' } },
  date: '2026-12-04T16:00:00Z',
  profile: { threads: 1, ops: [{ kind: 'conv 3x3/1 64->64 @56', ms: 21.5 }, { kind: 'conv 1x1/1 256->64 @56', ms: 12.25 }, { kind: 'add', ms: 1.5 }] },
};

describe('bench HTML report', () => {
  it('is self-contained and shows samples, ratios of medians, scaling and the per-op time', () => {
    const html = renderBenchReport(input);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(|\bsrc=|@import/i);
    expect(html.match(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/g)).toBeNull();
    // Every sample of every engine is a dot: 2 thread counts x 4 engines x 20 samples.
    expect(html.match(/<circle [^>]*r="2"/g)).toHaveLength(2 * 4 * 20);
    const r = input.results[0]!;
    const ratio = r.engines[2]!.latency.median / r.engines[1]!.latency.median;
    expect(html).toContain(`<td>${ratio.toFixed(3)}</td>`);
    expect(html).toContain('Scaling');
    // the speed-up table: each engine over its own 1-thread median (edgeq 140 -> 140 / 1.7 ms: 1.70x)
    const e1 = input.results[0]!.engines[2]!.latency.median, e2 = input.results[1]!.engines[2]!.latency.median;
    expect(html).toContain(`<td>${(e1 / e2).toFixed(2)}x (${e2.toFixed(1)} ms)</td>`);
    expect(html).toContain('aria-label="speed-up"');
    expect(html).toContain('conv 3x3/1 64-&gt;64 @56');
    expect(html).toContain('61.0%'); // 21.5 of 35.25 ms
    expect(html).toContain('AMD EPYC (test data)');
    expect(() => renderBenchReport({ ...input, results: [] })).toThrow(/at least one result/);
  });

  it.skipIf(!HAS_CHROMIUM)('renders in Chromium (screenshot)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeq-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderBenchReport(input));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 860, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => { if (!req.url().startsWith('file:')) requests.push(req.url()); });
      await page.goto(pathToFileURL(file).href);
      expect(await page.locator('svg').count()).toBe(5); // 2 latency plots, scaling (latency, speed-up), per-op
      expect(requests).toEqual([]);
      const shot = join(REPO_ROOT, '.cache', 'edgeq', 'env', 'artifacts', 'bench-report.png');
      mkdirSync(join(shot, '..'), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
