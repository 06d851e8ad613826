// Models for the hardening tests: the tiny CNN (test/quantize/tiny-cnn.ts) through the real
// quantizer, and the code-built synthetic models of tools/fuzz/seeds.ts.
import { writeEdgeq } from '../../src/format/writer.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { synthInput, synthQModel } from '../../tools/fuzz/seeds.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

export interface TestModel {
  name: string;
  bytes: Uint8Array;
  /** One seeded input (batch 1). */
  input: Float32Array;
}

/** The tiny CNN quantized on 8 seeded inputs (about 1-2 s). */
export async function tinyCnnModel(options: { leaky?: boolean; fuseResidual?: boolean; seed?: number } = {}): Promise<TestModel> {
  const onnx = writeOnnx(tinyCnn({ seed: options.seed ?? 1, leaky: options.leaky }));
  const q = await quantizeModel(onnx, { calibration: tinyInputs(1, 8), calibrationCount: 8, ...(options.fuseResidual ? { fuseResidual: true } : {}) });
  return { name: `tiny-cnn${options.leaky ? '-leaky' : ''}${options.fuseResidual ? '-fused' : ''}`, bytes: q.edgeq, input: tinyInputs(2, 1)[0]! };
}

export function synthModel(seed: number, fuseResidual = false): TestModel {
  const m = synthQModel(seed, { fuseResidual });
  return { name: `synth${fuseResidual ? '-fused' : ''}-${seed}`, bytes: writeEdgeq(m), input: synthInput(1, m.input.nchw) };
}
