// The quantizer as a library: one call from an fp32 ONNX model and calibration inputs to the .edgeq
// bytes, the QDQ ONNX bytes (the same integers, for onnxruntime-web) and, when asked, the report.
// The `edgeq quantize` command is a thin shell over quantize().
//
//   import { quantize } from 'edgeq-tools/quantize';
//   const { edgeq, qdq, report } = await quantize(onnxBytes, { calibration: inputs, preprocess: IMAGENET });
import { EdgeqError, type QModel } from 'edgeq';
import type { PreprocessSpec } from 'edgeq/image';
import { CALIBRATION_METHODS, type CalibrationMethod } from './histogram.js';
import { parseActivationMode, type ActivationMode } from './activation-bits.js';
import type { EqualizeMethod } from './cle.js';
import { DEFAULT_METHOD, quantizeModel, QUANTIZER_VERSION } from './pipeline.js';
import { buildReport, sensitivityReport, type QuantReport, type SensitivityEntry } from './report.js';

/** One progress event: the step and how far it is (`done` of `total` inputs). */
export interface QuantizeProgress {
  step: 'calibrate' | 'report' | 'sensitivity';
  done: number;
  total: number;
}

export interface QuantizeOptions {
  /**
   * Calibration inputs: preprocessed float32 NCHW tensors of the model's input shape, one image each
   * (an array, or a sync or async iterable read once). Required.
   */
  calibration: Iterable<Float32Array> | AsyncIterable<Float32Array>;
  /** How many inputs `calibration` yields. Default: its length when it is an array (required otherwise). */
  calibrationCount?: number;
  /** The preprocessing the inputs went through, stored in the model for run() / classify() on images. Default: none stored. */
  preprocess?: PreprocessSpec;
  /** Class names stored in the model (classify() labels). */
  labels?: string[];
  /** Range calibration: 'mse' (default), 'minmax', 'percentile' or 'entropy'. */
  method?: CalibrationMethod;
  /** With method 'percentile': the percentile of |x| kept (default 99.99). */
  percentile?: number;
  /** Activation bits: 8 (default), 12, or 'auto' (12 where a sensitivity analysis says they pay). */
  activations?: ActivationMode;
  /** The graph input's bits: 8, 12 or 'auto' (default: 12 with activations 12, else 'auto'). */
  inputBits?: 8 | 12 | 'auto';
  /** Hessian-aware weight rounding (GPTQ) for convs with K <= 1152. Default true. */
  gptq?: boolean;
  /** Activation smoothing between conv pairs (8-bit activations). Default true. */
  smooth?: boolean;
  /** Remove each channel's mean weight-rounding error from its bias. Default true. */
  biasCorrection?: boolean;
  /** Fuse residual adds into the producing conv (.edgeq only). Default true. */
  fuseResidual?: boolean;
  /** Cross-layer equalization before calibration: 'weights' or 'activations'. Default off. */
  equalize?: EqualizeMethod | false;
  /** onnxruntime-web threads for calibration and the report. Default 1. */
  threads?: number;
  /**
   * The per-layer report (SQNR of every tensor, output cosine and top-1 agreement against fp32) on
   * held-back inputs, which must not be calibration inputs; `sensitivity` adds the output SQNR with
   * only one layer quantized. Default: no report.
   */
  report?: { inputs: Iterable<Float32Array>; sensitivity?: boolean };
  /** Called as calibration and the report advance. */
  onProgress?: (event: QuantizeProgress) => void;
}

export interface QuantizeOutput {
  /** The .edgeq file (Session.create takes it). */
  edgeq: Uint8Array;
  /** The QDQ ONNX model with the same integers (runs in onnxruntime-web). */
  qdq: Uint8Array;
  /** The quantized model as the runtime reads it (the .edgeq header and sections). */
  model: QModel;
  /** Tensors kept at 8 bits so that no int32 accumulator can overflow (12-bit modes). */
  narrowed: string[];
  /** With options.report. */
  report?: QuantReport;
  /** With options.report.sensitivity. */
  sensitivity?: SensitivityEntry[];
  /** The quantizer version that wrote the model. */
  version: string;
}

const OPTION_NAMES: readonly (keyof QuantizeOptions)[] = [
  'calibration', 'calibrationCount', 'preprocess', 'labels', 'method', 'percentile', 'activations', 'inputBits', 'gptq',
  'smooth', 'biasCorrection', 'fuseResidual', 'equalize', 'threads', 'report', 'onProgress',
];

const isIterable = (v: unknown): boolean =>
  v !== null && typeof v === 'object' && (Symbol.iterator in v || Symbol.asyncIterator in v);

