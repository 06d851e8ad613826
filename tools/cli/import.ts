// `edgeq import`: an already quantized ONNX model (QOperator or QDQ) -> .edgeq with the file's own
// integers (tools/import; docs/import.md). No calibration: it takes a second, not minutes.
import { writeFileSync } from 'node:fs';
import { importOnnx } from '../import/index.js';
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
}

export async function importCommand(modelPath: string, o: ImportCliOptions): Promise<void> {
  requireFile(modelPath, 'model');
  if (o.labels) requireFile(o.labels, '--labels file');
  requireWritable(o.output, '-o');
  const bytes = readInput(modelPath, 'model');
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

/** `edgeq dequantize`: the fp32 ONNX equivalent of a QOperator int8 file (tools/import/dequantize.ts). */
export async function dequantizeCommand(modelPath: string, o: { output: string; clip?: 'activations' | 'ranges' }): Promise<void> {
  requireFile(modelPath, 'model');
  requireWritable(o.output, '-o');
  const model = dequantizeModel(readOnnx(readInput(modelPath, 'model'), { fileName: modelPath }), { clip: o.clip });
  const bytes = writeOnnx(model);
  writeFileSync(o.output, bytes);
  console.log(`wrote ${o.output} (${(bytes.length / 1e6).toFixed(2)} MB): ${model.graph.nodes.length} fp32 nodes, dequantized weights and biases`);
}
