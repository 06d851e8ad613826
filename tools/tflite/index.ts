// Importing a TensorFlow Lite uint8 or int8 model (.tflite) into a .edgeq file with the file's own integers:
// the flatbuffer is read and validated (reader.ts), its graph is written as the QDQ ONNX graph it
// stands for (to-onnx.ts) and lowered by the ONNX importer (tools/import). docs/tflite.md.
//
//   import { importTflite } from 'edgeq-tools/import';
//   const { edgeq, input } = importTflite(bytes, { preprocess: tflitePreprocess(...), labels });
import { writeEdgeq, type QModel } from 'edgeq/format';
import { PACKING_DWCONV, PACKING_DWCONV_W8, compactDwconvWeights, packConv, packGeometry } from 'edgeq/kernels';
import type { PreprocessSpec } from 'edgeq/image';
import { checkImportOptions, finishImport, importModel, withFile, type ImportOptions } from '../import/index.js';
import { readTflite, BUILTIN, type TfliteModel } from './reader.js';
import { EdgeqError } from 'edgeq';
import { tfliteToOnnx, weightOverflows, type TfliteGraph, type WeightOverflow } from './to-onnx.js';
import { tfliteMetadataLabels, type TfliteMetadataLabels } from './metadata.js';

export { readTflite, isTflite } from './reader.js';
export { weightOverflows, type WeightOverflow } from './to-onnx.js';
export { tfliteMetadataLabels, type TfliteMetadataLabels } from './metadata.js';

export interface TfliteImportOutput {
  /** The .edgeq file. */
  edgeq: Uint8Array;
  /** The model as the runtime reads it. */
  model: QModel;
  /** The TFLite input tensor: uint8 NHWC, with the scale and zero point the .edgeq input quantization keeps. */
  input: TfliteGraph['input'];
  /** True when the model's final SOFTMAX was left out (keepLogits): the .edgeq returns the logits. */
  droppedSoftmax: boolean;
  /** The weight tensors whose w - zw leaves int8: their convs are stored with int16 weights (exact; docs/tflite.md). */
  wideWeights: WeightOverflow[];
  /** Where the model's labels came from: the `labels` option, the file's metadata, or none. */
  labelsFrom?: 'option' | 'metadata';
  /** What the file's metadata says about labels (its label file, and why it gave none where it did not). */
  metadataLabels: TfliteMetadataLabels;
}

export interface TfliteImportOptions extends ImportOptions {
  /**
   * Leave a final SOFTMAX out and return its input, the logits (dequantized), e.g. to compare the
   * integers with TFLite's (default false: the .edgeq ends with edgeq's softmax op and returns
   * probabilities, like the .tflite).
   */
  keepLogits?: boolean;
}

/**
 * Converts a uint8 or int8 TFLite model to .edgeq without requantizing anything (a final SOFTMAX
 * becomes edgeq's softmax op unless keepLogits). Labels: the `labels` option, else the label file
 * the file's metadata names for its output (packed in the zip appended to the .tflite) when it has
 * one label per output. Errors are EdgeqError:
 * BAD_OPTION, BAD_MODEL (a malformed file, naming the offset, tensor or operator), UNSUPPORTED_OP
 * (an op or parameter edgeq cannot compute exactly, naming the operator).
 */
