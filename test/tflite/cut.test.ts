// cutTflite (tools/tflite/cut.ts): a .tflite copy whose graph output is another tensor. Checked against
// an independently written truncated graph (the writer, tools/tflite/build.ts) run by the reference
// interpreter, byte for byte against the original (only the outputs vector changes), on the Coral
// files where ../shared has them, and each refusal as a typed EdgeqError.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { buildTflite, rng, tinyModel } from '../../tools/tflite/build.js';
import { cutTflite, softmaxInput, tensorIndex } from '../../tools/tflite/cut.js';
import { importTflite } from '../../tools/tflite/index.js';
import { weightOverflows } from '../../tools/tflite/to-onnx.js';
import { Session } from '../../src/index.js';
import { readTflite } from '../../tools/tflite/reader.js';
import { runTfliteReference } from '../../tools/tflite/reference.js';
import { SHARED, warnSkip } from '../helpers.js';

const CORAL = join(SHARED, 'models', 'tflite-coral');
const HAS_CORAL = existsSync(join(CORAL, 'mobilenet_v1_0.25_128_quant.tflite'));
warnSkip(HAS_CORAL, `../shared/models/tflite-coral is absent (${CORAL}); the Coral cut test is skipped`);

function typed(f: () => unknown, code: string, text: string): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe(code);
  expect((err as EdgeqError).message).toContain(text);
}

const randomInput = (n: number, seed: number): Uint8Array => { const r = rng(seed); return Uint8Array.from({ length: n }, () => r(256)); };

