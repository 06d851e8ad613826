// The model and image the runtime-environment tests share (Node, Deno, Chromium page, extension,
// installed package), and what they need to run (the built package, Deno, Chromium).
//
// Model: darknet-tiny from ../shared, quantized by the CLI on 20 seeded calibration images (about
// 12 s once, then cached); without ../shared, the seeded tiny CNN of the quantizer tests, calibrated
// on synthetic images. Image: a PNG, so every runtime decodes the very same pixels (JPEG decoders
// differ in their IDCT: jpeg-js in Node/Deno vs libjpeg-turbo in Chromium).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { HAS_SHARED, REPO_ROOT, SHARED } from '../helpers.js';
import { decodeImage, readImage } from '../../src/image/decode-node.js';
import { readEdgeq } from '../../src/format/reader.js';
import { Session } from '../../src/runtime/session.js';
import { cacheDir } from '../../tools/synth/cache-node.js';
import type { RawImage } from '../../src/image/types.js';

export const CHROMIUM = process.env.EDGEQ_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const CHROMIUM_SKIP = `Chromium is absent (${CHROMIUM}; install Debian's chromium or set EDGEQ_CHROMIUM); browser tests skipped`;

/** The flags every test browser runs with (no network chatter, no GPU, no sandbox as root in CI). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export const HAS_BUILD = existsSync(join(REPO_ROOT, 'dist/index.js')) && existsSync(join(REPO_ROOT, 'tools/dist/cli/index.js'))
  && existsSync(join(REPO_ROOT, 'build/edgeq-simd.wasm')) && existsSync(join(REPO_ROOT, 'build/edgeq-scalar.wasm'));
export const BUILD_SKIP = 'dist/ or build/*.wasm is missing (run `npm run build`); runtime-environment tests skipped';

/** True when the bench workspace's devDependency @tensorflow/tfjs-tflite (TFLite's WASM runtime) is installed. */
export const HAS_TFJS = ((): boolean => {
  try { createRequire(join(REPO_ROOT, 'bench', 'package.json')).resolve('@tensorflow/tfjs-tflite/package.json'); return true; } catch { return false; }
})();
export const TFJS_SKIP = "@tensorflow/tfjs-tflite is not installed (the bench workspace's devDependency: npm install); the tfjs-tflite comparison is skipped";

/** The Deno binary: the `deno` devDependency's platform package (no install script needed), else $EDGEQ_DENO / PATH. */
export function denoBinary(): string | undefined {
  if (process.env.EDGEQ_DENO) return existsSync(process.env.EDGEQ_DENO) ? process.env.EDGEQ_DENO : undefined;
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const candidates = process.platform === 'linux' ? [`@deno/linux-${arch}-glibc`] : process.platform === 'darwin' ? [`@deno/darwin-${arch}`] : [`@deno/win32-${arch}`];
  for (const pkg of candidates) {
    try {
      const dir = join(require.resolve(`${pkg}/package.json`), '..');
      const exe = join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
      if (existsSync(exe)) return exe;
    } catch { /* not installed */ }
  }
  const which = spawnSync('sh', ['-c', 'command -v deno'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

export interface EnvFixture {
  kind: 'darknet-tiny' | 'tiny-cnn';
  /** The .edgeq file. */
  model: string;
  /** A PNG every runtime decodes to the same pixels. */
  image: string;
  /** The JPEG the PNG was made from (darknet-tiny only). */
  jpeg?: string;
  /** The artifacts folder (git-ignored): screenshots, packed extension. */
  artifacts: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `make` under an exclusive lock file (test files run in parallel workers). */
async function locked<T>(lock: string, make: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { force: true });
      } catch { /* released meanwhile */ }
      if (Date.now() - t0 > 10 * 60_000) throw new Error(`timed out waiting for ${lock}`);
      await sleep(250);
    }
  }
  try {
    return await make();
  } finally {
    rmSync(lock, { force: true });
  }
}

function loads(model: string): boolean {
  try {
    readEdgeq(new Uint8Array(readFileSync(model)));
    return true;
  } catch {
    return false;
  }
}

function writeAtomic(path: string, bytes: Uint8Array | Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function writePng(path: string, image: RawImage): void {
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0, o = 0; i < image.width * image.height; i++, o += 4) {
    const c = image.channels;
    const r = image.data[i * c]!, g = c >= 3 ? image.data[i * c + 1]! : r, b = c >= 3 ? image.data[i * c + 2]! : r;
    png.data[o] = r; png.data[o + 1] = g; png.data[o + 2] = b; png.data[o + 3] = 255;
  }
  writeAtomic(path, PNG.sync.write(png, { colorType: 2 }));
}

