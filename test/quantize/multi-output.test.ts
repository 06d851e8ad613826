// A model with several graph outputs through quantize + run: the logits head first, then "feat" (a
// conv's ReLU output that the next conv reads), "branch" (a conv output read only by a residual Add,
// which would otherwise be fused away) and "emb" (the flattened pooled features the head reads).
// Against onnxruntime-web on the QDQ export (same integers): each quantized output within 1 LSB of its
// scale at every value, the float32 logits within 1e-5 * (1 + |ORT|) (f32 sums in another order);
// against the fp32 model: cosine >= 0.98 per output and image (4 logits from a 16-channel uint8
// embedding: the smallest measured was 0.987).
// Also: fetches selects outputs (an unknown name is BAD_OPTION naming it), a batch of two equals two
// runs for every output, run(Float32Array) / classify() use the first output, and `edgeq import` of the
// QDQ export keeps the four outputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { Session, type OutputTensor } from '../../src/runtime/session.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, makeGraph, makeModel, makeValueInfo } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { importOnnx } from '../../tools/import/index.js';
import { quantizeModel, type QuantizeModelResult } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { Rng } from '../../tools/synth/random.js';
import { tinyInputs } from './tiny-cnn.js';

const SIZE = 16;

/** input -> conv+relu ("feat") -> conv+relu -> conv ("branch") + add -> relu -> GAP -> Flatten ("emb") -> Gemm ("logits"). */
function multiOutputModel(): { bytes: Uint8Array; names: string[]; dims: number[][] } {
  const g = new PatternGraph(new Rng(21), SIZE, 3);
  const feat = g.link(g.conv('input', 3, 8), 'Relu');
  const r2 = g.link(g.conv(feat, 8, 16), 'Relu');
  const branch = g.conv(r2, 16, 16);
  const sum = g.link(g.add(branch, r2), 'Relu');
  const emb = g.node('Flatten', g.node('GlobalAveragePool', [sum]), { axis: attr.int(1) })[0]!;
  const rng = new Rng(5);
  g.inits.push(makeFloatTensor('fc_w', [4, 16], Float32Array.from({ length: 64 }, () => 0.5 * rng.normal())));
  g.inits.push(makeFloatTensor('fc_b', [4], [0.1, -0.1, 0.05, 0]));
  const logits = g.node('Gemm', [emb, 'fc_w', 'fc_b'], { transB: attr.int(1) })[0]!;
  const names = [logits, feat, branch, emb];
  const dims = [[1, 4], [1, 8, SIZE, SIZE], [1, 16, SIZE, SIZE], [1, 16]];
  const bytes = writeOnnx(makeModel(makeGraph({
    name: 'multi-output', nodes: g.nodes, initializers: g.inits,
    inputs: [makeValueInfo('input', 'float32', [1, 3, SIZE, SIZE])],
    outputs: names.map((n, i) => makeValueInfo(n, 'float32', dims[i]!)),
  }), { opset: 13 }));
  return { bytes, names, dims };
}

let m: ReturnType<typeof multiOutputModel>;
let q: QuantizeModelResult;
let session: Session;
beforeAll(async () => {
  m = multiOutputModel();
  const calib = tinyInputs(11, 16);
  q = await quantizeModel(m.bytes, { calibration: calib, calibrationCount: calib.length, threads: 1 });
  session = await Session.create(q.edgeq, { threads: 1 });
}, 120_000);
afterAll(() => session?.release());

