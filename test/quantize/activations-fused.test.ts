// HardSwish / HardSigmoid / Sigmoid / SiLU fused into the producing conv (tools/quantize/ops/activation.ts):
// the ONNX forms users' exports have (HardSwish at opset 14, torch's x * HardSigmoid(x) at opset 13,
// x * Sigmoid(x)), checked against the QDQ export in onnxruntime-web (float activation, then
// QuantizeLinear). Every quantized layer's output is compared in output LSBs (edgeq runs the model cut
// after that layer; ORT exposes the same tensor): at most 1 LSB (the kernels' f32 formula and
// polynomial exp vs ORT's float ops; ties round either way; measured: 0 LSB on all 24576 values of
// both models), >= 99% identical; the float32 logits:
// top-1 agreement with ORT's QDQ run on every input. Standalone or misplaced activations are typed errors
// naming the node, before calibration.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { writeEdgeq } from '../../src/format/writer.js';
import type { QModel } from '../../src/format/qmodel.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, type ModelDef } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { Rng } from '../../tools/synth/random.js';
import { tinyInputs } from './tiny-cnn.js';

const SIZE = 8;

/** A depthwise 3x3 conv (group = channels) with a bias. */
function dwconv(g: PatternGraph, x: string, c: number): string {
  const w = `dw_w${g.nodes.length}`, b = `dw_b${g.nodes.length}`;
  g.inits.push(makeFloatTensor(w, [c, 1, 3, 3], Float32Array.from({ length: c * 9 }, () => 0.4 * g.rng.normal())));
  g.inits.push(makeFloatTensor(b, [c], Float32Array.from({ length: c }, () => g.rng.uniform(-0.2, 0.2))));
  return g.node('Conv', [x, w, b], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), group: attr.int(c) })[0];
}

const hardSigmoid = (g: PatternGraph, x: string, alpha?: number, beta?: number) =>
  g.node('HardSigmoid', [x], { ...(alpha !== undefined ? { alpha: attr.float(alpha) } : {}), ...(beta !== undefined ? { beta: attr.float(beta) } : {}) })[0];
const gated = (g: PatternGraph, x: string, gate: string, xFirst = true) => g.node('Mul', xFirst ? [x, gate] : [gate, x])[0];

/**
 * conv -> HardSwish (opset 14) | x * HardSigmoid(1/6, 1/2) -> depthwise -> x * Sigmoid(x) -> conv 1x1 ->
 * Sigmoid -> conv -> HardSigmoid (defaults 0.2, 0.5) -> GAP -> Flatten -> Gemm (float32 logits).
 */
function mobileModel(seed: number, opset14: boolean): ModelDef {
  const g = new PatternGraph(new Rng(seed), SIZE);
  const c0 = g.conv('input', 3, 16);
  const a0 = opset14 ? g.node('HardSwish', [c0])[0] : gated(g, c0, hardSigmoid(g, c0, 1 / 6, 0.5), false);
  const d = dwconv(g, a0, 16);
  const a1 = gated(g, d, g.node('Sigmoid', [d])[0]);
  const c1 = g.conv(a1, 16, 8, 1);
  const a2 = g.node('Sigmoid', [c1])[0];
  const c2 = g.conv(a2, 8, 8);
  const a3 = hardSigmoid(g, c2);
  const m = g.model(g.head(a3, 8, 5), [1, 5]);
  m.opsetImports[0]!.version = opset14 ? 14 : 13;
  return m;
}

/** The quantized model cut after op k: its output is op k's (quantized) output tensor. */
function cutAfter(m: QModel, k: number): Uint8Array {
  const op = m.ops[k]!;
  const t = (op as { output: number }).output;
  return writeEdgeq({ ...m, ops: m.ops.slice(0, k + 1), outputs: [{ name: m.tensors[t]!.name, tensor: t }], labels: undefined });
}

async function compareWithOrt(model: ModelDef): Promise<{ kinds: string[]; layers: { name: string; worst: number; same: number; total: number }[]; top1: number }> {
  const bytes = writeOnnx(model);
  const calib = tinyInputs(40, 16, SIZE);
  const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, fuseResidual: false });
  const convs = q.model.ops.map((o, k) => ({ o, k })).filter(({ o }) => o.op === 'conv' && q.model.tensors[o.output]!.dtype !== 'float32');
  const names = convs.map(({ o }) => q.model.tensors[(o as { output: number }).output]!.name);
  const qdq = await ReferenceSession.create(q.qdq, { extraOutputs: names });
  const fp32 = await ReferenceSession.create(bytes);
  const cut = await Promise.all(convs.map(({ k }) => Session.create(cutAfter(q.model, k))));
  const full = await Session.create(q.edgeq);
  const layers = names.map((name) => ({ name, worst: 0, same: 0, total: 0 }));
  let top1 = 0;
  const inputs = tinyInputs(61, 8, SIZE);
  for (const x of inputs) {
    const r = await qdq.run({ input: x });
    for (const [i, s] of cut.entries()) {
      const scale = q.model.tensors[(convs[i]!.o as { output: number }).output]!.scale;
      const want = r.outputs[names[i]!]!.data as Float32Array, got = await s.run(x);
      expect(got.length).toBe(want.length);
      const l = layers[i]!;
      for (let j = 0; j < got.length; j++) {
        const lsb = Math.round(Math.abs(got[j]! - want[j]!) / scale);
        l.worst = Math.max(l.worst, lsb);
        if (lsb === 0) l.same++;
        l.total++;
      }
    }
    const y = await full.run(x), d = r.outputs[qdq.outputNames[0]!]!.data as Float32Array;
    const f = (await fp32.run({ input: x })).outputs[fp32.outputNames[0]!]!.data as Float32Array;
    const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));
    if (argmax(y) === argmax(d)) top1++;
    expect(cosine(f, y)).toBeGreaterThan(0.98);
  }
  await qdq.release(); await fp32.release(); full.release();
  for (const s of cut) s.release();
  return { kinds: q.model.ops.filter((o) => o.op === 'conv').map((o) => (o.op === 'conv' ? o.activation.kind : '')), layers, top1: top1 / inputs.length };
}

