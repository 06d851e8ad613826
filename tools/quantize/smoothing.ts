// Activation smoothing: per conv pair that cross-layer equalization may rescale (cle.ts: conv1 ->
// act -> [max pool] -> the convs reading it), move part of the per-channel range spread of conv1's
// output into the consumers' input columns (SmoothQuant's idea, for a per-tensor uint8 activation and
// per-output-channel int8 weights): channel c of the tensor is divided by s_c = (a_c / max a)^alpha,
// each consumer's column c multiplied by it, so the fp32 function is unchanged.
//
// Flattening the channels shrinks the activation's rounding noise on the weak channels but coarsens
// the consumers' weight grid (a row's scale follows its largest column), so whether it pays depends on
// the layer: on the ResNet-50 trunk smoothing the stem alone gains 1 dB, on darknet-tiny every pair
// smoothed at once loses 0.6 dB. So alpha is chosen per pair, from the calibration statistics, as
// the one of SMOOTHING_STRENGTHS that minimizes the predicted quantization noise at the consumers'
// outputs (per output pixel, summed over output channels), cross-validated over two folds of the
// calibration images (chooseStrength):
//   activation: sum_c G_c * err_c,  G_c = sum over consumers, rows and taps of w^2 on column c, err_c
//     the expected squared error of channel c under the scaled tensor's MSE-optimal range (its
//     histogram merged from per-channel histograms, clipping included);
//   weights: sum over rows, columns, taps of e'^2 * Var[x_c] / s_c^2,  e' the nearest-rounding error of
//     the scaled weight on its row's grid (max |w'| / 127); the variance, not E[x^2], because bias
//     correction (on by default) removes the mean error the rounded weights add.
// Both terms land at the same place, so their sum is a fair comparison; noise is assumed independent
// across elements. With 12-bit activations the rounding noise is 256x smaller and alpha = 0 wins.
import type { FConv, FloatGraph } from './prepare.js';
import { activationScales, equalizablePairs, equalizeGraph, type EqualizePair } from './cle.js';
import { ActivationHistogram, mseRange, quantizationError } from './histogram.js';
import { CHANNEL_HISTOGRAM_BINS, type ChannelFolds } from './calibrate.js';

/** The migration strengths tried per pair (0 = leave the pair alone). */
export const SMOOTHING_STRENGTHS: readonly number[] = [0, 0.25, 0.5, 0.75, 1];
/** A channel's scale is at least 1 / MAX_RATIO of the largest (dead channels are not blown up). */
const MAX_RATIO = 32;

/** Predicted quantization noise at the consumers' outputs of one pair for one choice of scales. */
export interface PairNoise { activation: number; weights: number }

export interface SmoothingChoice {
  pair: EqualizePair;
  strength: number;
  /** s_c: channel c of conv1's output is divided by it (cle.ts applyScales). */
  scales: Float64Array;
  /** Predicted noise per strength of SMOOTHING_STRENGTHS (activation + weights, cross-validated). */
  noise: number[];
}

/** The histogram of a tensor whose channel c is divided by s[c], from its per-channel histograms (one list per fold). */
function rescaled(folds: readonly (readonly ActivationHistogram[])[], s: Float64Array): ActivationHistogram {
  return ActivationHistogram.scaledMerge(folds.flatMap((f) => f.map((h, c) => ({ h, factor: 1 / s[c] }))));
}

/**
 * The weight and activation noise a pair's consumers would see with `s` applied (see the header):
 * ranges from `channels`, the noise measured on `heldOut` (by default the same statistics).
 */
export function predictPairNoise(
  channels: readonly ActivationHistogram[], consumers: readonly FConv[], s: Float64Array, levels: number,
  heldOut: readonly ActivationHistogram[] = channels,
): PairNoise {
  const C = channels.length;
  const { lo, hi } = mseRange(rescaled([channels], s), levels);
  const variance = heldOut.map((h) => h.variance());
  const G = new Float64Array(C);
  let weights = 0;
  for (const conv of consumers) {
    const I = conv.inChannels / conv.group, taps = conv.kernel[0] * conv.kernel[1];
    const perGroupOut = conv.outChannels / conv.group;
    for (let o = 0; o < conv.outChannels; o++) {
      const g = Math.floor(o / perGroupOut);
      const row = o * I * taps;
      let top = 0;
      for (let i = 0; i < I; i++) for (let t = 0; t < taps; t++) top = Math.max(top, Math.abs(conv.weights[row + i * taps + t]) * s[g * I + i]);
      const step = top / 127;
      for (let i = 0; i < I; i++) {
        const c = g * I + i, sc = s[c];
        for (let t = 0; t < taps; t++) {
          const w = conv.weights[row + i * taps + t];
          G[c] += w * w;
          if (step > 0) {
            const ws = w * sc;
            const e = ws - step * Math.max(-127, Math.min(127, Math.round(ws / step)));
            weights += (e * e * variance[c]) / (sc * sc);
          }
        }
      }
    }
  }
  let activation = 0;
  for (let c = 0; c < C; c++) if (G[c] > 0) activation += G[c] * quantizationError(heldOut[c], lo * s[c], hi * s[c], levels);
  return { activation, weights };
}

