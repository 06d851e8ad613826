// The Coral TFLite uint8 MobileNets (../shared/models/tflite-coral) imported and run by edgeq, against
// the reference interpreter of the same integer graph (tools/tflite/reference.ts: TFLite's reference
// kernels, fixed-point requantization). edgeq requantizes with one fp32 multiplier per channel, so
// outputs may differ by a few LSB where the real value lies near a rounding boundary; the test states
// the bound it measured. Both files hold uint8 weights with w - zw outside int8: the import keeps
// them exactly (those convs get int16 weights, the -w16 packings; depthwise ones are int16 anyway).
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

/** Weight values with w - zw outside int8 [-128, 127], counted by a plain loop over the file's weights; `gemm`: tensors of non-depthwise ops. */
function countOverflows(model: TfliteModel): { values: number; tensors: number; gemm: number } {
  let values = 0, tensors = 0, gemm = 0;
  const g = model.subgraphs[0]!;
  for (const op of g.operators) {
    if (!/CONV|FULLY/.test(op.opName)) continue;
    const w = g.tensors[op.inputs[1]!]!;
    const z = w.quantization!.zeroPoint[0]!;
    const n = w.data!.filter((v) => v - z < -128 || v - z > 127).length;
    values += n;
    if (n) { tensors++; if (!op.opName.startsWith('DEPTHWISE')) gemm++; }
  }
  return { values, tensors, gemm };
}

const argmax = (a: ArrayLike<number>) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i; return b; };

// Bounds from the measured runs (docs/tflite.md), with headroom: TFLite's double rounding moves ~0.2%
// of a layer's outputs by 1 LSB against edgeq's single fp32 rounding, and the network amplifies them.
const CASES = [
  { file: 'mobilenet_v1_0.25_128_quant.tflite', images: Number(process.env.EDGEQ_TFLITE_IMAGES ?? 100), maxLsb: 8, minAgree: 0.9 },
  { file: 'mobilenet_v2_1.0_224_quant.tflite', images: Number(process.env.EDGEQ_TFLITE_IMAGES ?? 8), maxLsb: 12, minAgree: 0.75 },
];
/**
 * The .edgeq's weight sections may exceed the .tflite by this fraction (per-channel multipliers, K and
 * channel padding, the outlier lists of the -w16 and qu8-dwconv-c16-w8 sections), the whole file (the
 * JSON header besides, with the 1001 labels of the file's metadata, which the .tflite carries too in
 * its appended zip) by the 5% too.
 */
const MAX_GROWTH = 0.05, MAX_FILE_GROWTH = 0.05;

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
    it(`${c.file}: weights outside int8 import as int16 (-w16 convs, depthwise int8 with outliers); the weight sections and the file with its labels stay within 5% of the .tflite`, () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const n = countOverflows(readTflite(bytes));
      expect(n.values).toBeGreaterThan(0);
      const r = importTflite(bytes);
      expect(r.labelsFrom).toBe('metadata');
      expect(r.model.labels).toHaveLength(1001);
      expect(r.wideWeights.reduce((a, w) => a + w.count, 0)).toBe(n.values);
      expect(r.wideWeights.length).toBe(n.tensors);
      const convs = r.model.ops.filter((op) => op.op === 'conv');
      expect(convs.filter((op) => op.packing.endsWith('-w16')).length).toBe(n.gemm);
      expect(convs.filter((op) => op.packing === 'qu8-dwconv-c16-w8').length).toBe(convs.filter((op) => op.group > 1).length);
      const sections = r.model.blobs.reduce((a, b) => a + b.length, 0);
      const pct = (v: number) => `${((v / bytes.length - 1) * 100).toFixed(2)}%`;
      console.log(`${c.file}: ${n.values} weight values in ${n.tensors} tensors outside int8; ${n.gemm} of ${convs.length} convs -w16; `
        + `.tflite ${bytes.length} bytes, .edgeq ${r.edgeq.length} (${pct(r.edgeq.length)}), its weight sections ${sections} (${pct(sections)})`);
      expect(sections).toBeLessThanOrEqual(bytes.length * (1 + MAX_GROWTH));
      expect(r.edgeq.length).toBeLessThanOrEqual(bytes.length * (1 + MAX_FILE_GROWTH));
    });

    it(`${c.file}: edgeq agrees with the reference interpreter on the exact file (${c.images} images)`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const model = readTflite(bytes);
      const r = importTflite(bytes, { keepLogits: true });
      expect(r.droppedSoftmax).toBe(true);
      const spec = tflitePreprocess(r.input);
      const session = await Session.create(r.edgeq, { threads: 1 });
      const out = session.model.tensors[session.model.outputs[0]!.tensor]!;
      const images = loadImageFolder(IMAGES, { count: c.images, seed: 7 });
      let worst = 0, agree = 0, top1Edgeq = 0, top1Ref = 0, identical = 0;
      try {
        for (const img of images) {
          const { px, x } = inputsOf(img.path, spec, r.input);
          const y = await session.run(x);
          const q = Array.from(y, (v) => Math.round(v / out.scale) + out.zeroPoint);
          const ref = runTfliteReference(model, px);
          expect(ref.scale).toBe(out.scale);
          let same = true;
          for (let i = 0; i < q.length; i++) {
            worst = Math.max(worst, Math.abs(q[i]! - ref.data[i]!));
            if (q[i] !== ref.data[i]) same = false;
          }
          if (same) identical++;
          if (argmax(q) === argmax(ref.data)) agree++;
          if (argmax(q) === img.label! + 1) top1Edgeq++;
          if (argmax(ref.data) === img.label! + 1) top1Ref++;
        }
      } finally {
        session.release();
      }
      console.log(`${c.file}, ${images.length} images: edgeq vs the reference: identical logits on ${identical}, worst ${worst} LSB, top-1 agree ${agree}; `
        + `top-1 correct: edgeq ${top1Edgeq}, reference ${top1Ref}`);
      expect(worst).toBeLessThanOrEqual(c.maxLsb);
      expect(agree).toBeGreaterThanOrEqual(Math.floor(images.length * c.minAgree));
    }, 600_000);

    it(`${c.file}: the first conv alone (same uint8 input) differs from TFLite's fixed point by at most 1 LSB on under 1% of outputs`, async () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.file)));
      const first = prefix(readTflite(bytes), 0);
      const graph = tfliteToOnnx(first);
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
