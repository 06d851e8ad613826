// The QDQ export states the .edgeq's integer computation: onnxruntime-web running it computes every
// quantized tensor of the model exactly as edgeq does, op by op (traceQdq: the model cut after each op
// against the export's QuantizeLinear output of that tensor), including the ops onnxruntime has no
// integer kernel for, which the export writes exactly (ops/conv.ts and ops/add.ts, exportExact):
// fused residual adds, 12-bit inputs and outputs, a LeakyRelu stem on a 12-bit input, a trunk's
// float32 output. The classifier head's float32 output (onnxruntime-web's own GEMM) differs only by
// float32 rounding.
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeValueInfo, type NodeDef, type TensorValue } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { makeTensor } from '../../tools/onnx/tensor.js';
import type { FConv } from '../../tools/quantize/ops/conv.js';
import { exactConvNodes, floatProductsBound, FLOAT_EXACT_LIMIT } from '../../tools/quantize/ops/conv-onnx.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Rng } from '../../tools/synth/random.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { exportQdq } from '../../tools/quantize/export-qdq.js';
import { quantizeModel, type QuantizeModelOptions } from '../../tools/quantize/pipeline.js';
import { traceQdq, type TraceRow } from '../../tools/quantize/qdq-trace.js';
import { tinyCnn, tinyInputs, type TinyCnnOptions } from '../quantize/tiny-cnn.js';

const INPUTS = tinyInputs(77, 12);

async function traced(model: TinyCnnOptions, options: Omit<QuantizeModelOptions, 'calibration' | 'calibrationCount'>) {
  const calib = tinyInputs(11, 16);
  const q = await quantizeModel(writeOnnx(tinyCnn(model)), { ...options, calibration: calib, calibrationCount: calib.length, threads: 1 });
  return { q, rows: await traceQdq(q.model, q.qdq, INPUTS) };
}

/** Every quantized tensor identical on every input; float32 ones within `relTol` of their largest magnitude. */
function expectExact(rows: TraceRow[], relTol = 1e-5): void {
  expect(rows.length).toBeGreaterThan(3);
  for (const r of rows) {
    if (r.dtype === 'float32') for (const d of r.maxDiff) expect(d, `${r.name}: float output`).toBeLessThan(relTol * 100);
    else expect(r.differing, `${r.name} (${r.kind}, ${r.dtype}): elements that differ per input`).toEqual(r.differing.map(() => 0));
  }
}

describe('the QDQ export computes the .edgeq integers in onnxruntime-web, op by op', () => {
  it('fused residual Add+Relu and a 12-bit input (the defaults for ImageNet-normalized inputs)', async () => {
    const { q, rows } = await traced({ seed: 2 }, { inputBits: 12 });
    expect(q.model.ops.some((o) => o.op === 'conv' && o.residual !== undefined)).toBe(true);
    expect(q.model.tensors[q.model.input.tensor]!.dtype).toBe('uint12');
    expectExact(rows);
  }, 120_000);

  it('a LeakyRelu stem on a 12-bit input, fused residual', async () => {
    const { rows } = await traced({ seed: 3, leaky: true }, { inputBits: 12 });
    expectExact(rows);
  }, 120_000);

  it('a feature trunk: the last conv, its residual fused, writes the float32 output (within float32 rounding)', async () => {
    const { q, rows } = await traced({ seed: 2, trunk: true }, { inputBits: 12 });
    const last = q.model.ops.at(-1)!;
    expect(last.op === 'conv' && last.residual !== undefined && q.model.tensors[last.output]!.dtype === 'float32').toBe(true);
    expect(rows.at(-1)!.maxDiff.every((d) => d <= 1e-6)).toBe(true);
    expectExact(rows);
  }, 120_000);

  it('12-bit activations, the residual fused and not: every op reads and writes uint12', async () => {
    for (const fuseResidual of [true, false]) {
      const { q, rows } = await traced({ seed: 5 }, { activations: 12, fuseResidual });
      expect(q.model.tensors.filter((t) => t.dtype === 'uint12').length).toBeGreaterThan(4);
      expect(rows.some((r) => r.kind === 'add')).toBe(!fuseResidual);
      expectExact(rows);
    }
  }, 120_000);

  it('uint8 without fusion keeps the standard QDQ groups (onnxruntime fuses them into QLinearConv / QLinearAdd)', async () => {
    const { q, rows } = await traced({ seed: 2 }, { inputBits: 8, fuseResidual: false });
    const types = readOnnx(q.qdq).graph.nodes.map((n) => n.opType);
    expect(types).not.toContain('Mul'); // no exact form: every conv reads DQ(x) with the tensor's own scale
    expect(types).toContain('Add');
    expectExact(rows.filter((r) => r.kind === 'conv'));
  }, 120_000);

  it('fused: false writes a fused residual as the standard unfused pattern', async () => {
    const { q } = await traced({ seed: 2 }, { inputBits: 8 });
    const exact = readOnnx(q.qdq).graph.nodes, standard = readOnnx(exportQdq(q.graph, q, { fused: false })).graph.nodes;
    expect(exact.some((n) => n.name.endsWith('/residual/Add'))).toBe(true);
    expect(standard.some((n) => n.opType === 'Add' && n.name === 'b.add')).toBe(true);
    expect(standard.some((n) => n.opType === 'Mul')).toBe(false);
  }, 120_000);
});

