// Bad input to the importer: a seeded campaign of byte mutants and quantization-parameter mutants
// of int8 seeds (tools/fuzz/import-fuzz.ts; the zoo file is a seed when ../shared has it) must be
// imported and run, or rejected with an EdgeqError, every time; and the named failure modes give
// the named error, naming the node and tensor.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { importOnnx } from '../../tools/import/index.js';
import type { QConv } from '../../src/format/qmodel.js';
import { packGeometry, wideOutliers } from '../../src/kernels/packing.js';
import { importCampaign, importSeeds } from '../../tools/fuzz/import-fuzz.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { makeTensor } from '../../tools/onnx/tensor.js';
import { makeNode } from '../../tools/onnx/model.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { QopBuilder, QOP_MODELS, QOP_MUL_CONCAT_POOL_MODELS, C, SIZE } from './qop-models.js';
import { fireModel, seModel } from './qdq-models.js';

const base = () => QOP_MODELS['QLinearConv 3x3 + 1x1 (per-channel int8 weights, int32 bias)']!({ seed: 7 });

function rejects(bytes: Uint8Array, code: string, pattern: RegExp): void {
  let err: unknown;
  try { importOnnx(bytes); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe(code);
  expect((err as EdgeqError).message).toMatch(pattern);
}

describe('the importer on bad input', () => {
  it('names the node and tensor of each bad quantization parameter', () => {
    const withInit = (name: string, t: ReturnType<typeof makeTensor>) => { const m = base(); m.graph.initializers.set(name, { ...t, name }); return writeOnnx(m); };
    rejects(withInit('conv0_w_scale', makeTensor('x', 'float32', [16], new Array(16).fill(0))), 'BAD_ONNX', /node "conv0" \(QLinearConv\): scale "conv0_w_scale"\[0\] = 0/);
    rejects(withInit('conv0_w_scale', makeTensor('x', 'float32', [16], new Array(16).fill(1e-40))), 'BAD_ONNX', /normal/);
    rejects(withInit('conv0_w_scale', makeTensor('x', 'float32', [15], new Array(15).fill(0.01))), 'BAD_ONNX', /conv0_w_scale" has 15 values, expected 16/);
    rejects(withInit('input_q_scale', makeTensor('x', 'float32', [], [Number.NaN])), 'BAD_ONNX', /input_QuantizeLinear.*NaN/);
    rejects(withInit('conv0_zero_point', makeTensor('x', 'int32', [], [120])), 'UNSUPPORTED_OP', /zero point "conv0_zero_point" is int32/);
  });

  it('imports uint8 weights whose w - zw leaves int8 exactly, as int16 (-w16), every such value an outlier', () => {
    const m = base();
    const w = m.graph.initializers.get('conv0_w')!;
    const u8 = Uint8Array.from(w.data as Int8Array, (v) => v + 128);
    m.graph.initializers.set('conv0_w', { ...w, dataType: 'uint8', data: u8 });
    m.graph.initializers.set('conv0_w_zero_point', makeTensor('conv0_w_zero_point', 'uint8', [16], new Array(16).fill(0)));
    const { model } = importOnnx(writeOnnx(m));
    const conv = model.ops.find((op): op is QConv => op.op === 'conv' && op.name === 'conv0')!;
    expect(conv.packing.endsWith('-w16')).toBe(true);
    const outliers = wideOutliers(model.blobs[conv.weights]!, packGeometry(conv, conv.packing));
    expect(outliers.length).toBe(u8.filter((v) => v > 127).length);
    expect(outliers.every(([, v]) => v > 127 && v <= 255)).toBe(true);
  });

  it('names an op the runtime lacks (QLinearSigmoid) without a TODO', () => {
    const b = new QopBuilder();
    const x = b.quantizeInput();
    b.qparams('sig', 1 / 256, 0);
    b.nodes.push(makeNode('QLinearSigmoid', [x, ...b.of(x), ...b.of('sig')], ['sig'], {}, 'the_sigmoid', 'com.microsoft'));
    rejects(writeOnnx(b.model('sig', [1, C, SIZE, SIZE])), 'UNSUPPORTED_OP', /node "the_sigmoid" \(QLinearSigmoid\): the edgeq runtime has no Sigmoid op/);
  });

  it('a missing initializer and a truncated file are typed errors', () => {
    const m = base();
    m.graph.initializers.delete('conv1_w');
    rejects(writeOnnx(m), 'BAD_ONNX', /conv1_w/);
    const bytes = writeOnnx(base());
    expect(() => importOnnx(bytes.subarray(0, bytes.length >> 1))).toThrow(EdgeqError);
    expect(readOnnx(bytes).graph.nodes.length).toBeGreaterThan(0);
  });

  it('a seeded campaign of 300 mutants: imported and run, or an EdgeqError, every time', async () => {
    const seeds = await importSeeds(2);
    seeds.push({ name: 'qop-conv.onnx', bytes: writeOnnx(base()) });
    // The mul, concat and avgpool paths: QOperator and QDQ SE blocks and fire modules.
    for (const [file, model] of [['qop-se.onnx', /^SE block/], ['qop-fire.onnx', /^SqueezeNet fire/]] as const) {
      const build = Object.entries(QOP_MUL_CONCAT_POOL_MODELS).find(([n]) => model.test(n))![1];
      seeds.push({ name: file, bytes: writeOnnx(build({ seed: 7 })) });
    }
    seeds.push({ name: 'qdq-se.onnx', bytes: seModel(true, 11) }, { name: 'qdq-fire.onnx', bytes: fireModel(false, 11) });
    const r = await importCampaign(seeds, 300, 20261204);
    console.log(`import fuzz: ${r.accepted} accepted, rejected ${JSON.stringify(r.rejected)}, ${r.failures.length} failures (seeds: ${seeds.map((s) => s.name).join(', ')})`);
    expect(r.failures).toEqual([]);
    expect(Object.values(r.rejected).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
  }, 600_000);
});
