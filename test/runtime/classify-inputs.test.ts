// classify() takes what users have (a path, a file: URL, encoded bytes, a Blob, decoded pixels, a
// preprocessed Float32Array) and arrays of them (one batched run); every form gives the scores of
// softmax over run()'s logits for the same pixels.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readImage } from '../../src/image/decode-node.js';
import { Session } from '../../src/runtime/session.js';
import { softmax } from '../../src/runtime/postprocess.js';
import { envFixture, type EnvFixture } from '../env/fixture.js';

let fx: EnvFixture;
let session: Session;
beforeAll(async () => {
  fx = await envFixture();
  session = await Session.create(new Uint8Array(readFileSync(fx.model)), { threads: 1 });
}, 300_000);
afterAll(() => session?.release());

describe('classify inputs', () => {
  it('every image form gives the top-k of softmax(run(pixels))', async () => {
    const pixels = readImage(fx.image);
    const logits = await session.run(pixels);
    const p = softmax(logits);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, 3);
    const expected = order.map((index) => ({ index, score: p[index] }));
    const bytes = new Uint8Array(readFileSync(fx.image));
    for (const source of [fx.image, pathToFileURL(fx.image), bytes, bytes.buffer, new Blob([bytes]), pixels]) {
      const top = await session.classify(source as never, { topK: 3 });
      expect(top.map(({ index, score }) => ({ index, score })), String(source)).toEqual(expected);
    }
  });

  it('an array is one batched run: the same classes and scores as one by one', async () => {
    const pixels = readImage(fx.image);
    const flipped = { ...pixels, data: pixels.data.slice().reverse() };
    const one = [await session.classify(pixels, { topK: 2 }), await session.classify(flipped, { topK: 2 })];
    const both = await session.classify([fx.image, flipped], { topK: 2 });
    expect(both).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(both[i]!.map((c) => c.index)).toEqual(one[i]!.map((c) => c.index));
      both[i]!.forEach((c, j) => expect(c.score).toBeCloseTo(one[i]![j]!.score, 6));
    }
  });

  it('a missing image or model file is NOT_FOUND naming it; an empty array is BAD_INPUT', async () => {
    const err = await session.classify('/nonexistent/cat.jpg').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('NOT_FOUND');
    expect((err as EdgeqError).message).toContain('/nonexistent/cat.jpg');
    await expect(session.classify([])).rejects.toThrow(/empty array/);
    // The same reader loads models: a missing model file is NOT_FOUND too.
    await expect(Session.create('/nonexistent/model.edgeq')).rejects.toMatchObject({ code: 'NOT_FOUND', message: '/nonexistent/model.edgeq does not exist' });
  });
});
