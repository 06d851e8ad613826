// Importing an already quantized ONNX model (QOperator: QLinearConv, QLinearMatMul, QGemm,
// QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool, ...; or QDQ:
// DequantizeLinear -> float op -> QuantizeLinear)
// into a .edgeq file, keeping the file's own integers, scales and zero points. docs/import.md.
//
//   import { importOnnx } from 'edgeq-tools/import';
//   const { edgeq } = importOnnx(bytes, { preprocess: IMAGENET, labels });
import { createHash } from 'node:crypto';
import { EdgeqError } from 'edgeq';
import { validateModel, writeEdgeq, type QModel } from 'edgeq/format';
import type { PreprocessSpec } from 'edgeq/image';
import type { ModelDef } from '../onnx/model.js';
import { readOnnx } from '../onnx/reader.js';
import { lowerQuantized } from './lower.js';

export { dequantizeModel, type DequantizeOptions } from './dequantize.js';

export interface ImportOptions {
  /** The preprocessing the model expects, stored in the .edgeq (run() / classify() on images). */
  preprocess?: PreprocessSpec;
  /** Class names stored in the model (one per output). */
  labels?: string[];
  /** Named in error messages. */
  fileName?: string;
}

export interface ImportOutput {
  /** The .edgeq file. */
  edgeq: Uint8Array;
  /** The model as the runtime reads it. */
  model: QModel;
  /** The quantized form the file was in. */
  form: 'qoperator' | 'qdq';
}

const OPTION_NAMES = ['preprocess', 'labels', 'fileName'];

/** The version the importer writes as the model's producer. */
export const IMPORTER_PRODUCER = 'edgeq-import 1';

/**
 * Converts an int8 ONNX model to .edgeq without recalibrating or requantizing: every weight, bias,
 * scale and zero point is the file's own (int8 activations shifted by 128 into uint8, which is exact).
 * Errors are EdgeqError: BAD_OPTION, BAD_ONNX, BAD_SHAPE, or UNSUPPORTED_OP naming the node that
 * edgeq cannot compute exactly.
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportOutput {
  checkImportOptions(bytes, options, 'ONNX');
  const where = options.fileName ? `${options.fileName}: ` : '';
  const onnx = readOnnx(bytes, { fileName: options.fileName });
  const { model, form } = withFile(where, () => importModel(onnx));
  const full = finishImport(bytes, model, form, options);
  return { edgeq: writeEdgeq(full), model: full, form };
}

/** BAD_OPTION unless `bytes` is a Uint8Array and `options` holds only known, well-typed import options. */
export function checkImportOptions(bytes: Uint8Array, options: ImportOptions, format: string): void {
  if (!(bytes instanceof Uint8Array)) throw new EdgeqError('BAD_OPTION', `the model must be the ${format} file's bytes (a Uint8Array)`);
  if (typeof options !== 'object' || options === null) throw new EdgeqError('BAD_OPTION', 'import options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new EdgeqError('BAD_OPTION', `unknown import option "${key}" (valid: ${OPTION_NAMES.join(', ')})`);
  }
  if (options.labels !== undefined && !(Array.isArray(options.labels) && options.labels.every((l) => typeof l === 'string'))) {
    throw new EdgeqError('BAD_OPTION', 'labels must be an array of strings');
  }
}

/**
 * The imported model with the options' preprocessing and labels, the source file's hash and
 * `importedFrom`, validated (shared by the ONNX and TFLite importers).
 */
export function finishImport(bytes: Uint8Array, model: QModel, importedFrom: string, options: ImportOptions): QModel {
  const where = options.fileName ? `${options.fileName}: ` : '';
  const outputs = model.tensors[model.outputs[0]!.tensor]!.shape[3];
  if (options.labels && options.labels.length !== outputs) {
    throw new EdgeqError('BAD_OPTION', `${options.labels.length} labels for a model with ${outputs} outputs`);
  }
  const full: QModel = {
    ...model,
    ...(options.preprocess ? { preprocess: options.preprocess } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
    sourceHash: createHash('sha256').update(bytes).digest('hex'),
    meta: { importedFrom },
  };
  validateModel(full, where);
  return full;
}

/** The QModel of an already read quantized ONNX model (no preprocessing, labels or hash). */
export function importModel(onnx: ModelDef): { model: QModel; form: 'qoperator' | 'qdq' } {
  const { model, form } = lowerQuantized(onnx);
  return { model: { ...model, producer: IMPORTER_PRODUCER }, form };
}

/** What `edgeq inspect` says about a quantized ONNX file: whether it imports, and why not. */
export type ImportCheck =
  | { quantized: false }
  | { quantized: true; ok: true; form: 'qoperator' | 'qdq'; ops: number }
  | { quantized: true; ok: false; code: string; why: string };

/** True when the model holds QuantizeLinear / DequantizeLinear or QLinear* nodes (an int8 model). */
export function isQuantizedOnnx(onnx: ModelDef): boolean {
  return onnx.graph.nodes.some((n) => /^(QuantizeLinear|DequantizeLinear|QLinear.*|QGemm|ConvInteger|MatMulInteger)$/.test(n.opType));
}

export function checkImportable(onnx: ModelDef): ImportCheck {
  if (!isQuantizedOnnx(onnx)) return { quantized: false };
  try {
    const { model, form } = importModel(onnx);
    validateModel(model);
    return { quantized: true, ok: true, form, ops: model.ops.length };
  } catch (err) {
    if (!(err instanceof EdgeqError)) throw err;
    return { quantized: true, ok: false, code: err.code, why: err.message };
  }
}

export function withFile<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof EdgeqError && where && !err.message.startsWith(where)) throw new EdgeqError(err.code, `${where}${err.message}`, { cause: err });
    throw err;
  }
}

export { importTflite, tflitePreprocess, tfliteInput, type TfliteImportOutput, type TfliteImportOptions } from '../tflite/index.js';
