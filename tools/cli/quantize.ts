// `edgeq quantize`: fp32 ONNX -> .edgeq (+ QDQ ONNX), calibrated on a folder of images or on synthetic images.
import { writeFileSync } from 'node:fs';
import { EdgeqError } from 'edgeq';
import { quantize, DEFAULT_METHOD } from '../quantize/index.js';
import { formatReport, formatSensitivity } from '../quantize/report.js';
import type { CalibrationMethod } from '../quantize/histogram.js';
import { parseActivationMode } from '../quantize/activation-bits.js';
import { readOnnx } from '../onnx/reader.js';
import { readInput, requireFile, requireFolder, requireWritable } from './paths.js';
import { specFromOptions, requireChosenPreprocessing, fitSpecToInput, describeSpec, type PresetName } from './preprocessing.js';
import { onnxInputShape, onnxOutputCount, qmodelOutputCount, checkLabelCount } from './model-shape.js';
import { progress } from './progress.js';
import { folderInputs, syntheticInputs, readLabelsFile } from './inputs.js';

export interface QuantizeCliOptions {
  output: string;
  qdq?: string;
  calib?: string;
  calibCount: number;
  seed: number;
  calibSynthetic?: number;
  /** Required with --calib (or all of mean, std, resize, crop). */
  preprocess?: PresetName;
  mean?: [number, number, number];
  std?: [number, number, number];
  resize?: number;
  crop?: number | [number, number];
  method?: CalibrationMethod;
  percentile: number;
  labels?: string;
  biasCorrection: boolean;
  fuseResidual: boolean;
  /** Hessian-aware weight rounding (default; --no-gptq turns it off). */
  gptq?: boolean;
  /** Activation smoothing (default; --no-smooth turns it off). */
  smooth?: boolean;
  /** Cross-layer equalization method (--equalize [method]). */
  equalize?: 'weights' | 'activations';
  /** '8', '12' or 'auto' (commander passes the string). */
  activations?: string;
  /** '8', '12' or 'auto': the graph input's bits (--input-bits). */
  inputBits?: string;
  report?: string | boolean;
  reportCount: number;
  sensitivity?: boolean;
  threads: number;
}

export async function quantizeCommand(modelPath: string, o: QuantizeCliOptions): Promise<void> {
  // Every path and option first: calibration takes minutes.
  if (o.calib && o.calibSynthetic !== undefined) throw new EdgeqError('BAD_OPTION', 'give either --calib DIR or --calib-synthetic N, not both');
  requireFile(modelPath, 'model');
  if (o.calib) {
    requireFolder(o.calib, '--calib folder');
    requireChosenPreprocessing(o, '--calib');
  }
  if (o.labels) requireFile(o.labels, '--labels file');
  requireWritable(o.output, '-o');
  if (o.qdq) requireWritable(o.qdq, '--qdq');
  if (typeof o.report === 'string') requireWritable(o.report, '--report');
  const method = o.method ?? DEFAULT_METHOD;
  const activations = parseActivationMode(o.activations ?? 8);
  if (o.inputBits !== undefined && !['8', '12', 'auto'].includes(o.inputBits)) throw new EdgeqError('BAD_OPTION', `--input-bits ${JSON.stringify(o.inputBits)} is not 8, 12 or auto`);
  const inputBits = o.inputBits === undefined || o.inputBits === 'auto' ? undefined : o.inputBits === '12' ? 12 : 8;

  const bytes = readInput(modelPath, 'model');
  const graph = readOnnx(bytes).graph;
  const chosen = specFromOptions(o);
  // Calibration and report images are made at the model's input size.
  const spec = fitSpecToInput(chosen.spec, onnxInputShape(graph), o.crop !== undefined);
  const labels = o.labels ? readLabelsFile(o.labels) : undefined;
  const outputs = onnxOutputCount(graph);
  if (labels && outputs !== undefined) checkLabelCount(labels, outputs, `--labels file ${o.labels}`);
  console.log(describeSpec(spec, chosen.preset));

  let calib: { count: number; inputs: Iterable<Float32Array> };
  let held: () => Iterable<Float32Array>;
  if (o.calib) {
    const src = folderInputs(o.calib, spec, o.calibCount, o.seed);
    calib = { count: src.calib.length, inputs: src.calibInputs() };
    held = () => src.evalInputs(o.reportCount);
  } else {
    const n = o.calibSynthetic ?? 100;
    calib = { count: n, inputs: syntheticInputs(o.seed, n, spec) };
    held = () => syntheticInputs(o.seed + 1_000_003, o.reportCount, spec);
    if (o.calibSynthetic === undefined) console.log(`no --calib folder: calibrating on ${n} synthetic images`);
  }

  const bar = progress();
  const t0 = performance.now();
  bar.update('calibrating (images)', 0, calib.count);
  const result = await quantize(bytes, {
    calibration: calib.inputs, calibrationCount: calib.count, method, percentile: o.percentile,
    preprocess: spec, labels, threads: o.threads,
    onProgress: (p) => bar.update(p.step === 'calibrate' ? 'calibrating (images)' : `${p.step} (inputs)`, p.done, p.total),
    fuseResidual: o.fuseResidual, biasCorrection: o.biasCorrection, activations, equalize: o.equalize ?? false, smooth: o.smooth, gptq: o.gptq,
    inputBits, report: o.report ? { inputs: held(), sensitivity: o.sensitivity } : undefined,
  });
  bar.stop();
  if (labels) checkLabelCount(labels, qmodelOutputCount(result.model), `--labels file ${o.labels}`);
  writeFileSync(o.output, result.edgeq);
  if (o.qdq) writeFileSync(o.qdq, result.qdq);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`quantized ${modelPath}: ${result.model.ops.length} int8 ops, method ${method}, ${calib.count} calibration images, ${secs} s`);
  if (activations !== 8 || result.model.tensors[result.model.input.tensor].dtype === 'uint12') {
    const quantized = result.model.tensors.filter((t) => t.dtype !== 'float32');
    const wide = quantized.filter((t) => t.dtype === 'uint12');
    console.log(`activations ${activations}: ${wide.length} of ${quantized.length} quantized tensors have 12 bits${wide.length > 0 && wide.length < quantized.length ? ` (${wide.map((t) => t.name).join(', ')})` : ''}`
      + `${result.narrowed.length > 0 ? `; kept at 8 bits so no int32 accumulator can overflow: ${result.narrowed.join(', ')}` : ''}`);
  }
  console.log(`wrote ${o.output} (${(result.edgeq.length / 1e6).toFixed(2)} MB)${o.qdq ? ` and ${o.qdq} (${(result.qdq.length / 1e6).toFixed(2)} MB)` : ''}`);

  if (result.report) {
    console.log(formatReport(result.report));
    if (result.sensitivity) console.log(formatSensitivity(result.sensitivity));
    if (typeof o.report === 'string') writeFileSync(o.report, JSON.stringify({ ...result.report, sensitivity: result.sensitivity }, null, 2));
  }
}