/** Per channel, the histogram of all folds together. */
export function mergeFolds(folds: ChannelFolds): ActivationHistogram[] {
  const seen = folds.filter((f) => f.length > 0); // a fold no calibration image reached is empty
  if (seen.length <= 1) return seen[0] ?? [];
  return seen[0].map((_, c) => ActivationHistogram.scaledMerge(seen.map((f) => ({ h: f[c], factor: 1 })), CHANNEL_HISTOGRAM_BINS));
}

/** Per channel, the largest magnitude seen (the smoothing scales' statistic). */
function channelRanges(channels: readonly ActivationHistogram[]): Float64Array {
  return Float64Array.from(channels, (h) => (h.count > 0 ? Math.max(Math.abs(h.min), Math.abs(h.max)) : 0));
}

/**
 * The strength of SMOOTHING_STRENGTHS with the least predicted noise for one pair, and the noise per
 * strength. The prediction is cross-validated over the calibration folds: scales and range come from
 * the other folds, the noise is measured on the held-out one (with one fold: on itself). Judged on the
 * inputs it was fitted to, smoothing looks better than it is: a weak channel stretched to fill the
 * range clips as soon as a new image drives it past its calibration maximum (darknet-tiny: +0.8 dB on
 * its calibration images, -0.9 dB on others, before this cross-validation).
 */
export function chooseStrength(all: ChannelFolds, consumers: readonly FConv[], levels: number): { strength: number; noise: number[] } {
  const folds = all.filter((f) => f.length > 0); // with one calibration image the second fold is empty
  const splits = folds.length < 2 ? [{ train: folds[0], test: folds[0] }]
    : folds.map((test, k) => ({ train: mergeFolds(folds.filter((_, j) => j !== k)), test }));
  const noise = SMOOTHING_STRENGTHS.map((strength) => {
    let sum = 0;
    for (const { train, test } of splits) {
      const n = predictPairNoise(train, consumers, activationScales(channelRanges(train), MAX_RATIO, strength), levels, test);
      sum += n.activation + n.weights;
    }
    return sum / splits.length;
  });
  return { strength: SMOOTHING_STRENGTHS[noise.indexOf(Math.min(...noise))], noise };
}

/** Per pair with per-channel statistics, its chosen strength (chooseStrength); pairs where it is 0 are left out. */
export function chooseSmoothing(
  g: FloatGraph, channelHistograms: ReadonlyMap<string, ChannelFolds>, options: { levels: number },
): Map<string, SmoothingChoice> {
  const convs = new Map(g.ops.filter((op): op is FConv => op.op === 'conv').map((op) => [op.name, op]));
  const out = new Map<string, SmoothingChoice>();
  for (const pair of equalizablePairs(g)) {
    const folds = channelHistograms.get(pair.tensors[0]);
    if (!folds || !folds.some((f) => f.length > 0)) continue;
    const { strength, noise } = chooseStrength(folds, pair.consumers.map((n) => convs.get(n)!), options.levels);
    if (strength > 0) out.set(pair.conv1, { pair, strength, scales: activationScales(channelRanges(mergeFolds(folds)), MAX_RATIO, strength), noise });
  }
  return out;
}

/**
 * The smoothed graph, and the calibration statistics of its rescaled tensors: each tensor of a
 * smoothed pair gets the histogram merged from its per-channel histograms divided by s_c, and its
 * channel means divided by s_c (bias correction reads them). `histograms` is updated in place.
 */
export function applySmoothing(
  g: FloatGraph, choices: ReadonlyMap<string, SmoothingChoice>,
  histograms: Map<string, ActivationHistogram>, channelHistograms: ReadonlyMap<string, ChannelFolds>,
): FloatGraph {
  const scales = new Map([...choices].map(([name, c]) => [name, c.scales]));
  const { graph } = equalizeGraph(g, { scales });
  for (const { pair, scales: s } of choices.values()) {
    for (const t of pair.tensors) {
      const folds = channelHistograms.get(t);
      if (!folds) throw new Error(`smoothing: no per-channel statistics for "${t}"`);
      const before = histograms.get(t);
      const merged = rescaled(folds, s);
      if (before?.channelSums) {
        merged.channelSums = before.channelSums.map((v, c) => v / s[c]);
        merged.channelCount = before.channelCount;
      }
      histograms.set(t, merged);
    }
  }
  return graph;
}
