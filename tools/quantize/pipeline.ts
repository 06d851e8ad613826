// The quantizer pipeline: prepare the graph, calibrate, quantize, pack, export.
//   fp32 ONNX --prepare--> FloatGraph --calibrate--> ranges --quantize--> QModel --write--> .edgeq
//                                                                        \--export--> QDQ ONNX
import { createHash } from 'node:crypto';
import { EdgeqError } from 'edgeq';
import { readOnnx } from '../onnx/reader.js';
import { withNchwInput } from './prepare-input.js';
import { writeEdgeq } from 'edgeq/format';
import type { QModel } from 'edgeq/format';
import type { PreprocessSpec } from 'edgeq/image';
import { prepareGraph, type FloatGraph } from './prepare.js';
import { collectHistograms, chooseRanges, type CalibrationProgress, type ChannelFolds } from './calibrate.js';
import type { ActivationHistogram, CalibrationMethod, Range } from './histogram.js';
import { buildQModel, type QuantizeResult } from './quantize.js';
import { exportQdq } from './export-qdq.js';
import { inputBitsFor, levelsOf, type ActivationMode, type InputBitsMode } from './activation-bits.js';
import { AUTO_SENSITIVITY_INPUTS, chooseWideTensors } from './auto-bits.js';
import { exportFolded } from './export-folded.js';
import { channelRanges, equalizablePairs, equalizeGraph, type EqualizeMethod } from './cle.js';
import { gptqRoundConvs, HessianCollector, type GptqWeights } from './gptq.js';
import { applySmoothing, chooseSmoothing, type SmoothingChoice } from './smoothing.js';

/** Calibration images GPTQ's Hessians are collected on (the first ones). */
const GPTQ_IMAGES = 32;

export const QUANTIZER_VERSION = '0.3.0';
/** The default calibration method: the one that measured best on the real models (README table). */
export const DEFAULT_METHOD: CalibrationMethod = 'mse';

export interface QuantizeModelOptions {
  /** Preprocessed calibration inputs, NCHW float32, one image each. */
  calibration: Iterable<Float32Array> | AsyncIterable<Float32Array>;
  calibrationCount: number;
  method?: CalibrationMethod;
  percentile?: number;
  preprocess?: PreprocessSpec;
  labels?: string[];
  threads?: number;
  onProgress?: (p: CalibrationProgress) => void;
  /** Extra metadata stored in the header. */
  meta?: Record<string, string | number>;
  /** Fuse residual adds into the producing conv's epilogue (.edgeq only; the QDQ export stays standard). Default true. */
  fuseResidual?: boolean;
  /** Remove the mean error that rounded weights add to each channel (from calibration statistics). Default true. */
  biasCorrection?: boolean;
  /**
   * Hessian-aware weight rounding (GPTQ, gptq.ts) for convs with K <= 1152, from statistics of the first
   * 32 calibration images. Default true (README, "The default recipe"); false rounds every weight to nearest.
   */
  gptq?: boolean;
  /**
   * Activation bits (activation-bits.ts): 8 (uint8), 12 (uint12 for every quantized tensor, the
   * graph input included; fails naming the layer if a conv's int32 accumulator could overflow) or
   * 'auto' (12 bits where a sensitivity analysis says they pay, auto-bits.ts). Default 8.
   */
  activations?: ActivationMode;
  /**
   * The graph input's bits whatever `activations` says: 8, 12, or 'auto' (inputBitsFor, activation-bits.ts):
   * 12 when `preprocess` normalizes each channel differently (per-channel mean/std: a uint8 input
   * cannot hold the three channels' grids, 4096 levels hold each within 1/16 of a pixel step), 8
   * otherwise; an 'auto' 12 the first conv's accumulator cannot be proven safe with stays 8. 12 costs
   * the input's bytes twice. Default: 12 in mode 12, else 'auto'.
   */
  inputBits?: InputBitsMode;
  /** 'auto': the tensors to give 12 bits, if already chosen (chooseWideTensors); quantizeModel chooses them itself. */
  wideTensors?: ReadonlySet<string>;
  /** quantizeModel with 'auto': inputs of the sensitivity analysis (default: the first 8 calibration inputs). */
  sensitivityInputs?: Float32Array[];
  /**
   * Cross-layer equalization (cle.ts) before calibration: true or 'weights' = the paper's weight-range
   * balance (data-free), 'activations' = balance the calibrated per-channel activation ranges (one
   * extra pass over the calibration images, which are then held in memory). Default false.
   */
  equalize?: boolean | EqualizeMethod;
  /**
   * Activation smoothing (smoothing.ts): per conv pair, the share of the activation's per-channel
   * range spread moved into the next conv's weights that minimizes the predicted quantization noise
   * (often none). Needs no extra pass; 8-bit activations only (ignored with 12), not combined with
   * `equalize` (ignored with it). Default true: with `gptq`, +1.5 dB on the ResNet-50 trunk and
   * +0.02 dB on darknet-tiny over `gptq` alone on held-out images (README, "The default recipe").
   */
  smooth?: boolean;
}