export function importTflite(bytes: Uint8Array, options: TfliteImportOptions = {}): TfliteImportOutput {
  const { keepLogits, ...common } = options ?? {};
  checkImportOptions(bytes, common, 'TFLite');
  if (keepLogits !== undefined && typeof keepLogits !== 'boolean') throw new EdgeqError('BAD_OPTION', 'keepLogits must be a boolean');
  const where = options.fileName ? `${options.fileName}: ` : '';
  const tflite = withFile(where, () => readTflite(bytes));
  const graph = withFile(where, () => tfliteToOnnx(tflite));
  let { model } = withFile(where, () => importModel(graph.onnx));
  // TFLite's arithmetic where it differs from the ONNX lowering's: the integer average pool, XNNPACK's add.
  model = { ...model, ops: model.ops.map((op) => ((op.op === 'gap' || op.op === 'avgpool') && graph.poolRounding.has(op.name) ? { ...op, rounding: graph.poolRounding.get(op.name)! }
    : op.op === 'add' && graph.xnnpackAdds.has(op.name) ? { ...op, arithmetic: 'xnnpack-q21' as const } : op)) };
  if (graph.softmaxBeta !== undefined && !keepLogits) model = withSoftmax(model, graph.softmaxBeta);
  model = compactDepthwise(model);
  const metadataLabels = withFile(where, () => tfliteMetadataLabels(tflite, bytes));
  const outputs = model.tensors[model.outputs[0]!.tensor]!.shape[3];
  let labelsFrom: TfliteImportOutput['labelsFrom'] = common.labels ? 'option' : undefined;
  if (!common.labels && metadataLabels.labels) {
    if (metadataLabels.labels.length === outputs) {
      common.labels = metadataLabels.labels;
      labelsFrom = 'metadata';
    } else {
      metadataLabels.note = `the label file "${metadataLabels.file}" has ${metadataLabels.labels.length} lines for ${outputs} outputs; not used`;
    }
  }
  const full = finishImport(bytes, model, 'tflite', common);
  return {
    edgeq: writeEdgeq(full), model: full, input: graph.input, droppedSoftmax: graph.droppedSoftmax && !!keepLogits,
    wideWeights: weightOverflows(tflite.subgraphs[0]!), labelsFrom, metadataLabels,
  };
}

/**
 * The depthwise convs' weights stored as qu8-dwconv-c16-w8: int8 weights and a list of those outside
 * int8 (a TFLite uint8 file's w - zw reach [-255, 255] in a few), half the bytes of the int16 blocks;
 * the runtime expands them at load to the same int16 blocks, so the outputs do not change.
 */
function compactDepthwise(model: QModel): QModel {
  // A section read by more than one op (none in the importer's output) keeps its int16 blocks.
  const uses = new Map<number, number>();
  for (const op of model.ops) if (op.op === 'conv') uses.set(op.weights, (uses.get(op.weights) ?? 0) + 1);
  const blobs = [...model.blobs];
  const ops = model.ops.map((op) => {
    if (op.op !== 'conv' || op.packing !== PACKING_DWCONV || uses.get(op.weights) !== 1) return op;
    const g = packGeometry({ outChannels: op.outChannels, inChannels: op.inChannels, kernel: op.kernel, group: op.group }, PACKING_DWCONV);
    blobs[op.weights] = compactDwconvWeights(model.blobs[op.weights]!, g);
    return { ...op, packing: PACKING_DWCONV_W8 };
  });
  return { ...model, ops, blobs };
}

/**
 * The model with TFLite's final softmax(beta * logits) appended: the quantized logits q (scale s,
 * zero point z) to float32 by a 1x1 depthwise conv with weights 1, bias 0 and multiplier
 * f32(s * beta) (each output f32(q - z) * f32(s * beta): the dequantized logit times beta, one
 * rounding), then edgeq's softmax op over the channels. The output is the probabilities.
 */
