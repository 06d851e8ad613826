// Accuracy of the quantizer's calibration methods on the real models in ../shared, measured with
// onnxruntime-web running the fp32 source and the QDQ export (same inputs, same images).
//   node bench/dist/accuracy.js [--methods minmax,percentile,mse,entropy] [--eval N] [--models darknet,trunk] [--json out.json]
//       [--variants plain,bc,fuse+bc] [--activations 8,12,auto] [--seed 0] [--calib-count 100]
// Calibration: 100 images chosen by seed 0 (--seed) from ../shared/data/imagenet-sample; measurement: the other 650.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { folderInputs, syntheticInputs } from 'edgeq-tools/cli/inputs';
import { IMAGENET, UNIT } from 'edgeq/image';
import { ReferenceSession } from 'edgeq-tools/reference/ort-runner';
import { calibrateModel, quantizeCalibrated } from 'edgeq-tools/quantize';
import { parseActivationMode } from 'edgeq-tools/quantize/activation-bits';
import { AUTO_SENSITIVITY_INPUTS, chooseWideTensors } from 'edgeq-tools/quantize/auto-bits';
import { exportQdq } from 'edgeq-tools/quantize/export-qdq';
import { getEmbeddedModel } from 'edgeq-tools/synth/cache-node';
import type { CalibrationMethod } from 'edgeq-tools/quantize/histogram';
import { argmax, cosine, SqnrMeter, topK } from 'edgeq-tools/quantize/report';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
if (!existsSync(join(shared, 'models'))) {
  console.error(`../shared not found at ${shared}: this benchmark needs the real models and images`);
  process.exit(2);
}
const methods = opt('methods', 'minmax,percentile,mse,entropy').split(',') as CalibrationMethod[];
const evalLimit = Number(opt('eval', '650'));
const models = opt('models', 'darknet,trunk').split(',');
const calibCount = Number(opt('calib-count', '100'));
// Which images calibrate (and so which others are measured): the same split for every model.
const seed = Number(opt('seed', '0'));
const percentile = Number(opt('percentile', '99.99'));
// Variants: plain, fuse (residual adds fused, evaluated as edgeq computes them), bc (bias correction), fuse+bc;
// cle (cross-layer equalization, weight ranges) or cle-act (activation ranges) combine with them: cle+fuse+bc;
// smooth (activation smoothing, smoothing.ts; 8-bit) and gptq likewise: smooth+gptq+fuse+bc; in12 keeps
// the graph input 12 bits (inputBits), else it has 8 at 8-bit activations. Each variant names all it
// turns on: the quantizer's default is smooth+gptq+in12+fuse+bc for a model with a per-channel
// mean/std (the trunk, the embedded ResNet-50) and smooth+gptq+fuse+bc for darknet-tiny (x / 255).
const variants = opt('variants', 'plain').split(',');
// Activation bits (8, 12, auto), each measured through the QDQ export (12-bit tensors as uint16 Q/DQ on the 12-bit grid).
const activationModes = opt('activations', '8').split(',').map(parseActivationMode);

const imageDir = join(shared, 'data', 'imagenet-sample');
// The split depends only on the folder, the count and the seed, so it is the same for every spec.
const evalSet = folderInputs(imageDir, IMAGENET, calibCount, seed).eval.slice(0, evalLimit);


interface Row { model: string; method: string; [k: string]: string | number }
const rows: Row[] = [];