describe('a model with four outputs', () => {
  it('keeps every output, in the graph\'s order, with its own tensor and quantization', () => {
    expect(session.outputNames).toEqual(m.names);
    const model = readEdgeq(q.edgeq);
    const dtypes = model.outputs.map((o) => model.tensors[o.tensor]!.dtype);
    // The head stays float32; outputs later ops read stay quantized (uint8), dequantized by the runtime.
    expect(dtypes).toEqual(['float32', 'uint8', 'uint8', 'uint8']);
    // The branch conv is an output, so its residual Add is not fused into it.
    expect(model.ops.some((op) => op.op === 'conv' && op.residual !== undefined)).toBe(false);
    expect(model.ops.filter((op) => op.op === 'add')).toHaveLength(1);
    expect(session.outputShapes).toEqual(Object.fromEntries(m.names.map((n, i) => [n, m.dims[i]])));
  });

  it('run(feeds) returns every output: against onnxruntime-web on the QDQ export and the fp32 model', async () => {
    const qdq = await ReferenceSession.create(q.qdq), fp32 = await ReferenceSession.create(m.bytes);
    try {
      expect(qdq.outputNames).toEqual(m.names);
      const model = readEdgeq(q.edgeq);
      for (const x of tinyInputs(4, 6)) {
        const got = await session.run({ input: x });
        expect(Object.keys(got)).toEqual(m.names);
        const want = (await qdq.run({ input: x })).outputs, ref = (await fp32.run({ input: x })).outputs;
        m.names.forEach((name, k) => {
          const y = got[name]!, d = want[name]!.data as Float32Array, f = ref[name]!.data as Float32Array;
          expect(y.dims).toEqual(m.dims[k]);
          expect(y.data.length).toBe(d.length);
          const t = model.tensors[model.outputs[k]!.tensor]!;
          // A quantized output: 1 LSB. The float32 head: f32 sums in another order, 1e-5 * (1 + |ORT|).
          const tol = (i: number) => (t.dtype === 'float32' ? 1e-5 * (1 + Math.abs(d[i]!)) : t.scale * 1.0001);
          let worst = 0;
          for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(y.data[i]! - d[i]!) - tol(i));
          expect(worst, `${name}: |edgeq - ORT QDQ| exceeds its tolerance by ${worst}`).toBeLessThanOrEqual(0);
          expect(cosine(f, y.data), `${name}: cosine to fp32`).toBeGreaterThanOrEqual(0.98);
        });
      }
    } finally {
      await qdq.release(); await fp32.release();
    }
  }, 60_000);

  it('fetches selects outputs; run(Float32Array) and runTensor give the first; a batch of two equals two runs', async () => {
    const [a, b] = tinyInputs(8, 2);
    const all = await session.run({ input: a! });
    const some = await session.run({ input: a! }, { fetches: [m.names[3]!, m.names[1]!] });
    expect(Object.keys(some)).toEqual([m.names[3], m.names[1]]);
    expect(some[m.names[3]!]).toEqual(all[m.names[3]!]);
    expect(some[m.names[1]!]).toEqual(all[m.names[1]!]);
    expect(await session.run(a!)).toEqual(all[m.names[0]!]!.data);
    expect(await session.run(a!, { fetches: [m.names[2]!] })).toEqual(all[m.names[2]!]!.data);
    expect(await session.runTensor(a!, { fetches: [m.names[1]!] })).toEqual(all[m.names[1]!]);

    const ab = new Float32Array(a!.length * 2);
    ab.set(a!); ab.set(b!, a!.length);
    const both = await session.run({ input: ab });
    const second = await session.run({ input: b! });
    for (const name of m.names) {
      const t: OutputTensor = both[name]!;
      const per = t.data.length / 2;
      expect(t.dims[0]).toBe(2);
      expect(t.data.subarray(0, per)).toEqual(all[name]!.data);
      expect(t.data.subarray(per)).toEqual(second[name]!.data);
    }
  });

  it('classify() reads the first output, or the one options.output names', async () => {
    const x = tinyInputs(9, 1)[0]!;
    const logits = await session.run(x);
    const top = await session.classify(x, { topK: 1 });
    expect(top[0]!.index).toBe(Array.from(logits).indexOf(Math.max(...logits)));
    const emb = (await session.run({ input: x }, { fetches: [m.names[3]!] }))[m.names[3]!]!.data;
    const topEmb = await session.classify(x, { topK: 1, output: m.names[3]! });
    expect(topEmb[0]!.index).toBe(Array.from(emb).indexOf(Math.max(...emb)));
    expect(topEmb[0]!.label).toBe(`class ${topEmb[0]!.index}`);
  });

  it('an output name the model lacks, in fetches or classify, is BAD_OPTION naming it', async () => {
    const x = tinyInputs(9, 1)[0]!;
    for (const call of [
      () => session.run({ input: x }, { fetches: ['logitz'] }),
      () => session.run(x, { fetches: ['logitz'] }),
      () => session.classify(x, { output: 'logitz' }),
    ]) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(EdgeqError);
      expect(err).toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('"logitz"') });
      expect((err as Error).message).toContain(`"${m.names[0]}"`); // the valid names are listed
    }
    await expect(session.run({ input: x }, { fetches: [] })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(session.run({ input: x }, { fetches: [m.names[0]!, m.names[0]!] })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('edgeq import takes the QDQ export back with its four outputs: the same values as the quantized file', async () => {
    const imported = importOnnx(q.qdq);
    expect(imported.model.outputs.map((o) => o.name)).toEqual(m.names);
    const s = await Session.create(imported.edgeq, { threads: 1 });
    try {
      for (const x of tinyInputs(12, 3)) {
        const a = await session.run({ input: x }), b = await s.run({ input: x });
        // The file's own integers, scales and zero points: identical when measured; 1 LSB (1e-5 relative for the head) allowed.
        for (const [k, name] of m.names.entries()) {
          const t = readEdgeq(q.edgeq).tensors[readEdgeq(q.edgeq).outputs[k]!.tensor]!;
          const tol = t.dtype === 'float32' ? 1e-5 : t.scale * 1.0001;
          let worst = 0;
          for (let i = 0; i < a[name]!.data.length; i++) worst = Math.max(worst, Math.abs(a[name]!.data[i]! - b[name]!.data[i]!) / (t.dtype === 'float32' ? 1 + Math.abs(a[name]!.data[i]!) : 1));
          expect(worst, name).toBeLessThanOrEqual(tol);
        }
      }
    } finally {
      s.release();
    }
  });
});
