// The quantizer pipeline: prepare the graph, calibrate, quantize, pack, export.
//   fp32 ONNX --prepare--> FloatGraph --calibrate--> ranges --quantize--> QModel --write--> .edgeq
//                                                                        \--export--> QDQ ONNX
import { createHash } from 'node:crypto';
import { readOnnx } from '../../src/onnx/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';
import type { QModel } from '../../src/format/qmodel.js';
import type { PreprocessSpec } from '../../src/image/spec.js';
import { prepareGraph, type FloatGraph } from './prepare.js';
import { collectHistograms, chooseRanges, type CalibrationProgress } from './calibrate.js';
import type { ActivationHistogram, CalibrationMethod, Range } from './histogram.js';
import { buildQModel, type QuantizeResult } from './quantize.js';
import { exportQdq } from './export-qdq.js';

export const QUANTIZER_VERSION = '0.1.0';
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
}

export interface QuantizeModelResult extends QuantizeResult {
  graph: FloatGraph;
  ranges: Map<string, Range>;
  /** The .edgeq file. */
  edgeq: Uint8Array;
  /** The QDQ ONNX model with the same integers. */
  qdq: Uint8Array;
}

/** Graph preparation and calibration: the part of quantization that runs the fp32 model. */
export async function calibrateModel(
  onnxBytes: Uint8Array,
  options: Pick<QuantizeModelOptions, 'calibration' | 'calibrationCount' | 'threads' | 'onProgress'>,
): Promise<{ graph: FloatGraph; histograms: Map<string, ActivationHistogram> }> {
  const graph = prepareGraph(readOnnx(onnxBytes));
  const histograms = await collectHistograms(onnxBytes, graph, options.calibration, {
    count: options.calibrationCount, threads: options.threads, onProgress: options.onProgress,
  });
  return { graph, histograms };
}

/** Ranges, integer weights, packing and both output files from collected statistics. */
export function quantizeCalibrated(
  onnxBytes: Uint8Array,
  calibrated: { graph: FloatGraph; histograms: Map<string, ActivationHistogram> },
  options: Omit<QuantizeModelOptions, 'calibration' | 'onProgress'>,
): QuantizeModelResult {
  const { graph } = calibrated;
  const method = options.method ?? DEFAULT_METHOD;
  const ranges = chooseRanges(calibrated.histograms, { method, percentile: options.percentile });
  const biasCorrection = options.biasCorrection ?? true;
  let channelMeans: Map<string, Float64Array> | undefined;
  if (biasCorrection) {
    channelMeans = new Map();
    for (const [name, h] of calibrated.histograms) if (h.channelMeans) channelMeans.set(name, h.channelMeans);
  }
  const result = buildQModel(graph, {
    ranges, fuseResidual: options.fuseResidual ?? true, channelMeans,
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
    ...(result.fusedConvs.size > 0 ? { fusedResidual: result.fusedConvs.size } : {}),
    ...options.meta,
  };
  return { ...result, graph, ranges, edgeq: writeEdgeq(model), qdq: exportQdq(graph, result) };
}

export async function quantizeModel(onnxBytes: Uint8Array, options: QuantizeModelOptions): Promise<QuantizeModelResult> {
  return quantizeCalibrated(onnxBytes, await calibrateModel(onnxBytes, options), options);
}
