// Fuzzing the TFLite reader and importer (tools/tflite): seeds are generated uint8 models
// (tools/tflite/build.ts), the generated int8 per-channel MobileNetV2-like and uint8 SE-block-like
// models (PAD, MUL, CONCATENATION, MEAN, HARD_SWISH, LOGISTIC, SOFTMAX), and the Coral MobileNet
// v1 0.25 when ../shared has it; mutants are byte
// mutations (truncations, bit flips, 32-bit words overwritten with offsets past the end, small and
// huge values) and model-level mutations (bad scales, mismatched per-channel counts, weights beyond
// their zero point, a depth multiplier of 2). Every mutant must be imported (and then run, through
// checkEdgeq) or rejected with an EdgeqError; anything else is a failure.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../synth/random.js';
import { buildTflite, mobilenetV2Like, seBlockLike, tinyModel } from '../tflite/build.js';
import { importTflite } from '../tflite/index.js';
import type { Outcome } from './harness.js';
import { checkImport, runCampaign, type CampaignResult } from './import-fuzz.js';
import type { Mutant } from './mutate.js';
import { SHARED_DIR } from './targets.js';

export const CORAL_V1 = join(SHARED_DIR, 'models', 'tflite-coral', 'mobilenet_v1_0.25_128_quant.tflite');

export interface TfliteSeed { name: string; bytes: Uint8Array; generated?: number }

/** Three generated tiny models, the int8 MobileNetV2-like and uint8 SE-block-like ones, and the Coral v1 0.25 file when present. */
export function tfliteSeeds(): TfliteSeed[] {
  const seeds: TfliteSeed[] = [1, 2, 3].map((n) => ({ name: `tiny-${n}.tflite`, bytes: buildTflite(tinyModel(n)), generated: n }));
  seeds.push({ name: 'mobilenet-v2-like-int8.tflite', bytes: buildTflite(mobilenetV2Like('int8')) }, { name: 'se-block-like-uint8.tflite', bytes: buildTflite(seBlockLike('uint8')) });
  // Metadata naming a label file in an appended zip (the metadata and zip readers).
  seeds.push({ name: 'tiny-labelled.tflite', bytes: buildTflite({ ...tinyModel(1), metadata: { file: 'labels.txt', labels: ['a', 'b', 'c', 'd', 'e'] } }) });
  if (existsSync(CORAL_V1)) seeds.push({ name: 'mobilenet_v1_0.25_128_quant.tflite', bytes: new Uint8Array(readFileSync(CORAL_V1)) });
  return seeds;
}

const BAD_SCALES = [0, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 1e-40];

/** A byte-level mutant. */
export function mutateTfliteBytes(base: Uint8Array, rng: Rng): Mutant {
  const b = base.slice();
  const view = new DataView(b.buffer);
  switch (rng.int(3)) {
    case 0: { const n = rng.int(b.length); return { bytes: b.slice(0, n), mutation: `truncate to ${n}` }; }
    case 1: {
      const flips = 1 + rng.int(8), at: number[] = [];
      for (let k = 0; k < flips; k++) { const i = rng.int(b.length); b[i]! ^= 1 << rng.int(8); at.push(i); }
      return { bytes: b, mutation: `bit flips at ${at.join(',')}` };
    }
    default: {
      const i = 4 * rng.int(Math.floor(b.length / 4));
      const v = [b.length + rng.int(1000), rng.int(9), 0xffffffff, 0x80000000, rng.int(2 ** 32)][rng.int(5)]!;
      view.setUint32(i, v >>> 0, true);
      return { bytes: b, mutation: `word at ${i} = ${v >>> 0}` };
    }
  }
}

/** A model-level mutant of generated seed `n`. */
export function mutateTfliteModel(n: number, rng: Rng): Mutant {
  const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)]!;
  switch (rng.int(4)) {
    case 0: { const s = pick(BAD_SCALES); return { bytes: buildTflite(tinyModel(n, { convScale: [s] })), mutation: `conv weight scale ${s}` }; }
    case 1: { const k = 1 + rng.int(6); return { bytes: buildTflite(tinyModel(n, { convScale: new Array<number>(k).fill(0.01), convZero: new Array<number>(1 + rng.int(6)).fill(128) })), mutation: `${k} per-channel scales` }; }
    case 2: { const z = rng.int(256); return { bytes: buildTflite(tinyModel(n, { convZero: [z] })), mutation: `conv weight zero point ${z}` }; }
    default: return { bytes: buildTflite(tinyModel(n, { depthMultiplier: 2 })), mutation: 'depth multiplier 2' };
  }
}

/** Imports a mutant with importTflite; an accepted one is run (checkEdgeq). EdgeqError: rejected; anything else: failure. */
export function checkTfliteImport(bytes: Uint8Array): Promise<Outcome> {
  return checkImport(bytes, (b) => importTflite(b, { fileName: 'fuzz.tflite' }).edgeq);
}

/** `cases` mutants of the seeds (bytes, or a generated model's parameters) through importTflite. */
export function tfliteCampaign(seeds: readonly TfliteSeed[], cases: number, seed: number): Promise<CampaignResult> {
  return runCampaign(cases, seed, (caseSeed) => {
    const rng = new Rng(caseSeed);
    const s = seeds[rng.int(seeds.length)]!;
    const mutant = s.generated !== undefined && rng.int(3) === 0 ? mutateTfliteModel(s.generated, rng) : mutateTfliteBytes(s.bytes, rng);
    return { seed: s.name, mutant };
  }, checkTfliteImport);
}
