// runTensor(): run()'s data with the output's name and ONNX dims (batch first), like an
// onnxruntime-web Tensor; run() itself is unchanged.
import { beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

let model: Uint8Array;
beforeAll(async () => {
  const calib = tinyInputs(800, 8);
  model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 23 })), { calibration: calib, calibrationCount: calib.length })).edgeq;
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('runTensor', () => {
  it('batch 1 and 3: name, float32, dims [N, 10], the same data as run()', async () => {
    const s = await Session.create(model, { threads: 1 });
    const xs = tinyInputs(801, 3);
    const one = await s.runTensor(xs[0]);
    expect(one.name).toBe('logits');
    expect(one.type).toBe('float32');
    expect(one.dims).toEqual([1, 10]);
    expect(bits(one.data)).toEqual(bits(await s.run(xs[0])));
    const batch = new Float32Array(3 * xs[0].length);
    xs.forEach((x, i) => batch.set(x, i * x.length));
    const three = await s.runTensor(batch);
    expect(three.dims).toEqual([3, 10]);
    expect(bits(three.data)).toEqual(bits(await s.run(batch)));
    for (let i = 0; i < 3; i++) expect(bits(three.data.subarray(10 * i, 10 * i + 10))).toEqual(bits(await s.run(xs[i])));
    s.release();
  });

  it('rejects like run(): bad input, released', async () => {
    const s = await Session.create(model, { threads: 1 });
    await expect(s.runTensor(new Float32Array(5))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    s.release();
    const e = await s.runTensor(tinyInputs(1, 1)[0]).catch((err) => err);
    expect(e).toBeInstanceOf(EdgeqError);
    expect(e.code).toBe('RELEASED');
  });
});
