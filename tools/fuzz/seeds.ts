// Seed models for the fuzzer, the soak and the hardening tests, built in code from a seed:
//  - synthQModel: a small valid quantized model (QModel) made directly with the weight packer, no
//    calibration and no onnxruntime-web, covering every op and kernel path the runtime has (im2col
//    stem, IGEMM, GEMM, grouped convs, LeakyRelu, max pool, residual add, uint8 and float32 global
//    average pool, float32 classifier head); synthBlocksQModel: the MobileNet/SqueezeNet-class ops
//    (ceil-mode max pool, channel concat, squeeze-and-excitation mul, average pool);
//  - synthOnnx: a small fp32 ONNX CNN (Conv, BatchNormalization, Relu, LeakyRelu, MaxPool, Add,
//    GlobalAveragePool, Flatten, Gemm) for the ONNX reader's fuzzing.
import type { Activation, QConv, QModel, QOp, QTensor } from 'edgeq/format';
import { PACKING_GEMM, PACKING_IM2COL, packConv } from 'edgeq/kernels';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo, type ModelDef, type NodeDef, type TensorValue } from '../onnx/model.js';
import { makeFloatTensor } from '../onnx/tensor.js';
import { Rng } from '../synth/random.js';

export interface SynthQModelOptions {
  /** Input side (square), default 12..20 from the seed. */
  size?: number;
  classes?: number;
  /** Fuse each residual add into the conv before it (QConv.residual) instead of a separate add op. */
  fuseResidual?: boolean;
}