describe('cutTflite', () => {
  const spec = tinyModel(3);
  const bytes = buildTflite(spec);
  const model = readTflite(bytes);

  it('softmaxInput names the tensor the final SOFTMAX reads', () => {
    expect(softmaxInput(model)).toBe(tensorIndex(model, 'logits'));
    typed(() => tensorIndex(model, 'nope'), 'BAD_OPTION', '"nope"');
  });

  it('changes only the outputs vector; the graph output is the asked tensor', () => {
    for (const name of ['conv', 'dw', 'add', 'pool', 'fc', 'logits']) {
      const t = tensorIndex(model, name);
      const cut = cutTflite(bytes, t);
      expect(cut.length).toBe(bytes.length);
      const diff = [...cut.keys()].filter((i) => cut[i] !== bytes[i]);
      expect(diff.length).toBeGreaterThan(0);
      expect(diff.length).toBeLessThanOrEqual(4);
      expect(diff[diff.length - 1]! - diff[0]!).toBeLessThan(4); // one int32
      const g = readTflite(cut).subgraphs[0]!;
      expect(g.outputs).toEqual([t]);
      expect(g.operators.map((o) => [o.inputs, o.outputs])).toEqual(model.subgraphs[0]!.operators.map((o) => [o.inputs, o.outputs]));
    }
    expect(bytes).toEqual(buildTflite(spec)); // the input is not modified
  });

  it('runs to the same integers as the graph written up to that tensor', () => {
    // The reference interpreter returns any SOFTMAX's input, so the cut graph here ends before it
    // (at the RESHAPE); the prefix ending at each cut tensor is built independently with the writer.
    const noSoftmax = { ...spec, ops: spec.ops.slice(0, 6), outputs: [tensorIndex(model, 'logits')] };
    const base = buildTflite(noSoftmax);
    const prefixes: [string, number][] = [['conv', 1], ['dw', 2], ['add', 3], ['pool', 4], ['fc', 5]];
    for (const [name, ops] of prefixes) {
      const t = tensorIndex(model, name);
      const truncated = readTflite(buildTflite({ ...spec, ops: spec.ops.slice(0, ops), outputs: [t] }));
      const cut = readTflite(cutTflite(base, t));
      expect(cut.subgraphs[0]!.operators).toHaveLength(6);
      for (let seed = 1; seed <= 5; seed++) {
        const x = randomInput(9 * 9 * 3, seed);
        const got = runTfliteReference(cut, x);
        const want = runTfliteReference(truncated, x);
        expect(got.data.length).toBe(spec.tensors[t]!.shape.reduce((a, b) => a * b, 1));
        expect(Array.from(got.data)).toEqual(Array.from(want.data));
        expect([got.scale, got.zeroPoint]).toEqual([want.scale, want.zeroPoint]);
      }
    }
  });

  it('truncate keeps the operators up to the tensor\'s writer; the prefix imports and runs as the reference does', async () => {
    for (const [name, ops] of [['conv', 1], ['dw', 2], ['add', 3], ['pool', 4], ['fc', 5]] as const) {
      const t = tensorIndex(model, name);
      const cut = cutTflite(bytes, t, { truncate: true });
      const g = readTflite(cut).subgraphs[0]!;
      expect(g.operators.map((o) => o.opName)).toEqual(model.subgraphs[0]!.operators.slice(0, ops).map((o) => o.opName));
      expect(g.outputs).toEqual([t]);
      // The importer takes the prefix (no dead SOFTMAX left); edgeq's output dequantizes the reference's integers within 1 LSB.
      const { edgeq } = importTflite(cut);
      const session = await Session.create(edgeq);
      const px = randomInput(243, ops);
      const x = new Float32Array(243);
      for (let p = 0; p < 81; p++) for (let c = 0; c < 3; c++) x[c * 81 + p] = (px[p * 3 + c]! - 128) / 128;
      const y = await session.run(x);
      session.release();
      const ref = runTfliteReference(readTflite(cut), px);
      const shape = spec.tensors[t]!.shape; // NHWC (edgeq's output is NCHW), or [1, C]
      const [H, W, C] = shape.length === 4 ? [shape[1]!, shape[2]!, shape[3]!] : [1, 1, shape[1]!];
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < H * W; p++) {
          expect(Math.abs(Math.round(y[c * H * W + p]! / ref.scale) + ref.zeroPoint - ref.data[p * C + c]!)).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('refuses what it cannot patch, each a typed error', () => {
    typed(() => cutTflite(bytes, 99), 'BAD_OPTION', 'tensor 99 is not in 0..13');
    typed(() => cutTflite(bytes, -1), 'BAD_OPTION', 'tensor -1');
    typed(() => cutTflite(bytes, 1.5), 'BAD_OPTION', 'tensor 1.5');
    typed(() => cutTflite(bytes, tensorIndex(model, 'conv/w')), 'BAD_OPTION', 'is a constant');
    typed(() => cutTflite(bytes, tensorIndex(model, 'input')), 'BAD_OPTION', 'written by no operator');
    const twoOut = buildTflite({ ...spec, outputs: [12, 13] });
    typed(() => cutTflite(twoOut, 7), 'UNSUPPORTED_OP', '2 outputs');
    typed(() => softmaxInput(readTflite(twoOut)), 'UNSUPPORTED_OP', '2 outputs');
    const noSoftmax = readTflite(buildTflite({ ...spec, ops: spec.ops.slice(0, 5), outputs: [11] }));
    typed(() => softmaxInput(noSoftmax), 'UNSUPPORTED_OP', '(FULLY_CONNECTED), not a SOFTMAX');
    typed(() => cutTflite(bytes.subarray(0, bytes.length - 40), 7), 'BAD_MODEL', '');
  });

  it.skipIf(!HAS_CORAL)('Coral MobileNets: the logits tensor, and the cut file runs to the same logits', () => {
    for (const file of ['mobilenet_v1_0.25_128_quant.tflite', 'mobilenet_v2_1.0_224_quant.tflite']) {
      const original = new Uint8Array(readFileSync(join(CORAL, file)));
      const m = readTflite(original);
      const t = softmaxInput(m);
      const g = m.subgraphs[0]!;
      expect(g.tensors[t]!.shape).toEqual([1, 1001]);
      expect(g.tensors[t]!.typeName).toBe('uint8');
      const cut = cutTflite(original, t);
      expect(readTflite(cut).subgraphs[0]!.outputs).toEqual([t]);
      if (file.startsWith('mobilenet_v1')) { // v2 takes seconds in the reference interpreter
        const x = randomInput(128 * 128 * 3, 7);
        // The reference returns a final SOFTMAX's input, so the original gives the logits too.
        expect(Array.from(runTfliteReference(readTflite(cut), x).data)).toEqual(Array.from(runTfliteReference(m, x).data));
      }
    }
  });
});
