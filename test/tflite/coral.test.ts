// The Coral TFLite uint8 MobileNets (../shared/models/tflite-coral) imported and run by edgeq, against
// the reference interpreter of the same integer graph (tools/tflite/reference.ts: TFLite's reference
// kernels, fixed-point requantization). edgeq requantizes with one fp32 multiplier per channel, so
// outputs may differ by a few LSB where the real value lies near a rounding boundary; the test states
// the bound it measured. Both files hold uint8 weights with w - zw outside [-127, 127]: the plain
// import refuses them, `saturateWeights` clamps them, and the reference runs both the exact graph and
// the clamped one to separate the clamp's effect from the arithmetic.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/index.js';
import { readImage } from '../../src/image/decode-node.js';
import { preprocessPixels } from '../../src/image/preprocess.js';
import { loadImageFolder } from '../../tools/image/folder-node.js';
import { importTflite, tflitePreprocess } from '../../tools/tflite/index.js';
import { readTflite, type TfliteModel } from '../../tools/tflite/reader.js';
import { runTfliteReference } from '../../tools/tflite/reference.js';
import { tfliteToOnnx } from '../../tools/tflite/to-onnx.js';
import { importModel } from '../../tools/import/index.js';
import { writeEdgeq } from '../../src/format/index.js';
import { SHARED, warnSkip } from '../helpers.js';

const DIR = join(SHARED, 'models', 'tflite-coral');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');
const HAS_CORAL = existsSync(join(DIR, 'mobilenet_v1_0.25_128_quant.tflite')) && existsSync(IMAGES);
warnSkip(HAS_CORAL, `../shared/models/tflite-coral or the image sample is absent (${DIR}); the TFLite import tests are skipped`);

/** The model with every weight clamped to w - zw in [-127, 127], as saturateWeights stores it. */
function clampedWeights(model: TfliteModel): TfliteModel {
  const g = model.subgraphs[0]!;
  const tensors = g.tensors.map((t) => ({ ...t }));
  for (const op of g.operators) {
    if (!/CONV|FULLY/.test(op.opName)) continue;
    const w = tensors[op.inputs[1]!]!;
    const z = w.quantization!.zeroPoint[0]!;
    w.data = Uint8Array.from(w.data!, (v) => Math.min(Math.max(v, z - 127), z + 127));
  }
  return { ...model, subgraphs: [{ ...g, tensors }] };
}

/** Weight values with |w - zw| > 127 counted by a plain loop over the file's weights. */
function countOverflows(model: TfliteModel): { values: number; tensors: number } {
  let values = 0, tensors = 0;
  const g = model.subgraphs[0]!;
  for (const op of g.operators) {
    if (!/CONV|FULLY/.test(op.opName)) continue;
    const w = g.tensors[op.inputs[1]!]!;
    const z = w.quantization!.zeroPoint[0]!;
    const n = w.data!.filter((v) => Math.abs(v - z) > 127).length;
    values += n;
    if (n) tensors++;
  }
  return { values, tensors };
}

const argmax = (a: ArrayLike<number>) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i; return b; };

// Bounds from the measured runs (docs/tflite.md), with headroom: TFLite's double rounding moves ~0.2%
// of a layer's outputs by 1 LSB against edgeq's single fp32 rounding, and the network amplifies them.
const CASES = [
  { file: 'mobilenet_v1_0.25_128_quant.tflite', images: Number(process.env.EDGEQ_TFLITE_IMAGES ?? 100), maxLsb: 8, minAgree: 0.9 },
  { file: 'mobilenet_v2_1.0_224_quant.tflite', images: Number(process.env.EDGEQ_TFLITE_IMAGES ?? 8), maxLsb: 12, minAgree: 0.75 },
];

/** The model cut after operator k (its output becomes the graph output). */
function prefix(model: TfliteModel, k: number): TfliteModel {
  const g = model.subgraphs[0]!;
  return { ...model, subgraphs: [{ ...g, operators: g.operators.slice(0, k + 1), outputs: [g.operators[k]!.outputs[0]!] }] };
}

/** The uint8 NHWC pixels of `path` and the NCHW float input whose quantization is exactly those pixels: (p - z) * s. */
function inputsOf(path: string, spec: ReturnType<typeof tflitePreprocess>, input: { scale: number; zeroPoint: number }): { px: Uint8Array; x: Float32Array } {
  const px = new Uint8Array(preprocessPixels(readImage(path), spec).data);
  const plane = spec.crop * spec.crop;
  const x = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) x[ch * plane + p] = (px[p * 3 + ch]! - input.zeroPoint) * input.scale;
  return { px, x };
}