function withSoftmax(model: QModel, beta: number): QModel {
  const logitsTensor = model.outputs[0]!.tensor;
  const logits = model.tensors[logitsTensor]!;
  const C = logits.shape[3];
  if (logits.dtype !== 'uint8' || logits.shape[1] !== 1 || logits.shape[2] !== 1) {
    throw new EdgeqError('UNSUPPORTED_OP', `the final SOFTMAX reads "${logits.name}" [${logits.shape}]; edgeq imports a softmax over the logits of a classifier ([1, C] or [1, 1, 1, C])`);
  }
  const b = Math.fround(beta);
  const packed = packConv({
    weights: new Int8Array(C).fill(1), bias: new Int32Array(C), multipliers: new Float32Array(C).fill(Math.fround(logits.scale * b)),
    inputZeroPoint: logits.zeroPoint, kernel: [1, 1], inChannels: C, outChannels: C, group: C,
  });
  const t = model.tensors.length;
  const tensors = [...model.tensors,
    { name: `${logits.name}/scaled`, shape: logits.shape, dtype: 'float32' as const, scale: 1, zeroPoint: 0 },
    { name: 'probabilities', shape: logits.shape, dtype: 'float32' as const, scale: 1, zeroPoint: 0 }];
  const ops: QModel['ops'] = [...model.ops,
    { op: 'conv', name: 'softmax/beta', input: logitsTensor, output: t, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: C,
      inChannels: C, outChannels: C, activation: { kind: 'none' }, weights: model.blobs.length, packing: packed.packing, weightScales: Float32Array.of(b) },
    { op: 'softmax', name: 'softmax', input: t, output: t + 1 }];
  return { ...model, tensors, ops, blobs: [...model.blobs, packed.blob], outputs: [{ name: 'probabilities', tensor: t + 1 }] };
}

/**
 * The .edgeq that `edgeq run` and `edgeq serve` make of a .tflite on the fly: importTflite with the
 * file's pass-through preprocessing (tflitePreprocess of its input) and its metadata's labels.
 */
export function importTfliteForRun(bytes: Uint8Array, fileName?: string): TfliteImportOutput {
  const input = withFile(fileName ? `${fileName}: ` : '', () => tfliteInput(readTflite(bytes, { fileName })));
  return importTflite(bytes, { preprocess: tflitePreprocess(input), ...(fileName ? { fileName } : {}) });
}

/**
 * The input importTflite gives the model, read from the file alone (for choosing preprocessing
 * before importing): the uint8 / int8 graph input, or the output of the QUANTIZE after a float32 one.
 */
export function tfliteInput(model: TfliteModel): TfliteGraph['input'] {
  const g = model.subgraphs[0];
  const inT = g?.tensors[g.inputs[0] ?? -1];
  const first = inT?.type === 0 && g!.operators[0]?.builtin === BUILTIN.QUANTIZE && g!.operators[0].inputs[0] === inT.index ? g!.tensors[g!.operators[0].outputs[0] ?? -1] : inT;
  const q = first?.quantization;
  if (!inT || !first || !q || inT.shape.length !== 4 || (first.type !== 3 && first.type !== 9)) {
    throw new EdgeqError('UNSUPPORTED_OP', 'the graph input must be a uint8 or int8 NHWC [1, H, W, C] tensor (or a float32 one followed by QUANTIZE)');
  }
  return { name: inT.name, shape: inT.shape, scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]!, type: first.type === 9 ? 'int8' : 'uint8' };
}

/**
 * The preprocessing that feeds the model its uint8 pixels unchanged: the runtime computes
 * x = (p / 1 - mean) / std = (p - z) * s and quantizes q = round(x / s) + z = p (exact for every
 * p in 0..255: x / s is within float rounding of the integer p - z). An int8 input (type 'int8')
 * takes i = p - 128, which edgeq stores as i + 128 = p with zero point z + 128: mean z + 128.
 * Centre crop `crop / resize` of the image resized bilinearly (TensorFlow's slim evaluation: 87.5%).
 */
export function tflitePreprocess(input: { shape: number[]; scale: number; zeroPoint: number; type?: 'uint8' | 'int8' }, centralFraction = 0.875): PreprocessSpec {
  const side = input.shape[1]!;
  const z = input.zeroPoint + (input.type === 'int8' ? 128 : 0), std = 1 / input.scale;
  return {
    resizeMode: 'short-side', resize: Math.round(side / centralFraction), crop: side, interpolation: 'bilinear',
    scale: 1, mean: [z, z, z], std: [std, std, std], channels: 'rgb',
  };
}