/** A small valid QModel; different seeds give different shapes, channel counts and op mixes. */
export function synthQModel(seed: number, options: SynthQModelOptions = {}): QModel {
  const rng = new Rng(seed * 7919 + 17);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const size = options.size ?? 12 + rng.int(9);
  const classes = options.classes ?? 5 + rng.int(8);
  const tensors: QTensor[] = [];
  const ops: QOp[] = [];
  const blobs: Uint8Array[] = [];
  const tensor = (name: string, shape: [number, number, number, number], dtype: 'uint8' | 'float32' = 'uint8', scale?: number, zeroPoint?: number): number => {
    tensors.push({
      name, shape, dtype,
      scale: dtype === 'uint8' ? Math.fround(scale ?? rng.uniform(0.01, 0.08)) : 1,
      zeroPoint: dtype === 'uint8' ? zeroPoint ?? rng.int(160) : 0,
    });
    return tensors.length - 1;
  };
  const outDim = (i: number, k: number, s: number, p: number) => Math.floor((i + 2 * p - k) / s) + 1;

  const conv = (name: string, x: number, cout: number, k: number, s: number, o: { group?: number; act?: Activation; f32?: boolean; packing?: string; residual?: number } = {}): number => {
    const xt = tensors[x]!;
    const [, h, w, cin] = xt.shape;
    const group = o.group ?? 1;
    const p = (k - 1) >> 1;
    const oh = outDim(h, k, s, p), ow = outDim(w, k, s, p);
    const act = o.act ?? { kind: 'relu' };
    const y = o.f32 ? tensor(`${name}.out`, [1, oh, ow, cout], 'float32')
      : tensor(`${name}.out`, [1, oh, ow, cout], 'uint8', undefined, act.kind === 'relu' ? 0 : 100 + rng.int(40));
    const K = (cin / group) * k * k;
    const weights = Int8Array.from({ length: cout * K }, () => rng.int(255) - 127);
    const bias = Int32Array.from({ length: cout }, () => rng.int(2001) - 1000);
    // Multipliers that keep the outputs spread over the uint8 range (|acc| ~ 60 * 73 * sqrt(K)).
    const m = o.f32 ? 0.001 : 30 / (4400 * Math.sqrt(K));
    const multipliers = Float32Array.from({ length: cout }, () => m * rng.uniform(0.5, 1.5));
    const packed = packConv({ outChannels: cout, inChannels: cin, kernel: [k, k], group, weights, bias, multipliers, inputZeroPoint: xt.zeroPoint, packing: o.packing });
    blobs.push(packed.blob);
    const op: QConv = {
      op: 'conv', name, input: x, output: y, kernel: [k, k], stride: [s, s], pads: [p, p, p, p], dilation: [1, 1],
      group, inChannels: cin, outChannels: cout, activation: act, weights: blobs.length - 1, packing: packed.packing,
      ...(o.residual !== undefined ? { residual: o.residual } : {}),
    };
    ops.push(op);
    return y;
  };

  const input = tensor('input', [1, size, size, 3], 'uint8', 0.02, 128);
  const c1 = 8 * (1 + rng.int(2));
  const stemAct: Activation = rng.next() < 0.3 ? { kind: 'leakyrelu', alpha: 0.1 } : { kind: 'relu' };
  let x = conv('stem', input, c1, 3, 2, { act: stemAct, packing: pick([PACKING_IM2COL, PACKING_GEMM]) });
  if (rng.next() < 0.7) {
    const xt = tensors[x]!;
    const [k, s, p] = pick([[3, 2, 1], [2, 2, 0], [3, 1, 1]] as const);
    const oh = outDim(xt.shape[1], k, s, p), ow = outDim(xt.shape[2], k, s, p);
    const y = tensor('pool.out', [1, oh, ow, xt.shape[3]], 'uint8', xt.scale, xt.zeroPoint);
    ops.push({ op: 'maxpool', name: 'pool', input: x, output: y, kernel: [k, k], stride: [s, s], pads: [p, p, p, p] });
    x = y;
  }
  const blocks = 1 + rng.int(2);
  for (let b = 0; b < blocks; b++) {
    const skip = x;
    const mid = 8 * (1 + rng.int(3));
    let y = conv(`b${b}.c1`, skip, mid, 1, 1);
    y = conv(`b${b}.c2`, y, mid, 3, 1, { group: pick([1, 2, mid]) });
    if (options.fuseResidual) {
      x = conv(`b${b}.c3`, y, c1, 1, 1, { act: { kind: 'relu' }, residual: skip });
      continue;
    }
    y = conv(`b${b}.c3`, y, c1, 1, 1, { act: { kind: 'none' } });
    const st = tensors[skip]!;
    const out = tensor(`b${b}.add`, [...st.shape], 'uint8', undefined, 0);
    ops.push({ op: 'add', name: `b${b}.add`, a: y, b: skip, output: out, activation: { kind: 'relu' } });
    x = out;
  }
  const c2 = 8 + 4 * rng.int(4);
  x = conv('down', x, c2, 3, 2);
  let logits: number;
  if (rng.next() < 0.5) {
    // uint8 global average pool, then a float32 fully connected head (a 1x1 conv over 1x1).
    const g = tensor('gap.out', [1, 1, 1, c2], 'uint8');
    ops.push({ op: 'gap', name: 'gap', input: x, output: g });
    logits = conv('fc', g, classes, 1, 1, { act: { kind: 'none' }, f32: true });
  } else {
    // float32 1x1 conv head, then a float32 global average pool.
    const h = conv('head', x, classes, 1, 1, { act: { kind: 'none' }, f32: true });
    logits = tensor('logits', [1, 1, 1, classes], 'float32');
    ops.push({ op: 'gap', name: 'gap', input: h, output: logits });
  }
  return {
    input: { name: 'input', tensor: input, nchw: [1, 3, size, size] },
    outputs: [{ name: 'logits', tensor: logits }],
    tensors, ops, blobs,
    labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
    preprocess: {
      resizeMode: 'square-crop', resize: size, crop: size, interpolation: 'bilinear',
      scale: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], channels: 'rgb',
    },
    producer: `edgeq-fuzz synth seed ${seed}`,
    meta: { seed },
  };
}

/**
 * A small valid QModel of the MobileNet/SqueezeNet-class ops: stem conv, a ceil-mode max pool (end
 * pads grown by the overhang), a fire module (squeeze 1x1, expand 1x1 and 3x3, channel concat: a
 * copy or a requantization by seed), a squeeze-and-excitation gate (gap, two 1x1 convs, channel
 * broadcast mul), an average pool (count_include_pad by seed), then a uint8 gap and a float32 head.
 */
