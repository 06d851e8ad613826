// The embedded MobileNets: torchvision's MobileNetV2 1.0 and MobileNetV3-Small architectures with
// seeded synthetic weights (mobilenet-weights.ts), spelled as torch.onnx.export writes them at
// opset 13 without constant folding of the BatchNorms:
//   - Conv (no bias) + BatchNormalization (+ activation); initializers named like the state_dict.
//   - ReLU6 is Clip with min/max inputs (scalar initializers 0 and 6).
//   - Hardswish (V3) is HardSigmoid(alpha = 1/6, beta = 0.5) then Mul(x, that) (HardSwish is opset 14).
//   - SE (V3): GlobalAveragePool -> Conv 1x1 (bias) -> Relu -> Conv 1x1 (bias) -> HardSigmoid -> Mul(scale, x).
//   - Residual: Add(projection, block input).
//   - Head: GlobalAveragePool -> Flatten -> V2: Dropout -> Gemm(transB=1);
//     V3-Small: Gemm -> Hardswish -> Dropout -> Gemm. Dropout has the ratio input (0.2) as torch writes it.
// Input `input` [1, 3, 224, 224] (ImageNet normalization), output `logits` [1, 1000].

import { EdgeqError } from 'edgeq';
import type { ModelDef, NodeDef, TensorValue, ValueInfo } from '../onnx/model.js';
import { makeModel } from '../onnx/model.js';
import { mobileNetArch, type MnConvSpec, type MobileNetAct, type MobileNetName, type MobileNetWeights } from './mobilenet-arch.js';
import { makeMobileNetWeights, type MobileNetWeightOptions } from './mobilenet-weights.js';

export * from './mobilenet-arch.js';
export { initMobileNetWeights, makeMobileNetWeights, type MobileNetWeightOptions } from './mobilenet-weights.js';

/** The embedded MobileNets' names (`edgeq synth <name>`, `edgeq bench --model <name>`). */
export const MOBILENET_NAMES: readonly MobileNetName[] = ['mobilenetv2', 'mobilenetv3-small'];

export function isMobileNetName(s: string): s is MobileNetName {
  return (MOBILENET_NAMES as readonly string[]).includes(s);
}

/** Display names. */
export const MOBILENET_TITLES: Record<MobileNetName, string> = { mobilenetv2: 'MobileNetV2 1.0', 'mobilenetv3-small': 'MobileNetV3-Small' };

