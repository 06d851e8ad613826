// The TFLite ops beyond the first importer's (CONCATENATION, MUL, PAD, non-global AVERAGE_POOL_2D,
// MEAN, fused LOGISTIC / HARD_SWISH, SOFTMAX) and int8 models with per-channel weights: generated
// models (tools/tflite/build.ts) imported and run by edgeq against the reference interpreter
// (tools/tflite/reference.ts, TFLite's reference-kernel integer semantics) on seeded random inputs,
// each with its stated bound in output LSB; what stays out is a typed EdgeqError.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { toNCHW } from '../../src/image/index.js';
import { outputsProbabilities, Session } from '../../src/index.js';
import { classifyLogits } from '../../tools/cli/run.js';
import { importTflite, tflitePreprocess } from '../../tools/tflite/index.js';
import { readTflite } from '../../tools/tflite/reader.js';
import { runTfliteReference } from '../../tools/tflite/reference.js';
import { buildTflite, mobilenetV2Like, rng, seBlockLike, TfliteGraphBuilder, type ModelSpec } from '../../tools/tflite/build.js';

type Scheme = 'uint8' | 'int8';

/**
 * Runs `spec` through edgeq (imported with keepLogits unless `probabilities`) and the reference on
 * `count` random inputs; returns the worst |edgeq - reference| in output integers (edgeq's output
 * requantized with the TFLite tensor's own parameters) and how many outputs differ at all.
 */
async function compare(spec: ModelSpec, scheme: Scheme, count = 12, seed = 3): Promise<{ worst: number; differ: number; total: number }> {
  const bytes = buildTflite(spec);
  const model = readTflite(bytes);
  const r = importTflite(bytes, { keepLogits: true });
  const session = await Session.create(r.edgeq, { threads: 1 });
  const [, H, W, C] = r.input.shape as [number, number, number, number];
  const next = rng(seed);
  const shift = scheme === 'int8' ? 128 : 0;
  let worst = 0, differ = 0, total = 0;
  try {
    for (let n = 0; n < count; n++) {
      const px = Int32Array.from({ length: H * W * C }, () => next(256) - shift);
      const x = new Float32Array(H * W * C);
      for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) x[c * H * W + p] = (px[p * C + c]! - r.input.zeroPoint) * r.input.scale;
      const y = await session.run(x);
      const ref = runTfliteReference(model, px);
      expect(y.length).toBe(ref.data.length);
      // edgeq returns NCHW (ONNX layout), the reference NHWC.
      const oc = session.outputShape[1]!, hw = y.length / oc;
      for (let i = 0; i < y.length; i++) {
        const q = Math.round(y[(i % oc) * hw + Math.floor(i / oc)]! / ref.scale) + ref.zeroPoint;
        const d = Math.abs(q - ref.data[i]!);
        worst = Math.max(worst, d);
        if (d > 0) differ++;
        total++;
      }
    }
  } finally {
    session.release();
  }
  return { worst, differ, total };
}

function typed(f: () => unknown, code: string, text: string): void {
  try { f(); } catch (err) {
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe(code);
    expect((err as EdgeqError).message).toContain(text);
    return;
  }
  throw new Error('expected an EdgeqError, nothing was thrown');
}

type Act = ReturnType<TfliteGraphBuilder['input']>;

/** One op (after what produces its input), its builder and the bound in output LSB (a number, or computed from the built tensors). */
interface OpCase { name: string; bound: number; build: (b: TfliteGraphBuilder) => { input: Act; output: Act; bound?: number } }

/**
 * A fused activation f after a conv c: edgeq applies f to the conv's real output, TFLite to it
 * rounded to c's integers first (half an LSB of c, s_c / 2), so the results differ by up to
 * s_c / 2 * max|f'| / s_y output LSB, plus the conv's own 1 LSB and the final rounding: this bound.
 * (Where c saturates its integer range TFLite's input is clamped and the difference is unbounded;
 * the conv here has a wide range, as calibrated models' do.)
 */