export function synthBlocksQModel(seed: number): QModel {
  const base = synthQModel(seed, { size: 13 + (seed % 4) });
  const rng = new Rng(seed * 6271 + 29);
  const tensors = base.tensors.slice(0, 1);
  const ops: QOp[] = [];
  const blobs: Uint8Array[] = [];
  const tensor = (name: string, shape: [number, number, number, number], q: { scale?: number; zeroPoint?: number } = {}): number => {
    tensors.push({ name, shape, dtype: 'uint8', scale: Math.fround(q.scale ?? rng.uniform(0.01, 0.08)), zeroPoint: q.zeroPoint ?? rng.int(160) });
    return tensors.length - 1;
  };
  const conv = (name: string, x: number, cout: number, k: number, s: number, o: { act?: Activation; f32?: boolean } = {}): number => {
    const xt = tensors[x]!;
    const [, h, w, cin] = xt.shape;
    const p = (k - 1) >> 1;
    const oh = Math.floor((h + 2 * p - k) / s) + 1, ow = Math.floor((w + 2 * p - k) / s) + 1;
    const act = o.act ?? { kind: 'relu' };
    const y = o.f32 ? (tensors.push({ name: `${name}.out`, shape: [1, oh, ow, cout], dtype: 'float32', scale: 1, zeroPoint: 0 }), tensors.length - 1)
      : tensor(`${name}.out`, [1, oh, ow, cout], { zeroPoint: act.kind === 'relu' ? 0 : 100 + rng.int(40) });
    const K = cin * k * k;
    const packed = packConv({
      outChannels: cout, inChannels: cin, kernel: [k, k], group: 1,
      weights: Int8Array.from({ length: cout * K }, () => rng.int(255) - 127), bias: Int32Array.from({ length: cout }, () => rng.int(2001) - 1000),
      multipliers: Float32Array.from({ length: cout }, () => (o.f32 ? 0.001 : 30 / (4400 * Math.sqrt(K))) * rng.uniform(0.5, 1.5)), inputZeroPoint: xt.zeroPoint,
    });
    blobs.push(packed.blob);
    ops.push({
      op: 'conv', name, input: x, output: y, kernel: [k, k], stride: [s, s], pads: [p, p, p, p], dilation: [1, 1],
      group: 1, inChannels: cin, outChannels: cout, activation: act, weights: blobs.length - 1, packing: packed.packing,
    });
    return y;
  };
  const classes = 5 + rng.int(4);
  let x = conv('stem', 0, 16, 3, 2);
  // Max pool 3x3/2, ceil_mode 1 on an even map: one row and column of overhang (stored as end pads).
  {
    const [, h, w, c] = tensors[x]!.shape;
    const oh = Math.ceil((h - 3) / 2) + 1, ow = Math.ceil((w - 3) / 2) + 1;
    const pads: [number, number, number, number] = [0, 0, (oh - 1) * 2 + 3 - h, (ow - 1) * 2 + 3 - w];
    const y = tensor('pool.out', [1, oh, ow, c], { scale: tensors[x]!.scale, zeroPoint: tensors[x]!.zeroPoint });
    ops.push({ op: 'maxpool', name: 'pool', input: x, output: y, kernel: [3, 3], stride: [2, 2], pads });
    x = y;
  }
  // Fire module: expand branches of 8 + 4k and 12 channels (C not a multiple of 16), concat.
  const sq = conv('fire.squeeze', x, 8, 1, 1);
  const e1 = conv('fire.e1', sq, 8 + 4 * rng.int(3), 1, 1), e3 = conv('fire.e3', sq, 12, 3, 1);
  const [, fh, fw] = tensors[e1]!.shape;
  const ccat = tensors[e1]!.shape[3] + tensors[e3]!.shape[3];
  const shared = rng.next() < 0.5;
  const cat = tensor('fire.cat', [1, fh, fw, ccat], shared ? { scale: tensors[e1]!.scale, zeroPoint: 0 } : {});
  if (shared) tensors[e3] = { ...tensors[e3]!, scale: tensors[e1]!.scale };
  ops.push({ op: 'concat', name: 'fire.cat', inputs: [e1, e3], output: cat });
  // Squeeze-and-excitation: gap -> 1x1 -> 1x1 -> mul broadcast over H x W.
  const pooled = tensor('se.gap', [1, 1, 1, ccat]);
  ops.push({ op: 'gap', name: 'se.gap', input: cat, output: pooled });
  const gate = conv('se.up', conv('se.down', pooled, 4, 1, 1), ccat, 1, 1, { act: { kind: 'none' } });
  const se = tensor('se.mul', [1, fh, fw, ccat]);
  ops.push({ op: 'mul', name: 'se.mul', a: cat, b: gate, output: se });
  const avg = tensor('avg.out', [1, fh, fw, ccat]);
  ops.push({ op: 'avgpool', name: 'avg', input: se, output: avg, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: rng.next() < 0.5 });
  const g = tensor('gap.out', [1, 1, 1, ccat]);
  ops.push({ op: 'gap', name: 'gap', input: avg, output: g });
  const logits = conv('fc', g, classes, 1, 1, { act: { kind: 'none' }, f32: true });
  return {
    ...base, outputs: [{ name: 'logits', tensor: logits }], tensors, ops, blobs,
    labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
    producer: `edgeq-fuzz synth blocks seed ${seed}`, meta: { seed },
  };
}

