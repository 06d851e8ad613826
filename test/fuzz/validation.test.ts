// The checks the fuzzer (and the review around it) added, one by one: each hostile file is
// rejected with BAD_MODEL naming the problem, before any kernel runs.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import type { QConv, QModel } from '../../src/format/qmodel.js';
import { packGeometry } from '../../src/kernels/packing.js';
import { Session } from '../../src/runtime/session.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { kernelModule } from '../../src/runtime/wasm-source.js';
import { synthInput, synthOnnx, synthQModel } from '../../tools/fuzz/seeds.js';
import { writeRawEdgeq } from '../../tools/fuzz/mutate.js';
import { headerOf } from '../../src/format/writer.js';
import onnxProto from 'onnx-proto';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';

/** A fresh copy of synthetic model `seed` (blobs copied, so edits stay local). */
function model(seed = 2): QModel {
  const m = synthQModel(seed);
  return { ...structuredClone({ ...m, blobs: [] }), blobs: m.blobs.map((b) => b.slice()) } as QModel;
}

async function expectBad(m: QModel | Uint8Array, ...fragments: string[]): Promise<void> {
  const bytes = m instanceof Uint8Array ? m : writeEdgeq(m);
  let err: unknown;
  try {
    const s = await Session.create(bytes, { threads: 1 });
    s.release();
  } catch (e) { err = e; }
  expect(err, 'expected the file to be rejected').toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code, (err as Error).message).toBe('BAD_MODEL');
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

const convs = (m: QModel) => m.ops.map((op, i) => [op, i] as const).filter(([op]) => op.op === 'conv') as [QConv, number][];

describe('packed weights (found by the fuzzer)', () => {
  for (const v of [Number.NaN, Infinity, -Infinity, 2 ** 33, -1e30]) {
    it(`rejects a requantization multiplier of ${v}`, async () => {
      const m = model();
      const [conv] = convs(m)[1]!;
      const blob = m.blobs[conv.weights]!;
      new DataView(blob.buffer, blob.byteOffset).setFloat32(blob.length - 12, v, true);
      await expectBad(m, `op "${conv.name}"`, 'requantization multiplier', 'byte');
    });
  }

  it('rejects non-zero weights in the padded K lanes (per-tap and im2col layouts)', async () => {
    let padded = 0;
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      const m = model(seed);
      for (const [conv] of convs(m)) {
        const g = packGeometry(conv, conv.packing);
        if (g.depthwise) continue; // qu8-dwconv-c16 has no padded K lanes (its tail runs per channel)
        const kReal = g.im2col ? conv.kernel[0] * conv.kernel[1] * g.cinPerGroup : g.cinPerGroup;
        if (kReal === g.KB * 8) continue;
        const k = g.KB * 8 - 1; // the last padded K index of tap 0, lane 0
        const copy = model(seed);
        copy.blobs[conv.weights]![16 + (k >> 3) * 32 + (k & 7)] = 1;
        await expectBad(copy, `op "${conv.name}"`, 'padding weight');
        padded++;
      }
    }
    expect(padded).toBeGreaterThan(5);
  });

  it('keeps accepting what the packer writes (zero padding, real multipliers)', async () => {
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      const s = await Session.create(writeEdgeq(synthQModel(seed)), { threads: 1 });
      expect((await s.run(synthInput(1, s.inputShape as number[]))).every(Number.isFinite)).toBe(true);
      s.release();
    }
  });
});

