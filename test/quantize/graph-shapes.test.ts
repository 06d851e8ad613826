// Graph shapes users' exports have, through quantize + run, against onnxruntime-web:
// - heads: GAP -> Flatten -> Gemm -> Softmax (torch), GAP -> Reshape(constant [1, -1]) -> Dropout
//   (inference) -> MatMul + Add; the float32 head and Softmax against ORT running the QDQ export:
//   |edgeq - ORT| <= 1e-5 * (1 + |ORT|) (f32 sums in another order), same top-1 as ORT's QDQ run;
// - a zero Pad before a Conv folded into its pads (0 LSB against ORT's QDQ, which pads explicitly);
// - non-square (1x3x96x160) and 1-channel 28x28 inputs, a symbolic batch dimension (batch 2 run),
//   an NHWC input behind Transpose(0, 3, 1, 2) folded into an NCHW input;
// - bad input (Softmax off the channels, Pad reflect / non-zero / negative / on N) is a typed error naming the
//   node, before calibration.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, makeGraph, makeModel, makeValueInfo, type ModelDef } from '../../tools/onnx/model.js';
import { makeFloatTensor, makeTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { Rng } from '../../tools/synth/random.js';

/** count smooth random inputs of n values (a sum of two sinusoids per input, plus noise). */
function inputs(seed: number, count: number, n: number): Float32Array[] {
  const r = new Rng(seed);
  return Array.from({ length: count }, () => {
    const a = r.uniform(0.01, 0.2), b = r.uniform(0.01, 0.2), p = r.uniform(0, 6);
    return Float32Array.from({ length: n }, (_, i) => Math.sin(a * i + p) + 0.5 * Math.cos(b * i) + 0.2 * r.normal());
  });
}

/** The model of g's nodes with input "input" of `inDims` (numbers or symbolic names) and one output. */
function modelOf(g: PatternGraph, inDims: (number | string)[], output: string, outDims: (number | string)[], opset = 13): ModelDef {
  return makeModel(makeGraph({
    name: 'shapes', nodes: g.nodes, initializers: g.inits,
    inputs: [makeValueInfo('input', 'float32', inDims)], outputs: [makeValueInfo(output, 'float32', outDims)],
  }), { opset });
}

const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));

/** Quantizes, then runs edgeq, ORT on the QDQ export and ORT fp32 on `tests` inputs: worst float gap to QDQ, top-1 agreement, min cosine to fp32. */
async function againstOrt(model: ModelDef, n: number, opts: { calib?: number; tests?: number; batch?: number } = {}) {
  const bytes = writeOnnx(model);
  const calib = inputs(1, opts.calib ?? 12, n);
  const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length });
  const qdq = await ReferenceSession.create(q.qdq), fp32 = await ReferenceSession.create(bytes);
  const e = await Session.create(q.edgeq);
  let gap = 0, top1 = 0, minCos = 1, total = 0;
  const xs = inputs(2, opts.tests ?? 6, n);
  for (const x of xs) {
    const d = (await qdq.run({ input: x })).outputs[qdq.outputNames[0]!]!.data as Float32Array;
    const f = (await fp32.run({ input: x })).outputs[fp32.outputNames[0]!]!.data as Float32Array;
    const y = await e.run(x);
    expect(y.length).toBe(d.length);
    for (let i = 0; i < y.length; i++) gap = Math.max(gap, Math.abs(y[i]! - d[i]!) / (1 + Math.abs(d[i]!)));
    if (argmax(y) === argmax(d)) top1++;
    minCos = Math.min(minCos, cosine(f, y));
    total++;
  }
  await qdq.release(); await fp32.release(); e.release();
  return { q, gap, top1: top1 / total, minCos };
}

/** A small trunk: conv 3x3 (cin -> 8) + Relu, conv 3x3 stride 1 (8 -> 8) + Relu. */
function trunk(g: PatternGraph, cin: number): string {
  return g.link(g.conv(g.link(g.conv('input', cin, 8), 'Relu'), 8, 8), 'Relu');
}