/** What calibration produced: the graph it ran (equalized when asked) and its statistics. */
export interface CalibratedModel {
  graph: FloatGraph;
  histograms: Map<string, ActivationHistogram>;
  /**
   * The fp32 ONNX model calibration ran: the folded, equalized graph when equalization is on (its
   * intermediate tensors differ from the source's by a per-channel scale), else absent (the source).
   * Per-layer comparisons against fp32 (the report) must use it.
   */
  floatOnnx?: Uint8Array;
  equalized?: EqualizeMethod;
  /** With `gptq`: per conv, its Hessian-aware int8 levels (gptq.ts). */
  gptq?: Map<string, GptqWeights>;
  /** The pairs activation smoothing rescaled (by conv1's name), when it did. */
  smoothing?: Map<string, SmoothingChoice>;
}

/** Runs a calibration pass that feeds `collector`; if the pass fails, the collector's GEMM sessions end too. */
async function observed<T>(collector: HessianCollector | undefined, pass: () => Promise<T>): Promise<T> {
  try {
    return await pass();
  } catch (err) {
    await collector?.release();
    throw err;
  }
}

/** Yields `src` unchanged and keeps its first `n` items in `kept` (a second pass over them). */
async function* keepFirst(src: Iterable<Float32Array> | AsyncIterable<Float32Array>, n: number, kept: Float32Array[]): AsyncGenerator<Float32Array> {
  for await (const x of src) {
    if (kept.length < n) kept.push(x);
    yield x;
  }
}

export interface QuantizeModelResult extends QuantizeResult {
  graph: FloatGraph;
  ranges: Map<string, Range>;
  /** The .edgeq file. */
  edgeq: Uint8Array;
  /** The QDQ ONNX model with the same integers. */
  qdq: Uint8Array;
  /** The fp32 model whose intermediate tensors the int8 ones approximate (the source, or its equalized folded form). */
  floatOnnx: Uint8Array;
}

/** Graph preparation and calibration: the part of quantization that runs the fp32 model. */
export async function calibrateModel(
  sourceBytes: Uint8Array,
  options: Pick<QuantizeModelOptions, 'calibration' | 'calibrationCount' | 'threads' | 'onProgress' | 'equalize' | 'gptq' | 'smooth' | 'activations'>,
): Promise<CalibratedModel> {
  // An NHWC input's Transpose is folded first (prepare-input.ts): everything below sees NCHW.
  const onnxBytes = withNchwInput(sourceBytes);
  const nchwOnnx = onnxBytes !== sourceBytes ? { floatOnnx: onnxBytes } : {};
  const prepared = prepareGraph(readOnnx(onnxBytes));
  const method: EqualizeMethod | undefined = options.equalize === true ? 'weights' : options.equalize || undefined;
  // Hessian-aware rounding's statistics come from the calibration pass itself (gptq.ts).
  const hessians = (g: FloatGraph) => (options.gptq ?? true ? new HessianCollector(g, { images: GPTQ_IMAGES, threads: options.threads }) : undefined);
  const rounded = async (g: FloatGraph, c: HessianCollector | undefined) => (c ? gptqRoundConvs(g, await c.finish(), { threads: options.threads }) : undefined);
  if (!method) {
    // Smoothing's statistics (per-channel histograms of the tensors it may rescale) come from the same
    // pass. It is for 8-bit activations: at 12 bits the rounding noise it trades against is 256x smaller.
    const smooth = (options.smooth ?? true) && options.activations !== 12;
    const channelHistograms: Map<string, ChannelFolds> = new Map((smooth ? equalizablePairs(prepared) : []).flatMap((p) => p.tensors).map((t) => [t, []]));
    const collector = hessians(prepared);
    const histograms = await observed(collector, () => collectHistograms(onnxBytes, prepared, options.calibration, {
      count: options.calibrationCount, threads: options.threads, onProgress: options.onProgress, channelHistograms,
      observe: collector && ((tensor) => collector.add(tensor)),
    }));
    const smoothing = smooth ? chooseSmoothing(prepared, channelHistograms, { levels: levelsOf(8) }) : undefined;
    if (!smoothing || smoothing.size === 0) return { graph: prepared, histograms, ...nchwOnnx, gptq: await rounded(prepared, collector) };
    const graph = applySmoothing(prepared, smoothing, histograms, channelHistograms);
    // The statistics were of the unsmoothed tensors: each smoothed channel is divided by its scale.
    collector?.rescaleInputs(new Map([...smoothing.values()].flatMap((c) => c.pair.tensors.map((t) => [t, c.scales]))));
    // Per-layer comparisons (the report) run the smoothed fp32 graph.
    return { graph, histograms, floatOnnx: exportFolded(graph), smoothing, gptq: await rounded(graph, collector) };
  }
  let calibration = options.calibration;
  let ranges: Map<string, Float64Array> | undefined;
  if (method === 'activations') {
    const inputs: Float32Array[] = [];
    for await (const x of options.calibration) inputs.push(x);
    calibration = inputs;
    const convOut = new Map(prepared.ops.map((op) => [op.name, op.output]));
    const tensors = equalizablePairs(prepared).map((p) => convOut.get(p.conv1)!);
    ranges = await channelRanges(onnxBytes, prepared, tensors, inputs, { threads: options.threads });
  }
  const { graph } = equalizeGraph(prepared, { method, channelRanges: ranges });
  // Calibration must see the equalized tensors: it runs the folded graph written back to ONNX.
  const floatOnnx = exportFolded(graph);
  const collector = hessians(graph);
  const histograms = await observed(collector, () => collectHistograms(floatOnnx, graph, calibration, {
    count: options.calibrationCount, threads: options.threads, onProgress: options.onProgress,
    observe: collector && ((tensor) => collector.add(tensor)),
  }));
  return { graph, histograms, floatOnnx, equalized: method, gptq: await rounded(graph, collector) };
}

