// The fuzz targets (valid files the mutators start from), by stable name, so a found case can be
// replayed anywhere from (target name, case seed):
//   synth-<n>.edgeq, synth-fused-<n>.edgeq, synth-<n>.onnx   built in code (tools/fuzz/seeds.ts), always available;
//   pattern-<n>.onnx                                        graph patterns built in code (tools/fuzz/graph-patterns.ts);
//   darknet-tiny.onnx, darknet-tiny.edgeq                   ../shared/models/darknet-tiny, quantized on 4 synthetic images;
//   resnet50.onnx, resnet50.edgeq                           the embedded ResNet-50 (cache; opt-in, large).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeEdgeq } from 'edgeq/format';
import { UNIT, IMAGENET, type PreprocessSpec } from 'edgeq/image';
import { writeOnnx } from '../onnx/writer.js';
import { cacheDir, getEmbeddedModel } from '../synth/cache-node.js';
import { syntheticBatchNCHW } from '../synth/images.js';
import { quantizeModel } from '../quantize/pipeline.js';
import type { FuzzTarget } from './campaign.js';
import { synthBlocksQModel, synthOnnx, synthQModel } from './seeds.js';
import { patternModel } from './graph-patterns.js';

/** The repository root (the nearest folder above this file whose package.json declares the workspaces), from sources or dist. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readFileSync(pkg, 'utf8').includes('"workspaces"')) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const SHARED_DIR = process.env.EDGEQ_SHARED ?? resolve(repoRoot(), '..', 'shared');
export const DARKNET_ONNX = join(SHARED_DIR, 'models', 'darknet-tiny', 'model.onnx');

export function synthTargets(count = 4): FuzzTarget[] {
  const targets: FuzzTarget[] = [];
  for (let n = 0; n < count; n++) {
    targets.push({ name: `synth-${n}.edgeq`, kind: 'edgeq', bytes: writeEdgeq(synthQModel(n)), weight: 3, backends: ['simd', 'scalar'] });
  }
  for (let n = 0; n < Math.max(1, count >> 1); n++) {
    targets.push({ name: `synth-fused-${n}.edgeq`, kind: 'edgeq', bytes: writeEdgeq(synthQModel(n, { fuseResidual: true })), weight: 2, backends: ['simd', 'scalar'] });
  }
  for (let n = 0; n < Math.max(1, count >> 1); n++) {
    targets.push({ name: `synth-blocks-${n}.edgeq`, kind: 'edgeq', bytes: writeEdgeq(synthBlocksQModel(n)), weight: 2, backends: ['simd', 'scalar'] });
  }
  for (let n = 0; n < Math.max(1, count >> 1); n++) {
    targets.push({ name: `synth-${n}.onnx`, kind: 'onnx', bytes: writeOnnx(synthOnnx(n)), weight: 2 });
  }
  for (let n = 0; n < Math.max(1, count >> 1); n++) {
    targets.push({ name: `pattern-${n}.onnx`, kind: 'onnx', bytes: writeOnnx(patternModel(n).model), weight: 1 });
  }
  return targets;
}

/** Splits an NCHW batch into single images. */
function images(batch: Float32Array, count: number): Float32Array[] {
  const per = batch.length / count;
  return Array.from({ length: count }, (_, i) => batch.subarray(i * per, (i + 1) * per));
}

async function quantizeOn(bytes: Uint8Array, spec: PreprocessSpec, count: number): Promise<Uint8Array> {
  const calibration = images(syntheticBatchNCHW(5, count, spec), count);
  return (await quantizeModel(bytes, { calibration, calibrationCount: count, preprocess: spec })).edgeq;
}

/** darknet-tiny (a real ImageNet classifier) as ONNX and quantized; [] without ../shared. */
export async function darknetTargets(weight = 1): Promise<FuzzTarget[]> {
  if (!existsSync(DARKNET_ONNX)) return [];
  const onnx = new Uint8Array(readFileSync(DARKNET_ONNX));
  const edgeq = await quantizeOn(onnx, UNIT, 4);
  return [
    { name: 'darknet-tiny.onnx', kind: 'onnx', bytes: onnx, weight },
    { name: 'darknet-tiny.edgeq', kind: 'edgeq', bytes: edgeq, weight, twice: false },
  ];
}

/** The embedded ResNet-50 (about 100 MB of ONNX, 26 MB quantized): a cached .edgeq is reused, else quantized on 4 synthetic images. */
export async function resnetTargets(weight = 1, log: (msg: string) => void = () => {}): Promise<FuzzTarget[]> {
  log('resnet50: loading the embedded model (generated on first use, 20-60 s)');
  const { bytes: onnx } = await getEmbeddedModel();
  const dir = cacheDir();
  const cached = existsSync(dir) ? readdirSync(dir).filter((f) => /^resnet50-.*\.edgeq$/.test(f)).sort() : [];
  let edgeq: Uint8Array;
  if (cached.length > 0) {
    log(`resnet50: using ${cached[0]}`);
    edgeq = new Uint8Array(readFileSync(join(dir, cached[0]!)));
  } else {
    log('resnet50: quantizing on 4 synthetic images');
    edgeq = await quantizeOn(onnx, IMAGENET, 4);
  }
  return [
    { name: 'resnet50.onnx', kind: 'onnx', bytes: new Uint8Array(onnx), weight: weight / 2 },
    { name: 'resnet50.edgeq', kind: 'edgeq', bytes: edgeq, weight, twice: false },
  ];
}
