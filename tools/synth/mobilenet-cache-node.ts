// Node-only: the on-disk cache of the embedded MobileNets (cache folder and locking of
// cache-node.ts). Files: <name>-seed<seed>-g<generator version>.onnx (about 14 MB for MobileNetV2,
// 10 MB for MobileNetV3-Small), generated on first use and never committed.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeOnnx } from '../onnx/writer.js';
import { cacheDir, sleep, tryLock } from './cache-node.js';
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
  if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const lock = `${path}.lock`;
  while (!tryLock(lock)) {
    await sleep(500);
    if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
  }
  try {
    if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
    const calibImages = 8;
    const weights = await makeMobileNetWeights(name, { seed, calibImages, onProgress });
    const bytes = writeOnnx(mobileNetModelDef(name, weights, { metadata: mobileNetMetadata(name, seed, calibImages) }));
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    return { path, bytes, generated: true };
  } finally {
    rmSync(lock, { force: true });
  }
}
