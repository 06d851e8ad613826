// Seeded synthetic weights for the embedded MobileNetV2 and MobileNetV3-Small, with BatchNorm
// statistics calibrated on the network's own activations (the ResNet-50 procedure of
// resnet50-weights.ts, on inverted residuals):
//  1. Conv weights: He-normal, std sqrt(2 / fan_in), fan_in = (cin / group) * k * k.
//  2. BN affine parameters: gamma uniform in [0.5, 1.5], beta = 0.1 * normal; the projection BN of a
//     block with a residual add gets gamma in [0.2, 0.3] and beta = 0.05 * normal (the residual stream
//     stays bounded); a projection without residual gamma in [0.7, 1.3].
//  3. BN running statistics: `calibImages` synthetic images (ImageNet normalization) run through the
//     network conv by conv; each conv runs in onnxruntime-web (a one-node model, whole batch); its
//     per-channel mean and population variance become running_mean/running_var, then BN, the
//     activation (ReLU, ReLU6 or Hardswish), SE and the residual Add are applied here in plain JS.
//  4. SE (V3): fc1 He-normal, bias 0; fc2 normal with std 1/sqrt(squeeze), bias 0 (gates spread
//     around HardSigmoid's middle rather than saturated).
//  5. Classifier: hidden layers (V3-Small's 576 -> 1024) He-normal, bias 0, then Hardswish; the last
//     layer He-normal directions scaled so the logits' std over classes is `logitStd` on the
//     calibration images, bias = -W * mean(feature) (the top-1 class follows the input).

import { EdgeqError } from 'edgeq';
import { IMAGENET, type PreprocessSpec } from 'edgeq/image';
import { syntheticBatchNCHW } from './images.js';
import { centreClassifier, channelStats, globalAverage, heNormal, runConv, type Act } from './resnet50-weights.js';
import { Rng, mixSeed } from './random.js';
import {
  mobileNetArch, mobileNetConvs, type MnConvSpec, type MnSeSpec, type MobileNetAct, type MobileNetArch, type MobileNetName, type MobileNetWeights,
} from './mobilenet-arch.js';

export interface MobileNetWeightOptions {
  /** Seed of every random draw (weights, BN affine parameters, calibration images). Default 0. */
  seed?: number;
  /** Synthetic images used for the BN statistics and the classifier centring. Default 8. */
  calibImages?: number;
  /** Calibration resolution (square). Default 224. */
  inputSize?: number;
  /** Target standard deviation of the logits over classes. Default 3. */
  logitStd?: number;
  /** Called after each calibrated conv. */
  onProgress?: (done: number, total: number, what: string) => void;
}

// Sub-stream tags for mixSeed, so each kind of draw has its own independent stream.
const STREAM_CONV = 1, STREAM_BN = 2, STREAM_FC = 3, STREAM_IMAGES = 4, STREAM_SE = 5;

/** x * relu6(x + 3) / 6 (torch's Hardswish). */
const hardswish = (v: number): number => (v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6);
/** relu6(x / 6 + 1 / 2) (torch's Hardsigmoid; ONNX HardSigmoid alpha 1/6, beta 0.5). */
const hardsigmoid = (v: number): number => Math.min(Math.max(v / 6 + 0.5, 0), 1);

function activate(v: number, act: MobileNetAct): number {
  switch (act) {
    case 'relu': return v < 0 ? 0 : v;
    case 'relu6': return v < 0 ? 0 : v > 6 ? 6 : v;
    case 'hardswish': return hardswish(v);
    case 'none': return v;
  }
}

/** y = act(gamma * (x - mean) / sqrt(var + eps) + beta); in place. */
function batchNormAct(a: Act, mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, act: MobileNetAct): Act {
  const hw = a.size * a.size;
  for (let ch = 0; ch < a.c; ch++) {
    const scale = gamma[ch]! / Math.sqrt(variance[ch]! + eps);
    const shift = beta[ch]! - mean[ch]! * scale;
    for (let i = 0; i < a.n; i++) {
      const base = (i * a.c + ch) * hw;
      for (let p = 0; p < hw; p++) a.data[base + p] = activate(a.data[base + p]! * scale + shift, act);
    }
  }
  return a;
}

/** y[i] = act(W x[i] + b) for each of the n rows of x ([n, cin]); W is [cout, cin]. */
function linear(x: Float64Array, n: number, cin: number, w: Float32Array, b: Float32Array, act: (v: number) => number): Float64Array {
  const cout = b.length;
  const y = new Float64Array(n * cout);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < cout; o++) {
      let s = b[o]!;
      for (let j = 0; j < cin; j++) s += w[o * cin + j]! * x[i * cin + j]!;
      y[i * cout + o] = act(s);
    }
  }
  return y;
}

/** Squeeze-and-excitation in place: x *= hardsigmoid(fc2(relu(fc1(gap(x))))). */
function squeezeExcite(a: Act, se: MnSeSpec, weights: MobileNetWeights): void {
  const g = (k: string) => weights.get(`${se.key}.${k}`)!;
  const s = linear(globalAverage(a), a.n, se.channels, g('fc1.weight'), g('fc1.bias'), (v) => (v < 0 ? 0 : v));
  const e = linear(s, a.n, se.squeeze, g('fc2.weight'), g('fc2.bias'), hardsigmoid);
  const hw = a.size * a.size;
  for (let plane = 0; plane < a.n * a.c; plane++) {
    const f = e[plane]!;
    for (let p = 0; p < hw; p++) a.data[plane * hw + p] = a.data[plane * hw + p]! * f;
  }
}

