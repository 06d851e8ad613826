// Node-only: the on-disk cache of the embedded ResNet-50. The model (about 100 MB per spelling) is
// generated on first use and never committed.
//
// Cache folder: $EDGEQ_CACHE when set, else `<root>/.cache/edgeq/`, where <root> is the nearest
// folder at or above the current directory holding a package.json or .git (the repo when run from
// inside it), else the current directory. `.cache/` is git-ignored.
// Files: resnet50-<style>-seed<seed>-g<generator version>.onnx. Generating one spelling writes both
// (they share the weights). Concurrent processes coordinate through a .lock file; writes are atomic
// (temp file + rename).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeOnnx } from '../onnx/writer.js';
import {
  RESNET50_GENERATOR_VERSION, makeResNet50Weights, resnet50Metadata, resnet50ModelDef, type ResNet50Style,
} from './resnet50.js';

/** The cache folder (see the file comment); not created by this call. */
export function cacheDir(): string {
  const env = process.env.EDGEQ_CACHE;
  if (env) return resolve(env);
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'package.json')) || existsSync(join(dir, '.git'))) return join(dir, '.cache', 'edgeq');
    const up = dirname(dir);
    if (up === dir) return join(process.cwd(), '.cache', 'edgeq');
    dir = up;
  }
}

export function embeddedModelPath(options: { seed?: number; style?: ResNet50Style } = {}): string {
  const { seed = 0, style = 'torchvision' } = options;
  return join(cacheDir(), `resnet50-${style}-seed${seed}-g${RESNET50_GENERATOR_VERSION}.onnx`);
}

const STYLES: readonly ResNet50Style[] = ['torchvision', 'zoo'];
const LOCK_STALE_MS = 10 * 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Takes the lock file `path` (created exclusively); false when another process holds it (a lock older than 10 min is removed). */
function tryLock(path: string): boolean {
  try {
    closeSync(openSync(path, 'wx'));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(path).mtimeMs > LOCK_STALE_MS) rmSync(path, { force: true });
    } catch { /* the holder just released it */ }
    return false;
  }
}

/**
 * The embedded ResNet-50 for a seed and spelling: read from the cache, or generated (about 15-20 s)
 * and written there first. Returns the file path and its bytes.
 */
export async function getEmbeddedModel(options: {
  seed?: number; style?: ResNet50Style; onProgress?: (done: number, total: number, what: string) => void;
} = {}): Promise<{ path: string; bytes: Uint8Array; generated: boolean }> {
  const { seed = 0, style = 'torchvision', onProgress } = options;
  const path = embeddedModelPath({ seed, style });
  const lock = join(dirname(path), `resnet50-seed${seed}-g${RESNET50_GENERATOR_VERSION}.lock`);
  return cachedOrGenerated(path, lock, async () => {
    const calibImages = 8;
    const weights = await makeResNet50Weights({ seed, calibImages, onProgress });
    let mine: Uint8Array | undefined;
    for (const s of STYLES) {
      const bytes = writeOnnx(resnet50ModelDef(weights, s, { metadata: resnet50Metadata(seed, s, calibImages) }));
      writeAtomic(embeddedModelPath({ seed, style: s }), bytes);
      if (s === style) mine = bytes;
    }
    return mine!;
  });
}

/**
 * The cached file `path`, or, when it is absent, `generate()` run by one process at a time (under
 * the lock file `lock`; the others wait and read what it wrote). `generate` writes `path` (and any
 * sibling files, through writeAtomic) and returns path's bytes.
 */
export async function cachedOrGenerated(path: string, lock: string, generate: () => Promise<Uint8Array>): Promise<{ path: string; bytes: Uint8Array; generated: boolean }> {
  if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
  mkdirSync(dirname(path), { recursive: true });
  while (!tryLock(lock)) {
    await sleep(500);
    if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
  }
  try {
    if (existsSync(path)) return { path, bytes: readFileSync(path), generated: false };
    return { path, bytes: await generate(), generated: true };
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Writes `bytes` to `target` through a temporary file and a rename, so readers never see a partial file. */
export function writeAtomic(target: string, bytes: Uint8Array): void {
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, target);
}