describe('exactConvNodes: the integer conv as float32 ops, against a naive loop', () => {
  it('f32(acc) * multiplier bit for bit, with int32 biases up to 2^28 (acc past 2^24, rounded as the kernels convert it)', async () => {
    const rng = new Rng(9);
    const [C, O, H, W, k] = [5, 12, 6, 6, 3];
    const op = { name: 'c', kernel: [k, k], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1, inChannels: C, outChannels: O, fullyConnected: false } as unknown as FConv;
    const weights = Int8Array.from({ length: O * k * k * C }, () => Math.round(rng.uniform(-127, 127))); // OHWI
    // Dead-channel biases as torchvision's ResNet-50 gives them (BIAS_BUDGET, 2^28), odd low bits, either sign.
    const bias = Int32Array.from({ length: O }, (_, o) => (o % 3 === 0 ? Math.round(rng.uniform(-1, 1) * 2 ** 28) | 1 : Math.round(rng.uniform(-5000, 5000))));
    const w = { weights, scales: new Float32Array(O).fill(1), bias };
    const multipliers = Float32Array.from({ length: O }, () => Math.fround(rng.uniform(1e-9, 1e-7)));
    const zp = 117;
    const bound = floatProductsBound(w, zp, 255);
    expect(bound + 256).toBeLessThan(FLOAT_EXACT_LIMIT);
    const nodes: NodeDef[] = [], inits: TensorValue[] = [makeTensor('x/zero_point', 'uint8', [], [zp])];
    const out = exactConvNodes(nodes, inits, op, w, 'x', 'x/zero_point', bound, multipliers);
    const model = makeModel(makeGraph({ name: 'exact-conv', nodes, initializers: inits, inputs: [makeValueInfo('x', 'uint8', [1, C, H, W])], outputs: [makeValueInfo(out, 'float32', [1, O, H, W])] }), { opset: 13 });
    const ref = await ReferenceSession.create(model);
    for (let trial = 0; trial < 3; trial++) {
      const x = Uint8Array.from({ length: C * H * W }, () => Math.floor(rng.uniform(0, 256)));
      const got = (await ref.run({ x: { dims: [1, C, H, W], data: x } })).outputs[out]!.data;
      let mismatches = 0;
      for (let o = 0; o < O; o++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
        let acc = bias[o]!;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) for (let c = 0; c < C; c++) {
          const y = i + dy - 1, xx = j + dx - 1;
          const v = y < 0 || y >= H || xx < 0 || xx >= W ? zp : x[(c * H + y) * W + xx]!;
          acc += weights[((o * k + dy) * k + dx) * C + c]! * (v - zp);
        }
        if (got[(o * H + i) * W + j] !== Math.fround(Math.fround(acc) * multipliers[o]!)) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
    await ref.release();
  });
});
