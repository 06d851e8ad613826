// Determinism of the embedded ResNet-50: a fresh build gives the cached file bit for bit.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { cacheDir, embeddedModelPath, getEmbeddedModel } from '../../tools/synth/cache-node.js';
import { buildResNet50 } from '../../tools/synth/resnet50.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('embedded ResNet-50 build', () => {
  it('uses $EDGEQ_CACHE or <repo>/.cache/edgeq', () => {
    const saved = process.env.EDGEQ_CACHE;
    try {
      process.env.EDGEQ_CACHE = '/tmp/edgeq-cache-test';
      expect(cacheDir()).toBe('/tmp/edgeq-cache-test');
      expect(embeddedModelPath({ seed: 3, style: 'zoo' })).toMatch(/^\/tmp\/edgeq-cache-test\/resnet50-zoo-seed3-g\d+\.onnx$/);
      delete process.env.EDGEQ_CACHE;
      expect(cacheDir()).toBe(join(process.cwd(), '.cache', 'edgeq'));
    } finally {
      if (saved === undefined) delete process.env.EDGEQ_CACHE; else process.env.EDGEQ_CACHE = saved;
    }
  });

  it('is deterministic: a fresh build equals the cached model byte for byte', async () => {
    const cached = await getEmbeddedModel({ seed: 0, style: 'torchvision' });
    const t0 = performance.now();
    const fresh = writeOnnx(await buildResNet50({ seed: 0, style: 'torchvision' }));
    console.log(`ResNet-50 build (weights + BN calibration + write): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(fresh.length).toBe(cached.bytes.length);
    expect(sha(fresh)).toBe(sha(cached.bytes));
  });
});
