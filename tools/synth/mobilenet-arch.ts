// The MobileNetV2 1.0 and MobileNetV3-Small architectures as data (torchvision's `mobilenet_v2` and
// `mobilenet_v3_small`): layer list, state_dict names, shapes, parameter and MAC counts. Shared by the
// graph spelling (mobilenet.ts) and the weight calibration (mobilenet-weights.ts).

/** The activation after a conv's BatchNorm ('none': the linear bottleneck's projection). */
export type MobileNetAct = 'relu' | 'relu6' | 'hardswish' | 'none';

/** One convolution of the network and the BatchNorm after it. */
export interface MnConvSpec {
  /** torchvision module name of the conv, e.g. 'features.0.0', 'features.2.conv.1.0'. */
  key: string;
  /** torchvision module name of the following BatchNorm, e.g. 'features.0.1'. */
  bn: string;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  /** 1, or cin (== cout) for a depthwise conv. */
  group: number;
  inSize: number;
  outSize: number;
  act: MobileNetAct;
}

/** Squeeze-and-excitation (MobileNetV3): GAP -> fc1 (1x1, bias) -> ReLU -> fc2 (1x1, bias) -> HardSigmoid -> x * scale. */
export interface MnSeSpec {
  /** torchvision module name, e.g. 'features.1.block.1' (its convs are `${key}.fc1`, `${key}.fc2`). */
  key: string;
  channels: number;
  squeeze: number;
}

/** An inverted residual: optional 1x1 expansion, depthwise kxk (carries the stride), optional SE, 1x1 projection. */
export interface MnBlockSpec {
  /** Index in torchvision's `features`. */
  index: number;
  expand?: MnConvSpec;
  dw: MnConvSpec;
  se?: MnSeSpec;
  project: MnConvSpec;
  /** stride 1 and cin == cout: the block's input is added to the projection. */
  residual: boolean;
  inSize: number;
  outSize: number;
}

/** A fully connected layer of the classifier (torchvision module `classifier.<index>`). */
export interface MnLinearSpec {
  key: string;
  cin: number;
  cout: number;
}

export type MobileNetName = 'mobilenetv2' | 'mobilenetv3-small';

export interface MobileNetArch {
  name: MobileNetName;
  inputSize: number;
  stem: MnConvSpec;
  blocks: MnBlockSpec[];
  /** The 1x1 conv after the last block (V2: 320 -> 1280 ReLU6; V3-Small: 96 -> 576 Hardswish). */
  last: MnConvSpec;
  /** V2: [classifier.1]; V3-Small: [classifier.0, classifier.3] with Hardswish between them. */
  head: MnLinearSpec[];
  /** Dropout probability of the classifier's Dropout (0.2 in both). */
  dropout: number;
  classes: number;
  bnEpsilon: number;
  bnMomentum: number;
}

const convOut = (size: number, k: number, stride: number, pad: number): number => Math.floor((size + 2 * pad - k) / stride) + 1;

function conv(key: string, bn: string, cin: number, cout: number, k: number, stride: number, group: number, inSize: number, act: MobileNetAct): MnConvSpec {
  const pad = (k - 1) / 2;
  return { key, bn, cin, cout, k, stride, pad, group, inSize, outSize: convOut(inSize, k, stride, pad), act };
}