/** A seeded input for a model's NCHW shape (values around [-2, 2], smooth plus noise). */
export function synthInput(seed: number, nchw: readonly number[]): Float32Array {
  const [n, c, h, w] = nchw as [number, number, number, number];
  const rng = new Rng(seed * 31 + 5);
  const x = new Float32Array(n * c * h * w);
  const fx = rng.uniform(0.1, 0.6), fy = rng.uniform(0.1, 0.6), ph = rng.uniform(0, 6);
  let i = 0;
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    x[i++] = 1.5 * Math.sin(fx * y + fy * xx + ph + ch) + 0.3 * rng.normal();
  }
  return x;
}

/** A small fp32 ONNX CNN (opset 13) whose every op the reader, shape inference and the quantizer handle. */
export function synthOnnx(seed: number): ModelDef {
  const rng = new Rng(seed * 104729 + 3);
  const size = 8 + 2 * rng.int(5);
  const classes = 4 + rng.int(6);
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const t = (name: string, dims: number[], f: () => number) => {
    inits.push(makeFloatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, f)));
    return name;
  };
  const conv = (x: string, cin: number, cout: number, k: number, s: number, name: string) => {
    const p = (k - 1) >> 1;
    nodes.push(makeNode('Conv', [x, t(`${name}.w`, [cout, cin, k, k], () => rng.normal() * 0.3), t(`${name}.b`, [cout], () => rng.uniform(-0.1, 0.1))], [`${name}.y`], {
      kernel_shape: attr.ints([k, k]), strides: attr.ints([s, s]), pads: attr.ints([p, p, p, p]),
    }, name));
    return `${name}.y`;
  };
  const bn = (x: string, c: number, name: string) => {
    const ins = [x, t(`${name}.g`, [c], () => rng.uniform(0.5, 1.5)), t(`${name}.be`, [c], () => rng.uniform(-0.2, 0.2)),
      t(`${name}.m`, [c], () => rng.uniform(-0.2, 0.2)), t(`${name}.v`, [c], () => rng.uniform(0.5, 2))];
    nodes.push(makeNode('BatchNormalization', ins, [`${name}.y`], { epsilon: attr.float(1e-5) }, name));
    return `${name}.y`;
  };
  const act = (x: string, name: string, leaky = false) => {
    nodes.push(leaky ? makeNode('LeakyRelu', [x], [`${name}.y`], { alpha: attr.float(0.1) }, name) : makeNode('Relu', [x], [`${name}.y`], {}, name));
    return `${name}.y`;
  };
  const c = 4 + 4 * rng.int(2);
  let x = act(bn(conv('input', 3, c, 3, 2, 'stem'), c, 'stem.bn'), 'stem.act', rng.next() < 0.5);
  nodes.push(makeNode('MaxPool', [x], ['pool.y'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, 'pool'));
  x = 'pool.y';
  const b = act(bn(conv(x, c, c, 3, 1, 'b.c1'), c, 'b.bn1'), 'b.r1');
  nodes.push(makeNode('Add', [bn(conv(b, c, c, 1, 1, 'b.c2'), c, 'b.bn2'), x], ['b.add'], {}, 'b.add'));
  x = act('b.add', 'b.relu');
  nodes.push(makeNode('GlobalAveragePool', [x], ['gap.y'], {}, 'gap'));
  nodes.push(makeNode('Flatten', ['gap.y'], ['flat.y'], { axis: attr.int(1) }, 'flatten'));
  nodes.push(makeNode('Gemm', ['flat.y', t('fc.w', [classes, c], () => rng.normal() * 0.3), t('fc.b', [classes], () => rng.uniform(-0.1, 0.1))], ['logits'], { transB: attr.int(1) }, 'fc'));
  return makeModel(makeGraph({
    name: `synth-${seed}`, nodes, initializers: inits,
    inputs: [makeValueInfo('input', 'float32', [1, 3, size, size])],
    outputs: [makeValueInfo('logits', 'float32', [1, classes])],
  }), { opset: 13 });
}
