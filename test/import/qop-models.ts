// Small hand-built QOperator models (onnxruntime's int8 form), one per op the importer maps, built
// with the project's ONNX writer so tests need no model files. Each takes a float NCHW input,
// quantizes it with QuantizeLinear, runs the quantized ops and ends with DequantizeLinear.
import type { DataType, ModelDef, NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../tools/onnx/model.js';
import { makeTensor } from '../../tools/onnx/tensor.js';
import { Rng } from '../../tools/synth/random.js';

export const C = 8;
export const SIZE = 8;

/** Inputs spread over the input grid (scale 0.02, zero point 128: [-2.56, 2.54]), some beyond it (saturation). */
export function qopInputs(seed: number, count: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: C * SIZE * SIZE }, () => rng.uniform(-2.8, 2.8)));
}

/** What varies between the models. */
export interface QopOptions {
  seed?: number;
  /** int8 activations (QInt8) instead of uint8. */
  signedActivations?: boolean;
  /** uint8 weights with per-channel zero points (w - zw within int8). */
  uint8Weights?: boolean;
  /** With uint8Weights: conv weights over all of 0..255 with zero points 30..225, so that w - zw leaves int8 (imported as int16). */
  wideWeights?: boolean;
  /** Input channels (default C). */
  inputChannels?: number;
}

/** A builder of one QOperator graph. */
export class QopBuilder {
  readonly nodes: NodeDef[] = [];
  readonly inits: TensorValue[] = [];
  readonly rng: Rng;
  private n = 0;
  /** Each quantized tensor's (scale, zero point) initializer names. */
  private readonly params = new Map<string, [string, string]>();

  constructor(readonly o: QopOptions = {}) {
    this.rng = new Rng(o.seed ?? 1);
  }

  private init(name: string, dataType: DataType, dims: number[], values: ArrayLike<number>): string {
    this.inits.push(makeTensor(name, dataType, dims, values));
    return name;
  }

  /** A new activation's (scale, zero point): scale `s`, zero point `z` (uint8) or z - 128 (int8). */
  qparams(name: string, s: number, z: number): [string, string] {
    const p: [string, string] = [this.init(`${name}_scale`, 'float32', [], [s]), this.o.signedActivations
      ? this.init(`${name}_zero_point`, 'int8', [], [z - 128]) : this.init(`${name}_zero_point`, 'uint8', [], [z])];
    this.params.set(name, p);
    return p;
  }

  of(t: string): [string, string] {
    return this.params.get(t)!;
  }

  quantizeInput(s = 0.02, z = 128): string {
    const p = this.qparams('input_q', s, z);
    this.nodes.push(makeNode('QuantizeLinear', ['input', ...p], ['input_q'], {}, 'input_QuantizeLinear'));
    return 'input_q';
  }

  /** QLinearConv with per-channel weights (int8 symmetric, or uint8 with zero points) and an int32 bias. */
  conv(x: string, cin: number, cout: number, k: number, o: { stride?: number; group?: number; outScale?: number; outZero?: number } = {}): string {
    const name = `conv${this.n++}`;
    const g = o.group ?? 1, per = (cin / g) * k * k;
    const w = new Array<number>(cout * per), zp = new Array<number>(cout).fill(0);
    for (let c = 0; c < cout; c++) {
      if (this.o.uint8Weights) zp[c] = this.o.wideWeights ? 30 + this.rng.int(196) : 100 + this.rng.int(56);
      // w - zw spans int8 as far as uint8 allows: [-zw, 255 - zw] within [-127, 127] (wideWeights: all of it).
      const r = this.o.uint8Weights ? Math.min(zp[c]!, 255 - zp[c]!, 127) : 127;
      for (let j = 0; j < per; j++) w[c * per + j] = this.o.wideWeights ? this.rng.int(256) : zp[c]! + this.rng.int(2 * r + 1) - r;
    }
    const scales = Array.from({ length: cout }, () => this.rng.uniform(0.002, 0.01));
    const bias = Array.from({ length: cout }, () => this.rng.int(2001) - 1000);
    const wt = this.uint8 ? 'uint8' : 'int8';
    this.init(`${name}_w`, wt, [cout, cin / g, k, k], w);
    this.init(`${name}_w_scale`, 'float32', [cout], scales);
    this.init(`${name}_w_zero_point`, wt, [cout], zp);
    this.init(`${name}_b`, 'int32', [cout], bias);
    const y = this.qparams(name, o.outScale ?? 0.05, o.outZero ?? 120);
    const p = (k - 1) >> 1, s = o.stride ?? 1;
    this.nodes.push(makeNode('QLinearConv', [x, ...this.of(x), `${name}_w`, `${name}_w_scale`, `${name}_w_zero_point`, ...y, `${name}_b`], [name], {
      kernel_shape: attr.ints([k, k]), strides: attr.ints([s, s]), pads: attr.ints([p, p, p, p]), group: attr.int(g), dilations: attr.ints([1, 1]),
    }, name));
    return name;
  }