for (const which of models) {
  const isDarknet = which === 'darknet';
  const isSynth = which === 'resnet50';
  const spec = isDarknet ? UNIT : IMAGENET;
  const bytes = isSynth ? (await getEmbeddedModel()).bytes
    : new Uint8Array(readFileSync(join(shared, 'models', isDarknet ? 'darknet-tiny' : 'resnet50-trunk', 'model.onnx')));
  const t0 = performance.now();
  // The embedded ResNet-50 has synthetic weights: it is calibrated and measured on synthetic images
  // (seeds 0.. for calibration, 1000000.. for measurement, as `edgeq bench` does).
  const images = folderInputs(imageDir, spec, calibCount, seed);
  const calibInputs = isSynth ? [...syntheticInputs(0, calibCount, spec)] : [...images.calibInputs()];
  const evalInputs = isSynth ? [...syntheticInputs(1_000_000, evalLimit, spec)] : [...images.evalInputs(evalLimit)];
  console.log(`${which}: ${calibInputs.length} calibration / ${evalInputs.length} measurement images decoded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const fp32 = await ReferenceSession.create(bytes);
  const inputName = fp32.inputNames[0], outputName = fp32.outputNames[0];
  const ref: Float32Array[] = [];
  for (const x of evalInputs) ref.push((await fp32.run({ [inputName]: x })).outputs[outputName].data);
  await fp32.release();
  if (isDarknet) {
    const top1 = ref.filter((r, i) => argmax(r) === evalSet[i].label).length;
    const top5 = ref.filter((r, i) => topK(r, 5).includes(evalSet[i].label!)).length;
    rows.push({ model: which, method: 'fp32', top1: `${top1}/${ref.length}`, top5: `${top5}/${ref.length}` });
    console.log(`  fp32: top-1 ${top1}/${ref.length}, top-5 ${top5}/${ref.length}`);
  }

  // One calibration per equalization / GPTQ setting, made when a variant first needs it.
  const calibrations = new Map<string, { calibrated: Awaited<ReturnType<typeof calibrateModel>>; secs: number }>();
  const calibration = async (equalize: false | 'weights' | 'activations', gptq: boolean, smooth: boolean) => {
    const key = `${equalize}/${gptq}/${smooth}`;
    if (!calibrations.has(key)) {
      const tc = performance.now();
      const calibrated = await calibrateModel(bytes, { calibration: calibInputs, calibrationCount: calibInputs.length, equalize, gptq, smooth });
      const secs = (performance.now() - tc) / 1000;
      console.log(`  calibration${equalize ? ` (equalized: ${equalize})` : ''}${gptq ? ' (+ GPTQ Hessians)' : ''}${calibrated.smoothing ? ` (${calibrated.smoothing.size} pairs smoothed)` : ''} (histograms of ${calibrated.histograms.size} tensors): ${secs.toFixed(1)} s`);
      calibrations.set(key, { calibrated, secs });
    }
    return calibrations.get(key)!;
  };
  for (const method of methods) for (const variant of variants) for (const activations of activationModes) {
    const parts = variant.split('+');
    const { calibrated, secs: calibSecs } = await calibration(parts.includes('cle') ? 'weights' : parts.includes('cle-act') ? 'activations' : false, parts.includes('gptq'), parts.includes('smooth'));
    const tq = performance.now();
    const fuse = variant.includes('fuse'), bc = variant.includes('bc');
    // 'auto': the sensitivity analysis runs on the first calibration images (auto-bits.ts).
    const wideTensors = activations !== 'auto' ? undefined
      : (await chooseWideTensors(bytes, calibrated, { inputs: calibInputs.slice(0, AUTO_SENSITIVITY_INPUTS), method, percentile, fuseResidual: fuse })).wide;
    const q = quantizeCalibrated(bytes, calibrated, {
      calibrationCount: calibInputs.length, method, percentile, preprocess: spec, fuseResidual: fuse,
      biasCorrection: bc, activations, wideTensors, inputBits: parts.includes('in12') ? 12 : activations === 12 ? undefined : 8,
    });
    const secs = calibSecs + (performance.now() - tq) / 1000;
    const s = await ReferenceSession.create(fuse ? exportQdq(q.graph, q, { fused: true }) : q.qdq);
    const sqnr = new SqnrMeter();
    let top1 = 0, top5 = 0, agree = 0, cos = 0, ties = 0;
    for (let i = 0; i < evalInputs.length; i++) {
      const out = (await s.run({ [inputName]: evalInputs[i] })).outputs[outputName].data;
      sqnr.add(ref[i], out);
      cos += cosine(ref[i], out);
      if (argmax(out) === argmax(ref[i])) agree++;
      const best = argmax(out);
      if (out.filter((v) => v === out[best]).length > 1) ties++;
      if (isDarknet) {
        if (best === evalSet[i].label) top1++;
        if (topK(out, 5).includes(evalSet[i].label!)) top5++;
      }
    }
    await s.release();
    const wide = q.model.tensors.filter((t) => t.dtype === 'uint12').length;
    const row: Row = { model: which, method: variant === 'plain' ? method : `${method}+${variant}`, activations: `${activations} (${wide} x 12-bit)`, sqnrDb: +sqnr.db.toFixed(2), meanCosine: +(cos / evalInputs.length).toFixed(5), fp32Agreement: `${agree}/${evalInputs.length}`, quantizeSeconds: +secs.toFixed(1) };
    if (isDarknet) Object.assign(row, { top1: `${top1}/${evalInputs.length}`, top5: `${top5}/${evalInputs.length}`, ties });
    rows.push(row);
    console.log(`  ${method}: ${JSON.stringify(row)}`);
  }
}
console.table(rows);
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify(rows, null, 2));