/** Checks every option before any work: unknown names, types and ranges, each with a one-line message. */
function checkOptions(o: QuantizeOptions): { count: number } {
  const bad = (msg: string): never => { throw new EdgeqError('BAD_OPTION', msg); };
  if (typeof o !== 'object' || o === null) bad('quantize options must be an object');
  for (const key of Object.keys(o)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) bad(`unknown quantize option "${key}" (valid: ${OPTION_NAMES.join(', ')})`);
  }
  if (!isIterable(o.calibration)) bad('calibration must be an array or iterable of preprocessed Float32Array inputs');
  const count = o.calibrationCount ?? (Array.isArray(o.calibration) ? o.calibration.length : undefined);
  if (count === undefined) bad('calibrationCount is required when calibration is not an array');
  if (!(Number.isInteger(count) && count! >= 1)) bad(`calibrationCount must be a positive integer, got ${JSON.stringify(count)}`);
  if (o.method !== undefined && !(CALIBRATION_METHODS as readonly string[]).includes(o.method)) {
    bad(`method must be one of ${CALIBRATION_METHODS.join(', ')}, got ${JSON.stringify(o.method)}`);
  }
  if (o.percentile !== undefined && !(typeof o.percentile === 'number' && o.percentile > 0 && o.percentile <= 100)) bad(`percentile must be in (0, 100], got ${o.percentile}`);
  if (o.activations !== undefined) parseActivationMode(o.activations);
  if (o.inputBits !== undefined && ![8, 12, 'auto'].includes(o.inputBits)) bad(`inputBits must be 8, 12 or 'auto', got ${JSON.stringify(o.inputBits)}`);
  for (const flag of ['gptq', 'smooth', 'biasCorrection', 'fuseResidual'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') bad(`${flag} must be true or false, got ${JSON.stringify(o[flag])}`);
  }
  if (o.equalize !== undefined && ![false, 'weights', 'activations'].includes(o.equalize)) bad(`equalize must be 'weights', 'activations' or false, got ${JSON.stringify(o.equalize)}`);
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 64)) bad(`threads must be an integer from 1 to 64, got ${o.threads}`);
  if (o.report !== undefined && !(typeof o.report === 'object' && o.report !== null && isIterable(o.report.inputs))) bad('report must be { inputs: held-back Float32Array inputs, sensitivity?: boolean }');
  if (o.labels !== undefined && !(Array.isArray(o.labels) && o.labels.every((l) => typeof l === 'string'))) bad('labels must be an array of strings');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') bad('onProgress must be a function');
  return { count: count! };
}

/**
 * Quantizes an fp32 ONNX CNN: prepares the graph (BN folding, fusions), calibrates activation
 * ranges on `options.calibration`, rounds the weights (GPTQ, bias correction, smoothing by default)
 * and packs them into the kernels' layout. Options are checked before any work; errors are
 * EdgeqError (BAD_OPTION, BAD_ONNX, UNSUPPORTED_OP, BAD_SHAPE).
 */
export async function quantize(onnx: Uint8Array, options: QuantizeOptions): Promise<QuantizeOutput> {
  if (!(onnx instanceof Uint8Array)) throw new EdgeqError('BAD_OPTION', 'the model must be the ONNX file\'s bytes (a Uint8Array)');
  const { count } = checkOptions(options);
  const progress = options.onProgress;
  const result = await quantizeModel(onnx, {
    calibration: options.calibration, calibrationCount: count, method: options.method ?? DEFAULT_METHOD, percentile: options.percentile,
    preprocess: options.preprocess, labels: options.labels, threads: options.threads,
    onProgress: progress && ((p) => progress({ step: 'calibrate', done: p.done, total: p.total })),
    fuseResidual: options.fuseResidual, biasCorrection: options.biasCorrection, activations: options.activations,
    equalize: options.equalize ?? false, smooth: options.smooth, gptq: options.gptq,
    inputBits: options.inputBits === 'auto' ? undefined : options.inputBits,
  });
  const out: QuantizeOutput = { edgeq: result.edgeq, qdq: result.qdq, model: result.model, narrowed: result.narrowed, version: QUANTIZER_VERSION };
  if (options.report) {
    const held = [...options.report.inputs];
    progress?.({ step: 'report', done: 0, total: held.length });
    // Per-layer SQNR against the fp32 model calibration ran (equalized tensors differ from the source's).
    out.report = await buildReport(result.floatOnnx, result.qdq, result.graph, result, held, { threads: options.threads });
    progress?.({ step: 'report', done: held.length, total: held.length });
    if (options.report.sensitivity) {
      out.sensitivity = await sensitivityReport(onnx, result.graph, result, held, {
        threads: options.threads, onProgress: progress && ((done, total) => progress({ step: 'sensitivity', done, total })),
      });
    }
  }
  return out;
}
