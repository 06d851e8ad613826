// Sessions over models with the mul, concat, avgpool ops and a ceil-mode max pool
// (synthBlocksQModel): the .edgeq round trip is exact, every backend and thread count gives the
// same output bytes, and a batch of 2 equals the two images run alone.
import { describe, expect, it } from 'vitest';
import { readEdgeq } from '../../src/format/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import { Session } from '../../src/runtime/session.js';
import { synthBlocksQModel, synthInput } from '../../tools/fuzz/seeds.js';

describe('mul / concat / avgpool models in a session', () => {
  it('round trip, simd == scalar == 2 threads, batch 2 == two runs of 1', async () => {
    const kinds = new Set<string>();
    for (const seed of [0, 1, 2, 3]) {
      const m = synthBlocksQModel(seed);
      for (const op of m.ops) kinds.add(op.op);
      const bytes = writeEdgeq(m);
      expect(readEdgeq(bytes).ops).toEqual(m.ops);
      const simd = await Session.create(bytes, { backend: 'simd', threads: 1 });
      const scalar = await Session.create(bytes, { backend: 'scalar', threads: 1 });
      const mt = await Session.create(bytes, { backend: 'simd', threads: 2 });
      const shape = simd.inputShape as number[];
      const x0 = synthInput(seed, shape), x1 = synthInput(seed + 100, shape);
      const y0 = await simd.run(x0), y1 = await simd.run(x1);
      expect(y0.every(Number.isFinite)).toBe(true);
      expect(new Set(y0).size, `seed ${seed}: outputs vary`).toBeGreaterThan(1);
      expect(await scalar.run(x0), `seed ${seed} scalar`).toEqual(y0);
      expect(await mt.run(x1), `seed ${seed} threads 2`).toEqual(y1);
      const both = new Float32Array(x0.length * 2);
      both.set(x0); both.set(x1, x0.length);
      expect(await simd.run(both), `seed ${seed} batch 2`).toEqual(Float32Array.from([...y0, ...y1]));
      expect(await mt.run(both), `seed ${seed} batch 2, threads 2`).toEqual(Float32Array.from([...y0, ...y1]));
      simd.release(); scalar.release(); mt.release();
    }
    expect([...kinds].sort()).toEqual(['avgpool', 'concat', 'conv', 'gap', 'maxpool', 'mul']);
  });
});
