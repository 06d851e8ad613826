// Importing a TensorFlow Lite uint8 model (.tflite) into a .edgeq file with the file's own integers:
// the flatbuffer is read and validated (reader.ts), its graph is written as the QDQ ONNX graph it
// stands for (to-onnx.ts) and lowered by the ONNX importer (tools/import). docs/tflite.md.
//
//   import { importTflite } from 'edgeq-tools/import';
//   const { edgeq, input } = importTflite(bytes, { preprocess: tflitePreprocess(...), labels });
import { writeEdgeq, type QModel } from 'edgeq/format';
import type { PreprocessSpec } from 'edgeq/image';
import { checkImportOptions, finishImport, importModel, withFile, type ImportOptions } from '../import/index.js';
import { readTflite } from './reader.js';
import { tfliteToOnnx, weightOverflows, type TfliteGraph, type WeightOverflow } from './to-onnx.js';

export { readTflite, isTflite } from './reader.js';
export { weightOverflows, type WeightOverflow } from './to-onnx.js';

export interface TfliteImportOutput {
  /** The .edgeq file. */
  edgeq: Uint8Array;
  /** The model as the runtime reads it. */
  model: QModel;
  /** The TFLite input tensor: uint8 NHWC, with the scale and zero point the .edgeq input quantization keeps. */
  input: TfliteGraph['input'];
  /** True when the model's final SOFTMAX was left out (edgeq has no softmax op): the .edgeq returns the logits. */
  droppedSoftmax: boolean;
  /** The weight tensors whose w - zw leaves int8: their convs are stored with int16 weights (exact; docs/tflite.md). */
  wideWeights: WeightOverflow[];
}

export type TfliteImportOptions = ImportOptions;

/**
 * Converts a uint8 TFLite model to .edgeq without requantizing anything. Errors are EdgeqError:
 * BAD_OPTION, BAD_MODEL (a malformed file, naming the offset, tensor or operator), UNSUPPORTED_OP
 * (an op or parameter edgeq cannot compute exactly, naming the operator).
 */
export function importTflite(bytes: Uint8Array, options: TfliteImportOptions = {}): TfliteImportOutput {
  const common = options ?? {};
  checkImportOptions(bytes, common, 'TFLite');
  const where = common.fileName ? `${common.fileName}: ` : '';
  const tflite = withFile(where, () => readTflite(bytes));
  const graph = withFile(where, () => tfliteToOnnx(tflite));
  const { model } = withFile(where, () => importModel(graph.onnx));
  const full = finishImport(bytes, model, 'tflite', common);
  return { edgeq: writeEdgeq(full), model: full, input: graph.input, droppedSoftmax: graph.droppedSoftmax, wideWeights: weightOverflows(tflite.subgraphs[0]!) };
}

/**
 * The preprocessing that feeds the model its uint8 pixels unchanged: the runtime computes
 * x = (p / 1 - mean) / std = (p - z) * s and quantizes q = round(x / s) + z = p (exact for every
 * p in 0..255: x / s is within float rounding of the integer p - z). Centre crop `crop / resize`
 * of the image resized bilinearly (TensorFlow's slim evaluation: 87.5%).
 */
export function tflitePreprocess(input: { shape: number[]; scale: number; zeroPoint: number }, centralFraction = 0.875): PreprocessSpec {
  const side = input.shape[1]!;
  const z = input.zeroPoint, std = 1 / input.scale;
  return {
    resizeMode: 'short-side', resize: Math.round(side / centralFraction), crop: side, interpolation: 'bilinear',
    scale: 1, mean: [z, z, z], std: [std, std, std], channels: 'rgb',
  };
}