/** Builds the graph of `name` from its weights (shared, not copied). */
export function mobileNetModelDef(name: MobileNetName, weights: MobileNetWeights, options: {
  inputSize?: number; docString?: string; metadata?: Record<string, string>;
} = {}): ModelDef {
  const arch = mobileNetArch(name, options.inputSize ?? 224);
  const nodes: NodeDef[] = [];
  const initializers: TensorValue[] = [];
  const valueInfo: ValueInfo[] = [];

  const weight = (key: string, dims: number[]): string => {
    const data = weights.get(key);
    if (!data) throw new EdgeqError('BAD_OPTION', `${name} weights lack "${key}"`);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new EdgeqError('BAD_SHAPE', `${name} weight "${key}" has ${data.length} values for [${dims}]`);
    initializers.push({ name: key, dataType: 'float32', dims, data });
    return key;
  };
  const scalar = (n: string, v: number): string => {
    initializers.push({ name: n, dataType: 'float32', dims: [], data: Float32Array.of(v) });
    return n;
  };
  const shape = (n: string, c: number, s: number): string => {
    valueInfo.push({ name: n, dataType: 'float32', dims: [1, c, s, s] });
    return n;
  };
  const node = (n: string, opType: string, inputs: string[], output: string, attributes: NodeDef['attributes'] = {}): string => {
    nodes.push({ name: n, opType, domain: '', inputs, outputs: [output], attributes });
    return output;
  };
  const hasRelu6 = arch.stem.act === 'relu6';
  const relu6Min = hasRelu6 ? scalar('relu6.min', 0) : '', relu6Max = hasRelu6 ? scalar('relu6.max', 6) : '';
  const hardSigmoid = { alpha: { type: 'float' as const, value: 1 / 6 }, beta: { type: 'float' as const, value: 0.5 } };

  /** The activation `act` of `x` under module name `key`; `c`, `s` the tensor's channels and side (0: no value_info). */
  const activation = (x: string, key: string, act: MobileNetAct, c: number, s: number): string => {
    const out = (suffix: string) => (s ? shape(`${key}.${suffix}_out`, c, s) : `${key}.${suffix}_out`);
    switch (act) {
      case 'none': return x;
      case 'relu': return node(`${key}.relu`, 'Relu', [x], out('relu'));
      case 'relu6': return node(`${key}.relu6`, 'Clip', [x, relu6Min, relu6Max], out('relu6'));
      case 'hardswish': {
        const g = node(`${key}.hardswish.gate`, 'HardSigmoid', [x], out('hardswish_gate'), hardSigmoid);
        return node(`${key}.hardswish`, 'Mul', [x, g], out('hardswish'));
      }
    }
  };

  /** Conv + BN (+ activation); returns the output tensor name. */
  const convBn = (input: string, c: MnConvSpec): string => {
    const w = weight(`${c.key}.weight`, [c.cout, c.cin / c.group, c.k, c.k]);
    const y = node(c.key, 'Conv', [input, w], shape(`${c.key}_out`, c.cout, c.outSize), {
      dilations: { type: 'ints', value: [1, 1] }, group: { type: 'int', value: c.group },
      kernel_shape: { type: 'ints', value: [c.k, c.k] }, pads: { type: 'ints', value: [c.pad, c.pad, c.pad, c.pad] },
      strides: { type: 'ints', value: [c.stride, c.stride] },
    });
    const bn = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => weight(`${c.bn}.${p}`, [c.cout]));
    const z = node(c.bn, 'BatchNormalization', [y, ...bn], shape(`${c.bn}_out`, c.cout, c.outSize), {
      epsilon: { type: 'float', value: arch.bnEpsilon }, momentum: { type: 'float', value: arch.bnMomentum },
    });
    return activation(z, c.bn, c.act, c.cout, c.outSize);
  };

  const conv1x1 = (input: string, key: string, cin: number, cout: number): string => {
    const w = weight(`${key}.weight`, [cout, cin, 1, 1]);
    const b = weight(`${key}.bias`, [cout]);
    return node(key, 'Conv', [input, w, b], shape(`${key}_out`, cout, 1), {
      dilations: { type: 'ints', value: [1, 1] }, group: { type: 'int', value: 1 },
      kernel_shape: { type: 'ints', value: [1, 1] }, pads: { type: 'ints', value: [0, 0, 0, 0] }, strides: { type: 'ints', value: [1, 1] },
    });
  };

  let x = convBn('input', arch.stem);
  for (const b of arch.blocks) {
    const blockIn = x;
    let h = b.expand ? convBn(x, b.expand) : x;
    h = convBn(h, b.dw);
    if (b.se) {
      const { key, channels, squeeze } = b.se;
      const s = b.dw.outSize;
      const pooled = node(`${key}.avgpool`, 'GlobalAveragePool', [h], shape(`${key}.avgpool_out`, channels, 1));
      let t = conv1x1(pooled, `${key}.fc1`, channels, squeeze);
      t = node(`${key}.relu`, 'Relu', [t], shape(`${key}.relu_out`, squeeze, 1));
      t = conv1x1(t, `${key}.fc2`, squeeze, channels);
      t = node(`${key}.hardsigmoid`, 'HardSigmoid', [t], shape(`${key}.hardsigmoid_out`, channels, 1), hardSigmoid);
      h = node(`${key}.mul`, 'Mul', [t, h], shape(`${key}_out`, channels, s));
    }
    h = convBn(h, b.project);
    if (b.residual) h = node(`features.${b.index}.add`, 'Add', [h, blockIn], shape(`features.${b.index}_out`, b.project.cout, b.outSize));
    x = h;
  }
  x = convBn(x, arch.last);
  const features = arch.last.cout;
  const gap = node('avgpool', 'GlobalAveragePool', [x], shape('avgpool_out', features, 1));
  let y = node('flatten', 'Flatten', [gap], 'flatten_out', { axis: { type: 'int', value: 1 } });
  valueInfo.push({ name: y, dataType: 'float32', dims: [1, features] });
  const ratio = scalar('classifier.dropout.ratio', arch.dropout);
  const dropout = (input: string, key: string, c: number): string => {
    const out = node(key, 'Dropout', [input, ratio], `${key}_out`);
    valueInfo.push({ name: out, dataType: 'float32', dims: [1, c] });
    return out;
  };
  const gemm = (input: string, key: string, cin: number, cout: number, output: string): string =>
    node(key, 'Gemm', [input, weight(`${key}.weight`, [cout, cin]), weight(`${key}.bias`, [cout])], output, {
      alpha: { type: 'float', value: 1 }, beta: { type: 'float', value: 1 }, transB: { type: 'int', value: 1 },
    });
  arch.head.forEach((l, i) => {
    const lastLayer = i === arch.head.length - 1;
    // torchvision: V2 classifier = Dropout, Linear; V3 = Linear, Hardswish, Dropout, Linear.
    if (lastLayer && i === 0) y = dropout(y, 'classifier.0', l.cin);
    y = gemm(y, l.key, l.cin, l.cout, lastLayer ? 'logits' : `${l.key}_out`);
    if (!lastLayer) {
      valueInfo.push({ name: y, dataType: 'float32', dims: [1, l.cout] });
      y = activation(y, `classifier.${i + 1}`, 'hardswish', l.cout, 0);
      y = dropout(y, `classifier.${i + 2}`, l.cout);
    }
  });

  return makeModel({
    name,
    nodes,
    initializers: new Map(initializers.map((t) => [t.name, t])),
    inputs: [{ name: 'input', dataType: 'float32', dims: [1, 3, arch.inputSize, arch.inputSize] }],
    outputs: [{ name: 'logits', dataType: 'float32', dims: [1, arch.classes] }],
    valueInfo,
  }, {
    opset: 13,
    irVersion: 7,
    producerName: 'edgeq-synth',
    producerVersion: '1',
    docString: options.docString ?? `${MOBILENET_TITLES[name]} architecture with seeded synthetic weights (edgeq embedded model); not trained.`,
    metadata: options.metadata ?? {},
  });
}

