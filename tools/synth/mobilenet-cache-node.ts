// Node-only: the on-disk cache of the embedded MobileNets (cache folder and locking of
// cache-node.ts). Files: <name>-seed<seed>-g<generator version>.onnx (about 14 MB for MobileNetV2,
// 10 MB for MobileNetV3-Small), generated on first use and never committed.

import { join } from 'node:path';
import { writeOnnx } from '../onnx/writer.js';
import { cacheDir, cachedOrGenerated, writeAtomic } from './cache-node.js';
import { MOBILENET_GENERATOR_VERSION, makeMobileNetWeights, mobileNetMetadata, mobileNetModelDef, type MobileNetName } from './mobilenet.js';

export function embeddedMobileNetPath(name: MobileNetName, seed = 0): string {
  return join(cacheDir(), `${name}-seed${seed}-g${MOBILENET_GENERATOR_VERSION}.onnx`);
}

/** The embedded MobileNet `name` for a seed: read from the cache, or generated (a few seconds) and written there first. */
export async function getEmbeddedMobileNet(name: MobileNetName, options: {
  seed?: number; onProgress?: (done: number, total: number, what: string) => void;
} = {}): Promise<{ path: string; bytes: Uint8Array; generated: boolean }> {
  const { seed = 0, onProgress } = options;
  const path = embeddedMobileNetPath(name, seed);
  return cachedOrGenerated(path, `${path}.lock`, async () => {
    const calibImages = 8;
    const weights = await makeMobileNetWeights(name, { seed, calibImages, onProgress });
    const bytes = writeOnnx(mobileNetModelDef(name, weights, { metadata: mobileNetMetadata(name, seed, calibImages) }));
    writeAtomic(path, bytes);
    return bytes;
  });
}
