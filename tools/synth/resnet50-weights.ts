// Seeded synthetic weights for the embedded ResNet-50, with BatchNorm statistics calibrated on the
// network's own activations (so it behaves like a trained network numerically: every conv output is
// normalized, activations stay bounded through the 16 blocks, and the logits depend on the input).
//
// Procedure (deterministic for a seed):
//  1. Conv weights: He-normal, std sqrt(2 / fan_in), fan_in = cin*k*k (Box-Muller on mulberry32).
//  2. BN affine parameters: gamma uniform in [0.5, 1.5] and beta = 0.1 * normal for the stem and the
//     first two BNs of each bottleneck; the last BN of each residual branch (bn3) gets gamma in
//     [0.2, 0.3] and beta = 0.05 * normal; projection shortcuts (downsample.1) gamma in [0.7, 1.3].
//  3. BN running statistics: `calibImages` synthetic images (syntheticBatchNCHW, ImageNet
//     normalization) run through the network conv by conv. Each conv runs in onnxruntime-web (a
//     one-node model, the whole batch at once); its per-channel mean and (population) variance over
//     batch and space become running_mean/running_var, then BN, ReLU, max pool and the residual Add
//     are applied here in plain JS to produce the next conv's input.
//  4. FC: He-normal weights, scaled so the logits' standard deviation over classes is `logitStd`
//     on the calibration images; bias = -W * mean(feature), which centres the logits on the average
//     image so that the top-1 class follows the input rather than one class winning everywhere.

import { EdgeqError } from 'edgeq';
import { makeModel, type ModelDef } from '../onnx/model.js';
import { IMAGENET, type PreprocessSpec } from 'edgeq/image';
import { ReferenceSession, referenceThreads } from '../reference/ort-runner.js';
import { syntheticBatchNCHW } from './images.js';
import { Rng, mixSeed } from './random.js';
import { BN_EPSILON, resnet50Arch, resnet50Convs, type ConvSpec, type ResNet50Weights } from './resnet50-arch.js';

export interface ResNet50WeightOptions {
  /** Seed of every random draw (weights, BN affine parameters, calibration images). Default 0. */
  seed?: number;
  /** Synthetic images used for the BN statistics and the FC centring. Default 8. */
  calibImages?: number;
  /** Calibration resolution (square). Default 224. */
  inputSize?: number;
  /** Target standard deviation of the logits over classes. Default 3. */
  logitStd?: number;
  /** Called after each calibrated conv. */
  onProgress?: (done: number, total: number, what: string) => void;
}

// Sub-stream tags for mixSeed, so each kind of draw has its own independent stream.
const STREAM_CONV = 1, STREAM_BN = 2, STREAM_FC = 3, STREAM_IMAGES = 4;

/** A batch of NCHW activations. */
export interface Act { data: Float32Array; n: number; c: number; size: number }

/** One square conv of a builder's layer table; group absent = 1 (no group attribute written). */
export type OneConvSpec = Pick<ConvSpec, 'key' | 'cin' | 'cout' | 'k' | 'stride' | 'pad' | 'inSize' | 'outSize'> & { group?: number };

export function heNormal(seed: number, count: number, fanIn: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(count), Math.sqrt(2 / fanIn));
}

function oneConvModel(c: OneConvSpec, n: number, weight: Float32Array): ModelDef {
  return makeModel({
    name: c.key,
    nodes: [{
      name: c.key, opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'],
      attributes: {
        kernel_shape: { type: 'ints', value: [c.k, c.k] }, pads: { type: 'ints', value: [c.pad, c.pad, c.pad, c.pad] },
        strides: { type: 'ints', value: [c.stride, c.stride] },
        ...(c.group !== undefined ? { group: { type: 'int' as const, value: c.group } } : {}),
      },
    }],
    initializers: new Map([['w', { name: 'w', dataType: 'float32', dims: [c.cout, c.cin / (c.group ?? 1), c.k, c.k], data: weight }]]),
    inputs: [{ name: 'x', dataType: 'float32', dims: [n, c.cin, c.inSize, c.inSize] }],
    outputs: [{ name: 'y', dataType: 'float32', dims: [n, c.cout, c.outSize, c.outSize] }],
    valueInfo: [],
  }, { opset: 13, irVersion: 7 });
}

