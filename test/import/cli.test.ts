// `edgeq import` and what `edgeq inspect` says about int8 ONNX files: the command writes a .edgeq
// whose integers are the importer's (same bytes as importOnnx, preprocessing and labels stored), and
// inspect says whether a quantized file imports and, when not, which node stops it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readEdgeq } from '../../src/format/reader.js';
import { IMAGENET } from '../../src/image/spec.js';
import { buildProgram } from '../../tools/cli/index.js';
import { inspectCommand } from '../../tools/cli/inspect.js';
import { importOnnx } from '../../tools/import/index.js';
import { makeNode } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { C, QopBuilder, SIZE } from './qop-models.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let out: string[] = [];
beforeEach(() => { out = []; vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); }); });
afterEach(() => vi.restoreAllMocks());

/** An RGB classifier in QOperator form: conv, pool, QLinearMatMul head with a constant bias. */
function rgbClassifier() {
  const b = new QopBuilder({ seed: 2, inputChannels: 3 });
  const x = b.gap(b.conv(b.quantizeInput(), 3, C, 3));
  return b.model(b.addConstant(b.matMul(b.flatten(x), C, 10), 10), [1, 10]);
}
const model = rgbClassifier();
const onnxPath = join(dir, 'model.int8.onnx');
writeFileSync(onnxPath, writeOnnx(model));

describe('edgeq run on a file that is not an .edgeq', () => {
  it('a quantized ONNX file: says to import it (not to quantize it)', async () => {
    const { runCommand } = await import('../../tools/cli/run.js');
    const img = join(dir, 'px.png');
    writeFileSync(img, new Uint8Array(8)); // never read: the model is refused first
    const err = await runCommand(onnxPath, [img], { top: 3, backend: 'auto', threads: 1 }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toContain(`it is an ONNX model already quantized (QDQ or QOperator): import it: edgeq import ${onnxPath} -o ${onnxPath.replace(/\.onnx$/, '')}.edgeq`);
    expect(err?.message).not.toContain('edgeq quantize');
  });
});

describe('edgeq import', () => {
  it('writes the importer\'s .edgeq with the preprocessing (fitted to the input side) and labels', async () => {
    const labels = join(dir, 'labels.txt');
    writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `class ${i}`).join('\n'));
    const edgeqPath = join(dir, 'model.edgeq');
    await buildProgram().parseAsync(['node', 'edgeq', 'import', onnxPath, '-o', edgeqPath, '--preprocess', 'imagenet', '--labels', labels]);
    const m = readEdgeq(new Uint8Array(readFileSync(edgeqPath)));
    expect(m.labels?.[9]).toBe('class 9');
    expect(m.preprocess).toEqual({ ...IMAGENET, crop: SIZE, resize: Math.round((IMAGENET.resize * SIZE) / IMAGENET.crop) });
    const lib = importOnnx(new Uint8Array(readFileSync(onnxPath)));
    expect(m.blobs.map((b) => Buffer.from(b).toString('hex'))).toEqual(lib.model.blobs.map((b) => Buffer.from(b).toString('hex')));
    expect(out.join('\n')).toMatch(/imported .* \(QOperator\): \d+ int8 ops/);
  });

  it('inspect says a quantized file imports, or which node stops it', async () => {
    await inspectCommand(onnxPath, {});
    expect(out.join('\n')).toMatch(/import: an int8 QOperator model; `edgeq import` takes it with its own integers \(\d+ int8 ops\)/);
    const b = new QopBuilder();
    const x = b.quantizeInput();
    b.qparams('sig', 1 / 256, 0);
    b.nodes.push(makeNode('QLinearSigmoid', [x, ...b.of(x), ...b.of('sig')], ['sig'], {}, 'gate', 'com.microsoft'));
    const bad = join(dir, 'sigmoid.onnx');
    writeFileSync(bad, writeOnnx(b.model('sig', [1, C, SIZE, SIZE])));
    out = [];
    await inspectCommand(bad, {});
    expect(out.join('\n')).toMatch(/import: an int8 model that `edgeq import` cannot take exactly \(docs\/import.md\): node "gate" \(QLinearSigmoid\): the edgeq runtime has no Sigmoid op.*\[UNSUPPORTED_OP\]/);
  });
});

describe('edgeq dequantize', () => {
  it('writes an fp32 ONNX model with no quantized node left', async () => {
    const fp32 = join(dir, 'model.fp32.onnx');
    await buildProgram().parseAsync(['node', 'edgeq', 'dequantize', onnxPath, '-o', fp32]);
    const m = readOnnx(new Uint8Array(readFileSync(fp32)));
    expect(m.graph.nodes.map((n) => n.opType).filter((t) => /Quantize|QLinear/.test(t))).toEqual([]);
    expect(m.graph.nodes.some((n) => n.opType === 'Conv')).toBe(true);
    expect(out.join('\n')).toMatch(/wrote .*model\.fp32\.onnx/);
  });
});