function fusedBound(c: Act, y: Act, slope: number): number {
  return Math.ceil((c.scale / 2) * slope / y.scale + c.scale * slope / y.scale) + 1;
}

const OP_CASES: OpCase[] = [
  { name: 'CONV_2D 3x3 stride 2 SAME, RELU', bound: 1, build: (b) => { const x = b.input('x', [1, 9, 9, 3]); return { input: x, output: b.conv(x, { out: 6, kernel: 3, stride: 2, act: 'RELU', name: 'conv' }) }; } },
  { name: 'CONV_2D 1x1 VALID, no activation', bound: 1, build: (b) => { const x = b.input('x', [1, 5, 5, 3]); return { input: x, output: b.conv(x, { out: 16, kernel: 1, padding: 'VALID', name: 'conv' }) }; } },
  { name: 'DEPTHWISE_CONV_2D 3x3 dilation 2, RELU6', bound: 1, build: (b) => { const x = b.input('x', [1, 9, 9, 3]); return { input: x, output: b.conv(x, { kernel: 3, dilation: 2, depthwise: true, act: 'RELU6', name: 'dw' }) }; } },
  { name: 'FULLY_CONNECTED', bound: 1, build: (b) => { const x = b.input('x', [1, 4, 4, 3]); return { input: x, output: b.fullyConnected(b.pool(x, { max: true, kernel: 4, stride: 4, padding: 'VALID', name: 'max' }), 7, 'fc') }; } },
  { name: 'PAD folded into a VALID conv', bound: 1, build: (b) => { const x = b.input('x', [1, 7, 7, 3]); return { input: x, output: b.conv(b.pad(x, [1, 2, 2, 0], 'pad'), { out: 5, kernel: 3, stride: 2, padding: 'VALID', name: 'conv' }) }; } },
  { name: 'AVERAGE_POOL_2D 3x3 stride 2 SAME (count: valid taps)', bound: 1, build: (b) => { const x = b.input('x', [1, 8, 7, 3]); return { input: x, output: b.pool(x, { kernel: 3, stride: 2, padding: 'SAME', name: 'avg' }) }; } },
  { name: 'MEAN over H, W (keep_dims)', bound: 1, build: (b) => { const x = b.input('x', [1, 6, 5, 3]); return { input: x, output: b.mean(x, 'mean', true) }; } },
  { name: 'MUL same shape', bound: 1, build: (b) => { const x = b.input('x', [1, 4, 4, 3]); return { input: x, output: b.mul(x, x, 'mul') }; } },
  { name: 'MUL by a [1, 1, 1, C] gate', bound: 1, build: (b) => { const x = b.input('x', [1, 4, 4, 3]); return { input: x, output: b.mul(x, b.pool(x, { max: true, kernel: 4, stride: 4, padding: 'VALID', name: 'max' }), 'mul') }; } },
  { name: 'CONCATENATION of the input and a conv', bound: 1, build: (b) => { const x = b.input('x', [1, 4, 4, 3]); return { input: x, output: b.concat([x, b.conv(x, { out: 5, kernel: 1, name: 'c', like: x })], 'cat') }; } },
  // HardSwish' is at most 1.5 (at x = 3), the logistic's 1/4 (at 0).
  { name: 'CONV_2D + HARD_SWISH (fused)', bound: 0, build: (b) => { const x = b.input('x', [1, 6, 6, 3]); const c = b.conv(x, { out: 8, kernel: 3, name: 'c', wide: 8 }); const y = b.activation(c, 'HARD_SWISH', 'hs'); return { input: x, output: y, bound: fusedBound(c, y, 1.5) }; } },
  { name: 'CONV_2D + LOGISTIC (fused)', bound: 0, build: (b) => { const x = b.input('x', [1, 6, 6, 3]); const c = b.conv(x, { out: 8, kernel: 3, name: 'c', wide: 8 }); const y = b.activation(c, 'LOGISTIC', 'sig'); return { input: x, output: y, bound: fusedBound(c, y, 0.25) }; } },
];

