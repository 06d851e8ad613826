// Cross-layer equalization (tools/quantize/cle.ts): which conv pairs qualify, the fp32 function is
// unchanged (onnxruntime-web on the folded graphs, 1e-5 relative), the paper's variant balances
// conv1's rows against conv2's columns, the activation variant balances the channels' ranges, and
// the quantizer runs end to end with it.
import { describe, expect, it } from 'vitest';
import type { NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeNode } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Rng } from '../../tools/synth/random.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { prepareGraph, type FConv, type FloatGraph } from '../../tools/quantize/prepare.js';
import { exportFolded } from '../../tools/quantize/export-folded.js';
import { channelRanges, columnRanges, equalizablePairs, equalizeGraph, rowRanges } from '../../tools/quantize/cle.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { classifierModel, spreadConv, tinyCnn, tinyInputs } from './tiny-cnn.js';

/**
 * A plain chain with every pair shape CLE handles: conv -> LeakyRelu -> depthwise conv -> Relu ->
 * MaxPool -> 1x1 conv (linear) -> 1x1 conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm. Output
 * channels get scales spread over 2^-3..2^3 so the ranges are far from balanced.
 */
function chainCnn(seed = 3, size = 16): Uint8Array {
  const rng = new Rng(seed);
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const m = { rng, nodes, inits };
  const conv = (x: string, cin: number, cout: number, k: number, name: string, group = 1) => spreadConv(m, x, cin, cout, k, name, { group, spread: [-3, 3], bias: 0.3 });
  let x = conv('input', 3, 8, 3, 'c1');
  nodes.push(makeNode('LeakyRelu', [x], ['c1.act'], { alpha: attr.float(0.1) }, 'c1.leaky'));
  x = conv('c1.act', 8, 8, 3, 'dw', 8);
  nodes.push(makeNode('Relu', [x], ['dw.act'], {}, 'dw.relu'));
  nodes.push(makeNode('MaxPool', ['dw.act'], ['pool.out'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, 'pool'));
  x = conv('pool.out', 8, 6, 1, 'pw');
  x = conv(x, 6, 12, 1, 'pw2');
  nodes.push(makeNode('Relu', [x], ['pw2.act'], {}, 'pw2.relu'));
  return classifierModel(m, 'pw2.act', 12, { name: 'chain-cnn', size, fcSeed: seed + 1 });
}

const conv = (g: FloatGraph, name: string) => g.ops.find((o): o is FConv => o.op === 'conv' && o.name === name)!;

/** Runs two fp32 models on the same inputs and checks the outputs agree to `tol` of the largest |output|. */
async function expectSameOutputs(a: Uint8Array, b: Uint8Array, inputs: Float32Array[], tol: number): Promise<void> {
  const sa = await ReferenceSession.create(a), sb = await ReferenceSession.create(b);
  try {
    for (const x of inputs) {
      const ra = (await sa.run({ input: x })).outputs[sa.outputNames[0]].data;
      const rb = (await sb.run({ input: x })).outputs[sb.outputNames[0]].data;
      expect(rb.length).toBe(ra.length);
      const scale = Math.max(...Array.from(ra, Math.abs));
      let worst = 0;
      for (let i = 0; i < ra.length; i++) worst = Math.max(worst, Math.abs(ra[i] - rb[i]));
      expect(worst).toBeLessThanOrEqual(tol * scale);
    }
  } finally {
    await sa.release(); await sb.release();
  }
}

describe('cross-layer equalization: eligible pairs', () => {
  it('takes pairs inside a branch and through pooling; not tensors read by an Add (or by an Add and a conv)', () => {
    const g = prepareGraph(readOnnx(writeOnnx(tinyCnn())));
    // stem -> MaxPool -> pool.out is read by b.c1 and by the Add; b.c3 feeds the Add.
    expect(equalizablePairs(g)).toEqual([
      { conv1: 'b.c1', consumers: ['b.c2'], tensors: ['b.r1.out'] },
      { conv1: 'b.c2', consumers: ['b.c3'], tensors: ['b.r2.out'] },
      { conv1: 'down', consumers: ['fc'], tensors: ['down.relu.out', 'gap.out'] },
    ]);
    const c = prepareGraph(readOnnx(chainCnn()));
    expect(equalizablePairs(c).map((p) => [p.conv1, ...p.consumers, p.tensors.length])).toEqual([
      ['c1', 'dw', 1], ['dw', 'pw', 2], ['pw', 'pw2', 1], ['pw2', 'fc', 2],
    ]);
  });

  it('leaves ineligible convs untouched and the input graph unmodified', () => {
    const g = prepareGraph(readOnnx(writeOnnx(tinyCnn())));
    const before = g.ops.map((o) => (o.op === 'conv' ? [Float32Array.from(o.weights), Float32Array.from(o.bias)] : []));
    const { graph: e } = equalizeGraph(g);
    g.ops.forEach((o, i) => {
      if (o.op === 'conv') { expect(o.weights).toEqual(before[i][0]); expect(o.bias).toEqual(before[i][1]); }
    });
    // The stem's output reaches an Add (through a shared tensor): no scale at all.
    expect(conv(e, 'stem').weights).toEqual(conv(g, 'stem').weights);
    expect(conv(e, 'stem').bias).toEqual(conv(g, 'stem').bias);
    // b.c3 feeds the Add: only its input columns move (as conv2), never its output rows or bias.
    expect(conv(e, 'b.c3').bias).toEqual(conv(g, 'b.c3').bias);
    const ratio = (name: string) => {
      const a = conv(g, name), b = conv(e, name);
      const I = a.inChannels / a.group, taps = a.kernel[0] * a.kernel[1];
      return (o: number, i: number) => b.weights[(o * I + i) * taps] / a.weights[(o * I + i) * taps];
    };
    const r3 = ratio('b.c3');
    for (let i = 0; i < 16; i++) for (let o = 1; o < 8; o++) expect(r3(o, i)).toBeCloseTo(r3(0, i), 5);
    // b.c1 reads the shared tensor: only its output rows move (as conv1), never its input columns.
    const r1 = ratio('b.c1');
    for (let o = 0; o < 16; o++) for (let i = 1; i < 8; i++) expect(r1(o, i)).toBeCloseTo(r1(o, 0), 5);
    // The residual add and the other ops are the same objects.
    expect(e.ops.filter((o) => o.op !== 'conv')).toEqual(g.ops.filter((o) => o.op !== 'conv'));
  });
});

describe('cross-layer equalization: fp32 function unchanged (onnxruntime-web, 1e-5 relative)', () => {
  const cases = [
    { name: 'tiny CNN (residual block, grouped conv, GAP -> fc)', bytes: () => writeOnnx(tinyCnn({ seed: 4 })) },
    { name: 'chain (LeakyRelu, depthwise, MaxPool, linear pair)', bytes: () => chainCnn() },
  ];
  for (const c of cases) {
    for (const method of ['weights', 'activations'] as const) {
      it(`${c.name}, ${method}`, async () => {
        const bytes = c.bytes();
        const g = prepareGraph(readOnnx(bytes));
        const inputs = tinyInputs(9, 4);
        const ranges = method === 'activations'
          ? await channelRanges(bytes, g, equalizablePairs(g).map((p) => conv(g, p.conv1).output), tinyInputs(2, 4))
          : undefined;
        const { graph, scales } = equalizeGraph(g, { method, channelRanges: ranges });
        // The scales are far from 1, so this is not a no-op.
        expect(Math.max(...[...scales.values()].flatMap((s) => Array.from(s, (v) => Math.abs(Math.log2(v)))))).toBeGreaterThan(1);
        await expectSameOutputs(exportFolded(g), exportFolded(graph), inputs, 1e-5);
      });
    }
  }
});

describe('cross-layer equalization: balance', () => {
  it('weights: r1_c / s_c == r2_c * s_c for a single pair, and along a chain once settled', () => {
    // down -> GAP -> fc is a pair on its own (down reads the residual Add): one step balances it exactly.
    const t = prepareGraph(readOnnx(writeOnnx(tinyCnn({ seed: 6 }))));
    const single = equalizeGraph(t, { method: 'weights' });
    const r1 = rowRanges(conv(t, 'down')), r2 = columnRanges(conv(t, 'fc')), s = single.scales.get('down')!;
    for (let c = 0; c < r1.length; c++) {
      expect(Math.abs(r1[c] / s[c] - r2[c] * s[c])).toBeLessThan(1e-6 * r1[c] / s[c]);
      expect(Math.abs(s[c] - 1)).toBeGreaterThan(0);
    }
    // A chain: each pair's rows against its columns, once the sweeps have settled.
    const g = prepareGraph(readOnnx(chainCnn()));
    const { graph } = equalizeGraph(g, { method: 'weights', iterations: 100 });
    for (const p of equalizablePairs(graph)) {
      const a = rowRanges(conv(graph, p.conv1)), b = columnRanges(conv(graph, p.consumers[0]));
      for (let c = 0; c < a.length; c++) expect(Math.abs(Math.log(a[c] / b[c]))).toBeLessThan(1e-3);
    }
    // Unequalized, the same ranges were off by up to 2^3 and more.
    const spread = equalizablePairs(g).flatMap((p) => {
      const a = rowRanges(conv(g, p.conv1)), b = columnRanges(conv(g, p.consumers[0]));
      return Array.from(a, (v, c) => Math.abs(Math.log2(v / b[c])));
    });
    expect(Math.max(...spread)).toBeGreaterThan(2);
  });

  it('activations: every channel of an equalized tensor spans the same range, conv2 columns only shrink', async () => {
    const bytes = chainCnn(5);
    const g = prepareGraph(readOnnx(bytes));
    const calib = tinyInputs(2, 6);
    const tensors = equalizablePairs(g).map((p) => conv(g, p.conv1).output);
    const before = await channelRanges(bytes, g, tensors, calib);
    const { graph, scales } = equalizeGraph(g, { method: 'activations', channelRanges: before, maxRatio: 1e6 });
    const after = await channelRanges(exportFolded(graph), graph, tensors, calib);
    for (const t of tensors) {
      const a = after.get(t)!, top = Math.max(...before.get(t)!);
      for (let c = 0; c < a.length; c++) if (before.get(t)![c] > 0) expect(a[c] / top).toBeCloseTo(1, 4);
    }
    // s_c <= 1, the largest channel keeps s = 1.
    for (const s of scales.values()) {
      expect(Math.max(...s)).toBe(1);
      expect(Math.min(...s)).toBeLessThan(0.5);
    }
  });

  it('activations: a weak channel is floored at 1 / maxRatio of the largest', () => {
    const g = prepareGraph(readOnnx(chainCnn()));
    const ranges = new Map(equalizablePairs(g).map((p) => {
      const r = new Float64Array(conv(g, p.conv1).outChannels).fill(1);
      r[0] = 0; r[1] = 1e-3;
      return [conv(g, p.conv1).output, r];
    }));
    const { scales } = equalizeGraph(g, { method: 'activations', channelRanges: ranges, maxRatio: 16 });
    for (const s of scales.values()) {
      expect(s[0]).toBe(1 / 16);
      expect(s[1]).toBe(1 / 16);
      expect(s[2]).toBe(1);
    }
  });
});

describe('cross-layer equalization in the quantizer', () => {
  for (const equalize of [true, 'activations'] as const) {
    it(`quantizeModel({ equalize: ${JSON.stringify(equalize)} }): calibrates the equalized graph, QDQ close to fp32`, async () => {
      const bytes = chainCnn(7);
      const calib = tinyInputs(1, 8);
      // A generator: the activation variant needs the images twice and must buffer them itself.
      function* once() { yield* calib; }
      const q = await quantizeModel(bytes, { calibration: once(), calibrationCount: calib.length, equalize });
      expect(q.model.meta?.equalization).toBe(equalize === true ? 'weights' : equalize);
      expect(q.floatOnnx).not.toBe(bytes);
      // The graph quantized is the equalized one, and the fp32 model calibration ran computes it.
      await expectSameOutputs(bytes, q.floatOnnx, tinyInputs(4, 2), 1e-4);
      const ref = await ReferenceSession.create(bytes), s = await ReferenceSession.create(q.qdq);
      for (const x of tinyInputs(4, 4)) {
        const a = (await ref.run({ input: x })).outputs.logits.data, b = (await s.run({ input: x })).outputs.logits.data;
        expect(cosine(a, b)).toBeGreaterThan(0.98);
      }
      await ref.release(); await s.release();
    });
  }

  it('without equalize (or smoothing) the source model is the fp32 reference', async () => {
    const bytes = chainCnn(7);
    const q = await quantizeModel(bytes, { calibration: tinyInputs(1, 4), calibrationCount: 4, smooth: false });
    expect(q.floatOnnx).toBe(bytes);
    expect(q.model.meta?.equalization).toBeUndefined();
  });
});