/** Ranges, integer weights, packing and both output files from collected statistics. */
export function quantizeCalibrated(
  onnxBytes: Uint8Array,
  calibrated: CalibratedModel,
  options: Omit<QuantizeModelOptions, 'calibration' | 'onProgress'>,
): QuantizeModelResult {
  const { graph } = calibrated;
  const method = options.method ?? DEFAULT_METHOD;
  const ranges = chooseRanges(calibrated.histograms, { method, percentile: options.percentile });
  const activations = options.activations ?? 8;
  if (activations === 'auto' && !options.wideTensors) {
    throw new EdgeqError('BAD_OPTION', "activations 'auto' needs the tensors chosen by chooseWideTensors() (quantizeModel runs it)");
  }
  const input = inputBitsFor(options.inputBits, activations, options.preprocess);
  const wideRanges = activations === 8 && input.bits !== 12 ? undefined : chooseRanges(calibrated.histograms, { method, percentile: options.percentile, levels: levelsOf(12) });
  const biasCorrection = options.biasCorrection ?? true;
  let channelMeans: Map<string, Float64Array> | undefined;
  if (biasCorrection) {
    channelMeans = new Map();
    for (const [name, h] of calibrated.histograms) if (h.channelMeans) channelMeans.set(name, h.channelMeans);
  }
  const result = buildQModel(graph, {
    ranges, wideRanges, activations, wideTensors: options.wideTensors, inputBits: input.bits, inputBitsFallback: input.fallback, fuseResidual: options.fuseResidual ?? true, channelMeans,
    gptq: calibrated.gptq,
    producer: `edgeq-quantize ${QUANTIZER_VERSION}`,
    sourceHash: createHash('sha256').update(onnxBytes).digest('hex'),
  });
  const model: QModel = result.model;
  model.preprocess = options.preprocess;
  model.labels = options.labels;
  model.meta = {
    calibrationMethod: method,
    ...(method === 'percentile' ? { percentile: options.percentile ?? 99.99 } : {}),
    calibrationImages: options.calibrationCount,
    ...(biasCorrection ? { biasCorrection: 1 } : {}),
    ...(calibrated.gptq ? { gptqLayers: calibrated.gptq.size } : {}),
    activations,
    ...(input.bits === 12 && !result.narrowed.includes(graph.input.name) ? { inputBits: 12 } : {}),
    ...(result.fusedConvs.size > 0 ? { fusedResidual: result.fusedConvs.size } : {}),
    ...(calibrated.equalized ? { equalization: calibrated.equalized } : {}),
    ...(calibrated.smoothing ? { smoothedPairs: calibrated.smoothing.size } : {}),
    ...options.meta,
  };
  return { ...result, graph, ranges, edgeq: writeEdgeq(model), qdq: exportQdq(graph, result), floatOnnx: calibrated.floatOnnx ?? onnxBytes };
}

export async function quantizeModel(onnxBytes: Uint8Array, options: QuantizeModelOptions): Promise<QuantizeModelResult> {
  if (options.activations !== 'auto' || options.wideTensors) return quantizeCalibrated(onnxBytes, await calibrateModel(onnxBytes, options), options);
  // 'auto' runs its sensitivity analysis on a few calibration inputs, kept as calibration reads them.
  const kept: Float32Array[] = [];
  const calibrated = await calibrateModel(onnxBytes, { ...options, calibration: keepFirst(options.calibration, AUTO_SENSITIVITY_INPUTS, kept) });
  const { wide } = await chooseWideTensors(onnxBytes, calibrated, {
    inputs: options.sensitivityInputs ?? kept, method: options.method ?? DEFAULT_METHOD, percentile: options.percentile,
    fuseResidual: options.fuseResidual, threads: options.threads,
  });
  return quantizeCalibrated(onnxBytes, calibrated, { ...options, wideTensors: wide });
}
