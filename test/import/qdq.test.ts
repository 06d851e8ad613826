// Hand-built QDQ models (DequantizeLinear -> float op -> QuantizeLinear groups, as onnxruntime's
// quantize_static writes them in QDQ format), uint8 or int8 (QInt8) activations, imported and run by
// edgeq against onnxruntime-web on the same file. onnxruntime fuses these groups into its QLinear
// kernels, so conv / gemm / max pool outputs must be identical; add and pool within 1 LSB.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { importOnnx } from '../../tools/import/index.js';
import type { DataType, NodeDef, TensorValue } from '../../tools/onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../tools/onnx/model.js';
import { makeTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Rng } from '../../tools/synth/random.js';

const C = 8, SIZE = 8;

/** input -> Q -> DQ -> Conv(3x3)+Relu -> Q -> DQ -> [MaxPool -> Q -> DQ] -> Conv(1x1) -> Q -> DQ -> Add(skip) -> Q -> DQ -> GAP -> Q -> DQ -> Flatten -> Gemm -> (float output) */
function qdqModel(signed: boolean, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const nodes: NodeDef[] = [], inits: TensorValue[] = [];
  const act: DataType = signed ? 'int8' : 'uint8', shift = signed ? 128 : 0;
  const init = (t: TensorValue) => { inits.push(t); return t.name; };
  const qdq = (x: string, name: string, s: number, z: number) => {
    init(makeTensor(`${name}/s`, 'float32', [], [s]));
    init(makeTensor(`${name}/z`, act, [], [z - shift]));
    nodes.push(makeNode('QuantizeLinear', [x, `${name}/s`, `${name}/z`], [`${name}/q`], {}, `${name}/Q`));
    nodes.push(makeNode('DequantizeLinear', [`${name}/q`, `${name}/s`, `${name}/z`], [name], {}, `${name}/DQ`));
    return name;
  };
  const weights = (name: string, dims: number[], xs: number, axis: number) => {
    const O = dims[axis]!, n = dims.reduce((a, b) => a * b, 1);
    const ws = Array.from({ length: O }, () => Math.fround(rng.uniform(0.002, 0.01)));
    init(makeTensor(`${name}/Wq`, 'int8', dims, Array.from({ length: n }, () => rng.int(255) - 127)));
    init(makeTensor(`${name}/Ws`, 'float32', [O], ws));
    init(makeTensor(`${name}/Wz`, 'int8', [O], new Array(O).fill(0)));
    init(makeTensor(`${name}/Bq`, 'int32', [O], Array.from({ length: O }, () => rng.int(2001) - 1000)));
    init(makeTensor(`${name}/Bs`, 'float32', [O], ws.map((w) => Math.fround(xs * w))));
    init(makeTensor(`${name}/Bz`, 'int32', [O], new Array(O).fill(0)));
    nodes.push(makeNode('DequantizeLinear', [`${name}/Wq`, `${name}/Ws`, `${name}/Wz`], [`${name}/W`], { axis: attr.int(axis) }, `${name}/W/DQ`));
    nodes.push(makeNode('DequantizeLinear', [`${name}/Bq`, `${name}/Bs`, `${name}/Bz`], [`${name}/B`], { axis: attr.int(0) }, `${name}/B/DQ`));
  };
  const conv = (x: string, xs: number, cin: number, cout: number, k: number, name: string) => {
    weights(name, [cout, cin, k, k], xs, 0);
    const p = (k - 1) >> 1;
    nodes.push(makeNode('Conv', [x, `${name}/W`, `${name}/B`], [`${name}/y`], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) }, name));
    return `${name}/y`;
  };
  const x = qdq('input', 'x', 0.02, 128);
  nodes.push(makeNode('Relu', [conv(x, 0.02, C, C, 3, 'c1')], ['c1/relu'], {}, 'c1/Relu'));
  const c1 = qdq('c1/relu', 'c1/out', 0.03, 0);
  nodes.push(makeNode('MaxPool', [c1], ['pool/y'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]), pads: attr.ints([0, 0, 1, 1]) }, 'pool'));
  const pool = qdq('pool/y', 'pool/out', 0.03, 0);
  const c2 = qdq(conv(pool, 0.03, C, C, 1, 'c2'), 'c2/out', 0.05, 120);
  nodes.push(makeNode('Add', [c2, c1], ['add/y'], {}, 'add'));
  const add = qdq('add/y', 'add/out', 0.06, 110);
  nodes.push(makeNode('GlobalAveragePool', [add], ['gap/y'], {}, 'gap'));
  const gap = qdq('gap/y', 'gap/out', 0.04, 100);
  nodes.push(makeNode('Flatten', [gap], ['flat'], { axis: attr.int(1) }, 'flatten'));
  weights('fc', [10, C], 0.04, 0);
  nodes.push(makeNode('Gemm', ['flat', 'fc/W', 'fc/B'], ['output'], { transB: attr.int(1) }, 'fc'));
  const graph = makeGraph({ name: 'qdq', nodes, initializers: inits, inputs: [makeValueInfo('input', 'float32', [1, C, SIZE, SIZE])], outputs: [makeValueInfo('output', 'float32', [1, 10])] });
  return writeOnnx(makeModel(graph, { opset: 13 }));
}

