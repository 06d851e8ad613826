// The embedded MobileNets in onnxruntime-web fp32: deterministic seeded build (a fresh build equals
// the cached file byte for byte), [1,1000] logits, normalized activations, and a top-1 class that
// varies with the input. The models come from the cache folder (generated once, a few seconds each).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { embeddedMobileNetPath, getEmbeddedMobileNet } from '../../tools/synth/mobilenet-cache-node.js';
import { syntheticBatchNCHW } from '../../tools/synth/images.js';
import { measureLogitSpread } from '../../tools/synth/logit-spread.js';
import { buildMobileNet, type MobileNetName } from '../../tools/synth/mobilenet.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** BN outputs probed per model (before the activation): an early expand, a depthwise and the last conv. */
const PROBES: Record<MobileNetName, string[]> = {
  mobilenetv2: ['features.2.conv.0.1_out', 'features.7.conv.1.1_out', 'features.18.1_out'],
  'mobilenetv3-small': ['features.2.block.0.1_out', 'features.6.block.1.1_out', 'features.12.1_out'],
};

for (const name of ['mobilenetv2', 'mobilenetv3-small'] as const) {
  describe(`embedded ${name} in onnxruntime-web`, () => {
    let bytes: Uint8Array;
    let session: ReferenceSession;

    beforeAll(async () => {
      bytes = (await getEmbeddedMobileNet(name)).bytes;
      session = await ReferenceSession.create(bytes, { extraOutputs: PROBES[name] });
    });
    afterAll(async () => { await session?.release(); });

    it('is deterministic: a fresh build equals the cached model byte for byte', async () => {
      expect(embeddedMobileNetPath(name, 0)).toMatch(new RegExp(`${name}-seed0-g\\d+\\.onnx$`));
      const t0 = performance.now();
      const fresh = writeOnnx(await buildMobileNet(name, { seed: 0 }));
      console.log(`${name} build (weights + BN calibration + write): ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(fresh.length / 1e6).toFixed(1)} MB`);
      expect(sha(fresh)).toBe(sha(bytes));
      const other = writeOnnx(await buildMobileNet(name, { seed: 1, calibImages: 2 }));
      expect(other.length).toBe(fresh.length);
      expect(sha(other)).not.toBe(sha(fresh));
    });

    it('gives [1,1000] finite logits and normalized BN outputs (median channel std near gamma ~ 1)', async () => {
      const stats = new Map<string, { s: number[]; sq: number[]; n: number }>();
      for (let i = 0; i < 2; i++) {
        const { outputs } = await session.run({ input: syntheticBatchNCHW(950 + i, 1) });
        expect(outputs.logits!.dims).toEqual([1, 1000]);
        expect(outputs.logits!.data.every(Number.isFinite)).toBe(true);
        for (const p of PROBES[name]) {
          const t = outputs[p]!;
          const c = t.dims[1]!, hw = t.dims[2]! * t.dims[3]!;
          const st = stats.get(p) ?? { s: Array(c).fill(0), sq: Array(c).fill(0), n: 0 };
          for (let ch = 0; ch < c; ch++) for (let q = 0; q < hw; q++) { const v = t.data[ch * hw + q]!; st.s[ch] += v; st.sq[ch] += v * v; }
          st.n += hw;
          stats.set(p, st);
        }
      }
      for (const [p, st] of stats) {
        // Statistics come from 8 calibration images; these are 2 others, so the match is loose.
        const stds = st.s.map((m, ch) => Math.sqrt(Math.max(st.sq[ch]! / st.n - (m / st.n) ** 2, 0))).sort((a, b) => a - b);
        const median = stds[stds.length >> 1]!;
        expect(median, p).toBeGreaterThan(0.4);
        expect(median, p).toBeLessThan(1.8);
      }
    });

    it('has a real logit spread: the top-1 class varies over 20 synthetic inputs', async () => {
      const spread = await measureLogitSpread(session, { count: 20 });
      console.log(`${name} seed 0: ${spread.distinct} distinct top-1 classes over 20 inputs, max share ${spread.maxShare}, mean logit std ${spread.meanLogitStd.toFixed(2)}`);
      expect(spread.distinct).toBeGreaterThanOrEqual(8);
      expect(spread.maxShare).toBeLessThanOrEqual(0.3);
      expect(spread.meanLogitStd).toBeGreaterThan(1);
    });
  });
}
