// The real-weights ResNet-50 trunk (../shared/models/resnet50-trunk) quantized with quantize()'s
// defaults (fused residual adds, a 12-bit input; calibration on 32 of the 100 images seed 0 chooses),
// against its QDQ export in onnxruntime-web on held-out images: how many convs the export writes in
// the exact form, how many output elements differ from edgeq's (float32 output: compared exactly) and
// the largest difference, with exportQdq(..., { fused: false }) beside it; each engine's median time.
//   node bench/dist/trunk-qdq.js [--eval 10]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Session } from 'edgeq';
import { IMAGENET } from 'edgeq/image';
import { folderInputs } from 'edgeq-tools/cli/inputs';
import { readOnnx } from 'edgeq-tools/onnx/reader';
import { calibrateModel, quantizeCalibrated } from 'edgeq-tools/quantize';
import { exportQdq } from 'edgeq-tools/quantize/export-qdq';
import { ReferenceSession } from 'edgeq-tools/reference/ort-runner';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1]! : dflt; };
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
const modelPath = join(shared, 'models', 'resnet50-trunk', 'model.onnx'), imageDir = join(shared, 'data', 'imagenet-sample');
if (!existsSync(modelPath) || !existsSync(imageDir)) {
  console.error(`${modelPath} or ${imageDir} not found: this benchmark needs ../shared`);
  process.exit(2);
}
const onnx = new Uint8Array(readFileSync(modelPath));
const split = folderInputs(imageDir, IMAGENET, 100, 0);
const calibration = [...split.calibInputs()].slice(0, 32);
const held = [...split.evalInputs(Number(opt('eval', '10')))];
const calibrated = await calibrateModel(onnx, { calibration, calibrationCount: calibration.length });
const q = quantizeCalibrated(onnx, calibrated, { calibrationCount: calibration.length, preprocess: IMAGENET });
console.log(`${q.fusedConvs.size} fused residual convs, input ${q.model.tensors[q.model.input.tensor]!.dtype}; ${held.length} held-out images`);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(1);

const session = await Session.create(q.edgeq, { threads: 1 });
const edgeq: Float32Array[] = [], edgeqMs: number[] = [];
for (const x of held) {
  const t = performance.now();
  edgeq.push(await session.run(x));
  edgeqMs.push(performance.now() - t);
}
session.release();
console.log(`edgeq: median ${median(edgeqMs)} ms`);

for (const [label, bytes] of [['the export quantize() returns', q.qdq], ['exportQdq(..., { fused: false })', exportQdq(q.graph, q, { fused: false })]] as const) {
  // exactConvNodes names its requantization multiply `<conv>/Mul`.
  const exact = readOnnx(bytes).graph.nodes.filter((n) => n.opType === 'Mul' && n.name.endsWith('/Mul')).length;
  const ref = await ReferenceSession.create(bytes);
  const ms: number[] = [];
  let differing = 0, total = 0, maxRel = 0;
  for (let i = 0; i < held.length; i++) {
    const r = await ref.run({ [ref.inputNames[0]!]: held[i]! });
    ms.push(r.ms);
    const o = r.outputs[ref.outputNames[0]!]!.data, e = edgeq[i]!;
    let range = 0;
    for (const v of e) range = Math.max(range, Math.abs(v));
    for (let k = 0; k < o.length; k++) {
      const d = Math.abs(o[k]! - e[k]!);
      if (d > 0) differing++;
      maxRel = Math.max(maxRel, d / range);
    }
    total += o.length;
  }
  await ref.release();
  console.log(`${label}: ${exact} convs in the exact form; output elements differing from edgeq ${differing}/${total}, largest |difference| ${maxRel.toExponential(2)} of the output range; onnxruntime-web median ${median(ms)} ms`);
}
