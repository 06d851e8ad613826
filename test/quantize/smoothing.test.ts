// Activation smoothing (tools/quantize/smoothing.ts): its noise prediction against a Monte Carlo
// simulation of the same quantization, the choice it makes on a layer where smoothing must pay and on
// one where it cannot, the merged histogram of a rescaled tensor, and the quantizer end to end on a
// stem whose pool feeds two convs (the pair shape it was built for): fp32 function unchanged (1e-5),
// QDQ export close to fp32.
import { describe, expect, it } from 'vitest';
import type { NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeNode } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { Rng } from '../../tools/synth/random.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { prepareGraph, type FConv } from '../../tools/quantize/prepare.js';
import { ActivationHistogram, mseRange } from '../../tools/quantize/histogram.js';
import { activationScales, equalizablePairs } from '../../tools/quantize/cle.js';
import { chooseStrength, mergeFolds, predictPairNoise, SMOOTHING_STRENGTHS } from '../../tools/quantize/smoothing.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { classifierModel, spreadConv, tinyInputs } from './tiny-cnn.js';

/** A 1x1 conv over C channels with weights w(o, c). */
function consumer(C: number, O: number, w: (o: number, c: number) => number): FConv {
  return {
    op: 'conv', name: 'next', input: 't', output: 'y', preActivation: 'y', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1],
    group: 1, inChannels: C, outChannels: O, activation: { kind: 'none' }, nodes: [],
    weights: Float32Array.from({ length: O * C }, (_, k) => w(Math.floor(k / C), k % C)), bias: new Float32Array(O),
  } as unknown as FConv;
}

/** Per-channel samples: channel c uniform on [0, top[c]] (a ReLU output without its zeros). */
function samples(top: number[], n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return top.map((t) => Float32Array.from({ length: n }, () => rng.uniform(0, t)));
}

function histograms(data: Float32Array[]): ActivationHistogram[] {
  return data.map((d) => { const h = new ActivationHistogram(256); h.add(d); return h; });
}

/**
 * The consumer's output noise per output pixel, simulated: quantize x / s on [lo, hi] and W * s per
 * row; the weights' error net of its mean (bias correction removes that), as the prediction assumes.
 */
function simulate(data: Float32Array[], conv: FConv, s: Float64Array, levels: number): { activation: number; weights: number } {
  const C = data.length, O = conv.outChannels, n = data[0].length;
  const merged = new ActivationHistogram();
  for (let c = 0; c < C; c++) merged.add(data[c].map((v) => v / s[c]));
  const { lo, hi } = mseRange(merged, levels);
  const step = (hi - lo) / (levels - 1);
  const q = (v: number) => Math.min(hi, Math.max(lo, lo + step * Math.round((v - lo) / step)));
  const wq = new Float64Array(O * C);
  for (let o = 0; o < O; o++) {
    let top = 0;
    for (let c = 0; c < C; c++) top = Math.max(top, Math.abs(conv.weights[o * C + c] * s[c]));
    const ws = top / 127;
    for (let c = 0; c < C; c++) wq[o * C + c] = ws * Math.round((conv.weights[o * C + c] * s[c]) / ws);
  }
  const mean = data.map((d, c) => d.reduce((a, v) => a + v, 0) / n / s[c]);
  let activation = 0, weights = 0;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < O; o++) {
      let ea = 0, ew = 0;
      for (let c = 0; c < C; c++) {
        const x = data[c][i], xs = x / s[c], w = conv.weights[o * C + c];
        ea += w * s[c] * (q(xs) - xs);
        ew += (wq[o * C + c] - w * s[c]) * (xs - mean[c]);
      }
      activation += ea * ea;
      weights += ew * ew;
    }
  }
  return { activation: activation / n, weights: weights / n };
}

