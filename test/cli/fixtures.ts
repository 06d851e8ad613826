// Files the command-line tests work on, made in a temporary folder: a 16x16, 10-class fp32 ONNX
// model (tiny-cnn), its .edgeq quantization (with 10 class names and a 16-pixel preprocessing),
// and a folder of small PNG images.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { PreprocessSpec } from '../../src/image/spec.js';
import { UNIT } from '../../src/image/spec.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantize } from '../../tools/quantize/api.js';
import { syntheticImage } from '../../tools/synth/images.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

export const SIZE = 16;
export const CLASSES = 10;
export const TINY_SPEC: PreprocessSpec = { ...UNIT, resize: SIZE, crop: SIZE };

export interface CliFixture {
  dir: string;
  onnx: string;
  edgeq: string;
  images: string;
  pngs: string[];
}

export function writePngFile(path: string, seed: number, width: number, height: number): void {
  const img = syntheticImage(seed, width, height);
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = img.data[i * 3];
    png.data[i * 4 + 1] = img.data[i * 3 + 1];
    png.data[i * 4 + 2] = img.data[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  writeFileSync(path, PNG.sync.write(png));
}

export async function makeCliFixture(): Promise<CliFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-cli-'));
  const onnxBytes = writeOnnx(tinyCnn({ seed: 3, size: SIZE, classes: CLASSES }));
  const onnx = join(dir, 'tiny.onnx');
  writeFileSync(onnx, onnxBytes);
  const calib = tinyInputs(1, 8, SIZE);
  const q = await quantize(onnxBytes, { calibration: calib, preprocess: TINY_SPEC, labels: Array.from({ length: CLASSES }, (_, i) => `class-name-${i}`) });
  const edgeq = join(dir, 'tiny.edgeq');
  writeFileSync(edgeq, q.edgeq);
  const images = join(dir, 'images');
  mkdirSync(images);
  const pngs = [0, 1, 2].map((i) => join(images, `img${i}.png`));
  pngs.forEach((p, i) => writePngFile(p, 100 + i, 24 + 4 * i, 20));
  writeFileSync(join(images, 'notes.txt'), 'not an image');
  return { dir, onnx, edgeq, images, pngs };
}
