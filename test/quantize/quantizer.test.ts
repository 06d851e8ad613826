// The quantizer on a small seeded CNN built in code: BN folding preserves fp32 outputs, weights
// round-trip within half a step, the QDQ export runs in onnxruntime-web close to fp32, the .edgeq
// runs in edgeq with the same answers as the QDQ export, and unsupported ops are named.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { readEdgeq } from '../../src/format/reader.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Session } from '../../src/runtime/session.js';
import { prepareGraph } from '../../tools/quantize/prepare.js';
import { exportFolded } from '../../tools/quantize/export-folded.js';
import { exportQdq } from '../../tools/quantize/export-qdq.js';
import { quantizeConvWeights } from '../../tools/quantize/ops/conv-weights.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { argmax, cosine } from '../../tools/quantize/report.js';
import { tinyCnn, tinyInputs } from './tiny-cnn.js';

const run = async (s: ReferenceSession, x: Float32Array) => (await s.run({ input: x })).outputs[s.outputNames[0]].data;

describe('graph preparation', () => {
  it('maps the tiny CNN to int8 ops with BN folded and activations fused', () => {
    const g = prepareGraph(readOnnx(writeOnnx(tinyCnn())));
    expect(g.ops.map((o) => o.op)).toEqual(['conv', 'maxpool', 'conv', 'conv', 'conv', 'add', 'conv', 'gap', 'conv']);
    const convs = g.ops.filter((o) => o.op === 'conv');
    expect(convs.map((c) => c.activation.kind)).toEqual(['relu', 'relu', 'relu', 'none', 'relu', 'none']);
    expect(convs[2].group).toBe(2);
    expect(convs.at(-1)!.fullyConnected).toBe(true);
    expect(g.ops[5].op === 'add' && g.ops[5].activation.kind).toBe('relu');
  });

  for (const leaky of [false, true]) {
    it(`folding BatchNorm preserves the fp32 outputs (onnxruntime-web, 1e-4 relative)${leaky ? ' with LeakyRelu' : ''}`, async () => {
      const bytes = writeOnnx(tinyCnn({ leaky }));
      const folded = exportFolded(prepareGraph(readOnnx(bytes)));
      const a = await ReferenceSession.create(bytes);
      const b = await ReferenceSession.create(folded);
      for (const x of tinyInputs(3, 4)) {
        const ra = await run(a, x), rb = await run(b, x);
        const scale = Math.max(...Array.from(ra, Math.abs));
        for (let i = 0; i < ra.length; i++) expect(Math.abs(ra[i] - rb[i])).toBeLessThanOrEqual(1e-4 * scale);
      }
      await a.release(); await b.release();
    });
  }

  it('rejects an unsupported op, naming the node', () => {
    expect(() => prepareGraph(readOnnx(writeOnnx(tinyCnn({ unsupported: true }))))).toThrowError(/node "odd_tanh" \(Tanh\)/);
    try { prepareGraph(readOnnx(writeOnnx(tinyCnn({ unsupported: true })))); } catch (e) {
      expect(e).toBeInstanceOf(EdgeqError);
      expect((e as EdgeqError).code).toBe('UNSUPPORTED_OP');
    }
  });
});

describe('weight quantization', () => {
  it('quantize -> dequantize is within half a step per output channel', () => {
    const g = prepareGraph(readOnnx(writeOnnx(tinyCnn({ seed: 7 }))));
    for (const op of g.ops) {
      if (op.op !== 'conv') continue;
      const q = quantizeConvWeights(op, 0.02);
      const I = op.inChannels / op.group, [kh, kw] = op.kernel;
      for (let o = 0; o < op.outChannels; o++) {
        const s = q.scales[o];
        let maxAbsQ = 0;
        for (let i = 0; i < I; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
          const w = op.weights[((o * I + i) * kh + y) * kw + x];
          const wq = q.weights[((o * kh + y) * kw + x) * I + i];
          maxAbsQ = Math.max(maxAbsQ, Math.abs(wq));
          expect(Math.abs(w - wq * s)).toBeLessThanOrEqual(s / 2 + 1e-7 * Math.abs(w));
        }
        expect(maxAbsQ).toBe(127); // the largest weight of each channel uses the full range
        expect(q.bias[o]).toBe(Math.round(op.bias[o] / Math.fround(0.02 * s)));
      }
    }
  });
});

