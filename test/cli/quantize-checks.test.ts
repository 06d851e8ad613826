// `edgeq quantize` checks every path and option before calibrating (a one-line EdgeqError naming
// the file or option), and makes synthetic calibration images at the model's input size.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { quantizeCommand, type QuantizeCliOptions } from '../../tools/cli/quantize.js';
import { CLASSES, makeCliFixture, SIZE, type CliFixture } from './fixtures.js';

let fx: CliFixture;
beforeAll(async () => { fx = await makeCliFixture(); });
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

const base = (o: Partial<QuantizeCliOptions>): QuantizeCliOptions => ({
  output: join(fx.dir, 'out.edgeq'), calibCount: 100, seed: 0, percentile: 99.99, biasCorrection: true, fuseResidual: true, reportCount: 4, threads: 1, ...o,
});

/** Runs quantize with a huge synthetic calibration: a check made before calibrating answers in well under a second. */
async function failsFast(o: Partial<QuantizeCliOptions>, model = fx.onnx): Promise<EdgeqError> {
  const t0 = performance.now();
  const err = await quantizeCommand(model, base({ calibSynthetic: 1_000_000, ...o })).then(() => undefined, (e: unknown) => e);
  expect(performance.now() - t0).toBeLessThan(5000);
  expect(err).toBeInstanceOf(EdgeqError);
  return err as EdgeqError;
}

describe('edgeq quantize: checks before calibration', () => {
  it('a missing model is NOT_FOUND, naming it', async () => {
    const e = await failsFast({}, join(fx.dir, 'nope.onnx'));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('nope.onnx');
  });

  it('--calib naming a file, not a folder', async () => {
    const file = join(fx.dir, 'labels.tsv');
    writeFileSync(file, 'a.jpg\t0\n');
    const e = await failsFast({ calibSynthetic: undefined, calib: file, preprocess: 'unit' });
    expect(e.code).toBe('BAD_OPTION');
    expect(e.message).toContain(`${file} is a file, not a folder`);
  });

  it('-o, --qdq and --report in a folder that does not exist fail before calibrating', async () => {
    for (const o of [{ output: '/nonexistent/dir/x.edgeq' }, { qdq: '/nonexistent/dir/x.onnx' }, { report: '/nonexistent/dir/r.json' }]) {
      const e = await failsFast(o);
      expect(e.code).toBe('NOT_FOUND');
      expect(e.message).toContain('/nonexistent/dir');
    }
    expect((await failsFast({ output: fx.dir })).message).toContain('is a folder, not a file');
  });

  it('--calib without --preprocess is refused (no silent ImageNet preprocessing)', async () => {
    const e = await failsFast({ calibSynthetic: undefined, calib: fx.images });
    expect(e.code).toBe('BAD_OPTION');
    expect(e.message).toMatch(/--calib needs --preprocess/);
  });

  it('a --labels file whose line count is not the model\'s output size', async () => {
    const labels = join(fx.dir, 'one-label.txt');
    writeFileSync(labels, 'hello, I am not an image\n');
    const e = await failsFast({ labels });
    expect(e.code).toBe('BAD_OPTION');
    expect(e.message).toContain(`has 1 class name but the model outputs ${CLASSES} scores`);
    expect((await failsFast({ labels: join(fx.dir, 'missing.txt') })).code).toBe('NOT_FOUND');
  });

  it('a --crop that disagrees with the model input is BAD_SHAPE', async () => {
    const e = await failsFast({ crop: 224 });
    expect(e.code).toBe('BAD_SHAPE');
    expect(e.message).toContain(`${SIZE}x${SIZE}`);
  });
});

describe('edgeq quantize: synthetic calibration follows the model input', () => {
  it(`quantizes a ${SIZE}x${SIZE} model on synthetic images (the preprocessing printed first)`, async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const output = join(fx.dir, 'synthetic.edgeq');
    try {
      await quantizeCommand(fx.onnx, base({ output, calibSynthetic: 4, report: true }));
      const lines = log.mock.calls.map((c) => String(c[0]));
      expect(lines[0]).toMatch(/^preprocessing imagenet \(default\): short side 18, centre crop 16/);
    } finally {
      log.mockRestore();
    }
    expect(existsSync(output)).toBe(true);
    const m = readEdgeq(new Uint8Array(readFileSync(output)));
    expect(m.input.nchw).toEqual([1, 3, SIZE, SIZE]);
    expect(m.preprocess?.crop).toBe(SIZE);
  });
});