describe('HardSwish / HardSigmoid / Sigmoid / SiLU fused into the conv', () => {
  for (const opset14 of [true, false]) {
    it(`${opset14 ? 'HardSwish op (opset 14)' : "torch's x * HardSigmoid(x) (opset 13)"}, SiLU, Sigmoid, HardSigmoid: <= 1 LSB vs ORT's QDQ, same top-1`, async () => {
      const r = await compareWithOrt(mobileModel(11, opset14));
      expect(r.kinds).toEqual(['hardswish', 'silu', 'sigmoid', 'hardsigmoid', 'none']);
      for (const l of r.layers) {
        expect(l.worst, `${l.name}: ${l.same}/${l.total} identical`).toBeLessThanOrEqual(1);
        expect(l.same / l.total, `${l.name}: ${l.same}/${l.total} identical`).toBeGreaterThanOrEqual(0.99);
      }
      expect(r.top1).toBe(1);
    });
  }

  it('an activation on the float32 head (Gemm -> Sigmoid; Conv -> HardSwish) is applied in fp32', async () => {
    const g = new PatternGraph(new Rng(12), SIZE);
    const x = g.link(g.conv('input', 3, 8), 'Relu');
    const out = g.node('Sigmoid', [g.head(x, 8, 6)])[0];
    const bytes = writeOnnx(g.model(out, [1, 6]));
    const q = await quantizeModel(bytes, { calibration: tinyInputs(41, 8, SIZE), calibrationCount: 8 });
    expect(q.model.ops.at(-1)).toMatchObject({ op: 'conv', activation: { kind: 'sigmoid' } });
    const qdq = await ReferenceSession.create(q.qdq), e = await Session.create(q.edgeq);
    for (const x of tinyInputs(62, 4, SIZE)) {
      const want = (await qdq.run({ input: x })).outputs[qdq.outputNames[0]!]!.data as Float32Array, got = await e.run(x);
      for (let j = 0; j < got.length; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThanOrEqual(1e-6);
    }
    await qdq.release(); e.release();
  });

  const rejects = async (model: ModelDef, pattern: RegExp) => {
    let calibrated = false;
    const calibration = (function* () { calibrated = true; yield* tinyInputs(1, 2, SIZE); })();
    const err = await quantizeModel(writeOnnx(model), { calibration, calibrationCount: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect(err.code).toBe('UNSUPPORTED_OP');
    expect(err.message).toMatch(pattern);
    expect(calibrated).toBe(false);
  };

  it('a standalone activation, one after an Add, or after a clamp is a typed error naming the node, before calibration', async () => {
    const a = new PatternGraph(new Rng(1), SIZE);
    const c = a.conv('input', 3, 4);
    await rejects(a.model(a.node('Sigmoid', [a.add(c, a.conv('input', 3, 4))])[0], [1, 4, SIZE, SIZE]),
      /^node "sigmoid_\d+" \(Sigmoid\): a standalone Sigmoid \(not the sole reader of a Conv, Gemm or MatMul output\) is not supported/);
    const b = new PatternGraph(new Rng(2), SIZE);
    const m = b.model(b.node('HardSwish', [b.link(b.conv('input', 3, 4), 'Relu')])[0], [1, 4, SIZE, SIZE]);
    m.opsetImports[0]!.version = 14;
    await rejects(m, /^node "hardswish_\d+" \(HardSwish\): a standalone HardSwish/);
  });

  it('HardSigmoid with a non-finite alpha is a typed error naming the node, before calibration', async () => {
    const g = new PatternGraph(new Rng(3), SIZE);
    await rejects(g.model(hardSigmoid(g, g.conv('input', 3, 4), Infinity), [1, 4, SIZE, SIZE]),
      /^node "hardsigmoid_\d+" \(HardSigmoid\): HardSigmoid alpha Infinity, beta 0\.5 must be finite/);
  });
});
