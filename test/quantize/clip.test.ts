// Clip / Relu6 with any bounds, fused into the producer as the requantization clamp [Q(min), Q(max)]
// (src/ops/activation.ts): edgeq against the QDQ export in onnxruntime-web (which runs the float Clip
// then QuantizeLinear) in output LSBs: identical (0 LSB); against fp32 (cosine > 0.99). Bounds as
// inputs (opset 13) and as attributes (opset 10); min > max is UNSUPPORTED_OP naming the node.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
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
const run = async (s: ReferenceSession, x: Float32Array) => (await s.run({ input: x })).outputs[s.outputNames[0]].data as Float32Array;

/** Clip(x, min, max): bounds as scalar initializer inputs (opset >= 11) or attributes (opset 10). */
function clip(g: PatternGraph, x: string, min: number | undefined, max: number | undefined, asAttributes = false): string {
  if (asAttributes) {
    return g.node('Clip', [x], { ...(min !== undefined ? { min: attr.float(min) } : {}), ...(max !== undefined ? { max: attr.float(max) } : {}) })[0];
  }
  const k = g.nodes.length;
  const inputs = [x, min === undefined ? '' : `clip_lo${k}`, max === undefined ? '' : `clip_hi${k}`];
  if (min !== undefined) g.inits.push(makeFloatTensor(`clip_lo${k}`, [], [min]));
  if (max !== undefined) g.inits.push(makeFloatTensor(`clip_hi${k}`, [], [max]));
  while (inputs[inputs.length - 1] === '') inputs.pop();
  return g.node('Clip', inputs)[0];
}

/** conv -> Clip(b0) -> conv -> Clip(b1) -> (+ first Clip) -> Clip(b2) -> conv(head, float32 out) -> Clip(b3). */
function clipModel(seed: number, b: [number | undefined, number | undefined][], opset = 13): ModelDef {
  const g = new PatternGraph(new Rng(seed), SIZE);
  const asAttr = opset < 11;
  const c0 = clip(g, g.conv('input', 3, 8), ...b[0]!, asAttr);
  const c1 = clip(g, g.conv(c0, 8, 8), ...b[1]!, asAttr);
  const s = clip(g, g.add(c1, c0), ...b[2]!, asAttr);
  const out = clip(g, g.conv(s, 8, 6, 1), ...b[3]!, asAttr);
  const m = g.model(out, [1, 6, SIZE, SIZE]);
  m.opsetImports[0]!.version = opset;
  return m;
}

async function expectSameAsOrt(model: ModelDef): Promise<string[]> {
  const bytes = writeOnnx(model);
  const calib = tinyInputs(40, 12, SIZE);
  const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, fuseResidual: false });
  const out = q.model.tensors[q.model.outputs[0]!.tensor]!;
  const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq);
  const e = await Session.create(q.edgeq);
  let worst = 0, same = 0, total = 0;
  for (const x of tinyInputs(60, 5, SIZE)) {
    const f = await run(fp32, x), d = await run(qdq, x), y = await e.run(x);
    expect(y.length).toBe(d.length);
    for (let i = 0; i < y.length; i++) {
      const lsb = out.dtype === 'float32' ? (Math.abs(y[i]! - d[i]!) <= 1e-5 * (1 + Math.abs(d[i]!)) ? 0 : 1) : Math.round(Math.abs(y[i]! - d[i]!) / out.scale);
      worst = Math.max(worst, lsb);
      if (lsb === 0) same++;
      total++;
    }
    expect(cosine(f, y)).toBeGreaterThan(0.99);
  }
  await fp32.release(); await qdq.release(); e.release();
  expect({ worst, same }, `${same}/${total} identical`).toEqual({ worst: 0, same: total });
  return q.model.ops.map((o) => (o.op === 'conv' || o.op === 'add' ? JSON.stringify(o.activation) : o.op));
}

describe('Clip / Relu6 fused as the requantization clamp', () => {
  it('bounds the quantized range does not imply (min > 0, max < 0; as inputs, opset 13): stored as clip, same integers as ORT', async () => {
    // The calibrated range includes 0, so Clip(0.1, ..) clamps above the zero point and Clip(.., -0.05) below it.
    const acts = await expectSameAsOrt(clipModel(3, [[0.1, 0.8], [-0.5, -0.05], [0.05, 0.7], [-0.4, 0.3]]));
    expect(acts.map((a) => JSON.parse(a).kind)).toEqual(['clip', 'clip', 'clip', 'clip']);
    // The float32 head keeps real bounds, clamped exactly (f32 values).
    expect(JSON.parse(acts[3]!)).toEqual({ kind: 'clip', min: Math.fround(-0.4), max: Math.fround(0.3) });
  });

  it('bounds the range implies: Relu6 is stored as Relu, a missing min or max as none; opset 10 attributes', async () => {
    // Calibrated after the Clip, the range lies within its bounds: QuantizeLinear's saturation is the clamp.
    const a = await expectSameAsOrt(clipModel(4, [[0, 6], [undefined, 0.6], [-0.3, undefined], [0, 6]]));
    expect(a.map((s) => JSON.parse(s).kind)).toEqual(['relu', 'none', 'none', 'clip']);
    const b = await expectSameAsOrt(clipModel(5, [[-0.25, 0.7], [0, 6], [0.05, 0.9], [-1, 0.5]], 10));
    expect(b.map((s) => JSON.parse(s).kind)).toEqual(['none', 'relu', 'clip', 'clip']);
  });

  it('Clip after Relu composes into one clamp; min > max is UNSUPPORTED_OP naming the node', async () => {
    const g = new PatternGraph(new Rng(6), SIZE);
    const out = clip(g, g.link(g.conv('input', 3, 4), 'Relu'), -1, 0.5);
    const q = await quantizeModel(writeOnnx(g.model(out, [1, 4, SIZE, SIZE])), { calibration: tinyInputs(1, 4, SIZE), calibrationCount: 4 });
    expect(q.model.ops.map((o) => o.op === 'conv' && o.activation)).toEqual([{ kind: 'clip', min: 0, max: 0.5 }]);

    const bad = new PatternGraph(new Rng(7), SIZE);
    const badOut = clip(bad, bad.conv('input', 3, 4), 2, 1);
    const err = await quantizeModel(writeOnnx(bad.model(badOut, [1, 4, SIZE, SIZE])), { calibration: tinyInputs(1, 2, SIZE), calibrationCount: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect(err.code).toBe('UNSUPPORTED_OP');
    expect(err.message).toMatch(/^node "clip_\d+" \(Clip\): Clip min 2 > max 1$/);
  });
});