describe.runIf(HAS_CORAL)('Coral TFLite uint8 MobileNets imported', () => {
  for (const c of CASES) {
    it(`${c.file}: weights outside [-127, 127] are UNSUPPORTED_OP naming the count`, () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const n = countOverflows(readTflite(bytes));
      expect(n.values).toBeGreaterThan(0);
      expect(() => importTflite(bytes)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_OP', message: expect.stringContaining(`${n.values} uint8 weight values in ${n.tensors} tensors`) }));
    });

    it(`${c.file}: with saturateWeights, edgeq agrees with the reference interpreter (${c.images} images)`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const model = readTflite(bytes);
      const clamped = clampedWeights(model);
      const r = importTflite(bytes, { saturateWeights: true });
      expect(r.droppedSoftmax).toBe(true);
      const spec = tflitePreprocess(r.input);
      const session = await Session.create(r.edgeq, { threads: 1 });
      const out = session.model.tensors[session.model.outputs[0]!.tensor]!;
      const images = loadImageFolder(IMAGES, { count: c.images, seed: 7 });
      let worstArith = 0, worstExact = 0, agreeArith = 0, agreeExact = 0, top1Edgeq = 0, top1Exact = 0, identical = 0;
      try {
        for (const img of images) {
          const { px, x } = inputsOf(img.path, spec, r.input);
          const y = await session.run(x);
          const q = Array.from(y, (v) => Math.round(v / out.scale) + out.zeroPoint);
          const refArith = runTfliteReference(clamped, px), refExact = runTfliteReference(model, px);
          expect(refArith.scale).toBe(out.scale);
          let same = true;
          for (let i = 0; i < q.length; i++) {
            worstArith = Math.max(worstArith, Math.abs(q[i]! - refArith.data[i]!));
            worstExact = Math.max(worstExact, Math.abs(q[i]! - refExact.data[i]!));
            if (q[i] !== refArith.data[i]) same = false;
          }
          if (same) identical++;
          if (argmax(q) === argmax(refArith.data)) agreeArith++;
          if (argmax(q) === argmax(refExact.data)) agreeExact++;
          if (argmax(q) === img.label! + 1) top1Edgeq++;
          if (argmax(refExact.data) === img.label! + 1) top1Exact++;
        }
      } finally {
        session.release();
      }
      console.log(`${c.file}, ${images.length} images: edgeq vs reference with the same clamped weights: identical logits on ${identical}, worst ${worstArith} LSB, top-1 agree ${agreeArith}; `
        + `vs the exact file: worst ${worstExact} LSB, top-1 agree ${agreeExact}; top-1 correct: edgeq ${top1Edgeq}, exact reference ${top1Exact}`);
      expect(worstArith).toBeLessThanOrEqual(c.maxLsb);
      expect(agreeArith).toBeGreaterThanOrEqual(Math.floor(images.length * c.minAgree));
    }, 600_000);

    it(`${c.file}: the first conv alone (same uint8 input) differs from TFLite's fixed point by at most 1 LSB on under 1% of outputs`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const model = clampedWeights(readTflite(bytes));
      const first = prefix(model, 0);
      const graph = tfliteToOnnx(first, { saturateWeights: true });
      const session = await Session.create(writeEdgeq({ ...importModel(graph.onnx).model }), { threads: 1 });
      const out = session.model.tensors[session.model.outputs[0]!.tensor]!;
      const spec = tflitePreprocess(graph.input);
      let differ = 0, worst = 0, total = 0;
      try {
        for (const img of loadImageFolder(IMAGES, { count: 3, seed: 7 })) {
          const { px, x } = inputsOf(img.path, spec, graph.input);
          const y = await session.run(x); // NCHW
          const ref = runTfliteReference(first, px).data; // NHWC
          const C = out.shape[3]!, HW = y.length / C;
          for (let i = 0; i < y.length; i++) {
            const d = Math.abs(Math.round(y[i]! / out.scale) + out.zeroPoint - ref[(i % HW) * C + Math.floor(i / HW)]!);
            if (d) differ++;
            worst = Math.max(worst, d);
          }
          total += y.length;
        }
      } finally {
        session.release();
      }
      console.log(`${c.file}, first conv on 3 images: ${differ} of ${total} outputs differ, worst ${worst} LSB`);
      expect(worst).toBeLessThanOrEqual(1);
      expect(differ).toBeLessThan(total / 100);
    }, 120_000);
  }
});