/** torchvision's `_make_divisible(v, 8)`: round to a multiple of 8, never below 90% of v. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** torchvision MobileNetV2 (width 1.0): inverted residual settings t (expansion), c (channels), n (repeats), s (first stride). */
const V2_SETTINGS: readonly [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** The MobileNetV2 1.0 layer list at a given input size (224 for the standard model). */
export function mobileNetV2Arch(inputSize = 224): MobileNetArch {
  const stem = conv('features.0.0', 'features.0.1', 3, 32, 3, 2, 1, inputSize, 'relu6');
  const blocks: MnBlockSpec[] = [];
  let cin = 32, size = stem.outSize, index = 1;
  for (const [t, c, n, s] of V2_SETTINGS) {
    for (let i = 0; i < n; i++, index++) {
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      const p = `features.${index}.conv`;
      // t == 1: conv.0 = depthwise ConvBNReLU6, conv.1 = projection, conv.2 = its BN; else conv.0 expands.
      const expand = t === 1 ? undefined : conv(`${p}.0.0`, `${p}.0.1`, cin, hidden, 1, 1, 1, size, 'relu6');
      const d = t === 1 ? 0 : 1;
      const dw = conv(`${p}.${d}.0`, `${p}.${d}.1`, hidden, hidden, 3, stride, hidden, size, 'relu6');
      const project = conv(`${p}.${d + 1}`, `${p}.${d + 2}`, hidden, c, 1, 1, 1, dw.outSize, 'none');
      blocks.push({ index, expand, dw, project, residual: stride === 1 && cin === c, inSize: size, outSize: dw.outSize });
      cin = c;
      size = dw.outSize;
    }
  }
  const last = conv(`features.${index}.0`, `features.${index}.1`, cin, 1280, 1, 1, 1, size, 'relu6');
  return {
    name: 'mobilenetv2', inputSize, stem, blocks, last, head: [{ key: 'classifier.1', cin: 1280, cout: 1000 }],
    dropout: 0.2, classes: 1000, bnEpsilon: 1e-5, bnMomentum: 0.9,
  };
}

/** torchvision MobileNetV3-Small: input channels, kernel, expanded channels, output channels, SE, activation, stride. */
const V3_SMALL: readonly [number, number, number, number, boolean, 'RE' | 'HS', number][] = [
  [16, 3, 16, 16, true, 'RE', 2], [16, 3, 72, 24, false, 'RE', 2], [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2], [40, 5, 240, 40, true, 'HS', 1], [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1], [48, 5, 144, 48, true, 'HS', 1], [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1], [96, 5, 576, 96, true, 'HS', 1],
];

/** The MobileNetV3-Small layer list at a given input size (224 for the standard model). */
export function mobileNetV3SmallArch(inputSize = 224): MobileNetArch {
  const stem = conv('features.0.0', 'features.0.1', 3, 16, 3, 2, 1, inputSize, 'hardswish');
  const blocks: MnBlockSpec[] = [];
  let size = stem.outSize, index = 1;
  for (const [cin, k, exp, cout, useSe, a, stride] of V3_SMALL) {
    const act: MobileNetAct = a === 'RE' ? 'relu' : 'hardswish';
    const p = `features.${index}.block`;
    let m = 0;
    const expand = exp === cin ? undefined : conv(`${p}.${m}.0`, `${p}.${m++}.1`, cin, exp, 1, 1, 1, size, act);
    const dw = conv(`${p}.${m}.0`, `${p}.${m++}.1`, exp, exp, k, stride, exp, size, act);
    const se = useSe ? { key: `${p}.${m++}`, channels: exp, squeeze: makeDivisible(exp / 4) } : undefined;
    const project = conv(`${p}.${m}.0`, `${p}.${m}.1`, exp, cout, 1, 1, 1, dw.outSize, 'none');
    blocks.push({ index, expand, dw, se, project, residual: stride === 1 && cin === cout, inSize: size, outSize: dw.outSize });
    size = dw.outSize;
    index++;
  }
  const last = conv(`features.${index}.0`, `features.${index}.1`, 96, 576, 1, 1, 1, size, 'hardswish');
  return {
    name: 'mobilenetv3-small', inputSize, stem, blocks, last,
    head: [{ key: 'classifier.0', cin: 576, cout: 1024 }, { key: 'classifier.3', cin: 1024, cout: 1000 }],
    dropout: 0.2, classes: 1000, bnEpsilon: 0.001, bnMomentum: 0.99,
  };
}

export function mobileNetArch(name: MobileNetName, inputSize = 224): MobileNetArch {
  return name === 'mobilenetv2' ? mobileNetV2Arch(inputSize) : mobileNetV3SmallArch(inputSize);
}

/** Every conv with a BatchNorm in execution order (stem, per block expand, dw, project, then the last conv); SE convs excluded. */
export function mobileNetConvs(arch: MobileNetArch): MnConvSpec[] {
  const out = [arch.stem];
  for (const b of arch.blocks) out.push(...(b.expand ? [b.expand] : []), b.dw, b.project);
  out.push(arch.last);
  return out;
}

/**
 * Parameter and compute counts. `params` is torchvision's count (`sum(p.numel() for p in
 * model.parameters())`): conv weights, BN weight and bias, SE fc weights and biases, classifier
 * weights and biases (MobileNetV2 3,504,872; MobileNetV3-Small 2,542,856). `bnBuffers` are the
 * running_mean/running_var elements; `initializerElements` = params + bnBuffers. `macs` counts conv,
 * SE fc and classifier multiply-accumulates at the arch's input size.
 */
export function mobileNetCounts(arch: MobileNetArch): {
  params: number; bnBuffers: number; initializerElements: number; macs: number; convs: number; depthwise: number;
} {
  let params = 0, bnChannels = 0, macs = 0;
  const convs = mobileNetConvs(arch);
  for (const c of convs) {
    const perOut = (c.cin / c.group) * c.k * c.k;
    params += c.cout * perOut;
    bnChannels += c.cout;
    macs += c.cout * c.outSize * c.outSize * perOut;
  }
  params += 2 * bnChannels;
  for (const b of arch.blocks) {
    if (!b.se) continue;
    params += 2 * b.se.channels * b.se.squeeze + b.se.squeeze + b.se.channels;
    macs += 2 * b.se.channels * b.se.squeeze;
  }
  for (const l of arch.head) {
    params += l.cin * l.cout + l.cout;
    macs += l.cin * l.cout;
  }
  return {
    params, bnBuffers: 2 * bnChannels, initializerElements: params + 2 * bnChannels, macs,
    convs: convs.length, depthwise: convs.filter((c) => c.group > 1).length,
  };
}

/** Weights keyed by torchvision state_dict names (`features.0.0.weight`, `features.0.1.running_mean`, `classifier.1.bias`, ...). */
export type MobileNetWeights = Map<string, Float32Array>;

/** The state_dict key and dims of every tensor (num_batches_tracked excluded), in state_dict order. */
export function mobileNetTensorShapes(arch: MobileNetArch): { name: string; dims: number[] }[] {
  const out: { name: string; dims: number[] }[] = [];
  const addConv = (c: MnConvSpec): void => {
    out.push({ name: `${c.key}.weight`, dims: [c.cout, c.cin / c.group, c.k, c.k] });
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.push({ name: `${c.bn}.${p}`, dims: [c.cout] });
  };
  addConv(arch.stem);
  for (const b of arch.blocks) {
    if (b.expand) addConv(b.expand);
    addConv(b.dw);
    if (b.se) {
      out.push({ name: `${b.se.key}.fc1.weight`, dims: [b.se.squeeze, b.se.channels, 1, 1] }, { name: `${b.se.key}.fc1.bias`, dims: [b.se.squeeze] });
      out.push({ name: `${b.se.key}.fc2.weight`, dims: [b.se.channels, b.se.squeeze, 1, 1] }, { name: `${b.se.key}.fc2.bias`, dims: [b.se.channels] });
    }
    addConv(b.project);
  }
  addConv(arch.last);
  for (const l of arch.head) out.push({ name: `${l.key}.weight`, dims: [l.cout, l.cin] }, { name: `${l.key}.bias`, dims: [l.cout] });
  return out;
}
