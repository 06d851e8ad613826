// Real-weights MobileNetV2: the model zoo's int8 file (../shared/models/mobilenetv2-zoo-int8) dequantized
// to fp32 (dequantizeModel), requantized by edgeq's quantizer, and measured on the held-out images of
// ../shared/data/imagenet-sample against the fp32 model and the zoo's own int8 file:
//   fp32 (onnxruntime-web), zoo int8 (onnxruntime-web), edgeq int8 (edgeq Session), edgeq's QDQ export
//   (onnxruntime-web): top-1 / top-5 counts, argmax ties, edgeq vs QDQ top-1 agreement, and each engine's
//   time per image (1 thread, every held-out image; rough on a shared machine).
//   node bench/dist/mobilenet-accuracy.js [--variants default,act=auto,...] [--eval 650] [--calib-count 100]
//       [--seed 0] [--qdq exact|standard|both|none] [--cache .cache/mobilenet] [--json out.json]
// Calibration: the 100 images chosen by seed 0 (as bench/accuracy.ts); measurement: the other 650.
// A variant is '+'-joined settings over quantize()'s defaults: method=mse|entropy|percentile|minmax,
// act=8|12|auto, in8|in12 (the graph input's bits; default auto: 12 for ImageNet's mean/std),
// nogptq, nosmooth, nobc, nofuse ('default' = none). The dequantized model, the
// fp32 / zoo logits and each calibration are cached under --cache (delete it after changing the quantizer's
// calibration code).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { Session } from 'edgeq';
import { IMAGENET } from 'edgeq/image';
import { folderInputs } from 'edgeq-tools/cli/inputs';
import { dequantizeModel } from 'edgeq-tools/import';
import { readOnnx } from 'edgeq-tools/onnx/reader';
import { writeOnnx } from 'edgeq-tools/onnx/writer';
import { calibrateModel, quantizeCalibrated } from 'edgeq-tools/quantize';
import { parseActivationMode, type ActivationMode } from 'edgeq-tools/quantize/activation-bits';
import { AUTO_SENSITIVITY_INPUTS, chooseWideTensors } from 'edgeq-tools/quantize/auto-bits';
import { exportQdq } from 'edgeq-tools/quantize/export-qdq';
import { ActivationHistogram, type CalibrationMethod } from 'edgeq-tools/quantize/histogram';
import { argmax, topK } from 'edgeq-tools/quantize/report';
import { ReferenceSession } from 'edgeq-tools/reference/ort-runner';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
const zooPath = join(shared, 'models', 'mobilenetv2-zoo-int8', 'model.onnx');
const imageDir = join(shared, 'data', 'imagenet-sample');
if (!existsSync(zooPath) || !existsSync(imageDir)) {
  console.error(`${zooPath} or ${imageDir} not found: this benchmark needs ../shared`);
  process.exit(2);
}
const evalLimit = Number(opt('eval', '650'));
const calibCount = Number(opt('calib-count', '100'));
const seed = Number(opt('seed', '0'));
const variants = opt('variants', 'default').split(',');
// exact: the export quantize() returns (the .edgeq's integers); standard: exportQdq(..., { fused: false }),
// each fused residual written as the standard unfused pattern (its branch rounded to uint8 on its own).
const qdqMode = opt('qdq', 'exact');
const cacheDir = resolve(opt('cache', '.cache/mobilenet'));
mkdirSync(cacheDir, { recursive: true });

interface Variant { method: CalibrationMethod; activations: ActivationMode; inputBits?: 8 | 12; gptq: boolean; smooth: boolean; biasCorrection: boolean; fuseResidual: boolean }
function parseVariant(v: string): Variant {
  const out: Variant = { method: 'mse', activations: 8, gptq: true, smooth: true, biasCorrection: true, fuseResidual: true };
  for (const part of v.split('+')) {
    if (part === 'default') continue;
    else if (part.startsWith('method=')) out.method = part.slice(7) as CalibrationMethod;
    else if (part.startsWith('act=')) out.activations = parseActivationMode(part.slice(4));
    else if (part === 'in8' || part === 'in12') out.inputBits = part === 'in8' ? 8 : 12;
    else if (part === 'nogptq') out.gptq = false;
    else if (part === 'nosmooth') out.smooth = false;
    else if (part === 'nobc') out.biasCorrection = false;
    else if (part === 'nofuse') out.fuseResidual = false;
    else throw new Error(`unknown variant setting "${part}" in "${v}"`);
  }
  return out;
}
const parsed = variants.map((v) => [v, parseVariant(v)] as const);

