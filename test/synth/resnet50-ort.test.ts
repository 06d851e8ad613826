// The embedded ResNet-50 in onnxruntime-web: both spellings load and agree, activations are
// normalized by the calibrated BatchNorms, and the top-1 class varies with the input.
// The model comes from the cache folder (generated once, about 15-20 s, on the first run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { getEmbeddedModel } from '../../tools/synth/cache-node.js';
import { syntheticBatchNCHW } from '../../tools/synth/images.js';
import { measureLogitSpread } from '../../tools/synth/logit-spread.js';

const PROBES = ['layer1.0.bn1_out', 'layer3.2.bn2_out', 'layer4.2.bn1_out'];

describe('embedded ResNet-50 in onnxruntime-web', () => {
  let tv: ReferenceSession;
  let zoo: ReferenceSession;

  beforeAll(async () => {
    const a = await getEmbeddedModel({ seed: 0, style: 'torchvision' });
    const b = await getEmbeddedModel({ seed: 0, style: 'zoo' });
    tv = await ReferenceSession.create(a.bytes, { extraOutputs: PROBES });
    zoo = await ReferenceSession.create(b.bytes);
  });
  afterAll(async () => {
    await tv?.release();
    await zoo?.release();
  });

  it('gives [1,1000] logits that agree between the torchvision and zoo spellings', async () => {
    for (let i = 0; i < 2; i++) {
      const x = syntheticBatchNCHW(900 + i, 1);
      const a = (await tv.run({ input: x })).outputs.logits!;
      const b = (await zoo.run({ data: x })).outputs.resnetv17_dense0_fwd!;
      expect(a.dims).toEqual([1, 1000]);
      expect(b.dims).toEqual([1, 1000]);
      let diff = 0, scale = 0;
      for (let k = 0; k < 1000; k++) {
        diff = Math.max(diff, Math.abs(a.data[k]! - b.data[k]!));
        scale = Math.max(scale, Math.abs(a.data[k]!));
      }
      expect(diff).toBeLessThan(1e-3 * scale);
    }
  });

  it('normalizes conv outputs: per-channel mean ~ beta and std ~ gamma on fresh synthetic images', async () => {
    // Statistics come from 8 calibration images; these are 2 other images, so the match is loose.
    const stats = new Map<string, { mean: number[]; sq: number[]; n: number }>();
    for (let i = 0; i < 2; i++) {
      const { outputs } = await tv.run({ input: syntheticBatchNCHW(950 + i, 1) });
      for (const name of PROBES) {
        const t = outputs[name]!;
        const c = t.dims[1]!, hw = t.dims[2]! * t.dims[3]!;
        const s = stats.get(name) ?? { mean: Array(c).fill(0), sq: Array(c).fill(0), n: 0 };
        for (let ch = 0; ch < c; ch++) {
          for (let p = 0; p < hw; p++) { const v = t.data[ch * hw + p]!; s.mean[ch] += v; s.sq[ch] += v * v; }
        }
        s.n += hw;
        stats.set(name, s);
      }
    }
    for (const [name, s] of stats) {
      const stds = s.mean.map((m, ch) => Math.sqrt(Math.max(s.sq[ch]! / s.n - (m / s.n) ** 2, 0)));
      const sorted = [...stds].sort((x, y) => x - y);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      // gamma is uniform in [0.5, 1.5] for these BNs, so the median std should be near 1.
      expect(median, name).toBeGreaterThan(0.5);
      expect(median, name).toBeLessThan(1.6);
      const meanAbs = s.mean.reduce((a, m) => a + Math.abs(m / s.n), 0) / s.mean.length;
      expect(meanAbs, name).toBeLessThan(0.6);
    }
  });

  it('has a real logit spread: the top-1 class varies over 20 synthetic inputs', async () => {
    const spread = await measureLogitSpread(tv, { count: 20 });
    console.log(`ResNet-50 seed 0: ${spread.distinct} distinct top-1 classes over 20 inputs, max share ${spread.maxShare}, mean logit std ${spread.meanLogitStd.toFixed(2)}`);
    expect(spread.distinct).toBeGreaterThanOrEqual(8);
    expect(spread.maxShare).toBeLessThanOrEqual(0.3);
    expect(spread.meanLogitStd).toBeGreaterThan(1);
  });
});
