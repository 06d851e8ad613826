// `edgeq synth resnet50 -o file.onnx`: the embedded ResNet-50, written where the user asks.
import { writeFileSync } from 'node:fs';
import { EdgeqError } from 'edgeq';
import { buildResNet50, type ResNet50Style } from '../synth/resnet50.js';
import { writeOnnx } from '../onnx/writer.js';
import { requireWritable } from './paths.js';
import { progress } from './progress.js';

export async function synthCommand(arch: string, o: { output: string; seed: number; style: ResNet50Style }): Promise<void> {
  if (arch !== 'resnet50') throw new EdgeqError('BAD_OPTION', `unknown architecture "${arch}" (available: resnet50)`);
  const t0 = performance.now();
  requireWritable(o.output, '-o');
  const bar = progress();
  const model = await buildResNet50({ seed: o.seed, style: o.style, onProgress: (done, total) => bar.update('building ResNet-50 (convs calibrated)', done, total) });
  bar.stop();
  const bytes = writeOnnx(model);
  writeFileSync(o.output, bytes);
  console.log(`wrote ${o.output}: ResNet-50 v1.5 (${o.style} style, seed ${o.seed}), ${(bytes.length / 1e6).toFixed(1)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
