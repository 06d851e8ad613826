// `edgeq synth <arch> -o file.onnx`: an embedded model (resnet50, mobilenetv2, mobilenetv3-small), written where the user asks.
import { writeFileSync } from 'node:fs';
import { EdgeqError } from 'edgeq';
import { buildResNet50, type ResNet50Style } from '../synth/resnet50.js';
import { MOBILENET_NAMES, MOBILENET_TITLES, buildMobileNet, isMobileNetName } from '../synth/mobilenet.js';
import { writeOnnx } from '../onnx/writer.js';
import { requireWritable } from './paths.js';
import { progress } from './progress.js';

export const SYNTH_ARCHS: readonly string[] = ['resnet50', ...MOBILENET_NAMES];

export async function synthCommand(arch: string, o: { output: string; seed: number; style: ResNet50Style }): Promise<void> {
  if (!SYNTH_ARCHS.includes(arch)) throw new EdgeqError('BAD_OPTION', `unknown architecture "${arch}" (available: ${SYNTH_ARCHS.join(', ')})`);
  const t0 = performance.now();
  requireWritable(o.output, '-o');
  const bar = progress();
  let model, what: string;
  if (isMobileNetName(arch)) {
    what = `${MOBILENET_TITLES[arch]} (torchvision, seed ${o.seed})`;
    model = await buildMobileNet(arch, { seed: o.seed, onProgress: (done, total) => bar.update(`building ${MOBILENET_TITLES[arch]} (convs calibrated)`, done, total) });
  } else {
    what = `ResNet-50 v1.5 (${o.style} style, seed ${o.seed})`;
    model = await buildResNet50({ seed: o.seed, style: o.style, onProgress: (done, total) => bar.update('building ResNet-50 (convs calibrated)', done, total) });
  }
  bar.stop();
  const bytes = writeOnnx(model);
  writeFileSync(o.output, bytes);
  console.log(`wrote ${o.output}: ${what}, ${(bytes.length / 1e6).toFixed(1)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
