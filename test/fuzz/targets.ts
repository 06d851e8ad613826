// Fuzz targets for the tests: the code-built synthetic models (tools/fuzz/targets.ts), the tiny CNN
// through the real quantizer (with and without fused residuals), and darknet-tiny when ../shared is
// there. Names are stable: test/fuzz/regressions.json refers to them.
import { writeOnnx } from '../../tools/onnx/writer.js';
import type { FuzzTarget } from '../../tools/fuzz/campaign.js';
import { darknetTargets, resnetTargets, synthTargets } from '../../tools/fuzz/targets.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

export async function tinyCnnTargets(): Promise<FuzzTarget[]> {
  const onnx = writeOnnx(tinyCnn());
  const calibration = tinyInputs(1, 8);
  const plain = await quantizeModel(onnx, { calibration, calibrationCount: 8 });
  const fused = await quantizeModel(writeOnnx(tinyCnn({ leaky: true, seed: 2 })), { calibration, calibrationCount: 8, fuseResidual: true });
  return [
    { name: 'tiny-cnn.edgeq', kind: 'edgeq', bytes: plain.edgeq, weight: 3, backends: ['simd', 'scalar'] },
    { name: 'tiny-cnn-fused.edgeq', kind: 'edgeq', bytes: fused.edgeq, weight: 2, backends: ['simd', 'scalar'] },
    { name: 'tiny-cnn.onnx', kind: 'onnx', bytes: onnx, weight: 2 },
  ];
}

/**
 * Every target the tests know, by name (ResNet-50 only with EDGEQ_FUZZ_RESNET=1: it is large).
 * `only` restricts the (slower to build) quantized families to the names it holds.
 */
export async function allTestTargets(options: { darknetWeight?: number; only?: Set<string> } = {}): Promise<FuzzTarget[]> {
  const want = (prefix: string) => !options.only || [...options.only].some((n) => n.startsWith(prefix));
  return [
    ...synthTargets(6),
    ...(want('tiny-cnn') ? await tinyCnnTargets() : []),
    ...(want('darknet-tiny') ? await darknetTargets(options.darknetWeight ?? 1) : []),
    ...(want('resnet50') && process.env.EDGEQ_FUZZ_RESNET === '1' ? await resnetTargets(1) : []),
  ];
}
