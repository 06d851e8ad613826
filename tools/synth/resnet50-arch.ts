// The ResNet-50 v1.5 architecture as data (torchvision's `resnet50`): layer list, tensor names and
// shapes, parameter and MAC counts. Shared by the graph spelling (resnet50.ts) and the weight
// calibration (resnet50-weights.ts).

/** One convolution of the network and the BatchNormalization after it. */
export interface ConvSpec {
  /** torchvision module name, e.g. 'conv1', 'layer1.0.conv2', 'layer2.0.downsample.0'. */
  key: string;
  /** torchvision module name of the following BatchNorm, e.g. 'bn1', 'layer2.0.downsample.1'. */
  bn: string;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  inSize: number;
  outSize: number;
}

export interface BlockSpec {
  layer: number;   // 1..4
  index: number;   // 0-based block index within the layer
  conv1: ConvSpec;
  conv2: ConvSpec; // 3x3, carries the stride (v1.5)
  conv3: ConvSpec;
  downsample?: ConvSpec; // block 0 only: 1x1 projection
  inSize: number;
  outSize: number;
}

export interface ResNet50Arch {
  inputSize: number;
  stem: ConvSpec;        // 7x7/2 pad 3
  poolSize: number;      // after 3x3/2 max pool pad 1
  blocks: BlockSpec[];
  features: number;      // 2048
  classes: number;       // 1000
}

const LAYERS: readonly { blocks: number; width: number }[] = [
  { blocks: 3, width: 64 }, { blocks: 4, width: 128 }, { blocks: 6, width: 256 }, { blocks: 3, width: 512 },
];
const EXPANSION = 4;
export const BN_EPSILON = 1e-5;
export const BN_MOMENTUM = 0.9;

const convOut = (size: number, k: number, stride: number, pad: number): number => Math.floor((size + 2 * pad - k) / stride) + 1;

function conv(key: string, bn: string, cin: number, cout: number, k: number, stride: number, inSize: number): ConvSpec {
  const pad = (k - 1) / 2;
  return { key, bn, cin, cout, k, stride, pad, inSize, outSize: convOut(inSize, k, stride, pad) };
}

/** The ResNet-50 v1.5 layer list at a given input size (224 for the standard model). */
export function resnet50Arch(inputSize = 224): ResNet50Arch {
  const stem = conv('conv1', 'bn1', 3, 64, 7, 2, inputSize);
  const poolSize = convOut(stem.outSize, 3, 2, 1);
  const blocks: BlockSpec[] = [];
  let cin = 64;
  let size = poolSize;
  LAYERS.forEach(({ blocks: count, width }, li) => {
    const layer = li + 1;
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && layer > 1 ? 2 : 1;
      const p = `layer${layer}.${b}`;
      const cout = width * EXPANSION;
      const c1 = conv(`${p}.conv1`, `${p}.bn1`, cin, width, 1, 1, size);
      const c2 = conv(`${p}.conv2`, `${p}.bn2`, width, width, 3, stride, size);
      const c3 = conv(`${p}.conv3`, `${p}.bn3`, width, cout, 1, 1, c2.outSize);
      const ds = b === 0 ? conv(`${p}.downsample.0`, `${p}.downsample.1`, cin, cout, 1, stride, size) : undefined;
      blocks.push({ layer, index: b, conv1: c1, conv2: c2, conv3: c3, downsample: ds, inSize: size, outSize: c2.outSize });
      cin = cout;
      size = c2.outSize;
    }
  });
  return { inputSize, stem, poolSize, blocks, features: cin, classes: 1000 };
}

/** Every conv of the network in execution order (stem, then per block conv1, conv2, conv3, downsample). */
export function resnet50Convs(arch: ResNet50Arch = resnet50Arch()): ConvSpec[] {
  const out = [arch.stem];
  for (const b of arch.blocks) out.push(b.conv1, b.conv2, b.conv3, ...(b.downsample ? [b.downsample] : []));
  return out;
}

/**
 * Parameter and compute counts. `params` is torchvision's count (`sum(p.numel() for p in
 * model.parameters())`): conv weights, BN weight and bias, FC weight and bias = 25,557,032.
 * `bnBuffers` are the running_mean/running_var elements (not parameters in torchvision);
 * `initializerElements` = params + bnBuffers, what the ONNX file stores. `macs` counts conv and FC
 * multiply-accumulates at the given input size (BN, ReLU, pooling, Add excluded).
 */
export function resnet50Counts(arch: ResNet50Arch = resnet50Arch()): {
  params: number; bnBuffers: number; initializerElements: number; macs: number; convs: number; bns: number;
} {
  let params = 0, bnChannels = 0, macs = 0;
  const convs = resnet50Convs(arch);
  for (const c of convs) {
    params += c.cout * c.cin * c.k * c.k;
    bnChannels += c.cout;
    macs += c.cout * c.outSize * c.outSize * c.cin * c.k * c.k;
  }
  params += 2 * bnChannels + arch.features * arch.classes + arch.classes;
  macs += arch.features * arch.classes;
  return { params, bnBuffers: 2 * bnChannels, initializerElements: params + 2 * bnChannels, macs, convs: convs.length, bns: convs.length };
}

/** Weights keyed by torchvision state_dict names (`conv1.weight`, `bn1.running_mean`, `fc.bias`, ...). */
export type ResNet50Weights = Map<string, Float32Array>;

/** The state_dict key and dims of every tensor, in state_dict order. */
export function resnet50TensorShapes(arch: ResNet50Arch = resnet50Arch()): { name: string; dims: number[] }[] {
  const out: { name: string; dims: number[] }[] = [];
  const addConv = (c: ConvSpec): void => {
    out.push({ name: `${c.key}.weight`, dims: [c.cout, c.cin, c.k, c.k] });
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.push({ name: `${c.bn}.${p}`, dims: [c.cout] });
  };
  for (const c of resnet50Convs(arch)) addConv(c);
  out.push({ name: 'fc.weight', dims: [arch.classes, arch.features] }, { name: 'fc.bias', dims: [arch.classes] });
  return out;
}

