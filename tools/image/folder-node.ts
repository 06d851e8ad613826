// Node helper: list the images of a folder (with labels when a labels.tsv is present) and pick a
// seeded subset. Calibration takes a fixed seeded subset and measurement the rest (splitCalibration).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EdgeqError } from 'edgeq';
import { seededShuffle } from '../synth/random.js';

export { splitCalibration } from '../synth/random.js';

export interface LabelledImage {
  /** Absolute or dir-joined path of the image file. */
  path: string;
  file: string;
  /** Class index (labels.tsv column 2), when labels.tsv is present. */
  label?: number;
  synset?: string;
  name?: string;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/** The .jpg/.jpeg/.png files of `dir` (not its labels.tsv), sorted by name, as dir-joined paths. */
export function listImages(dir: string): string[] {
  return readdirSync(dir).filter((f) => IMAGE_EXT.test(f)).sort().map((file) => join(dir, file));
}

/**
 * Lists the images of `dir`. With a `labels.tsv` (file<TAB>index<TAB>synset<TAB>name, no header)
 * the list and labels come from it; otherwise every .jpg/.jpeg/.png file, sorted by name.
 * `count` picks that many by a seeded shuffle (seed default 0), returned in the shuffled order;
 * without `count`, all images in listing order.
 */
export function loadImageFolder(dir: string, options: { count?: number; seed?: number } = {}): LabelledImage[] {
  if (!existsSync(dir)) throw new EdgeqError('NOT_FOUND', `image folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new EdgeqError('BAD_OPTION', `image folder ${dir} is a file, not a folder`);
  const tsv = join(dir, 'labels.tsv');
  let all: LabelledImage[];
  if (existsSync(tsv)) {
    all = [];
    for (const line of readFileSync(tsv, 'utf8').split(/\r?\n/)) {
      if (line.trim() === '') continue;
      const [file, index, synset, name] = line.split('\t');
      const label = Number(index);
      if (!file || !Number.isInteger(label)) throw new EdgeqError('BAD_OPTION', `${tsv}: bad line "${line}"`);
      all.push({ path: join(dir, file), file, label, synset, name });
    }
  } else {
    all = listImages(dir).map((path) => ({ path, file: basename(path) }));
  }
  const { count, seed = 0 } = options;
  if (count === undefined) return all;
  if (!Number.isInteger(count) || count < 0) throw new EdgeqError('BAD_OPTION', `count ${count} must be a non-negative integer`);
  return seededShuffle(all, seed).slice(0, Math.min(count, all.length));
}
