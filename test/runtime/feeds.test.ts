// run() takes onnxruntime-web-style feeds ({ [inputName]: tensor }) and returns { [outputName]: tensor },
// the same data as run() of the plain Float32Array; wrong names and dims are typed one-line errors.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { envFixture } from '../env/fixture.js';

let session: Session;
beforeAll(async () => {
  const fx = await envFixture();
  session = await Session.create(new Uint8Array(readFileSync(fx.model)), { threads: 1 });
}, 300_000);
afterAll(() => session?.release());

describe('run(feeds)', () => {
  it('a named Float32Array or { data, dims } (an ort.Tensor\'s shape) equals run(Float32Array)', async () => {
    const [, c, h, w] = session.inputShape as number[];
    const x = Float32Array.from({ length: 2 * c! * h! * w! }, (_, i) => Math.sin(i) * 0.5);
    const ref = await session.run(x);
    const name = session.inputNames[0]!, out = session.outputNames[0]!;
    const [, classes] = session.outputShape as number[];
    // Feeds in, every output by name out (onnxruntime-web's session.run): { [outputName]: tensor }.
    const want = { [out]: { name: out, type: 'float32', dims: [2, classes!], data: ref } };
    expect(await session.run({ [name]: x })).toEqual(want);
    expect(await session.run({ [name]: { data: x, dims: [2, c!, h!, w!] } })).toEqual(want);
    expect(await session.run({ [name]: x }, { fetches: [out] })).toEqual(want);
    const tensor = await session.runTensor({ [name]: { data: x, dims: [2, c!, h!, w!] } });
    expect(tensor.dims[0]).toBe(2);
    expect(tensor.data).toEqual(ref);
  });

  it('rejects a wrong input name or dims, naming the input', async () => {
    const [, c, h, w] = session.inputShape as number[];
    const x = new Float32Array(c! * h! * w!);
    const name = session.inputNames[0]!;
    await expect(session.run({ images: x })).rejects.toMatchObject({ code: 'BAD_INPUT', message: `feeds name ["images"]; this model has one input, "${name}"` });
    await expect(session.run({ [name]: { data: x, dims: [1, c!, w!, h! + 1] } })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining(`the model takes [N, ${c}, ${h}, ${w}]`) });
    await expect(session.run({ [name]: { data: [1, 2] as never } })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
