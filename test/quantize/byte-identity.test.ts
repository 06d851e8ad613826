// Pins the bytes the quantizer writes for the tiny CNN (test/quantize/tiny-cnn.ts): the .edgeq file,
// the QDQ export and the folded fp32 export, by sha256, for recipes that reach every op module and
// every export path (fused residual, LeakyRelu, 12-bit tensors, a feature trunk, equalization).
// A refactoring of the quantizer must leave them unchanged; a deliberate numeric change updates the
// table (set EDGEQ_PRINT_HASHES=1 to print the new values).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel, type QuantizeModelOptions } from '../../tools/quantize/pipeline.js';
import { tinyCnn, tinyInputs, type TinyCnnOptions } from './tiny-cnn.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Recipe { name: string; model: TinyCnnOptions; options: Omit<QuantizeModelOptions, 'calibration' | 'calibrationCount'> }
const RECIPES: Recipe[] = [
  { name: 'default recipe', model: {}, options: {} },
  { name: 'leaky, minmax, no GPTQ, unfused', model: { leaky: true, seed: 3 }, options: { method: 'minmax', gptq: false, fuseResidual: false, biasCorrection: false } },
  { name: '12-bit activations', model: { seed: 5 }, options: { activations: 12 } },
  { name: 'feature trunk', model: { trunk: true, seed: 2 }, options: {} },
  { name: 'weight equalization', model: { seed: 4 }, options: { equalize: true } },
];

/**
 * [edgeq, qdq, floatOnnx] sha256 per recipe, computed before the quantizer's ops became modules; the QDQ
 * exports of fused residuals and 12-bit tensors since they are written exactly (ops/conv.ts, exportExact).
 */
const PINNED: Record<string, [string, string, string]> = {
  'default recipe': ['65c8c7c327bd362bfca68b9f190d02935bd183e8e98ef0961a0e86106521cadb', 'c415436a3e7dd199b3367bf48d0cb7cb68092418290c2f248a104bc3a510ca52', 'f815d10bf6418f2868a9e0ac27fc6ae3634268b767cb14f9b91f28106cc502ed'],
  'leaky, minmax, no GPTQ, unfused': ['10522e5c430eada6d587b864e25c0ff35caeaf0945daf68b0c50e5ae51533605', 'c559355b15c2831503b442cd9b296b3c6f99abe95d5c3da452cc6a4e6f561540', 'd0efe858061d53dca03c3ee7d58b700002f9788f2c126c660a21e359ab07eb57'],
  '12-bit activations': ['80942ee88675d604efe8c9b993d23c792c144f38d5424faca32ffec2a07e136a', '27d01426e8c590ab3dfa06a09de8711b7b1d6954282c6f16a9e5456a6d927dd4', 'ef1bce2005e22c1aab6ab3c9e4c9fd5e8b1ce6ce2d785fd24af9042655cd8422'],
  'feature trunk': ['a4cd2ae16dee1fb1d27c9d40e5b4eaed79c9e50089d14348de403c6745f4be7f', '00ef0bdd1a7f304c5e5c4c645bd27085d2cde2bc036fc3c17eb08d97e632106c', '42524a01541939849b4edcaff15bd3b9688365a381361e6acaaad300568ff8a2'],
  'weight equalization': ['27ac25011552e87330bc0ae73cef631fdd6e705f4ad78f9c7bfb1f18948cfac9', '1bea9d72b1b3cc20017c1bbccb178c05d1e1dcf3527e8bb56bf86306e7771f68', '39b4561093d7371fa2c9e2bc1ebab81bd1e37e115d6b0553f16db5d5472ca570'],
};

describe('quantizer output bytes are pinned (tiny CNN)', () => {
  for (const r of RECIPES) {
    it(r.name, async () => {
      const bytes = writeOnnx(tinyCnn(r.model));
      const calib = tinyInputs(11, 6);
      const q = await quantizeModel(bytes, { ...r.options, calibration: calib, calibrationCount: calib.length, threads: 1 });
      const got: [string, string, string] = [sha(q.edgeq), sha(q.qdq), sha(q.floatOnnx)];
      if (process.env.EDGEQ_PRINT_HASHES) console.log(`HASH ${JSON.stringify(r.name)}: ${JSON.stringify(got)},`);
      expect(got).toEqual(PINNED[r.name]);
    }, 60_000);
  }
});