  private get uint8(): boolean {
    return this.o.uint8Weights ?? false;
  }

  add(a: string, b: string, s = 0.06, z = 125): string {
    const name = `add${this.n++}`;
    const y = this.qparams(name, s, z);
    this.nodes.push(makeNode('QLinearAdd', [a, ...this.of(a), b, ...this.of(b), ...y], [name], {}, name, 'com.microsoft'));
    return name;
  }

  maxPool(x: string): string {
    const name = `pool${this.n++}`;
    this.params.set(name, this.of(x));
    this.nodes.push(makeNode('MaxPool', [x], [name], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }, name));
    return name;
  }

  gap(x: string, s = 0.03, z = 110): string {
    const name = `gap${this.n++}`;
    const y = this.qparams(name, s, z);
    this.nodes.push(makeNode('QLinearGlobalAveragePool', [x, ...this.of(x), ...y], [name], { channels_last: attr.int(0) }, name, 'com.microsoft'));
    return name;
  }

  flatten(x: string): string {
    const name = `flat${this.n++}`;
    this.params.set(name, this.of(x));
    this.nodes.push(makeNode('Flatten', [x], [name], { axis: attr.int(1) }, name));
    return name;
  }

  /** QLinearMatMul [N, K] x [K, N] with per-column int8 weights. */
  matMul(x: string, K: number, N: number): string {
    const name = `mm${this.n++}`;
    this.init(`${name}_w`, 'int8', [K, N], Array.from({ length: K * N }, () => this.rng.int(255) - 127));
    this.init(`${name}_w_scale`, 'float32', [N], Array.from({ length: N }, () => this.rng.uniform(0.002, 0.01)));
    this.init(`${name}_w_zero_point`, 'int8', [N], new Array<number>(N).fill(0));
    const y = this.qparams(name, 0.1, 128);
    this.nodes.push(makeNode('QLinearMatMul', [x, ...this.of(x), `${name}_w`, `${name}_w_scale`, `${name}_w_zero_point`, ...y], [name], {}, name));
    return name;
  }

  /** QLinearAdd of a constant per-channel operand (the zoo's classifier bias). */
  addConstant(x: string, N: number): string {
    const name = `bias${this.n++}`;
    const signed = this.o.signedActivations;
    this.init(`${name}_q`, signed ? 'int8' : 'uint8', [N], Array.from({ length: N }, () => this.rng.int(256) - (signed ? 128 : 0)));
    const b = this.qparams(`${name}_q`, 0.004, 128);
    const y = this.qparams(name, 0.1, 128);
    this.nodes.push(makeNode('QLinearAdd', [x, ...this.of(x), `${name}_q`, ...b, ...y], [name], {}, name, 'com.microsoft'));
    return name;
  }

  /** com.microsoft QGemm, transB = 1, int32 bias, float32 output (no y_scale). */
  qgemmFloat(x: string, K: number, N: number): string {
    const name = `gemm${this.n++}`;
    this.init(`${name}_w`, 'int8', [N, K], Array.from({ length: K * N }, () => this.rng.int(255) - 127));
    this.init(`${name}_w_scale`, 'float32', [N], Array.from({ length: N }, () => this.rng.uniform(0.002, 0.01)));
    this.init(`${name}_w_zero_point`, 'int8', [N], new Array<number>(N).fill(0));
    this.init(`${name}_b`, 'int32', [N], Array.from({ length: N }, () => this.rng.int(2001) - 1000));
    this.nodes.push(makeNode('QGemm', [x, ...this.of(x), `${name}_w`, `${name}_w_scale`, `${name}_w_zero_point`, `${name}_b`], [name], { transB: attr.int(1) }, name, 'com.microsoft'));
    return name;
  }

  /** com.microsoft QLinearMul of two quantized activations (a [1, C, 1, 1] operand broadcast over the other's H x W). */
  mul(a: string, b: string, s = 0.2, z = 128): string {
    const name = `mul${this.n++}`;
    const y = this.qparams(name, s, z);
    this.nodes.push(makeNode('QLinearMul', [a, ...this.of(a), b, ...this.of(b), ...y], [name], {}, name, 'com.microsoft'));
    return name;
  }

  /** com.microsoft QLinearConcat along `axis` (channels by default) into (s, z). */
  concat(xs: string[], s = 0.05, z = 120, axis = 1): string {
    const name = `concat${this.n++}`;
    const y = this.qparams(name, s, z);
    this.nodes.push(makeNode('QLinearConcat', [...y, ...xs.flatMap((x) => [x, ...this.of(x)])], [name], { axis: attr.int(axis) }, name, 'com.microsoft'));
    return name;
  }

  /** com.microsoft QLinearAveragePool (channels_last 0) with a square window. */
  avgPool(x: string, o: { k: number; stride: number; pad: number; countIncludePad?: boolean; ceilMode?: boolean; s?: number; z?: number }): string {
    const name = `avgpool${this.n++}`;
    const y = this.qparams(name, o.s ?? 0.04, o.z ?? 118);
    this.nodes.push(makeNode('QLinearAveragePool', [x, ...this.of(x), ...y], [name], {
      kernel_shape: attr.ints([o.k, o.k]), strides: attr.ints([o.stride, o.stride]), pads: attr.ints([o.pad, o.pad, o.pad, o.pad]),
      count_include_pad: attr.int(o.countIncludePad ? 1 : 0), ceil_mode: attr.int(o.ceilMode ? 1 : 0), channels_last: attr.int(0),
    }, name, 'com.microsoft'));
    return name;
  }

  /** The model: DequantizeLinear of `y` (or `y` itself when float) is the output `output`. */
  model(y: string, outDims: number[], float = false): ModelDef {
    if (!float) this.nodes.push(makeNode('DequantizeLinear', [y, ...this.of(y)], ['output'], {}, 'output_DequantizeLinear'));
    else this.nodes.push(makeNode('Identity', [y], ['output'], {}, 'output_Identity'));
    const graph = makeGraph({
      name: 'qop', nodes: this.nodes, initializers: this.inits,
      inputs: [makeValueInfo('input', 'float32', [1, this.o.inputChannels ?? C, SIZE, SIZE])],
      outputs: [makeValueInfo('output', 'float32', outDims)],
    });
    return makeModel(graph, { opset: 13, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] });
  }
}

