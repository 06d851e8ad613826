// Hand-built QDQ models (DequantizeLinear -> float op -> QuantizeLinear groups, as onnxruntime's
// quantize_static writes them in QDQ format), uint8 or int8 (QInt8) activations, imported and run by
// edgeq against onnxruntime-web on the same file. onnxruntime fuses these groups into its QLinear
// kernels, so conv / gemm / max pool outputs must be identical; add and pool within 1 LSB.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { importOnnx } from '../../tools/import/index.js';
import { attr, makeNode } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Rng } from '../../tools/synth/random.js';
import { C, QdqBuilder, SIZE } from './qdq-models.js';

/** input -> Q -> DQ -> Conv(3x3)+Relu -> Q -> DQ -> [MaxPool -> Q -> DQ] -> Conv(1x1) -> Q -> DQ -> Add(skip) -> Q -> DQ -> GAP -> Q -> DQ -> Flatten -> Gemm -> (float output) */
function qdqModel(signed: boolean, seed: number): Uint8Array {
  const b = new QdqBuilder(signed, seed);
  const x = b.qdq('input', 'x', 0.02, 128);
  b.nodes.push(makeNode('Relu', [b.conv(x, C, C, 3, 'c1')], ['c1/relu'], {}, 'c1/Relu'));
  const c1 = b.qdq('c1/relu', 'c1/out', 0.03, 0);
  b.nodes.push(makeNode('MaxPool', [c1], ['pool/y'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]), pads: attr.ints([0, 0, 1, 1]) }, 'pool'));
  const pool = b.qdq('pool/y', 'pool/out', 0.03, 0);
  const c2 = b.qdq(b.conv(pool, C, C, 1, 'c2'), 'c2/out', 0.05, 120);
  b.nodes.push(makeNode('Add', [c2, c1], ['add/y'], {}, 'add'));
  const add = b.qdq('add/y', 'add/out', 0.06, 110);
  b.nodes.push(makeNode('GlobalAveragePool', [add], ['gap/y'], {}, 'gap'));
  const gap = b.qdq('gap/y', 'gap/out', 0.04, 100);
  b.nodes.push(makeNode('Flatten', [gap], ['flat'], { axis: attr.int(1) }, 'flatten'));
  b.weights('fc', [10, C], 0.04, 0);
  b.nodes.push(makeNode('Gemm', ['flat', 'fc/W', 'fc/B'], ['output'], { transB: attr.int(1) }, 'fc'));
  return b.bytes([1, C, SIZE, SIZE], [1, 10]);
}

const QUANTIZED = ['c1/out/q', 'pool/out/q', 'c2/out/q', 'add/out/q', 'gap/out/q'];

describe('hand-built QDQ models imported, against onnxruntime-web', () => {
  for (const signed of [false, true]) {
    it(`Conv+Relu, MaxPool, Conv, Add, GlobalAveragePool, Flatten, Gemm (float head), ${signed ? 'int8' : 'uint8'} activations`, async () => {
      const bytes = qdqModel(signed, 11);
      const { model, form } = importOnnx(bytes);
      expect(form).toBe('qdq');
      expect(model.ops.map((o) => o.op)).toEqual(['conv', 'maxpool', 'conv', 'add', 'gap', 'conv']);
      expect(model.tensors[model.outputs[0]!.tensor]!.dtype).toBe('float32');
      // onnxruntime-web with every quantized tensor as an extra output (their ONNX type: uint8 or int8).
      const md = readOnnx(bytes);
      for (const n of QUANTIZED) md.graph.outputs.push({ name: n, dataType: signed ? 'int8' : 'uint8', dims: [], unknownRank: true });
      const ref = await ReferenceSession.create(md);
      // edgeq: one model per tensor, ending at it (the runtime dequantizes it; re-quantized exactly here).
      const sessions = await Promise.all([...QUANTIZED.map((n) => model.tensors.findIndex((t) => t.name === n)), model.outputs[0]!.tensor]
        .map((i) => Session.create(writeEdgeq({ ...model, outputs: [{ name: 'o', tensor: i }] }))));
      const Wq = md.graph.initializers.get('fc/Wq')!.data as Int8Array, Ws = md.graph.initializers.get('fc/W_scale')!.data as Float32Array;
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
