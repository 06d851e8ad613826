// Graph preparation on the node patterns of issue 17, against onnxruntime-web: activation chains
// (Conv -> Relu -> Relu, a 20,000-Relu chain, LeakyRelu chains with Identity/Dropout links), a tensor
// feeding several consumers, outputs nothing reads, dead branches, unsorted nodes, cycles. Tolerances:
// the folded fp32 export equals the source within 1e-5 of the output's largest magnitude (float32
// rounding of folded LeakyRelu slopes only); edgeq equals the QDQ export within 2% of it (same
// integers, fp32 requantization rounding only) and the QDQ export's cosine to fp32 exceeds 0.99.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import type { ModelDef } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { exportFolded } from '../../tools/quantize/export-folded.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { prepareGraph } from '../../tools/quantize/prepare.js';
import { cosine } from '../../tools/quantize/report.js';
import { Rng } from '../../tools/synth/random.js';
import { tinyInputs } from './tiny-cnn.js';

const SIZE = 8;
const inputs = (seed: number, n: number) => tinyInputs(seed, n, SIZE);
const run = async (s: ReferenceSession, x: Float32Array) => (await s.run({ input: x })).outputs[s.outputNames[0]].data as Float32Array;
const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

/** The folded fp32 export of the prepared graph computes the source's outputs (onnxruntime-web). */
async function expectFoldedMatches(model: ModelDef): Promise<void> {
  const bytes = writeOnnx(model);
  const src = await ReferenceSession.create(bytes);
  const folded = await ReferenceSession.create(exportFolded(prepareGraph(readOnnx(bytes))));
  for (const x of inputs(3, 3)) {
    const a = await run(src, x), b = await run(folded, x);
    expect(b.length).toBe(a.length);
    const tol = 1e-5 * maxAbs(a);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol);
  }
  await src.release(); await folded.release();
}

/** quantizeModel succeeds; edgeq equals the QDQ export, which is close to fp32. */
async function expectQuantizes(model: ModelDef): Promise<void> {
  const bytes = writeOnnx(model);
  const calib = inputs(40, 8);
  const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length });
  const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq);
  const e = await Session.create(q.edgeq);
  for (const x of inputs(50, 4)) {
    const f = await run(fp32, x), d = await run(qdq, x), y = await e.run(x);
    expect(y.length).toBe(f.length);
    const range = maxAbs(d);
    expect(Math.max(...Array.from(y, (v, i) => Math.abs(v - d[i])))).toBeLessThan(0.02 * range);
    expect(cosine(f, d)).toBeGreaterThan(0.99);
  }
  await fp32.release(); await qdq.release(); e.release();
}

const graph = (seed = 1) => new PatternGraph(new Rng(seed), SIZE);
const featureDims = (c: number) => [1, c, SIZE, SIZE];

describe('activation chains fold into their producer', () => {
  it('Conv -> Relu -> Relu: one conv with ReLU writing the second Relu\'s output; matches ORT', async () => {
    const g = graph();
    const out = g.chain(g.conv('input', 3, 4), ['Relu', 'Relu']);
    const m = g.model(out, featureDims(4));
    const p = prepareGraph(m);
    expect(p.ops.map((o) => [o.op, o.output, o.op === 'conv' && o.activation.kind])).toEqual([['conv', out, 'relu']]);
    await expectFoldedMatches(m);
    await expectQuantizes(m);
  });

  it('LeakyRelu -> Identity -> LeakyRelu -> Dropout(mask unread) -> Relu after a conv, and LeakyRelu chains compose', async () => {
    const g = graph(2);
    const leaky = g.chain(g.conv('input', 3, 4), ['LeakyRelu', 'Identity', 'LeakyRelu', 'DropoutWithMask']);
    const out = g.chain(g.conv(leaky, 4, 4), ['Identity', 'Relu', 'Dropout', 'Relu']);
    const m = g.model(out, featureDims(4));
    const p = prepareGraph(m);
    expect(p.ops.map((o) => o.op === 'conv' && o.activation.kind)).toEqual(['leakyrelu', 'relu']);
    expect(p.ops[0].op === 'conv' && p.ops[0].activation.kind === 'leakyrelu' && p.ops[0].activation.alpha).toBeGreaterThan(0);
    expect(p.ops[1].op === 'conv' && p.ops[1].input).toBe(p.ops[0].output);
    expect(p.ops[1].output).toBe(out);
    await expectFoldedMatches(m);
    await expectQuantizes(m);
  });

  it('a 20,000-Relu chain is one conv with ReLU (and a 300-link chain matches ORT)', async () => {
    const g = graph(3);
    const out = g.chain(g.conv('input', 3, 4), Array.from({ length: 20_000 }, () => 'Relu' as const));
    const p = prepareGraph(g.model(out, featureDims(4)));
    expect(p.ops.length).toBe(1);
    expect(p.ops[0].output).toBe(out);
    const short = graph(3);
    await expectFoldedMatches(short.model(short.chain(short.conv('input', 3, 4), Array.from({ length: 300 }, (_, i) => (i % 3 ? 'Relu' : 'Identity'))), featureDims(4)));
  }, 60_000);
});

