// softmax and topK (exported helpers, and what classify() is made of) against hand-computed values.
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { softmax, topClasses, topK } from '../../src/runtime/postprocess.js';
import { Session } from '../../src/runtime/session.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeqError);
    return `${(e as EdgeqError).code}: ${(e as Error).message}`;
  }
  return 'returned';
}

describe('softmax', () => {
  it('normalizes each row; large logits do not overflow', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p).toBeInstanceOf(Float64Array);
    expect(p[0]).toBeCloseTo(0.25, 15);
    expect(p[1]).toBeCloseTo(0.75, 15);
    const big = softmax(new Float32Array([1000, 1000 + Math.log(3), 5, 5]), 2);
    expect([big[2], big[3]]).toEqual([0.5, 0.5]);
    expect(big[0]).toBeCloseTo(0.25, 4);
    expect(big[1]).toBeCloseTo(0.75, 4);
  });

  it('a size that does not divide the length is BAD_OPTION', () => {
    expect(code(() => softmax([1, 2, 3], 2))).toMatch(/^BAD_OPTION: softmax size/);
    expect(code(() => softmax([1, 2], 0))).toMatch(/^BAD_OPTION/);
  });
});

describe('topK', () => {
  it('largest first, ties in index order, at most the length', () => {
    expect(topK([0.1, 0.5, 0.2, 0.5], 3)).toEqual([{ index: 1, value: 0.5 }, { index: 3, value: 0.5 }, { index: 2, value: 0.2 }]);
    expect(topK(new Float32Array([3, 1]), 5).map((t) => t.index)).toEqual([0, 1]);
    expect(code(() => topK([1], 0))).toMatch(/^BAD_OPTION: topK/);
    expect(code(() => topK([1], 1.5))).toMatch(/^BAD_OPTION/);
  });
});

describe('classify', () => {
  let model: Uint8Array;
  beforeAll(async () => {
    const calib = tinyInputs(700, 8);
    model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 19 })), { calibration: calib, calibrationCount: calib.length })).edgeq;
  });

  it('is topK of run() with softmax scores (a naive reference)', async () => {
    const s = await Session.create(model, { threads: 1 });
    for (const x of tinyInputs(701, 3)) {
      const logits = Array.from(await s.run(x));
      const e = logits.map((v) => Math.exp(v - Math.max(...logits)));
      const sum = e.reduce((a, b) => a + b, 0);
      const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, 4);
      const got = await s.classify(x, { topK: 4 });
      expect(got.map((c) => c.index)).toEqual(order);
      got.forEach((c, i) => expect(c.score).toBeCloseTo(e[order[i]] / sum, 12));
      expect(got.map((c) => c.label)).toEqual(order.map((i) => `class ${i}`));
    }
    s.release();
  });
});

describe('topClasses', () => {
  it('topK order with softmax scores and the labels; class <i> where a label is missing', () => {
    const logits = Float32Array.from([0.5, 3, -1, 3, 2]);
    const p = softmax(logits);
    expect(topClasses(logits, 3, ['a', 'b', 'c', 'd'])).toEqual([
      { index: 1, label: 'b', score: p[1] }, { index: 3, label: 'd', score: p[3] }, { index: 4, label: 'class 4', score: p[4] },
    ]);
    expect(topClasses(logits, 1)).toEqual([{ index: 1, label: 'class 1', score: p[1] }]);
    expect(() => topClasses(logits, 0)).toThrow(EdgeqError);
  });
});