// The fp32 model: the zoo file's weights and biases dequantized (cached).
const zoo = new Uint8Array(readFileSync(zooPath));
const fp32Path = join(cacheDir, 'mobilenetv2-fp32.onnx');
if (!existsSync(fp32Path)) writeFileSync(fp32Path, writeOnnx(dequantizeModel(readOnnx(zoo))));
const fp32 = new Uint8Array(readFileSync(fp32Path));

const t0 = performance.now();
const split = folderInputs(imageDir, IMAGENET, calibCount, seed);
const evalSet = split.eval.slice(0, evalLimit);
const labels = evalSet.map((img) => img.label!);
const calibInputs = [...split.calibInputs()];
const evalInputs = [...split.evalInputs(evalLimit)];
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs`;
console.log(`${cpu}; Node ${process.version}; ${calibInputs.length} calibration / ${evalInputs.length} held-out images (seed ${seed}) decoded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/** ms per run: median and the 10th-90th percentile spread of `ms`. */
function timing(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b), at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `${at(0.5).toFixed(1)} ms (p10-p90 ${at(0.1).toFixed(1)}-${at(0.9).toFixed(1)})`;
}

/** Logits of every held-out image, one Float32Array of evalInputs.length x 1000, and onnxruntime-web's time per run. */
async function ortLogits(bytes: Uint8Array, ms: number[] = []): Promise<Float32Array> {
  const s = await ReferenceSession.create(bytes);
  const name = s.inputNames[0]!, outName = s.outputNames[0]!;
  const all = new Float32Array(evalInputs.length * 1000);
  for (let i = 0; i < evalInputs.length; i++) {
    const r = await s.run({ [name]: { dims: [1, 3, 224, 224], data: evalInputs[i]! } });
    all.set(r.outputs[outName]!.data, i * 1000);
    ms.push(r.ms);
  }
  await s.release();
  return all;
}
async function cachedLogits(key: string, bytes: Uint8Array): Promise<Float32Array> {
  const path = join(cacheDir, `${key}-seed${seed}-calib${calibCount}-eval${evalInputs.length}.f32`);
  if (existsSync(path)) {
    const b = readFileSync(path);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  const l = await ortLogits(bytes);
  writeFileSync(path, l);
  return l;
}

interface Score { top1: number; top5: number; ties: number; argmaxes: number[] }
function score(logits: Float32Array): Score {
  let top1 = 0, top5 = 0, ties = 0;
  const argmaxes: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const out = logits.subarray(i * 1000, (i + 1) * 1000);
    const best = argmax(out);
    argmaxes.push(best);
    let n = 0;
    for (const v of out) if (v === out[best]) n++;
    if (n > 1) ties++;
    if (best === labels[i]) top1++;
    if (topK(out, 5).includes(labels[i]!)) top5++;
  }
  return { top1, top5, ties, argmaxes };
}

interface Row { engine: string; top1: string; top5: string; ties: number; [k: string]: string | number }
const rows: Row[] = [];
const n = evalInputs.length;
const pct = (k: number) => `${k}/${n} (${((100 * k) / n).toFixed(1)}%)`;
const fp = score(await cachedLogits('fp32', fp32));
rows.push({ engine: 'fp32 (dequantized zoo weights), onnxruntime-web', top1: pct(fp.top1), top5: pct(fp.top5), ties: fp.ties });
console.log(JSON.stringify(rows.at(-1)));
const zq = score(await cachedLogits('zoo-int8', zoo));
rows.push({ engine: 'zoo int8 file, onnxruntime-web', top1: pct(zq.top1), top5: pct(zq.top5), ties: zq.ties });
console.log(JSON.stringify(rows.at(-1)));

// Calibration (histograms, GPTQ levels, smoothing) of the fp32 model, cached per setting that changes it.
async function calibration(v: Variant) {
  const smooth = v.smooth && v.activations !== 12;
  const path = join(cacheDir, `calib-gptq${+v.gptq}-smooth${+smooth}-seed${seed}-calib${calibCount}.v8`);
  if (existsSync(path)) {
    const c = deserialize(readFileSync(path)) as Awaited<ReturnType<typeof calibrateModel>>;
    // Structured clone keeps fields, not prototypes: the histograms' methods come back here.
    for (const h of c.histograms.values()) Object.setPrototypeOf(h, ActivationHistogram.prototype);
    return c;
  }
  const tc = performance.now();
  const c = await calibrateModel(fp32, { calibration: calibInputs, calibrationCount: calibInputs.length, gptq: v.gptq, smooth, activations: v.activations });
  console.log(`  calibration (gptq ${v.gptq}, smooth ${smooth}): ${((performance.now() - tc) / 1000).toFixed(1)} s`);
  writeFileSync(path, serialize(c));
  return c;
}

