// `edgeq import model.tflite`: dispatched on the TFL3 identifier, the same .edgeq as importTflite
// with the preprocessing that feeds uint8 pixels unchanged; weights outside int8 kept exactly (int16).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readEdgeq } from '../../src/format/reader.js';
import { buildProgram } from '../../tools/cli/index.js';
import { importTflite, tflitePreprocess } from '../../tools/tflite/index.js';
import { buildTflite, TfliteGraphBuilder, tinyModel } from '../../tools/tflite/build.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-tflite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let out: string[] = [];
beforeEach(() => { out = []; vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); }); });
afterEach(() => vi.restoreAllMocks());

const run = (...args: string[]) => buildProgram().exitOverride().parseAsync(['node', 'edgeq', ...args]);

describe('edgeq import (TFLite)', () => {
  it('writes the importTflite model with the uint8 pass-through preprocessing', async () => {
    const bytes = buildTflite(tinyModel());
    const src = join(dir, 'tiny.tflite'), dst = join(dir, 'tiny.edgeq');
    writeFileSync(src, bytes);
    await run('import', src, '-o', dst);
    const lib = importTflite(bytes, { preprocess: tflitePreprocess({ shape: [1, 9, 9, 3], scale: 1 / 128, zeroPoint: 128 }), fileName: src });
    expect(new Uint8Array(readFileSync(dst))).toEqual(lib.edgeq);
    const model = readEdgeq(new Uint8Array(readFileSync(dst)));
    expect(model.preprocess).toMatchObject({ scale: 1, mean: [128, 128, 128], std: [128, 128, 128], crop: 9 });
    expect(out.join('\n')).toContain('it returns probabilities');
    expect(model.outputs[0]!.name).toBe('probabilities');
    await run('import', src, '-o', dst, '--logits');
    expect(out.join('\n')).toContain('SOFTMAX is left out');
    expect(new Uint8Array(readFileSync(dst))).toEqual(importTflite(bytes, { preprocess: lib.model.preprocess, fileName: src, keepLogits: true }).edgeq);
  });

  it('labels: from the file metadata unless --labels is given, and said either way', async () => {
    const spec = tinyModel();
    const names = ['cat', 'dog', 'fox', 'owl', 'elk'];
    const src = join(dir, 'labelled.tflite'), dst = join(dir, 'labelled.edgeq');
    writeFileSync(src, buildTflite({ ...spec, metadata: { file: 'labels.txt', labels: names } }));
    await run('import', src, '-o', dst);
    expect(out.join('\n')).toContain('labels: 5 from the file\'s metadata ("labels.txt")');
    expect(readEdgeq(new Uint8Array(readFileSync(dst))).labels).toEqual(names);
    const own = join(dir, 'own.txt');
    writeFileSync(own, 'a\nb\nc\nd\ne\n');
    out = [];
    await run('import', src, '-o', dst, '--labels', own);
    expect(out.join('\n')).not.toContain('labels:');
    expect(readEdgeq(new Uint8Array(readFileSync(dst))).labels).toEqual(['a', 'b', 'c', 'd', 'e']);
    out = [];
    writeFileSync(src, buildTflite(spec));
    await run('import', src, '-o', dst);
    expect(out.join('\n')).toContain('labels: none in the file; --labels <file> names the outputs');
  });

  it('edgeq run takes a .tflite as edgeq serve does: imported in memory, its metadata labels named', async () => {
    const names = ['cat', 'dog', 'fox', 'owl', 'elk'];
    const src = join(dir, 'run.tflite');
    writeFileSync(src, buildTflite({ ...tinyModel(), metadata: { file: 'labels.txt', labels: names } }));
    const img = join(dir, 'img.png');
    const png = new PNG({ width: 12, height: 12 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 251;
    writeFileSync(img, PNG.sync.write(png));
    await run('run', src, img, '--top', '2');
    const text = out.join('\n');
    expect(text).toContain('preprocessing stored in the model');
    const ranked = out.filter((l) => /%\s/.test(l));
    expect(ranked).toHaveLength(2);
    for (const l of ranked) expect(names.some((n) => l.includes(` ${n} [`))).toBe(true);
  });

  it('edgeq inspect model.tflite: graph, metadata labels, and whether edgeq import takes it (--check: an error when not)', async () => {
    const src = join(dir, 'inspect.tflite');
    writeFileSync(src, buildTflite({ ...tinyModel(), metadata: { file: 'labels.txt', labels: ['cat', 'dog', 'fox', 'owl', 'elk'] } }));
    await run('inspect', src);
    const text = out.join('\n');
    expect(text).toContain('TFLite schema 3, 1 subgraph');
    expect(text).toContain('inputs: input uint8 [1,9,9,3]');
    expect(text).toContain('labels: 5 in "labels.txt" ("cat", "dog", "fox", …)');
    expect(text).toMatch(/import: `edgeq import` takes it with its own integers \(\d+ \.edgeq ops\)/);
    out = [];
    await run('inspect', src, '--json');
    const j = JSON.parse(out.join('\n'));
    expect(j.labels).toMatchObject({ file: 'labels.txt', count: 5 });
    expect(j.importer.ok).toBe(true);
    const bad = join(dir, 'dm2.tflite');
    writeFileSync(bad, buildTflite(tinyModel(1, { depthMultiplier: 2 })));
    out = [];
    await run('inspect', bad);
    expect(out.join('\n')).toMatch(/import: `edgeq import` cannot take it \(docs\/tflite\.md\): .*\[UNSUPPORTED_OP\]/);
    await expect(run('inspect', bad, '--check')).rejects.toMatchObject({ code: 'UNSUPPORTED_OP' });
  });

  it('an int8 model stores the preprocessing that feeds pixel p as p - 128', async () => {
    const b = new TfliteGraphBuilder('int8', 2);
    const x = b.input('x', [1, 8, 8, 3]);
    const bytes = buildTflite(b.model(x, b.conv(x, { out: 4, kernel: 3, name: 'c' })));
    const src = join(dir, 'int8.tflite'), dst = join(dir, 'int8.edgeq');
    writeFileSync(src, bytes);
    await run('import', src, '-o', dst);
    const model = readEdgeq(new Uint8Array(readFileSync(dst)));
    // TFLite zero point 0 (builder: real zero at -128 + 128): mean 0 + 128.
    expect(model.preprocess).toMatchObject({ scale: 1, mean: [128, 128, 128], std: [128, 128, 128], crop: 8 });
    expect(out.join('\n')).toContain('TFLite int8');
  });

  it('imports weights outside int8 exactly (int16), saying how many; --saturate-weights is gone', async () => {
    const m = tinyModel();
    m.tensors[1]!.data![5] = 0;
    const src = join(dir, 'wide.tflite'), dst = join(dir, 'wide.edgeq');
    writeFileSync(src, buildTflite(m));
    await run('import', src, '-o', dst);
    expect(out.join('\n')).toContain('1 weight values in 1 tensors have w - zw outside int8: those convs keep int16 weights (exact)');
    expect(readEdgeq(new Uint8Array(readFileSync(dst))).ops.map((op) => (op.op === 'conv' ? op.packing : op.op))[0]).toBe('qu8-gemm-2x4c8-im2col-w16');
    const flags = buildProgram().commands.find((c) => c.name() === 'import')!.options.map((o) => o.long);
    expect(flags).toContain('--labels');
    expect(flags).not.toContain('--saturate-weights');
  });
});