describe.each<Scheme>(['uint8', 'int8'])('TFLite %s ops against the reference interpreter', (scheme) => {
  it.each(OP_CASES)('$name', async ({ name, bound, build }) => {
    const b = new TfliteGraphBuilder(scheme, 7);
    const built = build(b);
    const r = await compare(b.model(built.input, built.output), scheme, 16);
    const limit = built.bound ?? bound;
    console.log(`${scheme} ${name}: worst ${r.worst} LSB (bound ${limit}), ${r.differ} of ${r.total} differ`);
    expect(r.worst).toBeLessThanOrEqual(limit);
  });
});

describe.each<Scheme>(['uint8', 'int8'])('TFLite %s models against the reference interpreter', (scheme) => {
  it('MobileNetV2-like (conv, depthwise, ADD, PAD, AVERAGE_POOL_2D, HARD_SWISH, LOGISTIC, MEAN, FULLY_CONNECTED)', async () => {
    const r = await compare(mobilenetV2Like(scheme), scheme);
    console.log(`${scheme} MobileNetV2-like logits: worst ${r.worst} LSB, ${r.differ} of ${r.total} differ`);
    expect(r.worst).toBeLessThanOrEqual(4);
  });

  it('SE-block-like (CONCATENATION, MEAN, HARD_SWISH gate, MUL, ADD, MAX_POOL_2D, global AVERAGE_POOL_2D, RESHAPE)', async () => {
    const r = await compare(seBlockLike(scheme), scheme);
    console.log(`${scheme} SE-block-like logits: worst ${r.worst} LSB, ${r.differ} of ${r.total} differ`);
    expect(r.worst).toBeLessThanOrEqual(4);
  });
});

