// The embedded ResNet-50: the real ResNet-50 v1.5 architecture (torchvision's `resnet50`) with
// seeded synthetic weights, so benchmarks and quantizer tests have a full-size model without any
// download. Two spellings of the same network:
//   - 'torchvision': Conv (no bias) + BatchNormalization + Relu, Flatten + Gemm(transB=1), opset 13,
//     initializers named like torchvision's state_dict (`layer1.0.conv1.weight`, `layer1.0.bn1.running_var`).
//   - 'zoo': as the ONNX model zoo's resnet50-v1-7 family spells it: opset 7 (IR 3, initializers also
//     listed as graph inputs), MXNet-gluon names (`resnetv17_stage1_conv0_weight`), Conv + BatchNormalization
//     (epsilon and momentum; no `spatial`, whose default 1 is the inference meaning) + Relu + Add,
//     GlobalAveragePool, Reshape to [0, -1] (int64 shape initializer; 0 keeps the batch), Gemm(transB=1).
// Same seed -> same weights -> the same logits in both spellings.
//
// Weights (see resnet50-weights.ts): He-normal convs and FC, BatchNorm running statistics measured
// on the network's own activations on synthetic images, so every conv output is normalized; the
// last BN of each residual branch has gamma 0.2-0.3 so the residual stream stays bounded. The FC
// bias centres the logits on the mean feature, so the top-1 class varies with the input: over 100
// synthetic inputs, model seed 0 gives 65 distinct top-1 classes and no class wins more than 9% of
// them (logit std over classes about 4.5). Details and the build procedure: docs/resnet50-synth.md.

import { EdgeqError } from 'edgeq';
import type { ModelDef, NodeDef, TensorValue, ValueInfo } from '../onnx/model.js';
import { makeModel } from '../onnx/model.js';
import { BN_EPSILON, BN_MOMENTUM, resnet50Arch, type ConvSpec, type ResNet50Weights } from './resnet50-arch.js';
import { makeResNet50Weights, type ResNet50WeightOptions } from './resnet50-weights.js';

export * from './resnet50-arch.js';
export { initResNet50Weights, makeResNet50Weights, type ResNet50WeightOptions } from './resnet50-weights.js';

export type ResNet50Style = 'torchvision' | 'zoo';


// ---- Spelling the graph ----