describe('classifier heads', () => {
  it('GAP -> Flatten -> Gemm -> Softmax: float32 head then softmax over the classes', async () => {
    const g = new PatternGraph(new Rng(5), 8);
    const out = g.node('Softmax', [g.head(trunk(g, 3), 8, 6)], { axis: attr.int(-1) })[0];
    const r = await againstOrt(g.model(out, [1, 6]), 3 * 64);
    expect(r.q.model.ops.map((o) => o.op).slice(-2)).toEqual(['conv', 'softmax']);
    const t = r.q.model.tensors;
    const sm = r.q.model.ops.at(-1)!;
    expect(sm.op === 'softmax' && [t[sm.input]!.dtype, t[sm.output]!.dtype]).toEqual(['float32', 'float32']);
    expect(r.gap).toBeLessThanOrEqual(1e-5);
    expect(r.top1).toBe(1);
    expect(r.minCos).toBeGreaterThan(0.99);
  });

  it('GAP -> Reshape(constant [1, -1]) -> Dropout (inference) -> MatMul + Add: pass-throughs and a 1x1 conv', async () => {
    const g = new PatternGraph(new Rng(6), 8);
    const gap = g.node('GlobalAveragePool', [trunk(g, 3)])[0];
    g.inits.push(makeTensor('shape', 'int64', [2], [1, -1]));
    const flat = g.node('Dropout', [g.node('Reshape', [gap, 'shape'])[0]])[0];
    g.inits.push(makeFloatTensor('fc_w', [8, 5], Float32Array.from({ length: 40 }, () => 0.5 * g.rng.normal())));
    g.inits.push(makeFloatTensor('fc_b', [5], Float32Array.from({ length: 5 }, () => g.rng.uniform(-0.1, 0.1))));
    const out = g.node('Add', [g.node('MatMul', [flat, 'fc_w'])[0], 'fc_b'])[0];
    const r = await againstOrt(g.model(out, [1, 5]), 3 * 64);
    expect(r.q.model.ops.map((o) => o.op)).toEqual(['conv', 'conv', 'gap', 'conv']);
    expect(r.gap).toBeLessThanOrEqual(1e-5);
    expect(r.top1).toBe(1);
  });

  it('Softmax off the channel axis is a typed error naming the node, before calibration', async () => {
    const g = new PatternGraph(new Rng(7), 8);
    const out = g.node('Softmax', [g.conv('input', 3, 4)], { axis: attr.int(2) })[0];
    let calibrated = false;
    const calibration = (function* () { calibrated = true; yield* inputs(1, 2, 3 * 64); })();
    const err = await quantizeModel(writeOnnx(g.model(out, [1, 4, 8, 8])), { calibration, calibrationCount: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect(err.code).toBe('UNSUPPORTED_OP');
    expect(err.message).toMatch(/^node "softmax_\d+" \(Softmax\): softmax over axis 2 of \[1,4,8,8\] \(opset 13\) is not over the channels/);
    expect(calibrated).toBe(false);
  });
});

describe('Pad before a Conv', () => {
  /** Pad(pads) -> Conv 3x3 (no pads) + Relu -> Pad (opset 11+ inputs) -> head conv. */
  function padded(pads: number[], opts: { mode?: string; value?: number; opset?: number } = {}): ModelDef {
    const g = new PatternGraph(new Rng(8), 8);
    const pad = (x: string, p: number[]) => {
      const k = g.nodes.length;
      g.inits.push(makeTensor(`pads${k}`, 'int64', [8], p));
      const ins = [x, `pads${k}`];
      if (opts.value !== undefined) { g.inits.push(makeFloatTensor(`value${k}`, [], [opts.value])); ins.push(`value${k}`); }
      return g.node('Pad', ins, opts.mode ? { mode: attr.string(opts.mode) } : {})[0];
    };
    const w = (cout: number, cin: number) => {
      const name = `w${g.nodes.length}`;
      g.inits.push(makeFloatTensor(name, [cout, cin, 3, 3], Float32Array.from({ length: cout * cin * 9 }, () => 0.3 * g.rng.normal())));
      return name;
    };
    const c0 = g.link(g.node('Conv', [pad('input', pads), w(8, 3)], { kernel_shape: attr.ints([3, 3]) })[0], 'Relu');
    const out = g.node('Conv', [pad(c0, [0, 0, 1, 1, 0, 0, 1, 1]), w(4, 8)], { kernel_shape: attr.ints([3, 3]) })[0];
    const h = 8 + pads[2]! + pads[6]! - 2, wd = 8 + pads[3]! + pads[7]! - 2;
    return modelOf(g, [1, 3, 8, 8], out, ['N', 4, h, wd], opts.opset ?? 13);
  }

  it('constant zero pads (asymmetric) are folded into the conv: same values as ORT, no Pad op left', async () => {
    const r = await againstOrt(padded([0, 0, 1, 2, 0, 0, 2, 1]), 3 * 64);
    expect(r.q.model.ops.map((o) => o.op === 'conv' && o.pads)).toEqual([[1, 2, 2, 1], [1, 1, 1, 1]]);
    expect(r.gap).toBeLessThanOrEqual(1e-5);
    expect(r.minCos).toBeGreaterThan(0.99);
  });

  const rejects = async (model: ModelDef, pattern: RegExp) => {
    let calibrated = false;
    const calibration = (function* () { calibrated = true; yield* inputs(1, 2, 3 * 64); })();
    const err = await quantizeModel(writeOnnx(model), { calibration, calibrationCount: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect(err.code).toBe('UNSUPPORTED_OP');
    expect(err.message).toMatch(pattern);
    expect(calibrated).toBe(false);
  };

  it('reflect mode, a non-zero value, negative pads, pads on N: typed errors naming the node', async () => {
    await rejects(padded([0, 0, 1, 1, 0, 0, 1, 1], { mode: 'reflect' }), /^node "pad_\d+" \(Pad\): Pad mode "reflect" is not supported/);
    await rejects(padded([0, 0, 1, 1, 0, 0, 1, 1], { value: 0.5 }), /^node "pad_\d+" \(Pad\): Pad value 0.5 is not supported/);
    await rejects(padded([0, 0, 2, 1, 0, 0, -1, 1]), /^node "pad_\d+" \(Pad\): negative pads \[0,0,2,1,0,0,-1,1\]/);
    await rejects(padded([1, 0, 1, 1, 0, 0, 1, 1]), /^node "pad_\d+" \(Pad\): pads \[1,0,1,1,0,0,1,1\] pad the batch or channel axis/);
  });
});

describe('input shapes', () => {
  it('a non-square 1x3x96x160 input: quantize, run, same top-1 as ORT', async () => {
    const g = new PatternGraph(new Rng(9), 8);
    const c = g.link(g.conv('input', 3, 8), 'Relu');
    const x = g.node('MaxPool', [c], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) })[0];
    const out = g.node('Softmax', [g.head(g.link(g.conv(x, 8, 8), 'Relu'), 8, 5)], { axis: attr.int(1) })[0];
    const r = await againstOrt(modelOf(g, [1, 3, 96, 160], out, [1, 5]), 3 * 96 * 160, { calib: 6, tests: 3 });
    expect(r.q.model.input.nchw).toEqual([1, 3, 96, 160]);
    expect(r.gap).toBeLessThanOrEqual(1e-5);
    expect(r.top1).toBe(1);
  });

  it('a 1-channel 28x28 input (MNIST-like): quantize, run, same top-1 as ORT', async () => {
    const g = new PatternGraph(new Rng(10), 28, 1);
    const x = g.node('MaxPool', [g.link(g.conv('input', 1, 8), 'Relu')], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) })[0];
    const out = g.node('Softmax', [g.head(g.link(g.conv(x, 8, 8), 'Relu'), 8, 10)], { axis: attr.int(1) })[0];
    const r = await againstOrt(g.model(out, [1, 10]), 28 * 28);
    expect(r.q.model.input.nchw).toEqual([1, 1, 28, 28]);
    expect(r.gap).toBeLessThanOrEqual(1e-5);
    expect(r.top1).toBe(1);
  });

  it('an NHWC input read by Transpose(0, 3, 1, 2) (tf2onnx): folded, the .edgeq takes NCHW', async () => {
    const g = new PatternGraph(new Rng(12), 8);
    const nchw = g.node('Transpose', ['input'], { perm: attr.ints([0, 3, 1, 2]) })[0];
    const out = g.head(g.link(g.conv(g.link(g.conv(nchw, 3, 8), 'Relu'), 8, 8), 'Relu'), 8, 4);
    const bytes = writeOnnx(modelOf(g, [1, 8, 8, 3], out, [1, 4]));
    // Calibration inputs, like run()'s, are NCHW.
    const q = await quantizeModel(bytes, { calibration: inputs(1, 8, 3 * 64), calibrationCount: 8 });
    expect(q.model.input.nchw).toEqual([1, 3, 8, 8]);
    expect(q.model.ops.map((o) => o.op)).toEqual(['conv', 'conv', 'gap', 'conv']);
    const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq), e = await Session.create(q.edgeq);
    for (const x of inputs(2, 4, 3 * 64)) {
      const nhwc = new Float32Array(x.length);
      for (let c = 0; c < 3; c++) for (let i = 0; i < 64; i++) nhwc[i * 3 + c] = x[c * 64 + i]!;
      const f = (await fp32.run({ input: nhwc })).outputs[fp32.outputNames[0]!]!.data as Float32Array;
      const d = (await qdq.run({ [qdq.inputNames[0]!]: x })).outputs[qdq.outputNames[0]!]!.data as Float32Array;
      const y = await e.run(x);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - d[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(d[i]!)));
      expect(cosine(f, y)).toBeGreaterThan(0.99);
    }
    await fp32.release(); await qdq.release(); e.release();
  });

  it('a symbolic batch dimension ("N") is accepted; a batch of 2 runs as two images', async () => {
    const g = new PatternGraph(new Rng(11), 8);
    const out = g.head(trunk(g, 3), 8, 4);
    const bytes = writeOnnx(modelOf(g, ['N', 3, 8, 8], out, ['N', 4]));
    const q = await quantizeModel(bytes, { calibration: inputs(1, 8, 3 * 64), calibrationCount: 8 });
    expect(q.model.input.nchw).toEqual([1, 3, 8, 8]);
    const e = await Session.create(q.edgeq);
    const [a, b] = inputs(3, 2, 3 * 64);
    const both = new Float32Array(2 * 3 * 64);
    both.set(a!, 0); both.set(b!, 3 * 64);
    const y = await e.run(both), ya = await e.run(a!), yb = await e.run(b!);
    expect(Array.from(y)).toEqual([...Array.from(ya), ...Array.from(yb)]);
    e.release();
  });
});
