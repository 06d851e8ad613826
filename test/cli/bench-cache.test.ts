// `edgeq bench` reuses cached quantized models only when everything they depend on agrees (the
// preprocessing, the calibration source and count, the quantizer); its table names the model and
// the preprocessing, shows no onnxruntime-web memory it cannot measure, and no internal goals.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IMAGENET } from '../../src/image/spec.js';
import { benchCacheKey, benchModel, formatBench, type ModelBenchOptions } from '../../tools/bench/model-bench.js';
import { benchCommand, type BenchCliOptions } from '../../tools/cli/bench.js';
import { syntheticInputs } from '../../tools/cli/inputs.js';
import { makeCliFixture, SIZE, TINY_SPEC, type CliFixture } from './fixtures.js';

let fx: CliFixture;
let cache: string;
const saved = process.env.EDGEQ_CACHE;
beforeAll(async () => {
  fx = await makeCliFixture();
  cache = mkdtempSync(join(tmpdir(), 'edgeq-bench-cache-'));
  process.env.EDGEQ_CACHE = cache;
});
afterAll(() => {
  if (saved === undefined) delete process.env.EDGEQ_CACHE; else process.env.EDGEQ_CACHE = saved;
  rmSync(cache, { recursive: true, force: true });
  rmSync(fx.dir, { recursive: true, force: true });
});

const SPEC_IMAGENET_16 = { ...IMAGENET, resize: 18, crop: SIZE };

function options(spec = TINY_SPEC, source = 'synthetic images, seed 0'): ModelBenchOptions {
  const onnx = new Uint8Array(readFileSync(fx.onnx));
  return {
    name: 'tiny', onnx, spec, specLine: `preprocessing test: crop ${spec.crop}, mean ${spec.mean.join(',')}`,
    calibration: () => syntheticInputs(0, 4, spec), calibrationCount: 4, calibrationSource: source,
    inputs: [...syntheticInputs(1_000_000, 2, spec)], runs: 2, threads: 1,
  };
}

describe('bench cache key', () => {
  it('changes with the preprocessing, the calibration source and the count; not otherwise', () => {
    const k = benchCacheKey(options());
    expect(benchCacheKey(options())).toBe(k);
    expect(benchCacheKey(options(SPEC_IMAGENET_16))).not.toBe(k);
    expect(benchCacheKey(options(TINY_SPEC, '/data/images (seed 1, chosen files abc)'))).not.toBe(k);
    expect(benchCacheKey({ ...options(), calibrationCount: 5 })).not.toBe(k);
  });

  it('a bench with another preprocessing quantizes again; the same one reuses the cache', async () => {
    const first = await benchModel(options());
    expect(first.calibration.cached).toBe(false);
    const other = await benchModel(options(SPEC_IMAGENET_16));
    expect(other.calibration.cached).toBe(false);
    const again = await benchModel(options());
    expect(again.calibration.cached).toBe(true);
    expect(again.cacheKey).toBe(first.cacheKey);

    const text = formatBench(again);
    expect(text.split('\n')[0]).toBe('tiny: preprocessing test: crop 16, mean 0,0,0');
    expect(text).not.toMatch(/goal/);
    const row = (engine: string) => text.split('\n').find((l) => l.startsWith(engine))!.trim().split(/\s{2,}/);
    const col = text.split('\n')[2].trim().split(/\s{2,}/).indexOf('wasm MB');
    expect(col).toBeGreaterThan(0);
    expect(row('onnxruntime-web fp32')[col]).toBe('-');
    expect(row('onnxruntime-web int8')[col]).toBe('-');
    expect(Number(row('edgeq int8 (')[col])).toBeGreaterThan(0);
    expect(text).toContain('not measured for onnxruntime-web');
  });
});

describe('edgeq bench command', () => {
  const cli = (o: Partial<BenchCliOptions>): BenchCliOptions => ({ runs: 2, inputs: 2, calibCount: 4, threads: [1], ...o });

  it('--images without --preprocess, or a missing --model, fails at once', async () => {
    await expect(benchCommand(cli({ model: fx.onnx, images: fx.images }))).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('--images needs --preprocess') });
    await expect(benchCommand(cli({ model: join(fx.dir, 'gone.onnx') }))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('gone.onnx') });
  });

  it(`a ${SIZE}x${SIZE} model on synthetic inputs: inputs at its size, the model and preprocessing printed first`, async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await benchCommand(cli({ model: fx.onnx }));
      const lines = log.mock.calls.map((c) => String(c[0]));
      expect(lines[0]).toBe(`model: ${fx.onnx}; preprocessing imagenet (default): short side 18, centre crop 16, antialias, /255, mean 0.485,0.456,0.406, std 0.229,0.224,0.225, rgb`);
      expect(lines.join('\n')).toContain(`${fx.onnx}: preprocessing imagenet (default)`);
    } finally {
      log.mockRestore();
    }
  });
});