/** Version of the weight generator; bump it when a change alters the generated weights (invalidates caches). */
export const MOBILENET_GENERATOR_VERSION = 1;

/** Metadata stored in the model (metadata_props) so a file says what produced it. */
export function mobileNetMetadata(name: MobileNetName, seed: number, calibImages: number): Record<string, string> {
  return {
    edgeq_synthetic: name,
    edgeq_seed: String(seed),
    edgeq_generator_version: String(MOBILENET_GENERATOR_VERSION),
    edgeq_calib_images: String(calibImages),
    preprocessing: 'imagenet: short side 256 (antialiased bilinear), centre crop 224, /255, mean [0.485,0.456,0.406], std [0.229,0.224,0.225], RGB NCHW',
  };
}

/**
 * Builds an embedded MobileNet (seeded synthetic weights, calibrated BN statistics) as a ModelDef.
 * A few seconds: the calibration runs every conv once in onnxruntime-web on 8 images.
 */
export async function buildMobileNet(name: MobileNetName, options: Omit<MobileNetWeightOptions, 'inputSize'> = {}): Promise<ModelDef> {
  const { seed = 0, calibImages = 8 } = options;
  const weights = await makeMobileNetWeights(name, { ...options, seed, calibImages });
  return mobileNetModelDef(name, weights, { metadata: mobileNetMetadata(name, seed, calibImages) });
}
