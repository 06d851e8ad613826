// How much a classifier's top-1 class varies over synthetic inputs: a sanity figure for the
// embedded ResNet-50 (a network whose top-1 never changes would make accuracy comparisons
// between fp32 and int8 meaningless).

import type { ReferenceSession } from '../reference/ort-runner.js';
import { IMAGENET, type PreprocessSpec } from 'edgeq/image';
import { syntheticBatchNCHW } from './images.js';
import { mixSeed } from './random.js';

export interface LogitSpread {
  count: number;
  /** Number of distinct top-1 classes. */
  distinct: number;
  /** Largest share of the inputs won by a single class (0..1). */
  maxShare: number;
  /** top-1 class per input. */
  top1: number[];
  /** Mean over inputs of the logits' standard deviation across classes. */
  meanLogitStd: number;
}

/** Runs `count` synthetic inputs (image i from seed mixSeed(seed, i)) one at a time and tallies top-1. */
export async function measureLogitSpread(session: ReferenceSession, options: {
  count?: number; seed?: number; spec?: PreprocessSpec;
} = {}): Promise<LogitSpread> {
  const { count = 20, seed = 0x5eed, spec = IMAGENET } = options;
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  const top1: number[] = [];
  let stdSum = 0;
  for (let i = 0; i < count; i++) {
    const x = syntheticBatchNCHW(mixSeed(seed, i), 1, spec);
    const logits = (await session.run({ [input]: { dims: [1, 3, spec.crop, spec.crop], data: x } })).outputs[output]!.data;
    let best = 0, s = 0, s2 = 0;
    for (let k = 0; k < logits.length; k++) {
      const v = logits[k]!;
      if (v > logits[best]!) best = k;
      s += v; s2 += v * v;
    }
    const mean = s / logits.length;
    stdSum += Math.sqrt(Math.max(s2 / logits.length - mean * mean, 0));
    top1.push(best);
  }
  const counts = new Map<number, number>();
  for (const t of top1) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { count, distinct: counts.size, maxShare: Math.max(...counts.values()) / count, top1, meanLogitStd: stdSum / count };
}