let pending: Promise<EnvFixture> | undefined;

/** The shared model and image, made once (cached under the cache folder's env/). */
export function envFixture(): Promise<EnvFixture> {
  pending ??= makeFixture();
  return pending;
}

async function makeFixture(): Promise<EnvFixture> {
  const dir = join(cacheDir(), 'env');
  const artifacts = join(dir, 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  if (HAS_SHARED) {
    const model = join(dir, 'darknet-tiny-c20-s0.edgeq');
    const jpeg = join(SHARED, 'data/imagenet-sample/0001_n01443537.jpg'); // a goldfish
    const image = join(dir, 'goldfish.png');
    await locked(join(dir, 'darknet.lock'), async () => {
      if (!existsSync(model) || !loads(model)) {
        const tmp = `${model}.${process.pid}.tmp.edgeq`;
        const r = spawnSync(process.execPath, [join(REPO_ROOT, 'tools/bin/edgeq.js'), 'quantize', join(SHARED, 'models/darknet-tiny/model.onnx'),
          '-o', tmp, '--calib', join(SHARED, 'data/imagenet-sample'), '--calib-count', '20', '--seed', '0', '--preprocess', 'unit',
          '--labels', join(SHARED, 'models/imagenet-classes.tsv')], { encoding: 'utf8', timeout: 240_000 });
        if (r.status !== 0) throw new Error(`edgeq quantize failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
        renameSync(tmp, model);
      }
      if (!existsSync(image)) writePng(image, decodeImage(new Uint8Array(readFileSync(jpeg)), jpeg));
    });
    return { kind: 'darknet-tiny', model, image, jpeg, artifacts };
  }
  const model = join(dir, 'tiny-cnn-s5.edgeq');
  const image = join(dir, 'synthetic.png');
  await locked(join(dir, 'tiny.lock'), async () => {
    const { syntheticImage } = await import('../../tools/synth/images.js');
    if (!existsSync(image)) writePng(image, syntheticImage(11, 64, 48));
    if (!existsSync(model) || !loads(model)) {
      const { writeOnnx } = await import('../../tools/onnx/writer.js');
      const { quantizeModel } = await import('../../tools/quantize/index.js');
      const { preprocess } = await import('../../src/image/preprocess.js');
      const { UNIT } = await import('../../src/image/spec.js');
      const { tinyCnn } = await import('../quantize/tiny-cnn.js');
      const spec = { ...UNIT, resize: 16, crop: 16 };
      const calibration = Array.from({ length: 16 }, (_, i) => preprocess(syntheticImage(100 + i, 48, 40), spec));
      const q = await quantizeModel(writeOnnx(tinyCnn({ seed: 5, size: 16, classes: 10 })), {
        calibration, calibrationCount: calibration.length, preprocess: spec,
        labels: ['red panda', 'tabby cat', 'goldfish', 'ladybug', 'espresso', 'daisy', 'tractor', 'violin', 'teapot', 'lighthouse'],
      });
      writeAtomic(model, q.edgeq);
    }
  });
  return { kind: 'tiny-cnn', model, image, artifacts };
}

/**
 * A drawn crossword grid (320x240, no photo, nothing from ../shared): the picture of the README's
 * screenshot. darknet-tiny calls it "crossword puzzle".
 */
export function crosswordPng(folder: string): string {
  const width = 320, height = 240, cell = 16;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const line = x % cell === 0 || y % cell === 0;
      const black = ((Math.floor(x / cell) * 7 + Math.floor(y / cell) * 13) % 5) === 0;
      data.fill(line ? 0 : black ? 10 : 250, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  const path = join(folder, 'crossword.png');
  writePng(path, { width, height, channels: 3, data });
  return path;
}

/** Node's answer for the fixture: the logits of the runtime on the PNG's pixels. */
export async function nodeLogits(fixture: EnvFixture, backend: 'auto' | 'simd' | 'scalar' = 'auto', image = fixture.image): Promise<{ logits: number[]; labels?: string[]; backend: string }> {
  const session = await Session.create(new Uint8Array(readFileSync(fixture.model)), { backend });
  try {
    const logits = await session.run(readImage(image));
    return { logits: Array.from(logits), labels: session.model.labels, backend: session.backend };
  } finally {
    session.release();
  }
}

export const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
