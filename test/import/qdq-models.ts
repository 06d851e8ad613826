// A builder of small QDQ graphs (DequantizeLinear -> float op -> QuantizeLinear groups, as
// onnxruntime's quantize_static writes them in QDQ format), uint8 or int8 (QInt8) activations, built
// with the project's ONNX writer so tests need no model files.
import type { DataType, NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../tools/onnx/model.js';
import { makeTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Rng } from '../../tools/synth/random.js';

export class QdqBuilder {
  readonly nodes: NodeDef[] = [];
  readonly inits: TensorValue[] = [];
  readonly rng: Rng;
  private readonly act: DataType;
  private readonly shift: number;
  /** The scale of each activation `qdq` wrote, by its DequantizeLinear output. */
  readonly scales = new Map<string, number>();

  constructor(readonly signed: boolean, seed: number) {
    this.rng = new Rng(seed);
    this.act = signed ? 'int8' : 'uint8';
    this.shift = signed ? 128 : 0;
  }

  init(t: TensorValue): string {
    this.inits.push(t);
    return t.name;
  }

  /** QuantizeLinear(x) with (s, z) (z in uint8 terms; z - 128 when int8), then its DequantizeLinear, named `name` (the Q output: `name`/q). */
  qdq(x: string, name: string, s: number, z: number): string {
    this.init(makeTensor(`${name}/scale`, 'float32', [], [s]));
    this.init(makeTensor(`${name}/zero_point`, this.act, [], [z - this.shift]));
    this.nodes.push(makeNode('QuantizeLinear', [x, `${name}/scale`, `${name}/zero_point`], [`${name}/q`], {}, `${name}/Q`));
    this.nodes.push(makeNode('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [name], {}, `${name}/DQ`));
    this.scales.set(name, s);
    return name;
  }

  /** DQ(int8 weights, per channel along `axis`) as `name`/W and DQ(int32 bias, scale xs * ws) as `name`/B. */
  weights(name: string, dims: number[], xs: number, axis: number): void {
    const O = dims[axis]!, n = dims.reduce((a, b) => a * b, 1);
    const ws = Array.from({ length: O }, () => Math.fround(this.rng.uniform(0.002, 0.01)));
    this.init(makeTensor(`${name}/Wq`, 'int8', dims, Array.from({ length: n }, () => this.rng.int(255) - 127)));
    this.init(makeTensor(`${name}/W_scale`, 'float32', [O], ws));
    this.init(makeTensor(`${name}/W_zero_point`, 'int8', [O], new Array(O).fill(0)));
    this.init(makeTensor(`${name}/Bq`, 'int32', [O], Array.from({ length: O }, () => this.rng.int(2001) - 1000)));
    this.init(makeTensor(`${name}/B_scale`, 'float32', [O], ws.map((w) => Math.fround(xs * w))));
    this.init(makeTensor(`${name}/B_zero_point`, 'int32', [O], new Array(O).fill(0)));
    this.nodes.push(makeNode('DequantizeLinear', [`${name}/Wq`, `${name}/W_scale`, `${name}/W_zero_point`], [`${name}/W`], { axis: attr.int(axis) }, `${name}/W/DQ`));
    this.nodes.push(makeNode('DequantizeLinear', [`${name}/Bq`, `${name}/B_scale`, `${name}/B_zero_point`], [`${name}/B`], { axis: attr.int(0) }, `${name}/B/DQ`));
  }

  /** A k x k Conv (same padding) of the DQ activation x (scale xs): its float output `name`/y. */
  conv(x: string, cin: number, cout: number, k: number, name: string): string {
    this.weights(name, [cout, cin, k, k], this.scales.get(x)!, 0);
    const p = (k - 1) >> 1;
    this.nodes.push(makeNode('Conv', [x, `${name}/W`, `${name}/B`], [`${name}/y`], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) }, name));
    return `${name}/y`;
  }

  /** A float op `opType` over `inputs` with output `name`/y. */
  op(opType: string, inputs: string[], name: string, attrs: Parameters<typeof makeNode>[3] = {}): string {
    this.nodes.push(makeNode(opType, inputs, [`${name}/y`], attrs, name));
    return `${name}/y`;
  }

  /** The ONNX file: one float32 input `input` of dims `inputDims`, output `output` of dims `outDims`. */
  bytes(inputDims: number[], outDims: number[]): Uint8Array {
    const graph = makeGraph({
      name: 'qdq', nodes: this.nodes, initializers: this.inits,
      inputs: [makeValueInfo('input', 'float32', inputDims)], outputs: [makeValueInfo('output', 'float32', outDims)],
    });
    return writeOnnx(makeModel(graph, { opset: 13 }));
  }
}

/** Input channels and side of the models below. */
export const C = 8, SIZE = 8;

const pool = (k: number, s: number, p: number, countIncludePad: number, ceilMode: number) => ({
  kernel_shape: attr.ints([k, k]), strides: attr.ints([s, s]), pads: attr.ints([p, p, p, p]), count_include_pad: attr.int(countIncludePad), ceil_mode: attr.int(ceilMode),
});

/** input -> conv 3x3 -> [GlobalAveragePool -> conv 1x1 + Relu -> conv 1x1] -> Mul (the SE gate) -> output; a QDQ pair after each. */
export function seModel(signed: boolean, seed: number, edit?: (b: QdqBuilder) => void): Uint8Array {
  const b = new QdqBuilder(signed, seed);
  const x = b.qdq('input', 'x', 0.02, 128);
  const c1 = b.qdq(b.conv(x, C, 16, 3, 'c1'), 'c1/out', 0.05, 120);
  const gap = b.qdq(b.op('GlobalAveragePool', [c1], 'gap'), 'gap/out', 0.03, 110);
  const se1 = b.qdq(b.op('Relu', [b.conv(gap, 16, 4, 1, 'se1')], 'se1/relu'), 'se1/out', 0.03, 0);
  const se2 = b.qdq(b.conv(se1, 4, 16, 1, 'se2'), 'se2/out', 0.02, 60);
  b.qdq(b.op('Mul', [c1, se2], 'mul'), 'output', 0.15, 128);
  edit?.(b);
  return b.bytes([1, C, SIZE, SIZE], [1, 16, SIZE, SIZE]);
}

/**
 * A fire module: squeeze conv 1x1 + Relu -> expand 1x1 (the concat's parameters: a copy), expand 3x3
 * (requantized) -> Concat -> AveragePool 3x3/1 pads 1 count_include_pad 1 -> AveragePool 3x3/2
 * ceil_mode 1 (the last window overhangs) -> output; a QDQ pair after each.
 */
export function fireModel(signed: boolean, seed: number, edit?: (b: QdqBuilder) => void): Uint8Array {
  const b = new QdqBuilder(signed, seed);
  const x = b.qdq('input', 'x', 0.02, 128);
  const sq = b.qdq(b.op('Relu', [b.conv(x, C, 4, 1, 'sq')], 'sq/relu'), 'sq/out', 0.04, 0);
  const e1 = b.qdq(b.conv(sq, 4, 8, 1, 'e1'), 'e1/out', 0.05, 120);
  const e3 = b.qdq(b.conv(sq, 4, 8, 3, 'e3'), 'e3/out', 0.035, 90);
  const cat = b.qdq(b.op('Concat', [e1, e3], 'cat', { axis: attr.int(1) }), 'cat/out', 0.05, 120);
  const ap1 = b.qdq(b.op('AveragePool', [cat], 'ap1', pool(3, 1, 1, 1, 0)), 'ap1/out', 0.04, 118);
  b.qdq(b.op('AveragePool', [ap1], 'ap2', pool(3, 2, 0, 0, 1)), 'output', 0.03, 125);
  edit?.(b);
  return b.bytes([1, C, SIZE, SIZE], [1, 16, 4, 4]);
}