describe('activation smoothing: the noise prediction', () => {
  // One strong channel and seven weak ones, the weak ones read through large weights: the case smoothing is for.
  const top = [10, 0.2, 0.3, 0.15, 0.25, 0.2, 0.1, 0.3];
  const data = samples(top, 4000, 1);
  const rng = new Rng(2);
  const conv = consumer(8, 6, (o, c) => (c === 0 ? 0.05 : 1) * rng.normal());
  const chans = histograms(data);

  for (const strength of [0, 0.5, 1]) {
    it(`matches a simulation of the same quantization within 15% (strength ${strength})`, () => {
      const s = activationScales(Float64Array.from(top), 32, strength);
      const p = predictPairNoise(chans, [conv], s, 256);
      const m = simulate(data, conv, s, 256);
      expect(p.activation / m.activation).toBeGreaterThan(0.85);
      expect(p.activation / m.activation).toBeLessThan(1.15);
      expect(p.weights / m.weights).toBeGreaterThan(0.85);
      expect(p.weights / m.weights).toBeLessThan(1.15);
    });
  }

  it('picks a strength > 0 where the weak channels dominate the noise, and none where channels are balanced', () => {
    // chooseSmoothing's rule: the least predicted noise over SMOOTHING_STRENGTHS.
    const noise = SMOOTHING_STRENGTHS.map((a) => {
      const p = predictPairNoise(chans, [conv], activationScales(Float64Array.from(top), 32, a), 256);
      return p.activation + p.weights;
    });
    expect(Math.min(...noise.slice(1))).toBeLessThan(noise[0] / 2);
    // Equal channels: every strength gives s = 1, the same noise, so strength 0 (nothing) is kept.
    const flat = histograms(samples([1, 1, 1, 1, 1, 1, 1, 1], 2000, 3));
    const flatNoise = SMOOTHING_STRENGTHS.map((a) => {
      const p = predictPairNoise(flat, [conv], activationScales(new Float64Array(8).fill(1), 32, a), 256);
      return p.activation + p.weights;
    });
    for (const v of flatNoise) expect(v).toBe(flatNoise[0]);
  });
});

describe('activation smoothing: the cross-validated choice', () => {
  // The layer of the prediction tests: one strong channel read through small weights, seven weak ones
  // read through large weights. Two folds of calibration images.
  const rng = new Rng(4);
  const conv = consumer(8, 6, (o, c) => (c === 0 ? 0.05 : 1) * rng.normal());
  const top = [10, 0.2, 0.3, 0.15, 0.25, 0.2, 0.1, 0.3];
  /** One fold: `samples`, with 1% of the values of the channels in `bursts` at up to 3 (rare strong activations). */
  const fold = (seed: number, bursts: number[]) => {
    const data = samples(top, 3000, seed);
    const r = new Rng(seed + 100);
    for (const c of bursts) for (let i = 0; i < data[c].length; i += 100) data[c][i] = r.uniform(1, 3);
    return histograms(data);
  };

  it('keeps the strength it would choose in-sample when the folds agree', () => {
    const folds = [fold(11, []), fold(12, [])];
    const cv = chooseStrength(folds, [conv], 256), inSample = chooseStrength([mergeFolds(folds)], [conv], 256);
    expect(inSample.strength).toBeGreaterThan(0);
    expect(cv.strength).toBe(inSample.strength);
  });

  it('backs off when each fold has strong activations in channels the other never drives (they would clip)', () => {
    // Fold A's bursts are in channels 1-3, fold B's in 4-7: scales fitted on one fold stretch the
    // other fold's burst channels, which then clip; judged on all the data at once nothing clips.
    const folds = [fold(21, [1, 2, 3]), fold(22, [4, 5, 6, 7])];
    const cv = chooseStrength(folds, [conv], 256), inSample = chooseStrength([mergeFolds(folds)], [conv], 256);
    expect(cv.strength).toBeLessThan(inSample.strength);
    // The held-out noise of the in-sample choice is what the cross-validation saw: more than its own choice's.
    const at = (a: number) => cv.noise[SMOOTHING_STRENGTHS.indexOf(a)];
    expect(at(inSample.strength)).toBeGreaterThan(at(cv.strength));
  });
});

describe('activation smoothing: merged histogram of a rescaled tensor', () => {
  it('count, min and max are exact; quantiles within one bin of the direct histogram', () => {
    const data = samples([4, 0.5, 2], 3000, 5);
    const s = [1, 0.125, 0.5];
    const merged = ActivationHistogram.scaledMerge(histograms(data).map((h, c) => ({ h, factor: 1 / s[c] })));
    const direct = new ActivationHistogram();
    for (let c = 0; c < 3; c++) direct.add(data[c].map((v) => v / s[c]));
    expect(merged.count).toBe(direct.count);
    expect(merged.min).toBeCloseTo(direct.min, 5);
    expect(merged.max).toBeCloseTo(direct.max, 5);
    for (const q of [0.1, 0.5, 0.9, 0.999]) expect(Math.abs(merged.quantile(q) - direct.quantile(q))).toBeLessThan(2 * (direct.max / 256));
  });
});