/** Builds the graph for one spelling. Weights are shared, not copied. */
export function resnet50ModelDef(weights: ResNet50Weights, style: ResNet50Style, options: {
  inputSize?: number; docString?: string; metadata?: Record<string, string>;
} = {}): ModelDef {
  const arch = resnet50Arch(options.inputSize ?? 224);
  const nodes: NodeDef[] = [];
  const initializers: TensorValue[] = [];
  const valueInfo: ValueInfo[] = [];
  const zoo = style === 'zoo';
  const P = 'resnetv17_';

  const weight = (key: string, name: string, dims: number[]): string => {
    const data = weights.get(key);
    if (!data) throw new EdgeqError('BAD_OPTION', `ResNet-50 weights lack "${key}"`);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new EdgeqError('BAD_SHAPE', `ResNet-50 weight "${key}" has ${data.length} values for [${dims}]`);
    initializers.push({ name, dataType: 'float32', dims, data });
    return name;
  };
  const shape = (name: string, c: number, s: number): string => {
    valueInfo.push({ name, dataType: 'float32', dims: [1, c, s, s] });
    return name;
  };

  // Zoo (gluon) naming: per-stage counters for conv, batchnorm, relu, plus and activation.
  let stage = 0;
  const counters = { conv: 0, batchnorm: 0, relu: 0, plus: 0, activation: 0 };
  const zooName = (kind: keyof typeof counters): string => {
    const n = `${P}${stage === 0 ? '' : `stage${stage}_`}${kind}${counters[kind]++}`;
    return n;
  };

  /** Conv + BN (+ Relu); returns the output tensor name. */
  const convBn = (input: string, c: ConvSpec, relu: string | undefined): string => {
    let convName: string, convOut: string, wName: string, bnName: string, bnOut: string, bnNames: string[];
    if (zoo) {
      const cn = zooName('conv');
      const bn = zooName('batchnorm');
      convName = `${cn}_fwd`; convOut = convName; wName = `${cn}_weight`;
      bnName = `${bn}_fwd`; bnOut = bnName;
      bnNames = ['gamma', 'beta', 'running_mean', 'running_var'].map((p) => `${bn}_${p}`);
    } else {
      convName = c.key; convOut = `${c.key}_out`; wName = `${c.key}.weight`;
      bnName = c.bn; bnOut = `${c.bn}_out`;
      bnNames = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => `${c.bn}.${p}`);
    }
    weight(`${c.key}.weight`, wName, [c.cout, c.cin, c.k, c.k]);
    nodes.push({
      name: convName, opType: 'Conv', domain: '', inputs: [input, wName], outputs: [shape(convOut, c.cout, c.outSize)],
      attributes: {
        dilations: { type: 'ints', value: [1, 1] }, group: { type: 'int', value: 1 },
        kernel_shape: { type: 'ints', value: [c.k, c.k] }, pads: { type: 'ints', value: [c.pad, c.pad, c.pad, c.pad] },
        strides: { type: 'ints', value: [c.stride, c.stride] },
      },
    });
    ['weight', 'bias', 'running_mean', 'running_var'].forEach((p, i) => weight(`${c.bn}.${p}`, bnNames[i]!, [c.cout]));
    nodes.push({
      name: bnName, opType: 'BatchNormalization', domain: '', inputs: [convOut, ...bnNames], outputs: [shape(bnOut, c.cout, c.outSize)],
      attributes: { epsilon: { type: 'float', value: BN_EPSILON }, momentum: { type: 'float', value: BN_MOMENTUM } },
    });
    if (relu === undefined) return bnOut;
    const r = zoo ? `${zooName('relu')}_fwd` : relu;
    const rOut = zoo ? r : `${relu}_out`;
    nodes.push({ name: r, opType: 'Relu', domain: '', inputs: [bnOut], outputs: [shape(rOut, c.cout, c.outSize)], attributes: {} });
    return rOut;
  };

  const input = zoo ? 'data' : 'input';
  let x = convBn(input, arch.stem, 'relu');
  const pool = zoo ? `${P}pool0_fwd` : 'maxpool';
  const poolOut = zoo ? pool : 'maxpool_out';
  nodes.push({
    name: pool, opType: 'MaxPool', domain: '', inputs: [x], outputs: [shape(poolOut, 64, arch.poolSize)],
    attributes: {
      kernel_shape: { type: 'ints', value: [3, 3] }, pads: { type: 'ints', value: [1, 1, 1, 1] }, strides: { type: 'ints', value: [2, 2] },
    },
  });
  x = poolOut;

  for (const b of arch.blocks) {
    if (zoo && b.layer !== stage) {
      stage = b.layer;
      for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
    }
    const p = `layer${b.layer}.${b.index}`;
    const blockIn = x;
    let h = convBn(blockIn, b.conv1, `${p}.relu1`);
    h = convBn(h, b.conv2, `${p}.relu2`);
    h = convBn(h, b.conv3, undefined);
    const shortcut = b.downsample ? convBn(blockIn, b.downsample, undefined) : blockIn;
    const cout = b.conv3.cout;
    const add = zoo ? `${zooName('plus')}` : `${p}.add`;
    const addOut = zoo ? add : `${p}.add_out`;
    nodes.push({ name: add, opType: 'Add', domain: '', inputs: [h, shortcut], outputs: [shape(addOut, cout, b.outSize)], attributes: {} });
    const relu = zoo ? `${zooName('activation')}` : `${p}.relu3`;
    const reluOut = zoo ? relu : `${p}_out`;
    nodes.push({ name: relu, opType: 'Relu', domain: '', inputs: [addOut], outputs: [shape(reluOut, cout, b.outSize)], attributes: {} });
    x = reluOut;
  }

  const gap = zoo ? `${P}pool1_fwd` : 'avgpool';
  const gapOut = zoo ? gap : 'avgpool_out';
  nodes.push({ name: gap, opType: 'GlobalAveragePool', domain: '', inputs: [x], outputs: [shape(gapOut, arch.features, 1)], attributes: {} });
  const flat = zoo ? `${P}flatten0_fwd` : 'flatten';
  const flatOut = zoo ? flat : 'flatten_out';
  if (zoo) {
    const shapeName = `${P}flatten0_shape`;
    initializers.push({ name: shapeName, dataType: 'int64', dims: [2], data: new BigInt64Array([0n, -1n]) });
    nodes.push({ name: flat, opType: 'Reshape', domain: '', inputs: [gapOut, shapeName], outputs: [flatOut], attributes: {} });
  } else {
    nodes.push({ name: flat, opType: 'Flatten', domain: '', inputs: [gapOut], outputs: [flatOut], attributes: { axis: { type: 'int', value: 1 } } });
  }
  valueInfo.push({ name: flatOut, dataType: 'float32', dims: [1, arch.features] });
  const fcW = weight('fc.weight', zoo ? `${P}dense0_weight` : 'fc.weight', [arch.classes, arch.features]);
  const fcB = weight('fc.bias', zoo ? `${P}dense0_bias` : 'fc.bias', [arch.classes]);
  const output = zoo ? `${P}dense0_fwd` : 'logits';
  nodes.push({
    name: zoo ? output : 'fc', opType: 'Gemm', domain: '', inputs: [flatOut, fcW, fcB], outputs: [output],
    attributes: {
      alpha: { type: 'float', value: 1 }, beta: { type: 'float', value: 1 }, transB: { type: 'int', value: 1 },
    },
  });

  const graph = {
    name: zoo ? 'resnet50v1.5-zoo-style' : 'resnet50',
    nodes,
    initializers: new Map(initializers.map((t) => [t.name, t])),
    inputs: [{ name: input, dataType: 'float32' as const, dims: [1, 3, arch.inputSize, arch.inputSize] }],
    outputs: [{ name: output, dataType: 'float32' as const, dims: [1, arch.classes] }],
    valueInfo,
  };
  return makeModel(graph, {
    opset: zoo ? 7 : 13,
    irVersion: zoo ? 3 : 7,
    producerName: 'edgeq-synth',
    producerVersion: '1',
    docString: options.docString ?? 'ResNet-50 v1.5 architecture with seeded synthetic weights (edgeq embedded model); not trained.',
    metadata: options.metadata ?? {},
  });
}

