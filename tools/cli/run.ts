// `edgeq run model.edgeq image.jpg|folder ...`: classify images, `batch` per run() call. The classes
// are of the model's first output (or the one --output names); a model with several outputs also gets
// a one-line summary of each output per image.
import { statSync } from 'node:fs';
import { EdgeqError, outputsProbabilities, type Classification } from 'edgeq';
import { readImage } from 'edgeq/decode';
import { cropSize, PRESETS, preprocessBatch, specChannels } from 'edgeq/image';
import { Session } from 'edgeq/runtime';
import { listImages } from '../image/folder-node.js';
import { topK } from '../quantize/report.js';
import { readInput, requireFile } from './paths.js';
import { importTfliteForRun, isTflite } from '../tflite/index.js';
import { isQuantizedOnnx } from '../import/index.js';
import { readOnnx } from '../onnx/reader.js';
import { describeSpec } from './preprocessing.js';

export interface RunCliOptions {
  top: number;
  backend: 'auto' | 'simd' | 'scalar';
  json?: boolean;
  /** Session threads (default: the runtime's choice). */
  threads?: number;
  /** Images per run() call (default 1). */
  batch?: number;
  /** The output whose values are the class scores (default: the model's first output). */
  output?: string;
}

/** One image's values of one output: its per-image dims (ONNX layout) and min / mean / max. */
export interface OutputSummary { dims: number[]; min: number; mean: number; max: number }

/** min / mean / max of `v` with the output's per-image dims. */
export function summarizeOutput(v: Float32Array, dims: readonly number[]): OutputSummary {
  let min = Infinity, max = -Infinity, sum = 0;
  for (const x of v) { min = Math.min(min, x); max = Math.max(max, x); sum += x; }
  return { dims: [...dims], min, mean: sum / v.length, max };
}

/** The image files named: files as given, folders expanded to their JPEG/PNG files (sorted). Checked to exist. */
export function expandImages(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    requireFileOrFolder(arg);
    if (statSync(arg).isDirectory()) {
      const inside = listImages(arg);
      if (inside.length === 0) throw new EdgeqError('BAD_OPTION', `folder ${arg} has no JPEG or PNG images`);
      files.push(...inside);
    } else {
      files.push(arg);
    }
  }
  return files;
}

function requireFileOrFolder(path: string): void {
  try {
    statSync(path);
  } catch {
    requireFile(path, 'image');
  }
}

/**
 * Opens an .edgeq model for classification: BAD_MODEL errors name the file (and, for a file that is
 * not an .edgeq model, say how to make one) (the reader refuses class names that do not match the outputs).
 */
