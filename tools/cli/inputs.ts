// Input sources for the CLI (Node): labelled image folders split into calibration and held-back
// images, synthetic images, and label files.
import { readFileSync } from 'node:fs';
import { EdgeqError } from 'edgeq';
import { readImage } from 'edgeq/decode';
import { loadImageFolder, splitCalibration, type LabelledImage } from '../image/folder-node.js';
import { preprocess } from 'edgeq/image';
import type { PreprocessSpec } from 'edgeq/image';
import { syntheticBatchNCHW } from '../synth/images.js';
import { requireFile } from './paths.js';

export interface FolderSplit {
  calib: LabelledImage[];
  eval: LabelledImage[];
  calibInputs(): Iterable<Float32Array>;
  evalInputs(limit?: number): Iterable<Float32Array>;
}

function* decodeAll(images: LabelledImage[], spec: PreprocessSpec): Iterable<Float32Array> {
  for (const img of images) yield preprocess(readImage(img.path), spec);
}

/** A folder's images split by a seed: `count` for calibration, the rest held back for measurement. */
export function folderInputs(dir: string, spec: PreprocessSpec, count: number, seed: number): FolderSplit {
  const all = loadImageFolder(dir);
  if (all.length === 0) throw new EdgeqError('BAD_OPTION', `no JPEG or PNG images in ${dir}`);
  const { calib, eval: rest } = splitCalibration(all, Math.min(count, all.length), seed);
  return {
    calib, eval: rest,
    calibInputs: () => decodeAll(calib, spec),
    evalInputs: (limit = rest.length) => decodeAll(rest.slice(0, limit), spec),
  };
}

/** `n` synthetic, natural-image-like inputs preprocessed by `spec` (so of its crop's size), seeded. */
export function* syntheticInputs(seed: number, n: number, spec: PreprocessSpec): Iterable<Float32Array> {
  for (let i = 0; i < n; i++) yield syntheticBatchNCHW(seed + i, 1, spec);
}

/** Class names: one per line, or labels.tsv / imagenet-classes.tsv style `index<TAB>synset<TAB>name` rows. */
export function readLabelsFile(path: string): string[] {
  requireFile(path, 'labels file');
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.map((l) => {
    const cols = l.split('\t');
    return cols.length >= 3 ? cols[cols.length - 1] : l.trim();
  });
}