describe('fan-out, unread outputs, dead branches, node order', () => {
  it('a ReLU output read by two convs joined by an Add, then a head; dead Conv and Sigmoid branches are ignored', async () => {
    const g = graph(4);
    const r = g.chain(g.conv('input', 3, 4), ['Relu']);
    g.node('Sigmoid', [r]); // dead: an op the quantizer does not map, but the output does not need it
    g.conv(r, 4, 4, 1); // dead
    const joined = g.chain(g.add(g.conv(r, 4, 4, 1), g.conv(r, 4, 4)), ['Relu']);
    const m = g.model(g.head(joined, 4), [1, 4]);
    expect(prepareGraph(m).ops.map((o) => o.op)).toEqual(['conv', 'conv', 'conv', 'add', 'gap', 'conv']);
    await expectFoldedMatches(m);
    await expectQuantizes(m);
  });

  it('nodes listed out of order map as if sorted; a cycle is BAD_ONNX', () => {
    const g = graph(5);
    const out = g.chain(g.conv(g.chain(g.conv('input', 3, 4), ['Relu']), 4, 4), ['Relu']);
    const sorted = prepareGraph(g.model(out, featureDims(4)));
    const reversed = prepareGraph({ ...g.model(out, featureDims(4)), graph: { ...g.model(out, featureDims(4)).graph, nodes: [...g.nodes].reverse() } });
    const wiring = (ops: typeof sorted.ops) => ops.map((o) => [o.name, o.op === 'add' ? [o.a, o.b] : 'input' in o ? o.input : undefined, o.output]);
    expect(wiring(reversed.ops)).toEqual(wiring(sorted.ops));
    const cyc = graph(6);
    const c1 = cyc.conv('input', 3, 4);
    const a = cyc.add(c1, 'loop');
    cyc.nodes.push({ ...cyc.nodes[cyc.nodes.length - 1], name: 'back', opType: 'Relu', inputs: [a], outputs: ['loop'] });
    expect(() => prepareGraph(cyc.model(a, featureDims(4)))).toThrowError(expect.objectContaining({ code: 'BAD_ONNX', message: expect.stringMatching(/cycle/) }));
  });

  it('an activation whose input has another reader, and a read Dropout mask, are UNSUPPORTED_OP naming the node', () => {
    const g = graph(7);
    const c = g.conv('input', 3, 4);
    const r = g.link(c, 'Relu');
    const out = g.add(r, g.conv(c, 4, 4));
    const relu = g.nodes.find((n) => n.outputs[0] === r)!;
    expect(() => prepareGraph(g.model(out, featureDims(4)))).toThrowError(new RegExp(`node "${relu.name}" \\(Relu\\): a standalone Relu`));
    const d = graph(8);
    const conv = d.conv('input', 3, 4);
    const [, mask] = d.node('Dropout', [conv], {}, 2);
    const e = (() => { try { prepareGraph(d.model(d.add(conv, mask), featureDims(4))); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(EdgeqError);
    expect((e as EdgeqError).code).toBe('UNSUPPORTED_OP');
    expect((e as EdgeqError).message).toMatch(/Dropout.*mask/);
  });
});
