// A small seeded CNN with every op the quantizer maps (Conv+BN+Relu, LeakyRelu, MaxPool, residual
// Add+Relu, strided and grouped convs, GlobalAveragePool, Flatten, Gemm), built in code so tests need
// no model files.
import type { ModelDef, NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Rng } from '../../tools/synth/random.js';

export interface TinyCnnOptions {
  seed?: number;
  size?: number;
  classes?: number;
  /** Use LeakyRelu instead of Relu after the stem. */
  leaky?: boolean;
  /** Insert an op the quantizer does not support (Tanh). */
  unsupported?: boolean;
  /** End at the residual Add (a feature trunk: the output is an Add, NCHW [1, 8, size/4, size/4]). */
  trunk?: boolean;
}

export function tinyCnn(o: TinyCnnOptions = {}): ModelDef {
  const rng = new Rng(o.seed ?? 1);
  const size = o.size ?? 16;
  const classes = o.classes ?? 10;
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const weight = (name: string, dims: number[]) => {
    const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
    inits.push(makeFloatTensor(name, dims, rng.fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), Math.sqrt(2 / fanIn))));
    return name;
  };
  const bn = (x: string, c: number, name: string) => {
    const v = (f: () => number) => Float32Array.from({ length: c }, f);
    inits.push(makeFloatTensor(`${name}.g`, [c], v(() => rng.uniform(0.5, 1.5))));
    inits.push(makeFloatTensor(`${name}.b`, [c], v(() => rng.uniform(-0.2, 0.2))));
    inits.push(makeFloatTensor(`${name}.m`, [c], v(() => rng.uniform(-0.3, 0.3))));
    inits.push(makeFloatTensor(`${name}.v`, [c], v(() => rng.uniform(0.5, 2))));
    nodes.push(makeNode('BatchNormalization', [x, `${name}.g`, `${name}.b`, `${name}.m`, `${name}.v`], [`${name}.out`], { epsilon: attr.float(1e-5) }, name));
    return `${name}.out`;
  };
  const conv = (x: string, cin: number, cout: number, k: number, name: string, opts: { stride?: number; group?: number; bias?: boolean } = {}) => {
    const g = opts.group ?? 1;
    const w = weight(`${name}.w`, [cout, cin / g, k, k]);
    const ins = [x, w];
    if (opts.bias) { inits.push(makeFloatTensor(`${name}.bias`, [cout], Float32Array.from({ length: cout }, () => rng.uniform(-0.1, 0.1)))); ins.push(`${name}.bias`); }
    const p = (k - 1) >> 1;
    nodes.push(makeNode('Conv', ins, [`${name}.out`], {
      kernel_shape: attr.ints([k, k]), strides: attr.ints([opts.stride ?? 1, opts.stride ?? 1]), pads: attr.ints([p, p, p, p]), group: attr.int(g),
    }, name));
    return `${name}.out`;
  };
  const relu = (x: string, name: string) => { nodes.push(makeNode('Relu', [x], [`${name}.out`], {}, name)); return `${name}.out`; };

  let x = conv('input', 3, 8, 3, 'stem', { stride: 2 });
  x = bn(x, 8, 'stem.bn');
  if (o.leaky) { nodes.push(makeNode('LeakyRelu', [x], ['stem.act'], { alpha: attr.float(0.1) }, 'stem.leaky')); x = 'stem.act'; } else x = relu(x, 'stem.relu');
  nodes.push(makeNode('MaxPool', [x], ['pool.out'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }, 'pool'));
  const skip = 'pool.out';
  let b = relu(bn(conv(skip, 8, 16, 1, 'b.c1'), 16, 'b.bn1'), 'b.r1');
  b = relu(bn(conv(b, 16, 16, 3, 'b.c2', { group: 2 }), 16, 'b.bn2'), 'b.r2');
  b = bn(conv(b, 16, 8, 1, 'b.c3'), 8, 'b.bn3');
  nodes.push(makeNode('Add', [b, skip], ['b.add'], {}, 'b.add'));
  if (o.trunk) {
    return makeModel(makeGraph({
      name: 'tiny-trunk', nodes, initializers: inits,
      inputs: [makeValueInfo('input', 'float32', [1, 3, size, size])],
      outputs: [makeValueInfo('b.add', 'float32', [1, 8, size / 4, size / 4])],
    }), { opset: 13 });
  }
  x = relu('b.add', 'b.relu');
  if (o.unsupported) { nodes.push(makeNode('Tanh', [x], ['tanh.out'], {}, 'odd_tanh')); x = 'tanh.out'; }
  x = relu(conv(x, 8, 12, 3, 'down', { stride: 2, bias: true }), 'down.relu');
  nodes.push(makeNode('GlobalAveragePool', [x], ['gap.out'], {}, 'gap'));
  nodes.push(makeNode('Flatten', ['gap.out'], ['flat.out'], { axis: attr.int(1) }, 'flatten'));
  const fcw = weight('fc.w', [classes, 12]);
  inits.push(makeFloatTensor('fc.b', [classes], Float32Array.from({ length: classes }, () => rng.uniform(-0.1, 0.1))));
  nodes.push(makeNode('Gemm', ['flat.out', fcw, 'fc.b'], ['logits'], { transB: attr.int(1) }, 'fc'));
  return makeModel(makeGraph({
    name: 'tiny-cnn', nodes, initializers: inits,
    inputs: [makeValueInfo('input', 'float32', [1, 3, size, size])],
    outputs: [makeValueInfo('logits', 'float32', [1, classes])],
  }), { opset: 13 });
}

