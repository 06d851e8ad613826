// Run by test/runtime/relaxed-backend.test.ts under Deno: a quantized tiny CNN (residuals, 3x3 and
// 1x1 convolutions, a float32 head) through Session backend 'relaxed' and 'simd' in one process;
// prints one JSON line: the backends, the probe verdict and whether every output is bit-identical.
import { readFileSync } from 'node:fs';
import { Session } from '../../src/index.js';
import { relaxedSelfCheck } from '../../src/kernels/relaxed-check.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { mobilenetBlocks, SIZE } from '../quantize/mobilenet-blocks.js';

const calib = tinyInputs(3, 8, 32);
const model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 9, size: 32 })), { calibration: calib, calibrationCount: calib.length, fuseResidual: true })).edgeq;
const out: Record<string, unknown> = {};
try {
  const relaxed = await Session.create(model, { backend: 'relaxed', threads: 1 });
  const simd = await Session.create(model, { backend: 'simd', threads: 1 });
  const auto = await Session.create(model, { threads: 1 });
  let same = true, n = 0;
  for (const x of tinyInputs(5, 6, 32)) {
    const a = await relaxed.run(x), b = await simd.run(x);
    n++;
    if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) same = false;
  }
  // MobileNetV2-style blocks: depthwise convs keep their own kernel (and weight layout) beside relaxed 1x1s.
  const mcal = tinyInputs(40, 8, SIZE);
  const mobile = (await quantizeModel(writeOnnx(mobilenetBlocks(5)), { calibration: mcal, calibrationCount: mcal.length, fuseResidual: true })).edgeq;
  const mr = await Session.create(mobile, { backend: 'relaxed', threads: 1 }), ms = await Session.create(mobile, { backend: 'simd', threads: 1 });
  for (const x of tinyInputs(50, 4, SIZE)) {
    const a = await mr.run(x), b = await ms.run(x);
    n++;
    if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) same = false;
  }
  // The kernels the relaxed session's plan calls (private: read for this check only).
  const plan = await (relaxed as unknown as { plan(b: number): Promise<{ calls: { fn: string }[][] } > }).plan(1);
  const fns = plan.calls.flat().map((c) => c.fn);
  const relaxedCalls = fns.filter((f) => f.includes('relaxed')).length;
  const convCalls = fns.filter((f) => /gemm|im2col|wino/.test(f)).length;
  // The self-check must catch a wrong lowering: on a u8xs8 engine the s8xs8 one fails (and vice versa).
  const module = new WebAssembly.Module(readFileSync(new URL('../../build/edgeq-relaxed.wasm', import.meta.url)));
  const selfCheck = { u8xs8: await relaxedSelfCheck(module, 'u8xs8'), s8xs8: await relaxedSelfCheck(module, 's8xs8') };
  Object.assign(out, { selfCheck, relaxedCalls, convCalls, relaxed: relaxed.backend, simd: simd.backend, auto: auto.backend, relaxedDot: relaxed.relaxedDot, same, n });
} catch (err) {
  out.error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
}
console.log(JSON.stringify(out));
