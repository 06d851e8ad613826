// `edgeq import`: an already quantized ONNX model (QOperator or QDQ) -> .edgeq with the file's own
// integers (tools/import; docs/import.md). No calibration: it takes a second, not minutes.
import { writeFileSync } from 'node:fs';
import { importOnnx, importTflite, tfliteInput, tflitePreprocess } from '../import/index.js';
import { EdgeqError } from 'edgeq';
import { isTflite, readTflite } from '../tflite/reader.js';
import { dequantizeModel } from '../import/dequantize.js';
import { writeOnnx } from '../onnx/writer.js';
import { readOnnx } from '../onnx/reader.js';
import { readInput, requireFile, requireWritable } from './paths.js';
import { readLabelsFile } from './inputs.js';
import { onnxInputShape } from './model-shape.js';
import { describeSpec, fitSpecToInput, specFromOptions, type PreprocessOptions } from './preprocessing.js';

export interface ImportCliOptions extends PreprocessOptions {
  output: string;
  labels?: string;
  /** TFLite only: leave a final SOFTMAX out and return the logits. */
  logits?: boolean;
}

export async function importCommand(modelPath: string, o: ImportCliOptions): Promise<void> {
  requireFile(modelPath, 'model');
  if (o.labels) requireFile(o.labels, '--labels file');
  requireWritable(o.output, '-o');
  const bytes = readInput(modelPath, 'model');
  if (isTflite(bytes)) return importTfliteCommand(modelPath, bytes, o);
  const given = o.preprocess || o.mean || o.std || o.resize || o.crop;
  let preprocess;
  if (given) {
    const chosen = specFromOptions(o);
    preprocess = fitSpecToInput(chosen.spec, onnxInputShape(readOnnx(bytes, { fileName: modelPath }).graph), o.crop !== undefined);
    console.log(describeSpec(preprocess, chosen.preset));
  }
  const labels = o.labels ? readLabelsFile(o.labels) : undefined;
  const t0 = performance.now();
  const result = importOnnx(bytes, { preprocess, labels, fileName: modelPath });
  writeFileSync(o.output, result.edgeq);
  const convs = result.model.ops.filter((op) => op.op === 'conv').length;
  console.log(`imported ${modelPath} (${result.form === 'qoperator' ? 'QOperator' : 'QDQ'}): ${result.model.ops.length} int8 ops (${convs} conv), the file's own integers, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`wrote ${o.output} (${(result.edgeq.length / 1e6).toFixed(2)} MB)${preprocess ? '' : '; no preprocessing stored (give --preprocess for run/classify on images)'}`);
}

/** `edgeq import model.tflite`: the TFLite file's own uint8 integers; preprocessing that feeds the uint8 pixels unchanged unless given. */
function importTfliteCommand(modelPath: string, bytes: Uint8Array, o: ImportCliOptions): void {
  const labels = o.labels ? readLabelsFile(o.labels) : undefined;
  const t0 = performance.now();
  const given = o.preprocess || o.mean || o.std || o.resize || o.crop;
  let input;
  try {
    input = tfliteInput(readTflite(bytes, { fileName: modelPath }));
  } catch (err) {
    if (err instanceof EdgeqError) throw new EdgeqError(err.code, `${modelPath}: ${err.message}`, { cause: err });
    throw err;
  }
  const t = { name: input.name, shape: input.shape };
  let preprocess = tflitePreprocess(input);
  if (given) {
    const chosen = specFromOptions(o);
    preprocess = fitSpecToInput(chosen.spec, { name: t.name, channels: t.shape[3], height: t.shape[1], width: t.shape[2] }, o.crop !== undefined);
    console.log(describeSpec(preprocess, chosen.preset));
  } else {
    console.log(`preprocessing: centre crop ${preprocess.crop} of a ${preprocess.resize} bilinear resize, uint8 pixels fed unchanged${input.type === 'int8' ? ' (as int8 p - 128)' : ''} (mean ${preprocess.mean[0]}, std ${1 / input.scale}, scale 1)`);
  }
  const result = importTflite(bytes, { preprocess, labels, fileName: modelPath, keepLogits: o.logits });
  writeFileSync(o.output, result.edgeq);
  const convs = result.model.ops.filter((op) => op.op === 'conv').length;
  console.log(`imported ${modelPath} (TFLite ${input.type}): ${result.model.ops.length} ops (${convs} conv), the file's own integers, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (result.wideWeights.length > 0) {
    console.log(`${result.wideWeights.reduce((a, w) => a + w.count, 0)} weight values in ${result.wideWeights.length} tensors have w - zw outside int8: those convs keep int16 weights (exact)`);
  }
  const m = result.metadataLabels;
  if (result.labelsFrom === 'metadata') console.log(`labels: ${result.model.labels!.length} from the file's metadata ("${m.file}")`);
  else if (result.labelsFrom === undefined && m.note) console.log(`labels: none (${m.note}); --labels <file> names the outputs`);
  else if (result.labelsFrom === undefined) console.log('labels: none in the file; --labels <file> names the outputs');
  if (result.droppedSoftmax) console.log('--logits: the final SOFTMAX is left out; the model returns the logits, whose order is the same');
  else if (result.model.outputs[0]!.name === 'probabilities') console.log('the final SOFTMAX is the model\'s softmax op: it returns probabilities (--logits for the logits)');
  console.log(`wrote ${o.output} (${(result.edgeq.length / 1e6).toFixed(2)} MB)`);
}

/** `edgeq dequantize`: the fp32 ONNX equivalent of a QOperator int8 file (tools/import/dequantize.ts). */
export async function dequantizeCommand(modelPath: string, o: { output: string; clip?: 'activations' | 'ranges' }): Promise<void> {
  requireFile(modelPath, 'model');
  requireWritable(o.output, '-o');
  const model = dequantizeModel(readOnnx(readInput(modelPath, 'model'), { fileName: modelPath }), { clip: o.clip });
  const bytes = writeOnnx(model);
  writeFileSync(o.output, bytes);
  console.log(`wrote ${o.output} (${(bytes.length / 1e6).toFixed(2)} MB): ${model.graph.nodes.length} fp32 nodes, dequantized weights and biases`);
}