describe('quantize -> QDQ export and .edgeq', () => {
  it('the QDQ export runs in onnxruntime-web close to fp32, and edgeq matches it', async () => {
    const bytes = writeOnnx(tinyCnn({ seed: 5 }));
    const calib = tinyInputs(100, 32);
    const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, method: 'minmax' });
    const back = readEdgeq(q.edgeq);
    expect(back.ops.length).toBe(q.model.ops.length);
    const fp32 = await ReferenceSession.create(bytes);
    const qdq = await ReferenceSession.create(q.qdq);
    const simd = await Session.create(q.edgeq, { backend: 'simd' });
    const scalar = await Session.create(q.edgeq, { backend: 'scalar' });
    let cos = 0, agreeQdq = 0;
    const inputs = tinyInputs(200, 16);
    for (const x of inputs) {
      const f = await run(fp32, x), d = await run(qdq, x);
      const e = await simd.run(x), s = await scalar.run(x);
      expect(Array.from(e)).toEqual(Array.from(s)); // SIMD and scalar builds are bit-exact
      cos += cosine(f, d);
      if (argmax(e) === argmax(d)) agreeQdq++;
      // edgeq and onnxruntime-web compute the same integers; only fp32 rounding may differ.
      const range = Math.max(...Array.from(d, Math.abs));
      const maxDiff = Math.max(...Array.from(e, (v, i) => Math.abs(v - d[i])));
      expect(maxDiff).toBeLessThan(0.05 * range);
    }
    expect(cos / inputs.length).toBeGreaterThan(0.99);
    expect(agreeQdq).toBeGreaterThanOrEqual(inputs.length - 1);
    await fp32.release(); await qdq.release(); simd.release(); scalar.release();
  });
});

describe('a network that ends in a residual Add (a feature trunk)', () => {
  it('keeps the output float32: the Add (or the conv it is fused into) writes real values; edgeq matches the QDQ export', async () => {
    const bytes = writeOnnx(tinyCnn({ seed: 6, trunk: true }));
    const calib = tinyInputs(100, 32);
    const fp32 = await ReferenceSession.create(bytes);
    for (const fuseResidual of [false, true]) {
      const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, fuseResidual });
      const m = readEdgeq(q.edgeq);
      const last = m.ops[m.ops.length - 1];
      expect(m.tensors[m.outputs[0]!.tensor].dtype).toBe('float32');
      expect(last.op).toBe(fuseResidual ? 'conv' : 'add');
      if (fuseResidual) expect(last.op === 'conv' && last.residual).toBeDefined();
      const qdq = await ReferenceSession.create(fuseResidual ? exportQdq(q.graph, q, { fused: true }) : q.qdq);
      const e = await Session.create(q.edgeq);
      let cos = 0;
      for (const x of tinyInputs(201, 20)) {
        const f = await run(fp32, x), d = await run(qdq, x), y = await e.run(x);
        expect(y.length).toBe(f.length);
        const range = Math.max(...Array.from(d, Math.abs));
        expect(Math.max(...Array.from(y, (v, i) => Math.abs(v - d[i])))).toBeLessThan(1e-3 * range); // same integers, fp32 rounding only
        cos += cosine(f, y);
      }
      expect(cos / 20).toBeGreaterThan(0.995);
      await qdq.release(); e.release();
    }
    await fp32.release();
  });
});

describe('sensitivity report', () => {
  it('quantizing one layer alone costs less output SQNR than quantizing all of them', async () => {
    const { sensitivityReport } = await import('../../tools/quantize/report.js');
    const { SqnrMeter } = await import('../../tools/quantize/report.js');
    const bytes = writeOnnx(tinyCnn({ seed: 5 }));
    const calib = tinyInputs(100, 16);
    const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, method: 'mse' });
    const inputs = tinyInputs(300, 6);
    const entries = await sensitivityReport(bytes, q.graph, q, inputs);
    expect(entries.length).toBe(q.graph.ops.length);
    for (let i = 1; i < entries.length; i++) expect(entries[i].outputSqnrDb).toBeGreaterThanOrEqual(entries[i - 1].outputSqnrDb);
    const fp32 = await ReferenceSession.create(bytes);
    const all = await ReferenceSession.create(q.qdq);
    const m = new SqnrMeter();
    for (const x of inputs) m.add(await run(fp32, x), await run(all, x));
    await fp32.release(); await all.release();
    for (const e of entries) {
      expect(Number.isNaN(e.outputSqnrDb)).toBe(false);
      expect(e.outputSqnrDb).toBeGreaterThan(m.db);
    }
  });
});