describe('SOFTMAX lowered to edgeq\'s softmax op', () => {
  /** A conv to [1, 1, 1, 10] logits and a SOFTMAX with `beta`. */
  function softmaxModel(scheme: Scheme, beta?: number): ModelSpec {
    const b = new TfliteGraphBuilder(scheme, 9);
    const x = b.input('x', [1, 4, 4, 3]);
    const logits = b.conv(x, { out: 10, kernel: 4, padding: 'VALID', name: 'logits' });
    return b.model(x, b.softmax(logits, 'prob', beta));
  }

  it.each<[Scheme, number | undefined]>([['uint8', 1], ['uint8', undefined], ['int8', undefined]])('%s, beta %s: probabilities are softmax(beta * logits) of the same run, and TFLite\'s within half an output LSB', async (scheme, beta) => {
    const bytes = buildTflite(softmaxModel(scheme, beta));
    const model = readTflite(bytes);
    const withSm = importTflite(bytes), logitsOnly = importTflite(bytes, { keepLogits: true });
    expect(withSm.droppedSoftmax).toBe(false);
    expect(logitsOnly.droppedSoftmax).toBe(true);
    expect(withSm.model.ops.map((o) => o.op)).toEqual(['conv', 'conv', 'softmax']);
    expect(withSm.model.outputs[0]!.name).toBe('probabilities');
    const b = (model.subgraphs[0]!.operators[1]!.options as { beta: number }).beta;
    const [sp, sl] = await Promise.all([Session.create(withSm.edgeq, { threads: 1 }), Session.create(logitsOnly.edgeq, { threads: 1 })]);
    const next = rng(4);
    let worstSelf = 0, worstRef = 0, compared = 0;
    try {
      for (let n = 0; n < 20; n++) {
        const px = Int32Array.from({ length: 48 }, () => next(256) - (scheme === 'int8' ? 128 : 0));
        const x = new Float32Array(48);
        for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) x[c * 16 + p] = (px[p * 3 + c]! - withSm.input.zeroPoint) * withSm.input.scale;
        const [p, l] = [await sp.run(x), await sl.run(x)];
        expect(p.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
        const mx = Math.max(...l);
        const e = Array.from(l, (v) => Math.exp(b * (v - mx))), sum = e.reduce((a, v) => a + v, 0);
        for (let i = 0; i < 10; i++) worstSelf = Math.max(worstSelf, Math.abs(p[i]! - e[i]! / sum));
        const refLogits = runTfliteReference(model, px), ref = runTfliteReference(model, px, { softmax: true });
        const q = Array.from(l, (v) => Math.round(v / refLogits.scale) + refLogits.zeroPoint);
        if (q.every((v, i) => v === refLogits.data[i])) {
          compared++;
          for (let i = 0; i < 10; i++) worstRef = Math.max(worstRef, Math.abs(p[i]! - ref.scale * (ref.data[i]! - ref.zeroPoint)));
        }
      }
    } finally {
      sp.release(); sl.release();
    }
    console.log(`${scheme} beta ${b}: |p - softmax(beta * logits)| <= ${worstSelf.toExponential(2)}; on ${compared} of 20 inputs with the reference's logits, |p - TFLite's quantized p| <= ${worstRef.toFixed(5)} (1/512 = ${(1 / 512).toFixed(5)})`);
    expect(worstSelf).toBeLessThan(2e-6);
    expect(compared).toBeGreaterThan(10);
    expect(worstRef).toBeLessThanOrEqual(1 / 512 + 1e-6);
  });

  it('classify() scores a softmax model\'s probabilities as they are (no second softmax)', async () => {
    const r = importTflite(buildTflite(softmaxModel('uint8')));
    const s = await Session.create(r.edgeq, { threads: 1 });
    try {
      const x = new Float32Array(48).fill(0.25);
      const p = await s.run(x);
      const top = await s.classify(x, { topK: 3 });
      const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!);
      expect(top.map((t) => t.index)).toEqual(order.slice(0, 3));
      for (const t of top) expect(t.score).toBe(p[t.index]);
      // edgeq run's scoring: the same, and softmax of logits for the keepLogits import.
      expect(outputsProbabilities(s.model)).toBe(true);
      expect(classifyLogits(p, undefined, 3, true).map((t) => [t.index, t.score])).toEqual(top.map((t) => [t.index, t.score]));
      const logits = importTflite(buildTflite(softmaxModel('uint8')), { keepLogits: true }).model;
      expect(outputsProbabilities(logits)).toBe(false);
    } finally {
      s.release();
    }
  });
});

