// Session API behaviour on a small quantized CNN: results, options, and each bad input's typed error.
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

let edgeq: Uint8Array;
let qdq: Uint8Array;
beforeAll(async () => {
  const calib = tinyInputs(100, 16);
  const q = await quantizeModel(writeOnnx(tinyCnn({ seed: 11 })), { calibration: calib, calibrationCount: calib.length, method: 'mse', labels: Array.from({ length: 10 }, (_, i) => `label ${i}`) });
  edgeq = q.edgeq;
  qdq = q.qdq;
});

async function expectCode(p: Promise<unknown> | (() => unknown), code: string, fragment?: string) {
  let err: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe(code);
  if (fragment) expect((err as Error).message).toContain(fragment);
}

describe('Session', () => {
  it('runs, classifies with labels, and matches onnxruntime-web on the QDQ export', async () => {
    const s = await Session.create(edgeq);
    expect(s.inputNames).toEqual(['input']);
    expect(s.outputNames).toEqual(['logits']);
    expect(s.outputShape).toEqual([1, 10]);
    const ort = await ReferenceSession.create(qdq);
    const x = tinyInputs(7, 1)[0];
    const a = await s.run(x);
    const b = (await ort.run({ input: x })).outputs.logits.data;
    expect(a.length).toBe(10);
    for (let i = 0; i < 10; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(0.05 * Math.max(...Array.from(b, Math.abs)));
    const top = await s.classify(x, { topK: 3 });
    expect(top.length).toBe(3);
    expect(top[0].index).toBe(a.indexOf(Math.max(...a)));
    expect(top[0].label).toBe(`label ${top[0].index}`);
    expect(top[0].score).toBeGreaterThanOrEqual(top[1].score);
    await ort.release();
    s.release();
  });

  it('runs a batch in one call with the same results as one image at a time', async () => {
    const s = await Session.create(edgeq);
    const xs = tinyInputs(21, 3);
    const batch = new Float32Array(xs.length * xs[0].length);
    xs.forEach((x, i) => batch.set(x, i * x.length));
    const out = await s.run(batch);
    expect(out.length).toBe(30);
    for (let i = 0; i < 3; i++) expect(Array.from(out.subarray(i * 10, i * 10 + 10))).toEqual(Array.from(await s.run(xs[i])));
    s.release();
  });

  it('gives bit-identical outputs from the SIMD and scalar builds and across runs', async () => {
    const simd = await Session.create(edgeq, { backend: 'simd' });
    const scalar = await Session.create(edgeq, { backend: 'scalar' });
    expect(simd.backend).toBe('simd');
    expect(scalar.backend).toBe('scalar');
    for (const x of tinyInputs(31, 4)) {
      const a = await simd.run(x);
      expect(Array.from(await scalar.run(x))).toEqual(Array.from(a));
      expect(Array.from(await simd.run(x))).toEqual(Array.from(a));
    }
    simd.release(); scalar.release();
  });

  it('rejects a wrong input length, NaN and Infinity with BAD_INPUT', async () => {
    const s = await Session.create(edgeq);
    await expectCode(s.run(new Float32Array(100)), 'BAD_INPUT', 'needs a multiple of 768');
    await expectCode(s.run(new Float32Array(0)), 'BAD_INPUT');
    const x = tinyInputs(1, 1)[0];
    x[17] = NaN;
    await expectCode(s.run(x), 'BAD_INPUT', 'index 17');
    x[17] = Infinity;
    await expectCode(s.run(x), 'BAD_INPUT', 'not finite');
    await expectCode(s.run([1, 2, 3] as unknown as Float32Array), 'BAD_INPUT');
    s.release();
  });

  it('rejects use after release with RELEASED', async () => {
    const s = await Session.create(edgeq);
    s.release();
    await expectCode(s.run(tinyInputs(1, 1)[0]), 'RELEASED');
    await expectCode(s.classify(tinyInputs(1, 1)[0]), 'RELEASED');
  });

  it('rejects a corrupted or truncated model with BAD_MODEL', async () => {
    const flipped = edgeq.slice();
    flipped[flipped.length - 100] ^= 1;
    await expectCode(Session.create(flipped), 'BAD_MODEL', 'corrupt');
    await expectCode(Session.create(edgeq.subarray(0, edgeq.length - 10)), 'BAD_MODEL', 'truncated');
    await expectCode(Session.create(new Uint8Array(8)), 'BAD_MODEL');
  });

  it('rejects unknown and invalid options with BAD_OPTION, naming the valid ones', async () => {
    await expectCode(Session.create(edgeq, { backnd: 'simd' } as never), 'BAD_OPTION', 'valid: backend');
    await expectCode(Session.create(edgeq, { backend: 'gpu' } as never), 'BAD_OPTION', 'backend');
    const s = await Session.create(edgeq);
    await expectCode(s.classify(tinyInputs(1, 1)[0], { topK: 0 }), 'BAD_OPTION', 'topK');
    s.release();
  });
});

describe('Session with images', () => {
  it('classifies a decoded image at the model size, and rejects an image for a model it cannot preprocess for', async () => {
    const s = await Session.create(edgeq);
    // The tiny CNN is 16x16 with no stored spec: an image is preprocessed to 16x16 (ImageNet normalization).
    const image = { width: 40, height: 30, channels: 4, data: new Uint8Array(40 * 30 * 4).fill(128) };
    const out = await s.run(image);
    expect(out.length).toBe(10);
    s.release();
    // A stored 224x224 spec on a 16x16 model: an image cannot be fed (it must not run as a batch of 196).
    const { readEdgeq } = await import('../../src/format/reader.js');
    const { writeEdgeq } = await import('../../src/format/writer.js');
    const { IMAGENET } = await import('../../src/image/spec.js');
    const m = readEdgeq(edgeq);
    const wrong = await Session.create(writeEdgeq({ ...m, preprocess: IMAGENET }));
    await expectCode(wrong.run(image), 'BAD_INPUT', 'pass a preprocessed Float32Array');
    wrong.release();
  });
});