/** A ResNet-like stem: conv -> Relu -> MaxPool -> (1x1 conv -> Relu) + (1x1 shortcut conv) -> Add -> Relu -> GAP -> fc. */
function stemModel(seed = 11): Uint8Array {
  const rng = new Rng(seed);
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const m = { rng, nodes, inits };
  // The stem's rows spread over 2^-4..2^2: its channels get very different ranges.
  const conv = (x: string, cin: number, cout: number, k: number, name: string, spreadRows = false) =>
    spreadConv(m, x, cin, cout, k, name, { bias: 0.1, spread: spreadRows ? [-4, 2] : undefined });
  conv('input', 3, 16, 3, 'stem', true);
  nodes.push(makeNode('Relu', ['stem.out'], ['stem.act'], {}, 'stem.relu'));
  nodes.push(makeNode('MaxPool', ['stem.act'], ['pool.out'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, 'pool'));
  conv('pool.out', 16, 8, 1, 'branch');
  nodes.push(makeNode('Relu', ['branch.out'], ['branch.act'], {}, 'branch.relu'));
  conv('branch.act', 8, 8, 3, 'branch2');
  conv('pool.out', 16, 8, 1, 'short');
  nodes.push(makeNode('Add', ['branch2.out', 'short.out'], ['sum'], {}, 'add'));
  nodes.push(makeNode('Relu', ['sum'], ['sum.act'], {}, 'add.relu'));
  return classifierModel(m, 'sum.act', 8, { name: 'stem', size: 16, fcSeed: seed + 1 });
}

describe('activation smoothing in the quantizer', () => {
  it('a pool read by two convs is one pair whose scales reach both', () => {
    const g = prepareGraph(readOnnx(stemModel()));
    expect(equalizablePairs(g).find((p) => p.conv1 === 'stem')).toEqual({
      conv1: 'stem', consumers: ['branch', 'short'], tensors: ['stem.act', 'pool.out'],
    });
  });

  it('quantizeModel({ smooth: true }): smoothed graph computes the same fp32 function, QDQ close to fp32', async () => {
    const bytes = stemModel();
    const calib = tinyInputs(1, 8);
    const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, smooth: true });
    const smoothed = Number(q.model.meta?.smoothedPairs ?? 0);
    expect(smoothed).toBeGreaterThan(0);
    expect(q.floatOnnx).not.toBe(bytes);
    const a = await ReferenceSession.create(bytes), b = await ReferenceSession.create(q.floatOnnx), s = await ReferenceSession.create(q.qdq);
    try {
      for (const x of tinyInputs(5, 4)) {
        const ra = (await a.run({ input: x })).outputs.logits.data;
        const rb = (await b.run({ input: x })).outputs.logits.data;
        const scale = Math.max(...Array.from(ra, Math.abs));
        for (let i = 0; i < ra.length; i++) expect(Math.abs(ra[i] - rb[i])).toBeLessThanOrEqual(1e-5 * scale);
        expect(cosine(ra, (await s.run({ input: x })).outputs.logits.data)).toBeGreaterThan(0.98);
      }
    } finally {
      await a.release(); await b.release(); await s.release();
    }
    // One calibration image leaves the second fold empty: the choice is then made in-sample.
    const one = await quantizeModel(bytes, { calibration: calib.slice(0, 1), calibrationCount: 1, smooth: true });
    expect(one.edgeq.length).toBeGreaterThan(0);
    // On by default; with smooth: false the source is the fp32 reference.
    const byDefault = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, gptq: false });
    expect(byDefault.model.meta?.smoothedPairs).toBe(smoothed);
    const plain = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, smooth: false });
    expect(plain.model.meta?.smoothedPairs).toBeUndefined();
    expect(plain.floatOnnx).toBe(bytes);
  });
});