describe('int8 input preprocessing', () => {
  it('tflitePreprocess feeds pixel p as the int8 value p - 128 (edgeq stores it as p)', async () => {
    const spec = new TfliteGraphBuilder('int8', 5);
    const x = spec.input('x', [1, 5, 5, 3]);
    const bytes = buildTflite(spec.model(x, spec.conv(x, { out: 4, kernel: 3, name: 'c' })));
    const r = importTflite(bytes);
    expect(r.input.type).toBe('int8');
    const pre = tflitePreprocess(r.input);
    expect(pre.mean).toEqual([r.input.zeroPoint + 128, r.input.zeroPoint + 128, r.input.zeroPoint + 128]);
    expect(r.model.tensors[r.model.input.tensor]!.zeroPoint).toBe(r.input.zeroPoint + 128);
    const s = await Session.create(r.edgeq, { threads: 1 });
    const next = rng(8);
    let worst = 0;
    try {
      for (let n = 0; n < 8; n++) {
        const pixels = Float32Array.from({ length: 75 }, () => next(256));
        const y = await s.run(toNCHW({ width: 5, height: 5, data: pixels }, pre));
        const ref = runTfliteReference(readTflite(bytes), Int32Array.from(pixels, (p) => p - 128));
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(Math.round(y[(i % 4) * 25 + Math.floor(i / 4)]! / ref.scale) + ref.zeroPoint - ref.data[i]!));
      }
    } finally {
      s.release();
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('what stays out is a typed error', () => {
  const u = () => new TfliteGraphBuilder('uint8', 3);
  const cases: [string, string, string, () => ModelSpec][] = [
    ['a CONCATENATION along H', 'UNSUPPORTED_OP', 'along axis 1', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.concat([x, x], 'cat', 1)); }],
    ['a PAD read by a pool', 'UNSUPPORTED_OP', 'folded into the pads', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.pool(b.pad(x, [1, 1, 1, 1], 'pad'), { kernel: 2, stride: 2, padding: 'VALID', name: 'p' })); }],
    ['a PAD as the graph output', 'UNSUPPORTED_OP', 'folded into the pads', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.pad(x, [1, 1, 1, 1], 'pad')); }],
    ['a standalone HARD_SWISH (after an ADD)', 'UNSUPPORTED_OP', 'no standalone hard-swish', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.activation(b.add(x, x, 'add'), 'HARD_SWISH', 'hs')); }],
    ['a LOGISTIC after a conv with a fused RELU', 'UNSUPPORTED_OP', 'no standalone sigmoid', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.activation(b.conv(x, { out: 3, kernel: 1, act: 'RELU', name: 'c' }), 'LOGISTIC', 's')); }],
    ['a MUL of [1, 4, 4, C] by [1, 2, 2, C]', 'UNSUPPORTED_OP', 'equal shapes', () => { const b = u(); const x = b.input('x', [1, 4, 4, 3]); return b.model(x, b.mul(x, b.pool(x, { max: true, kernel: 2, stride: 2, padding: 'VALID', name: 'half' }), 'mul')); }],
    ['a SOFTMAX that is not last', 'UNSUPPORTED_OP', 'only as the last op', () => { const b = u(); const x = b.input('x', [1, 1, 1, 3]); return b.model(x, b.conv(b.softmax(x, 'sm'), { out: 3, kernel: 1, name: 'c' })); }],
  ];
  it.each(cases)('%s', (_name, code, text, build) => {
    typed(() => importTflite(buildTflite(build())), code, text);
  });

  it('MEAN over the channels, and keep_dims output of the wrong shape', () => {
    const b = u(); const x = b.input('x', [1, 4, 4, 3]); const m = b.mean(x, 'mean', true);
    const spec = b.model(x, m);
    const axes = spec.tensors.find((t) => t.name === 'mean/axes')!;
    axes.data = new Uint8Array(Int32Array.from([1, 3]).buffer);
    typed(() => importTflite(buildTflite(spec)), 'UNSUPPORTED_OP', 'axes [1,3]');
  });

  it('an int8 weight of -128 imports exactly (the i16 kernels take it); per-channel weights along the wrong dimension do not', async () => {
    const b = new TfliteGraphBuilder('int8', 3); const x = b.input('x', [1, 4, 4, 3]);
    const spec = b.model(x, b.conv(x, { out: 4, kernel: 3, name: 'c' }));
    const w = spec.tensors.find((t) => t.name === 'c/w')!;
    const minus128 = { ...spec, tensors: spec.tensors.map((t) => (t === w ? { ...t, data: Uint8Array.from(t.data!, (v, i) => (i === 5 ? 0x80 : v)) } : t)) };
    expect((await compare(minus128, 'int8')).worst).toBeLessThanOrEqual(1);
    const wrongAxis = { ...spec, tensors: spec.tensors.map((t) => (t === w ? { ...t, scale: [0.01, 0.01, 0.01], zeroPoint: [0, 0, 0], quantizedDimension: 3 } : t)) };
    typed(() => importTflite(buildTflite(wrongAxis)), 'UNSUPPORTED_OP', 'dimension 3');
  });

  it('keepLogits must be a boolean', () => {
    typed(() => importTflite(buildTflite(mobilenetV2Like('uint8')), { keepLogits: 'yes' as unknown as boolean }), 'BAD_OPTION', 'keepLogits');
  });
});