/** The nodes and initializers of a model being built in code, and the seeded generator filling it. */
export interface ModelParts { rng: Rng; nodes: NodeDef[]; inits: TensorValue[] }

/**
 * A same-padded conv with a bias (uniform in +-bias) and He-scaled normal weights; with `spread`, each
 * output row is scaled by 2^uniform(spread[0], spread[1]), so its channels' ranges are far from balanced.
 */
export function spreadConv(
  m: ModelParts, x: string, cin: number, cout: number, k: number, name: string,
  o: { bias: number; group?: number; spread?: [number, number] },
): string {
  const group = o.group ?? 1;
  const per = (cin / group) * k * k;
  const w = new Float32Array(cout * per);
  for (let r = 0; r < cout; r++) {
    const spread = o.spread ? 2 ** m.rng.uniform(o.spread[0], o.spread[1]) : 1;
    for (let j = 0; j < per; j++) w[r * per + j] = spread * Math.sqrt(2 / per) * m.rng.normal();
  }
  m.inits.push(makeFloatTensor(`${name}.w`, [cout, cin / group, k, k], w));
  m.inits.push(makeFloatTensor(`${name}.b`, [cout], Float32Array.from({ length: cout }, () => m.rng.uniform(-o.bias, o.bias))));
  const p = (k - 1) >> 1;
  m.nodes.push(makeNode('Conv', [x, `${name}.w`, `${name}.b`], [`${name}.out`], {
    kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), group: attr.int(group),
  }, name));
  return `${name}.out`;
}

/**
 * Ends a model built with ModelParts on `x` (`channels` wide): GlobalAveragePool -> Flatten -> Gemm
 * to 5 logits (weights normal(0.4) from Rng(fcSeed), a fixed bias), and writes it as ONNX bytes with
 * the input [1, 3, size, size].
 */
export function classifierModel(m: ModelParts, x: string, channels: number, o: { name: string; size: number; fcSeed: number }): Uint8Array {
  m.nodes.push(makeNode('GlobalAveragePool', [x], ['gap.out'], {}, 'gap'));
  m.nodes.push(makeNode('Flatten', ['gap.out'], ['flat.out'], { axis: attr.int(1) }, 'flatten'));
  m.inits.push(makeFloatTensor('fc.w', [5, channels], new Rng(o.fcSeed).fillNormal(new Float32Array(5 * channels), 0.4)));
  m.inits.push(makeFloatTensor('fc.b', [5], [0.1, -0.1, 0.2, 0, -0.2]));
  m.nodes.push(makeNode('Gemm', ['flat.out', 'fc.w', 'fc.b'], ['logits'], { transB: attr.int(1) }, 'fc'));
  return writeOnnx(makeModel(makeGraph({
    name: o.name, nodes: m.nodes, initializers: m.inits,
    inputs: [makeValueInfo('input', 'float32', [1, 3, o.size, o.size])],
    outputs: [makeValueInfo('logits', 'float32', [1, 5])],
  }), { opset: 13 }));
}

/** Seeded smooth-ish inputs for the tiny CNN (values around [-2, 2]). */
export function tinyInputs(seed: number, count: number, size = 16): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const x = new Float32Array(3 * size * size);
    const fx = rng.uniform(0.1, 0.6), fy = rng.uniform(0.1, 0.6), ph = rng.uniform(0, 6);
    for (let c = 0; c < 3; c++) for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
      x[(c * size + i) * size + j] = 1.5 * Math.sin(fx * i + fy * j + ph + c) + 0.3 * rng.normal();
    }
    return x;
  });
}