/** Version of the weight generator; bump it when a change alters the generated weights (invalidates caches). */
export const RESNET50_GENERATOR_VERSION = 1;

export interface BuildResNet50Options extends Omit<ResNet50WeightOptions, 'inputSize'> {
  style?: ResNet50Style;
}

/** Metadata stored in the model (metadata_props) so a file says what produced it. */
export function resnet50Metadata(seed: number, style: ResNet50Style, calibImages: number): Record<string, string> {
  return {
    edgeq_synthetic: 'resnet50-v1.5',
    edgeq_seed: String(seed),
    edgeq_style: style,
    edgeq_generator_version: String(RESNET50_GENERATOR_VERSION),
    edgeq_calib_images: String(calibImages),
    preprocessing: 'imagenet: short side 256 (antialiased bilinear), centre crop 224, /255, mean [0.485,0.456,0.406], std [0.229,0.224,0.225], RGB NCHW',
  };
}

/**
 * Builds the embedded ResNet-50 (seeded synthetic weights, calibrated BN statistics) as a ModelDef.
 * About 10 s on an idle core (15-28 s on a loaded 2-core machine): the calibration runs every conv
 * once in onnxruntime-web on 8 images.
 * To get both spellings from one build, call makeResNet50Weights once and resnet50ModelDef twice.
 */
export async function buildResNet50(options: BuildResNet50Options = {}): Promise<ModelDef> {
  const { style = 'torchvision', seed = 0, calibImages = 8 } = options;
  const weights = await makeResNet50Weights({ ...options, seed, calibImages });
  return resnet50ModelDef(weights, style, { metadata: resnet50Metadata(seed, style, calibImages) });
}
