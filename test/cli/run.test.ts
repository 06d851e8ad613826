// `edgeq run`: folders of images, --batch and --threads; typed one-line errors naming the file for a
// missing image, an ONNX file given as the model (saying how to quantize it), and stored class
// names that do not match the model's outputs.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import { runCommand, type RunCliOptions } from '../../tools/cli/run.js';
import { makeCliFixture, type CliFixture } from './fixtures.js';

let fx: CliFixture;
beforeAll(async () => { fx = await makeCliFixture(); });
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

const opts = (o: Partial<RunCliOptions> = {}): RunCliOptions => ({ top: 3, backend: 'auto', threads: 1, ...o });

/** The command's stdout lines (console.log), and what it threw. */
async function run(model: string, images: string[], o: Partial<RunCliOptions> = {}): Promise<{ lines: string[]; err?: EdgeqError }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const err = await runCommand(model, images, opts(o)).then(() => undefined, (e: unknown) => e as EdgeqError);
    return { lines: log.mock.calls.map((c) => String(c[0])), err };
  } finally {
    log.mockRestore();
  }
}

describe('edgeq run', () => {
  it('a folder means its JPEG/PNG images; --batch gives the same classes as one image per call', async () => {
    const one = await run(fx.edgeq, [fx.images]);
    expect(one.err).toBeUndefined();
    expect(one.lines[0]).toContain('preprocessing stored in the model: centre square resized to 16');
    expect(one.lines[0]).toContain('1 thread, batch 1');
    const heads = one.lines.filter((l) => l.endsWith('):'));
    expect(heads.map((l) => l.replace(/ \(.*$/, ''))).toEqual(fx.pngs);
    const batched = await run(fx.edgeq, [fx.images], { batch: 2, json: true });
    const json = JSON.parse(batched.lines.at(-1)!) as { image: string; top: { index: number; label: string; score: number }[] }[];
    expect(json.map((r) => r.image)).toEqual(fx.pngs);
    const perImage = one.lines.filter((l) => /^\s+[\d.]+%/.test(l));
    const fromBatch = json.flatMap((r) => r.top.map((c) => `  ${(c.score * 100).toFixed(1).padStart(5)}%  ${c.label} [${c.index}]`));
    expect(fromBatch).toEqual(perImage);
    expect(json[0].top[0].label).toMatch(/^class-name-\d$/);
  });

  it('a missing image is NOT_FOUND naming it (before the model loads)', async () => {
    const { err } = await run(fx.edgeq, [fx.pngs[0], join(fx.dir, 'missing.png')]);
    expect(err?.code).toBe('NOT_FOUND');
    expect(err?.message).toContain('missing.png');
  });

  it('an ONNX file as the model: BAD_MODEL naming it and saying how to make an .edgeq', async () => {
    const { err } = await run(fx.onnx, [fx.pngs[0]]);
    expect(err?.code).toBe('BAD_MODEL');
    expect(err?.message).toContain(fx.onnx);
    expect(err?.message).toContain(`edgeq quantize ${fx.onnx} -o ${fx.onnx.replace(/\.onnx$/, '')}.edgeq`);
  });

  it('a model whose stored class names do not match its outputs is refused at load', async () => {
    const m = readEdgeq(new Uint8Array(readFileSync(fx.edgeq)));
    const bad = join(fx.dir, 'one-label.edgeq');
    writeFileSync(bad, writeEdgeq({ ...m, labels: ['hello, I am not an image'] }));
    const { err, lines } = await run(bad, [fx.pngs[0]]);
    expect(err?.code).toBe('BAD_MODEL');
    expect(err?.message).toContain('one-label.edgeq: header: 1 label for 10 output values per image');
    expect(lines.join('\n')).not.toContain('hello');
  });

  it('--batch out of range is BAD_OPTION', async () => {
    expect((await run(fx.edgeq, [fx.images], { batch: 0 })).err?.code).toBe('BAD_OPTION');
  });
});