/**
 * The draws that need no calibration: He-normal conv weights, BN affine parameters and SE layers,
 * keyed by state_dict names. makeMobileNetWeights adds the running statistics and the classifier.
 */
export function initMobileNetWeights(arch: MobileNetArch, seed: number): MobileNetWeights {
  const weights: MobileNetWeights = new Map();
  const projections = new Map(arch.blocks.map((b) => [b.project.key, b.residual]));
  mobileNetConvs(arch).forEach((c, i) => {
    const fanIn = (c.cin / c.group) * c.k * c.k;
    weights.set(`${c.key}.weight`, heNormal(mixSeed(seed, STREAM_CONV, i), c.cout * fanIn, fanIn));
    const rng = new Rng(mixSeed(seed, STREAM_BN, i));
    const residual = projections.get(c.key);
    const [gLo, gHi] = residual === true ? [0.2, 0.3] : residual === false ? [0.7, 1.3] : [0.5, 1.5];
    const betaStd = residual === true ? 0.05 : 0.1;
    const gamma = new Float32Array(c.cout), beta = new Float32Array(c.cout);
    for (let ch = 0; ch < c.cout; ch++) { gamma[ch] = rng.uniform(gLo, gHi); beta[ch] = betaStd * rng.normal(); }
    weights.set(`${c.bn}.weight`, gamma);
    weights.set(`${c.bn}.bias`, beta);
  });
  arch.blocks.forEach((b, i) => {
    if (!b.se) return;
    const { key, channels, squeeze } = b.se;
    weights.set(`${key}.fc1.weight`, heNormal(mixSeed(seed, STREAM_SE, i, 1), squeeze * channels, channels));
    weights.set(`${key}.fc1.bias`, new Float32Array(squeeze));
    weights.set(`${key}.fc2.weight`, new Rng(mixSeed(seed, STREAM_SE, i, 2)).fillNormal(new Float32Array(channels * squeeze), 1 / Math.sqrt(squeeze)));
    weights.set(`${key}.fc2.bias`, new Float32Array(channels));
  });
  return weights;
}

/** Builds the full weight set (torchvision state_dict names) of `name` for a seed. */
export async function makeMobileNetWeights(name: MobileNetName, options: MobileNetWeightOptions = {}): Promise<MobileNetWeights> {
  const { seed = 0, calibImages = 8, inputSize = 224, logitStd = 3, onProgress } = options;
  if (!Number.isInteger(calibImages) || calibImages < 2) throw new EdgeqError('BAD_OPTION', `calibImages must be an integer >= 2, got ${calibImages}`);
  if (!Number.isInteger(inputSize) || inputSize < 32) throw new EdgeqError('BAD_OPTION', `inputSize must be an integer >= 32, got ${inputSize}`);
  const arch = mobileNetArch(name, inputSize);
  const total = mobileNetConvs(arch).length;
  const weights = initMobileNetWeights(arch, seed);

  let done = 0;
  /** Runs conv c on x, records its BN statistics, applies the BN and the activation; returns the result. */
  const convBn = async (c: MnConvSpec, x: Act): Promise<Act> => {
    const y = await runConv(c, x, weights.get(`${c.key}.weight`)!);
    const stats = channelStats(y);
    const mean = Float32Array.from(stats.mean), variance = Float32Array.from(stats.variance);
    weights.set(`${c.bn}.running_mean`, mean);
    weights.set(`${c.bn}.running_var`, variance);
    onProgress?.(++done, total, c.key);
    return batchNormAct(y, mean, variance, weights.get(`${c.bn}.weight`)!, weights.get(`${c.bn}.bias`)!, arch.bnEpsilon, c.act);
  };

  const spec: PreprocessSpec = inputSize === 224 ? IMAGENET : { ...IMAGENET, resize: Math.round((inputSize * 256) / 224), crop: inputSize };
  let x: Act = { data: syntheticBatchNCHW(mixSeed(seed, STREAM_IMAGES), calibImages, spec), n: calibImages, c: 3, size: inputSize };
  x = await convBn(arch.stem, x);
  for (const b of arch.blocks) {
    let h = b.expand ? await convBn(b.expand, x) : x;
    h = await convBn(b.dw, h);
    if (b.se) squeezeExcite(h, b.se, weights);
    h = await convBn(b.project, h);
    if (b.residual) for (let i = 0; i < h.data.length; i++) h.data[i] = h.data[i]! + x.data[i]!;
    x = h;
  }
  x = await convBn(arch.last, x);

  // Classifier: hidden layers with Hardswish, then the last layer centred on the mean feature.
  const n = calibImages;
  let features = globalAverage(x);
  const hidden = arch.head.slice(0, -1), out = arch.head.at(-1)!;
  hidden.forEach((l, i) => {
    const w = heNormal(mixSeed(seed, STREAM_FC, i), l.cout * l.cin, l.cin), b = new Float32Array(l.cout);
    weights.set(`${l.key}.weight`, w);
    weights.set(`${l.key}.bias`, b);
    features = linear(features, n, l.cin, w, b, hardswish);
  });
  const F = out.cin, K = out.cout;
  const w = heNormal(mixSeed(seed, STREAM_FC, hidden.length), K * F, F);
  weights.set(`${out.key}.weight`, w);
  weights.set(`${out.key}.bias`, centreClassifier(w, features, n, F, K, logitStd));
  return weights;
}