/** The models the op tests run, by name. */
export const QOP_MODELS: Record<string, (o: QopOptions) => ModelDef> = {
  'QLinearConv 3x3 + 1x1 (per-channel int8 weights, int32 bias)': (o) => {
    const b = new QopBuilder(o);
    const y = b.conv(b.conv(b.quantizeInput(), C, 16, 3), 16, C, 1);
    return b.model(y, [1, C, SIZE, SIZE]);
  },
  'QLinearConv depthwise 3x3 (group == channels), stride 2': (o) => {
    const b = new QopBuilder(o);
    const y = b.conv(b.quantizeInput(), C, C, 3, { group: C, stride: 2 });
    return b.model(y, [1, C, SIZE / 2, SIZE / 2]);
  },
  'QLinearAdd of two convs (com.microsoft)': (o) => {
    const b = new QopBuilder(o);
    const x = b.quantizeInput();
    const y = b.add(b.conv(x, C, C, 3), b.conv(x, C, C, 1, { outScale: 0.04, outZero: 100 }));
    return b.model(y, [1, C, SIZE, SIZE]);
  },
  'MaxPool on uint8, QLinearGlobalAveragePool, Flatten, QLinearMatMul, QLinearAdd of a constant bias': (o) => {
    const b = new QopBuilder(o);
    const x = b.maxPool(b.conv(b.quantizeInput(), C, 16, 3));
    const y = b.addConstant(b.matMul(b.flatten(b.gap(x)), 16, 10), 10);
    return b.model(y, [1, 10]);
  },
  'QGemm (com.microsoft) with a float32 output': (o) => {
    const b = new QopBuilder(o);
    const y = b.qgemmFloat(b.flatten(b.gap(b.conv(b.quantizeInput(), C, 16, 3))), 16, 10);
    return b.model(y, [1, 10], true);
  },
};