for (const [name, v] of parsed) {
  const calibrated = await calibration(v);
  const tq = performance.now();
  const wideTensors = v.activations !== 'auto' ? undefined
    : (await chooseWideTensors(fp32, calibrated, { inputs: calibInputs.slice(0, AUTO_SENSITIVITY_INPUTS), method: v.method, fuseResidual: v.fuseResidual })).wide;
  const q = quantizeCalibrated(fp32, calibrated, {
    calibrationCount: calibInputs.length, method: v.method, preprocess: IMAGENET, fuseResidual: v.fuseResidual,
    biasCorrection: v.biasCorrection, activations: v.activations, wideTensors, inputBits: v.inputBits,
  });
  const wide = q.model.tensors.filter((t) => t.dtype === 'uint12').length;
  console.log(`  ${name}: quantized in ${((performance.now() - tq) / 1000).toFixed(1)} s, ${wide} tensors at 12 bits, meta ${JSON.stringify(q.model.meta)}`);
  const session = await Session.create(q.edgeq, { threads: 1 });
  const edgeqLogits = new Float32Array(n * 1000);
  const edgeqMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    edgeqLogits.set(await session.run(evalInputs[i]!), i * 1000);
    edgeqMs.push(performance.now() - t);
  }
  session.release();
  const e = score(edgeqLogits);
  const fpAgree = e.argmaxes.filter((c, i) => c === fp.argmaxes[i]).length;
  rows.push({ engine: `edgeq int8 [${name}], edgeq`, top1: pct(e.top1), top5: pct(e.top5), ties: e.ties, fp32Top1Agreement: `${fpAgree}/${n}`, wide12: wide, time: timing(edgeqMs) });
  console.log(JSON.stringify(rows.at(-1)));
  const exports: [string, Uint8Array][] = [];
  if (qdqMode === 'exact' || qdqMode === 'both' || !v.fuseResidual) exports.push(['QDQ export (as quantize() returns)', q.qdq]);
  if ((qdqMode === 'standard' || qdqMode === 'both') && v.fuseResidual) exports.push(['QDQ export, residual adds unfused (fused: false)', exportQdq(q.graph, q, { fused: false })]);
  for (const [label, bytes] of exports) {
    const ms: number[] = [];
    const logits = await ortLogits(bytes, ms);
    const r = score(logits);
    const agree = r.argmaxes.filter((c, i) => c === e.argmaxes[i]).length;
    // Where the engines disagree: each one's top-1 margin (its best logit minus the other engine's
    // class's logit) and the largest logit difference between them on that image.
    const diffs: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = edgeqLogits.subarray(i * 1000, (i + 1) * 1000), b = logits.subarray(i * 1000, (i + 1) * 1000);
      let maxDiff = 0;
      for (let k = 0; k < 1000; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
      diffs.push(maxDiff);
      if (r.argmaxes[i] === e.argmaxes[i]) continue;
      const ea = e.argmaxes[i]!, ra = r.argmaxes[i]!;
      console.log(`    differ: ${evalSet[i]!.path.split('/').pop()}: edgeq margin ${(a[ea]! - a[ra]!).toFixed(3)}, onnxruntime-web margin ${(b[ra]! - b[ea]!).toFixed(3)}, max |logit difference| ${maxDiff.toFixed(3)}`);
    }
    diffs.sort((u, v) => u - v);
    const identical = diffs.filter((d) => d === 0).length;
    const f = (d: number) => (d === 0 || d >= 0.001 ? d.toFixed(3) : d.toExponential(2));
    console.log(`    max |logit difference| per image: median ${f(diffs[n >> 1]!)}, p90 ${f(diffs[Math.floor(0.9 * n)]!)}, max ${f(diffs[n - 1]!)}; identical logits ${identical}/${n}`);
    rows.push({ engine: `${label} [${name}], onnxruntime-web`, top1: pct(r.top1), top5: pct(r.top5), ties: r.ties, edgeqTop1Agreement: `${agree}/${n} (${((100 * agree) / n).toFixed(2)}%)`, time: timing(ms) });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
console.table(rows);
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify({ cpu, node: process.version, seed, calibCount, eval: n, rows }, null, 2));