describe('header limits (found in review of what reaches the kernels)', () => {
  it('rejects an input tensor that is not uint8', async () => {
    const m = model();
    m.tensors[m.input.tensor]!.dtype = 'float32';
    await expectBad(m, 'input: tensor', 'must be uint8');
  });

  it('rejects uint8 scales outside [2^-40, 2^40] (f32 multipliers and outputs would overflow)', async () => {
    for (const scale of [1e-13, 5e-324, 3e38, 2 ** 41]) {
      const m = model();
      m.tensors[3]!.scale = scale;
      await expectBad(m, 'tensor 3', 'scale');
    }
  });

  it('rejects huge LeakyRelu slopes, dims and window parameters past 2^24, and 2^31-byte tensors', async () => {
    const m = model();
    const [conv] = convs(m)[0]!;
    conv.activation = { kind: 'leakyrelu', alpha: 1e9 };
    await expectBad(m, 'leakyrelu alpha');
    const big = model();
    big.tensors[5]!.shape = [1, 2 ** 24 + 1, 1, 1];
    await expectBad(big, 'tensor 5', '2^24');
    const stride = model();
    (stride.ops.find((o) => o.op === 'conv') as QConv).stride = [2 ** 32 + 2, 2];
    await expectBad(stride, 'stride');
    const exact = model();
    exact.tensors[5]!.shape = [1, 32768, 65536, 1]; // exactly 2^31 bytes
    await expectBad(exact, 'tensor 5', '2^31 bytes or more');
  });

  it('rejects a preprocessing spec with a non-finite scale, crop > resize, or resize > 8x crop', async () => {
    for (const edit of [{ scale: Infinity }, { crop: 40, resize: 20 }, { resize: 1000 }]) {
      const m = model();
      const header = { ...headerOf(m), preprocess: { ...m.preprocess!, ...edit } } as Record<string, unknown>;
      // Infinity has no JSON spelling: written as 1e999, which JSON.parse reads back as Infinity.
      const text = JSON.stringify(header, (_k, v) => (v === Infinity ? '__INF__' : v)).replace('"__INF__"', '1e999');
      await expectBad(writeRawEdgeq(text, m.blobs), 'preprocess');
    }
  });

  it('rejects input/output names that are not strings', async () => {
    const m = model();
    (m.input as { name: unknown }).name = 7;
    await expectBad(m, 'input: name');
    const o = model();
    (o.outputs[0] as { name: unknown }).name = { x: 1 };
    await expectBad(o, 'output: name');
  });
});

describe('memory layout assertions', () => {
  it('every plan lists its regions: inside the memory, read-only ones overlapping nothing', async () => {
    const module = await kernelModule('simd');
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      for (const fuseResidual of [false, true]) {
        const m = readEdgeq(writeEdgeq(synthQModel(seed, { fuseResidual })));
        for (const batch of [1, 3]) {
          const plan = await buildPlan(m, module, batch);
          const regions = plan.regions!;
          expect(regions.length).toBeGreaterThan(m.blobs.length);
          const total = plan.kernels.memory.buffer.byteLength;
          for (const r of regions) expect(r.offset + r.size).toBeLessThanOrEqual(total);
          const ro = regions.filter((r) => !r.writable && r.size > 0);
          for (const a of ro) for (const b of regions) {
            if (a === b || b.size === 0) continue;
            expect(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset, `${a.name} overlaps ${b.name}`).toBe(true);
          }
        }
      }
    }
  });
});

describe('ONNX reader (accepted mutants reviewed)', () => {
  const { onnx } = onnxProto;
  // Decoded protobuf messages, edited freely (their generated types make every field optional).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Loose = any;
  const base = (): Loose => onnx.ModelProto.decode(writeOnnx(synthOnnx(0)));
  const expectBadOnnx = (m: Loose, ...fragments: string[]) => {
    let err: unknown;
    try { readOnnx(onnx.ModelProto.encode(m).finish(), { fileName: 'm.onnx' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('BAD_ONNX');
    for (const f of fragments) expect((err as Error).message).toContain(f);
  };

  it('rejects a value produced twice: a duplicated node, a node overwriting an initializer or the input', () => {
    const dup = base();
    dup.graph.node.push(onnx.NodeProto.decode(onnx.NodeProto.encode(dup.graph.node[3]).finish()));
    expectBadOnnx(dup, 'm.onnx: ', `writes "${dup.graph.node[3].output[0]}"`, 'another node');
    const init = base();
    init.graph.node[2].output[0] = init.graph.initializer[0].name;
    expectBadOnnx(init, 'an initializer');
    const input = base();
    input.graph.node[1].output[0] = 'input';
    expectBadOnnx(input, 'a graph input');
  });

  it('rejects value_info dims that are not exact integers', () => {
    const m = base();
    m.graph.input[0].type.tensorType.shape.dim[2] = onnx.TensorShapeProto.Dimension.create({ dimValue: 2 ** 60 });
    expectBadOnnx(m, 'graph input "input" has dim');
  });

  it('keeps reading valid graphs (the synthetic seeds)', () => {
    for (let n = 0; n < 4; n++) expect(readOnnx(writeOnnx(synthOnnx(n))).graph.nodes.length).toBeGreaterThan(5);
  });
});