const QUANTIZED = ['c1/out/q', 'pool/out/q', 'c2/out/q', 'add/out/q', 'gap/out/q'];

describe('hand-built QDQ models imported, against onnxruntime-web', () => {
  for (const signed of [false, true]) {
    it(`Conv+Relu, MaxPool, Conv, Add, GlobalAveragePool, Flatten, Gemm (float head), ${signed ? 'int8' : 'uint8'} activations`, async () => {
      const bytes = qdqModel(signed, 11);
      const { model, form } = importOnnx(bytes);
      expect(form).toBe('qdq');
      expect(model.ops.map((o) => o.op)).toEqual(['conv', 'maxpool', 'conv', 'add', 'gap', 'conv']);
      expect(model.tensors[model.output.tensor]!.dtype).toBe('float32');
      // onnxruntime-web with every quantized tensor as an extra output (their ONNX type: uint8 or int8).
      const md = readOnnx(bytes);
      for (const n of QUANTIZED) md.graph.outputs.push({ name: n, dataType: signed ? 'int8' : 'uint8', dims: [], unknownRank: true });
      const ref = await ReferenceSession.create(md);
      // edgeq: one model per tensor, ending at it (the runtime dequantizes it; re-quantized exactly here).
      const sessions = await Promise.all([...QUANTIZED.map((n) => model.tensors.findIndex((t) => t.name === n)), model.output.tensor]
        .map((i) => Session.create(writeEdgeq({ ...model, output: { name: 'o', tensor: i } }))));
      const Wq = md.graph.initializers.get('fc/Wq')!.data as Int8Array, Ws = md.graph.initializers.get('fc/Ws')!.data as Float32Array;
      const gapScale = model.tensors.find((u) => u.name === 'gap/out/q')!.scale;
      const headBound = Array.from({ length: 10 }, (_, n) => gapScale * Ws[n]! * Array.from(Wq.subarray(n * C, (n + 1) * C), Math.abs).reduce((a, b) => a + b, 0));
      const rng = new Rng(5);
      const lsb = new Map<string, number>();
      let head = 0;
      for (let k = 0; k < 6; k++) {
        const x = Float32Array.from({ length: C * SIZE * SIZE }, () => rng.uniform(-2.6, 2.6));
        const r = (await ref.run({ input: x })).outputs;
        for (let j = 0; j < QUANTIZED.length; j++) {
          const t = model.tensors.find((u) => u.name === QUANTIZED[j])!;
          const y = await sessions[j]!.run(x), d = r[QUANTIZED[j]!]!.data;
          for (let i = 0; i < y.length; i++) {
            const e = Math.abs(Math.round(y[i]! / t.scale) + t.zeroPoint - (d[i]! + (signed ? 128 : 0)));
            lsb.set(t.name, Math.max(lsb.get(t.name) ?? 0, e));
          }
        }
        const y = await sessions[QUANTIZED.length]!.run(x), d = r.output!.data;
        // In units of the bound: every pooled input 1 LSB apart moves output n by at most gap_scale * sum_k |W[n, k]|.
        for (let i = 0; i < y.length; i++) head = Math.max(head, Math.abs(y[i]! - d[i]!) / (headBound[i]! + 1e-5 * Math.max(1, Math.abs(d[i]!))));
      }
      await ref.release();
      for (const s of sessions) s.release();
      // Conv, max pool: onnxruntime fuses the groups into its QLinear kernels, the same arithmetic.
      expect([lsb.get('c1/out/q'), lsb.get('pool/out/q'), lsb.get('c2/out/q')]).toEqual([0, 0, 0]);
      // Add and the pool: within 1 LSB (docs/import.md).
      expect(Math.max(lsb.get('add/out/q')!, lsb.get('gap/out/q')!)).toBeLessThanOrEqual(1);
      // The float head: the same int32 accumulator times fp32 scales, apart only by what 1-LSB pooled inputs move.
      expect(head).toBeLessThanOrEqual(1);
    });
  }
});
