// Where edgeq and onnxruntime-web part on the real-weights MobileNetV2: every op's output tensor of the
// .edgeq against the same tensor of its QDQ export (traceQdq, tools/quantize/qdq-trace.ts), on chosen
// held-out images, and the first op that differs per image.
//   node bench/dist/qdq-trace.js [--images 48,259] [--in 8|12] [--nofuse] [--standard] [--cache .cache/mobilenet]
// --images: indices into the 650 held-out images of bench/mobilenet-accuracy.ts (its split: seed 0,
// 100 calibration images), whose calibration cache (default settings) this reuses: run that first.
// --standard: the export with fused residuals written unfused (exportQdq(..., { fused: false })).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deserialize } from 'node:v8';
import { IMAGENET } from 'edgeq/image';
import { folderInputs } from 'edgeq-tools/cli/inputs';
import { quantizeCalibrated, type CalibratedModel } from 'edgeq-tools/quantize';
import { exportQdq } from 'edgeq-tools/quantize/export-qdq';
import { ActivationHistogram } from 'edgeq-tools/quantize/histogram';
import { traceQdq } from 'edgeq-tools/quantize/qdq-trace';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1]! : dflt; };
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
const cacheDir = resolve(opt('cache', '.cache/mobilenet'));
const fp32Path = join(cacheDir, 'mobilenetv2-fp32.onnx'), calibPath = join(cacheDir, 'calib-gptq1-smooth1-seed0-calib100.v8');
if (!existsSync(fp32Path) || !existsSync(calibPath)) {
  console.error(`${fp32Path} or ${calibPath} not found: run node bench/dist/mobilenet-accuracy.js first (it writes them)`);
  process.exit(2);
}
const images = opt('images', '0,1,2').split(',').map(Number);
const held = [...folderInputs(join(shared, 'data', 'imagenet-sample'), IMAGENET, 100, 0).evalInputs(Math.max(...images) + 1)];
const calibrated = deserialize(readFileSync(calibPath)) as CalibratedModel;
for (const h of calibrated.histograms.values()) Object.setPrototypeOf(h, ActivationHistogram.prototype);
const fuseResidual = !args.includes('--nofuse');
const inputBits = args.includes('--in') ? Number(opt('in', '12')) as 8 | 12 : undefined;
const fp32 = new Uint8Array(readFileSync(fp32Path));
const q = quantizeCalibrated(fp32, calibrated, { calibrationCount: 100, preprocess: IMAGENET, fuseResidual, inputBits });
const qdq = args.includes('--standard') ? exportQdq(q.graph, q, { fused: false }) : q.qdq;

const rows = await traceQdq(q.model, qdq, images.map((i) => held[i]!));
const first = new Map<number, string>();
for (const r of rows) {
  const cells = r.differing.map((n, i) => (n === 0 ? '=' : `${n}/${r.elements} max ${r.dtype === 'float32' ? r.maxDiff[i]!.toExponential(2) : r.maxDiff[i]}`));
  console.log(`${r.op} ${r.kind} ${r.name} (${r.dtype}): ${cells.join(' | ')}`);
  r.differing.forEach((n, i) => { if (n > 0 && !first.has(i)) first.set(i, `${r.kind} ${r.name}`); });
}
images.forEach((img, i) => console.log(`held-out image ${img}: ${first.has(i) ? `first difference at ${first.get(i)}` : 'every tensor identical'}`));