/** The conv `c` of `weight` over the batch `x`, run in onnxruntime-web (fp32). */
export async function runConv(c: OneConvSpec, x: Act, weight: Float32Array): Promise<Act> {
  const session = await ReferenceSession.create(oneConvModel(c, x.n, weight), { threads: referenceThreads() ?? 1 });
  try {
    const { outputs } = await session.run({ x: { dims: [x.n, c.cin, c.inSize, c.inSize], data: x.data } });
    return { data: outputs.y!.data, n: x.n, c: c.cout, size: c.outSize };
  } finally {
    await session.release();
  }
}

/** Per-channel mean and population variance over batch and space (double precision). */
export function channelStats(a: Act): { mean: Float64Array; variance: Float64Array } {
  const hw = a.size * a.size;
  const mean = new Float64Array(a.c), variance = new Float64Array(a.c);
  for (let ch = 0; ch < a.c; ch++) {
    let s = 0;
    for (let i = 0; i < a.n; i++) {
      const base = (i * a.c + ch) * hw;
      for (let p = 0; p < hw; p++) s += a.data[base + p]!;
    }
    const m = s / (a.n * hw);
    let s2 = 0;
    for (let i = 0; i < a.n; i++) {
      const base = (i * a.c + ch) * hw;
      for (let p = 0; p < hw; p++) { const d = a.data[base + p]! - m; s2 += d * d; }
    }
    mean[ch] = m;
    variance[ch] = s2 / (a.n * hw);
  }
  return { mean, variance };
}

/** y = gamma * (x - mean) / sqrt(var + eps) + beta, then ReLU if asked; in place. */
function batchNorm(a: Act, mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, relu: boolean): Act {
  const hw = a.size * a.size;
  for (let ch = 0; ch < a.c; ch++) {
    const scale = gamma[ch]! / Math.sqrt(variance[ch]! + BN_EPSILON);
    const shift = beta[ch]! - mean[ch]! * scale;
    for (let i = 0; i < a.n; i++) {
      const base = (i * a.c + ch) * hw;
      for (let p = 0; p < hw; p++) {
        const v = a.data[base + p]! * scale + shift;
        a.data[base + p] = relu && v < 0 ? 0 : v;
      }
    }
  }
  return a;
}

/** 3x3 max pool, stride 2, pad 1 (padding never wins). */
function maxPool(a: Act): Act {
  const out = Math.floor((a.size + 2 - 3) / 2) + 1;
  const data = new Float32Array(a.n * a.c * out * out);
  for (let plane = 0; plane < a.n * a.c; plane++) {
    const src = plane * a.size * a.size, dst = plane * out * out;
    for (let oy = 0; oy < out; oy++) {
      for (let ox = 0; ox < out; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) {
          const y = oy * 2 - 1 + ky;
          if (y < 0 || y >= a.size) continue;
          for (let kx = 0; kx < 3; kx++) {
            const x = ox * 2 - 1 + kx;
            if (x < 0 || x >= a.size) continue;
            const v = a.data[src + y * a.size + x]!;
            if (v > m) m = v;
          }
        }
        data[dst + oy * out + ox] = m;
      }
    }
  }
  return { data, n: a.n, c: a.c, size: out };
}

/** Global average pool -> [n, c] in double precision. */
export function globalAverage(a: Act): Float64Array {
  const hw = a.size * a.size;
  const out = new Float64Array(a.n * a.c);
  for (let plane = 0; plane < a.n * a.c; plane++) {
    let s = 0;
    for (let p = 0; p < hw; p++) s += a.data[plane * hw + p]!;
    out[plane] = s / hw;
  }
  return out;
}

/**
 * The draws that need no calibration: He-normal conv weights and the BN affine parameters (gamma,
 * beta) for every conv, keyed by state_dict names. makeResNet50Weights adds the running statistics
 * and the FC layer.
 */
export function initResNet50Weights(seed: number, arch = resnet50Arch()): ResNet50Weights {
  const convs = resnet50Convs(arch);
  const weights: ResNet50Weights = new Map();
  convs.forEach((c, i) => {
    weights.set(`${c.key}.weight`, heNormal(mixSeed(seed, STREAM_CONV, i), c.cout * c.cin * c.k * c.k, c.cin * c.k * c.k));
    const rng = new Rng(mixSeed(seed, STREAM_BN, i));
    const last = c.bn.endsWith('.bn3');
    const shortcut = c.bn.endsWith('downsample.1');
    const [gLo, gHi] = last ? [0.2, 0.3] : shortcut ? [0.7, 1.3] : [0.5, 1.5];
    const betaStd = last ? 0.05 : 0.1;
    const gamma = new Float32Array(c.cout), beta = new Float32Array(c.cout);
    for (let ch = 0; ch < c.cout; ch++) { gamma[ch] = rng.uniform(gLo, gHi); beta[ch] = betaStd * rng.normal(); }
    weights.set(`${c.bn}.weight`, gamma);
    weights.set(`${c.bn}.bias`, beta);
  });
  return weights;
}