describe('the graph\'s ends', () => {
  it('an int8 model with a float32 input + QUANTIZE and a SOFTMAX + DEQUANTIZE imports as the same integer graph', () => {
    const plain = mobilenetV2Like('int8');
    const m: ModelSpec = { ...plain, tensors: [...plain.tensors], ops: [...plain.ops] };
    const fIn = m.tensors.push({ name: 'input_f', shape: [1, 16, 16, 3], type: 0 }) - 1;
    const fOut = m.tensors.push({ name: 'prob_f', shape: [1, 10], type: 0 }) - 1;
    m.ops.unshift({ code: 114, inputs: [fIn], outputs: [plain.inputs[0]!] });
    m.ops.push({ code: 6, inputs: [plain.outputs[0]!], outputs: [fOut] });
    m.inputs = [fIn];
    m.outputs = [fOut];
    const a = importTflite(buildTflite(plain)), b = importTflite(buildTflite(m));
    expect(b.input).toEqual({ ...a.input, name: 'input_f' });
    expect(b.input.type).toBe('int8');
    const unnamed = (ops: typeof a.model.ops) => ops.map(({ name: _name, ...op }) => op);
    expect(unnamed(b.model.ops)).toEqual(unnamed(a.model.ops));
    expect(b.model.ops.at(-1)!.op).toBe('softmax');
    expect(b.model.blobs).toEqual(a.model.blobs);
    // The reference takes QUANTIZE's output as its input and ends at DEQUANTIZE's input.
    const px = Int32Array.from({ length: 768 }, (_, i) => (i * 37) % 256 - 128);
    expect(runTfliteReference(readTflite(buildTflite(m)), px, { softmax: true }).data).toEqual(runTfliteReference(readTflite(buildTflite(plain)), px, { softmax: true }).data);
  });

  it.each<Scheme>(['uint8', 'int8'])('%s MobileNetV2-like: the default import returns probabilities within 1/512 of TFLite\'s, plus what the logits\' differences move', async (scheme) => {
    const bytes = buildTflite(mobilenetV2Like(scheme));
    const model = readTflite(bytes);
    const beta = (model.subgraphs[0]!.operators.at(-1)!.options as { beta: number }).beta;
    const r = importTflite(bytes), l = importTflite(bytes, { keepLogits: true });
    const [sp, sl] = await Promise.all([Session.create(r.edgeq, { threads: 1 }), Session.create(l.edgeq, { threads: 1 })]);
    const next = rng(12);
    let worstExcess = -Infinity, top1 = 0, identical = 0;
    try {
      for (let n = 0; n < 12; n++) {
        const px = Int32Array.from({ length: 768 }, () => next(256) - (scheme === 'int8' ? 128 : 0));
        const x = new Float32Array(768);
        for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) x[c * 256 + p] = (px[p * 3 + c]! - r.input.zeroPoint) * r.input.scale;
        const p = await sp.run(x), lg = await sl.run(x);
        const ref = runTfliteReference(model, px, { softmax: true }), refL = runTfliteReference(model, px);
        const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i; return k; };
        if (argmax(p) === argmax(lg)) top1++;
        // Softmax moves each probability by at most half the largest change of its inputs (beta * s * dq).
        const dq = Math.max(...Array.from(lg, (v, i) => Math.abs(Math.round(v / refL.scale) + refL.zeroPoint - refL.data[i]!)));
        if (dq === 0) identical++;
        const bound = 1 / 512 + 0.5 * beta * refL.scale * dq + 1e-6;
        for (let i = 0; i < p.length; i++) worstExcess = Math.max(worstExcess, Math.abs(p[i]! - ref.scale * (ref.data[i]! - ref.zeroPoint)) - bound);
      }
    } finally {
      sp.release(); sl.release();
    }
    console.log(`${scheme} MobileNetV2-like: logits identical to the reference on ${identical} of 12 inputs; |p - TFLite's p| - bound <= ${worstExcess.toFixed(5)}`);
    expect(top1).toBe(12);
    expect(worstExcess).toBeLessThanOrEqual(0);
  });
});
