// `edgeq bench`: the embedded ResNet-50 (default) or a user's model, edgeq int8 against
// onnxruntime-web fp32 and int8 in one run on the same inputs.
import { writeFileSync } from 'node:fs';
import { EdgeqError } from '../errors.js';
import { PRESETS, IMAGENET } from '../image/spec.js';
import { readImage } from '../image/decode-node.js';
import { preprocess } from '../image/preprocess.js';
import { getEmbeddedModel } from '../synth/cache-node.js';
import { benchModel, formatBench } from '../../bench/model-bench.js';
import { readInput } from './index.js';
import { folderInputs, syntheticInputs } from './inputs.js';

export interface BenchCliOptions {
  model?: string;
  images?: string;
  labels?: string;
  preprocess: 'imagenet' | 'unit';
  runs: number;
  inputs: number;
  calibCount: number;
  threads: number[];
  json?: string;
  kernels?: boolean;
}

/** Seeds of the synthetic benchmark inputs: disjoint from the calibration seeds (0..). */
const BENCH_INPUT_SEED = 1_000_000;

export async function benchCommand(o: BenchCliOptions): Promise<void> {
  if (o.threads.some((t) => t !== 1)) throw new EdgeqError('BAD_OPTION', `--threads ${o.threads.join(',')}: this version benchmarks 1 thread`);
  if (o.runs < 1 || o.inputs < 1) throw new EdgeqError('BAD_OPTION', '--runs and --inputs must be at least 1');
  const log = (s: string) => console.log(s);
  if (o.kernels) {
    const suite = (await import('../../bench/kernels.js')) as unknown as { runKernelSuite?: (o: { log: (s: string) => void }) => Promise<unknown> };
    if (!suite.runKernelSuite) throw new EdgeqError('INTERNAL', 'bench/kernels.js has no runKernelSuite');
    await suite.runKernelSuite({ log });
  }
  let result;
  if (!o.model) {
    if (o.images) throw new EdgeqError('BAD_OPTION', '--images needs --model (the embedded ResNet-50 has synthetic weights)');
    log('embedded ResNet-50 (real architecture, seeded synthetic weights; generated into the cache on first use)');
    const m = await getEmbeddedModel({ onProgress: (d, t, what) => { if (d === t || d % 10 === 0) log(`  building: ${what} ${d}/${t}`); } });
    log(`  ${m.path}${m.generated ? ' (generated now)' : ''}`);
    const inputs = [...syntheticInputs(BENCH_INPUT_SEED, o.inputs, IMAGENET)];
    result = await benchModel({
      name: 'resnet50-synthetic', onnx: m.bytes, spec: IMAGENET,
      calibration: () => syntheticInputs(0, o.calibCount, IMAGENET), calibrationCount: o.calibCount,
      inputs, runs: o.runs, log,
    });
  } else {
    const onnx = readInput(o.model, 'model');
    const spec = PRESETS[o.preprocess];
    let inputs: Float32Array[];
    let labels: number[] | undefined;
    let calibration: () => Iterable<Float32Array>;
    let calibrationCount = o.calibCount;
    if (o.images) {
      const split = folderInputs(o.images, spec, o.calibCount, 0);
      const held = split.eval.slice(0, o.inputs);
      if (held.length === 0) throw new EdgeqError('BAD_OPTION', `${o.images} has no images left after ${o.calibCount} calibration images`);
      calibration = split.calibInputs;
      calibrationCount = split.calib.length;
      inputs = held.map((img) => preprocess(readImage(img.path), spec));
      if (held.every((h) => h.label !== undefined)) labels = held.map((h) => h.label!);
      log(`${o.model}: calibration on ${split.calib.length} images of ${o.images} (seed 0), measurement on ${held.length} others`);
    } else {
      calibration = () => syntheticInputs(0, o.calibCount, spec);
      inputs = [...syntheticInputs(BENCH_INPUT_SEED, o.inputs, spec)];
      log(`${o.model}: no --images, using synthetic inputs`);
    }
    result = await benchModel({ name: o.model.replace(/^.*[\\/]/, '').replace(/\.onnx$/, ''), onnx, spec, calibration, calibrationCount, inputs, labels, runs: o.runs, log });
  }
  console.log('');
  console.log(formatBench(result));
  if (o.json) {
    writeFileSync(o.json, JSON.stringify(result, (k, v) => (k === 'samples' ? v.map((s: number) => +s.toFixed(3)) : v), 2));
    console.log(`wrote ${o.json}`);
  }
}