/** Builds the full weight set (torchvision state_dict names) for a seed. */
export async function makeResNet50Weights(options: ResNet50WeightOptions = {}): Promise<ResNet50Weights> {
  const { seed = 0, calibImages = 8, inputSize = 224, logitStd = 3, onProgress } = options;
  if (!Number.isInteger(calibImages) || calibImages < 2) throw new EdgeqError('BAD_OPTION', `calibImages must be an integer >= 2, got ${calibImages}`);
  if (!Number.isInteger(inputSize) || inputSize < 32) throw new EdgeqError('BAD_OPTION', `inputSize must be an integer >= 32, got ${inputSize}`);
  const arch = resnet50Arch(inputSize);
  const convs = resnet50Convs(arch);
  const weights = initResNet50Weights(seed, arch);

  let done = 0;
  /** Runs conv c on x, records its BN statistics, applies the BN (and ReLU); returns the result. */
  const convBn = async (c: ConvSpec, x: Act, relu: boolean): Promise<Act> => {
    const y = await runConv(c, x, weights.get(`${c.key}.weight`)!);
    const { mean, variance } = channelStats(y);
    const m32 = Float32Array.from(mean), v32 = Float32Array.from(variance);
    weights.set(`${c.bn}.running_mean`, m32);
    weights.set(`${c.bn}.running_var`, v32);
    onProgress?.(++done, convs.length, c.key);
    return batchNorm(y, m32, v32, weights.get(`${c.bn}.weight`)!, weights.get(`${c.bn}.bias`)!, relu);
  };

  const spec: PreprocessSpec = inputSize === 224 ? IMAGENET : { ...IMAGENET, resize: Math.round((inputSize * 256) / 224), crop: inputSize };
  let x: Act = { data: syntheticBatchNCHW(mixSeed(seed, STREAM_IMAGES), calibImages, spec), n: calibImages, c: 3, size: inputSize };
  x = maxPool(await convBn(arch.stem, x, true));
  for (const b of arch.blocks) {
    const blockIn = x;
    let h = await convBn(b.conv1, blockIn, true);
    h = await convBn(b.conv2, h, true);
    h = await convBn(b.conv3, h, false);
    const shortcut = b.downsample ? await convBn(b.downsample, blockIn, false) : blockIn;
    for (let i = 0; i < h.data.length; i++) {
      const v = h.data[i]! + shortcut.data[i]!;
      h.data[i] = v < 0 ? 0 : v;
    }
    x = h;
  }

  // FC: He-normal directions, centred on the mean feature and scaled to the target logit spread.
  const features = globalAverage(x);
  const F = arch.features, K = arch.classes, n = calibImages;
  const w = heNormal(mixSeed(seed, STREAM_FC), K * F, F);
  weights.set('fc.weight', w);
  weights.set('fc.bias', centreClassifier(w, features, n, F, K, logitStd));
  return weights;
}

/**
 * Scales the [K, F] classifier weights `w` in place so that its logits over the n feature rows
 * (features, [n, F]) have the RMS spread `logitStd` around their mean, and returns the bias that
 * centres them (the mean feature maps to zero logits).
 */
export function centreClassifier(w: Float32Array, features: ArrayLike<number>, n: number, F: number, K: number, logitStd: number): Float32Array {
  const mu = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) mu[j]! += features[i * F + j]! / n;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      let z = 0;
      for (let j = 0; j < F; j++) z += w[k * F + j]! * (features[i * F + j]! - mu[j]!);
      sumSq += z * z;
    }
  }
  const rms = Math.sqrt(sumSq / (n * K));
  const alpha = rms > 0 ? logitStd / rms : 1;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! * alpha;
  const bias = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let j = 0; j < F; j++) s += w[k * F + j]! * mu[j]!;
    bias[k] = -s;
  }
  return bias;
}