export async function openModel(path: string, options: { backend: RunCliOptions['backend']; threads?: number }): Promise<Session> {
  let bytes = readInput(path, 'model');
  // A .tflite is imported in memory as `edgeq serve` does (its pass-through preprocessing, its labels).
  if (isTflite(bytes)) bytes = importTfliteForRun(bytes, path).edgeq;
  let session: Session;
  try {
    session = await Session.create(bytes, { backend: options.backend, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
  } catch (err) {
    if (!(err instanceof EdgeqError) || err.code !== 'BAD_MODEL') throw err;
    const hint = /not an \.edgeq file/.test(err.message) ? makeModelHint(path, bytes) : '';
    throw new EdgeqError('BAD_MODEL', `${path}: ${err.message}${hint}`, { cause: err });
  }
  return session;
}

/**
 * The `k` highest of one image's logits with softmax scores (as Session.classify gives them); with
 * `probabilities` (a model ending with its softmax op) the outputs are the scores.
 */
export function classifyLogits(logits: Float32Array, labels: readonly string[] | undefined, k: number, probabilities = false): Classification[] {
  if (probabilities) return topK(logits, k).map((index) => ({ index, label: labels?.[index] ?? `class ${index}`, score: logits[index]! }));
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return topK(logits, k).map((index) => ({ index, label: labels?.[index] ?? `class ${index}`, score: Math.exp(logits[index] - max) / sum }));
}

/** How to make an .edgeq of a file that is not one: import a quantized ONNX file, quantize an fp32 one. */
function makeModelHint(path: string, bytes: Uint8Array): string {
  const out = `${path.replace(/\.onnx$/i, '')}.edgeq`;
  let quantized: boolean | undefined;
  try { quantized = isQuantizedOnnx(readOnnx(bytes, { fileName: path })); } catch { quantized = undefined; }
  if (quantized) return `; it is an ONNX model already quantized (QDQ or QOperator): import it: edgeq import ${path} -o ${out} --preprocess imagenet|unit`;
  if (quantized === false) return `; for an fp32 ONNX model, quantize it first: edgeq quantize ${path} -o ${out} --calib <image folder> --preprocess imagenet|unit`;
  return '; edgeq runs .edgeq files and imports .tflite ones (edgeq quantize or edgeq import make an .edgeq of an ONNX model)';
}

function concatUint8(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export async function runCommand(modelPath: string, imageArgs: string[], o: RunCliOptions): Promise<void> {
  const batch = o.batch ?? 1;
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 1024)) throw new EdgeqError('BAD_OPTION', `--batch ${batch}: an integer from 1 to 1024`);
  requireFile(modelPath, 'model');
  const images = expandImages(imageArgs);
  const session = await openModel(modelPath, o);
  const results: { image: string; ms: number; top: Classification[]; outputs?: Record<string, OutputSummary> }[] = [];
  try {
    const spec = session.model.preprocess;
    if (!spec) throw new EdgeqError('BAD_MODEL', `${modelPath} stores no preprocessing, so images cannot be prepared for it (quantize it with --preprocess)`);
    const [, c, h, w] = session.model.input.nchw;
    const [sh, sw] = cropSize(spec);
    if (specChannels(spec) !== c || sh !== h || sw !== w) {
      throw new EdgeqError('BAD_MODEL', `${modelPath}: its preprocessing makes [${specChannels(spec)}, ${sh}, ${sw}] images but input "${session.model.input.name}" is [${c}, ${h}, ${w}]`);
    }
    const names = session.outputNames;
    const classOut = o.output ?? names[0]!;
    if (!names.includes(classOut)) throw new EdgeqError('BAD_OPTION', `--output ${JSON.stringify(classOut)}: ${modelPath} has no such output (outputs: ${names.map((n) => JSON.stringify(n)).join(', ')})`);
    // The stored labels name the first output's values.
    const labels = classOut === names[0] ? session.model.labels : undefined;
    const shapes = session.outputShapes;
    const preset = Object.entries(PRESETS).find(([, p]) => JSON.stringify(p) === JSON.stringify(spec))?.[0] ?? 'stored in the model';
    const first = `${modelPath}: ${describeSpec(spec, preset)}; ${session.backend}, ${session.threads} thread${session.threads > 1 ? 's' : ''}, batch ${batch}`;
    if (o.json) console.error(first); else console.log(first);
    const per = (name: string) => shapes[name]!.slice(1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < images.length; i += batch) {
      const paths = images.slice(i, i + batch);
      // A one-output model takes the images as Session.prepareImage gives them (uint8 pixels where its
      // preprocessing passes them through, as a TFLite import's does); otherwise float32 feeds.
      const prepared = names.length === 1 ? paths.map((p) => session.prepareImage(readImage(p))) : [];
      const pixels = prepared.length > 0 && prepared.every((x) => x instanceof Uint8Array) ? concatUint8(prepared as Uint8Array[]) : undefined;
      const input = pixels ? undefined : preprocessBatch(paths.map((p) => readImage(p)), spec);
      const t0 = performance.now();
      const out = pixels ? { [names[0]!]: { data: await session.run(pixels) } } : await session.run({ [session.inputNames[0]!]: input! });
      const ms = (performance.now() - t0) / paths.length;
      paths.forEach((path, j) => {
        const slice = (name: string) => out[name]!.data.subarray(j * per(name), (j + 1) * per(name));
        const top = classifyLogits(slice(classOut), labels, o.top, outputsProbabilities(session.model, names.indexOf(classOut)));
        const outputs = names.length > 1 ? Object.fromEntries(names.map((n) => [n, summarizeOutput(slice(n), shapes[n]!)])) : undefined;
        results.push({ image: path, ms, top, ...(outputs ? { outputs } : {}) });
        if (!o.json) {
          console.log(`${path} (${ms.toFixed(1)} ms${batch > 1 ? ' per image in its batch' : ''}):`);
          for (const c of top) console.log(`  ${(c.score * 100).toFixed(1).padStart(5)}%  ${c.label} [${c.index}]`);
          for (const [n, s] of Object.entries(outputs ?? {})) {
            console.log(`  output "${n}" [${s.dims.join(', ')}]: min ${s.min.toPrecision(4)}, mean ${s.mean.toPrecision(4)}, max ${s.max.toPrecision(4)}`);
          }
        }
      });
    }
  } finally {
    session.release();
  }
  if (o.json) console.log(JSON.stringify(results, null, 2));
}