/** The models of the ops added with the runtime's mul, concat and avgpool (test/import/qoperator-ops.test.ts). */
export const QOP_MUL_CONCAT_POOL_MODELS: Record<string, (o: QopOptions) => ModelDef> = {
  'SE block: QLinearGlobalAveragePool -> QLinearConv 1x1 -> QLinearConv 1x1 -> QLinearMul gate [1,C,1,1] over the map': (o) => {
    const b = new QopBuilder(o);
    const x = b.conv(b.quantizeInput(), C, 16, 3);
    const gate = b.conv(b.conv(b.gap(x), 16, 4, 1, { outScale: 0.03, outZero: 0 }), 4, 16, 1, { outScale: 0.02, outZero: 60 });
    // The gate first: the importer puts the broadcast operand second, as the runtime wants it.
    return b.model(b.mul(gate, x, 0.15, 128), [1, 16, SIZE, SIZE]);
  },
  'QLinearMul of two same-shape convs': (o) => {
    const b = new QopBuilder(o);
    const x = b.quantizeInput();
    return b.model(b.mul(b.conv(x, C, C, 3), b.conv(x, C, C, 1, { outScale: 0.04, outZero: 100 }), 0.25, 120), [1, C, SIZE, SIZE]);
  },
  'SqueezeNet fire module: QLinearConv squeeze 1x1, expands 1x1 and 3x3, QLinearConcat (one input copied, one requantized)': (o) => {
    const b = new QopBuilder(o);
    const squeeze = b.conv(b.quantizeInput(), C, 4, 1, { outScale: 0.04, outZero: 0 });
    // expand1 has the concat's own parameters (a copy); expand3 its own (requantized).
    const e1 = b.conv(squeeze, 4, 8, 1, { outScale: 0.05, outZero: 120 });
    const e3 = b.conv(squeeze, 4, 8, 3, { outScale: 0.035, outZero: 90 });
    return b.model(b.concat([e1, e3], 0.05, 120), [1, 16, SIZE, SIZE]);
  },
  'QLinearAveragePool 3x3/1 pads 1, count_include_pad 0 and 1': (o) => {
    const b = new QopBuilder(o);
    const x = b.conv(b.quantizeInput(), C, C, 3);
    const p0 = b.avgPool(x, { k: 3, stride: 1, pad: 1 });
    return b.model(b.avgPool(p0, { k: 3, stride: 1, pad: 1, countIncludePad: true, s: 0.03, z: 125 }), [1, C, SIZE, SIZE]);
  },
  'QLinearAveragePool 3x3/2 ceil_mode 1 (the last window overhangs), count_include_pad 0': (o) => {
    const b = new QopBuilder(o);
    const x = b.conv(b.quantizeInput(), C, C, 3);
    return b.model(b.avgPool(x, { k: 3, stride: 2, pad: 0, ceilMode: true }), [1, C, 4, 4]);
  },
  'QLinearAveragePool 2x2/2 ceil_mode 1 count_include_pad 1 (no overhang: 8 = 4 x 2)': (o) => {
    const b = new QopBuilder(o);
    const x = b.conv(b.quantizeInput(), C, C, 3);
    return b.model(b.avgPool(x, { k: 2, stride: 2, pad: 0, ceilMode: true, countIncludePad: true }), [1, C, 4, 4]);
  },
};
