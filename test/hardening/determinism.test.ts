// Determinism: the same input gives bit-identical output on every run, with the SIMD and the scalar
// kernel builds, on 1 and 2 threads, and in a batch as alone. Every kernel path is covered (the
// synthetic models have im2col/IGEMM/GEMM/grouped/depthwise convs, LeakyRelu, max pool, add, fused
// residual, uint8 and float32 pooling), plus the tiny CNN and darknet-tiny through the quantizer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Session, type SessionOptions } from '../../src/runtime/session.js';
import { UNIT } from '../../src/image/spec.js';
import { syntheticBatchNCHW } from '../../tools/synth/images.js';
import { synthInput } from '../../tools/fuzz/seeds.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { HAS_SHARED, SHARED } from '../helpers.js';
import { synthModel, tinyCnnModel, type TestModel } from './models.js';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function outputs(m: TestModel, options: SessionOptions, inputs: Float32Array[], repeat = 2): Promise<number[][]> {
  const s = await Session.create(m.bytes, options);
  const out: number[][] = [];
  try {
    for (let r = 0; r < repeat; r++) for (const x of inputs) out.push(bits(await s.run(x)));
  } finally {
    s.release();
  }
  return out;
}

const models: TestModel[] = [];
beforeAll(async () => {
  models.push(await tinyCnnModel(), await tinyCnnModel({ leaky: true, fuseResidual: true, seed: 4 }));
  for (let n = 0; n < 6; n++) models.push(synthModel(n));
  for (let n = 0; n < 3; n++) models.push(synthModel(n, true));
  if (HAS_SHARED) {
    const onnx = new Uint8Array(readFileSync(join(SHARED, 'models', 'darknet-tiny', 'model.onnx')));
    const batch = syntheticBatchNCHW(5, 3, UNIT);
    const per = batch.length / 3;
    const calibration = [0, 1, 2].map((i) => batch.subarray(i * per, (i + 1) * per));
    const q = await quantizeModel(onnx, { calibration, calibrationCount: 3, preprocess: UNIT });
    models.push({ name: 'darknet-tiny', bytes: q.edgeq, input: calibration[0]! });
  }
});

describe('determinism', () => {
  it('repeated runs, SIMD vs scalar, 1 vs 2 threads: bit-identical', async () => {
    for (const m of models) {
      const s = await Session.create(m.bytes, { threads: 1 });
      const shape = s.inputShape as number[];
      s.release();
      const inputs = [m.input, synthInput(11, shape), synthInput(12, shape)];
      const simd = await outputs(m, { backend: 'simd', threads: 1 }, inputs);
      // Repeats agree with the first pass.
      expect(simd.slice(3), `${m.name}: repeated runs`).toEqual(simd.slice(0, 3));
      expect(await outputs(m, { backend: 'scalar', threads: 1 }, inputs, 1), `${m.name}: scalar build`).toEqual(simd.slice(0, 3));
      expect(await outputs(m, { backend: 'simd', threads: 2 }, inputs, 1), `${m.name}: 2 threads`).toEqual(simd.slice(0, 3));
      // A batch of the three gives the same numbers as the three alone.
      const batch = new Float32Array(inputs.length * inputs[0]!.length);
      inputs.forEach((x, i) => batch.set(x, i * x.length));
      const [b] = await outputs(m, { backend: 'simd', threads: 1 }, [batch], 1);
      expect(b, `${m.name}: batch of 3`).toEqual(simd.slice(0, 3).flat());
    }
  });

  it('outputs are not degenerate (the comparison above means something)', async () => {
    for (const m of models) {
      const s = await Session.create(m.bytes, { threads: 1 });
      const a = await s.run(m.input), b = await s.run(synthInput(11, s.inputShape as number[]));
      s.release();
      expect(new Set(a).size, m.name).toBeGreaterThan(1);
      expect(bits(a), m.name).not.toEqual(bits(b));
    }
  });
});
