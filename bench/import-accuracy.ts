// An already quantized ONNX model (default: the model zoo's MobileNetV2 int8 in ../shared) imported
// with `importOnnx` (its own integers) against onnxruntime-web running the same file: top-1 / top-5
// counts on the 750 labelled images, top-1 agreement, identical logits; then latency of both engines
// on one image at --threads (onnxruntime-web's thread count is per process: run once per count),
// interleaved runs, medians and quartiles.
//   node bench/dist/import-accuracy.js [--model file.onnx] [--images N] [--threads 1] [--runs 40] [--json out.json]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Session } from 'edgeq';
import { readImage } from 'edgeq/decode';
import { IMAGENET, preprocess } from 'edgeq/image';
import { loadImageFolder } from 'edgeq-tools/image/folder-node';
import { compareWithReference } from 'edgeq-tools/import/compare';
import { importOnnx } from 'edgeq-tools/import';
import { ReferenceSession } from 'edgeq-tools/reference/ort-runner';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
const modelPath = opt('model', join(shared, 'models', 'mobilenetv2-zoo-int8', 'model.onnx'));
const imageDir = join(shared, 'data', 'imagenet-sample');
if (!existsSync(modelPath) || !existsSync(imageDir)) {
  console.error(`${modelPath} or ${imageDir} not found: this benchmark needs ../shared`);
  process.exit(2);
}
const threads = Number(opt('threads', '1'));
const runs = Number(opt('runs', '40'));
const imageCount = Number(opt('images', '750'));

const bytes = new Uint8Array(readFileSync(modelPath));
const { edgeq, form } = importOnnx(bytes, { preprocess: IMAGENET, fileName: modelPath });
const all = loadImageFolder(imageDir);
const images = all.slice(0, imageCount);
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs`;
console.log(`${modelPath} (${form}) -> .edgeq ${(edgeq.length / 1e6).toFixed(2)} MB; ${cpu}; Node ${process.version}`);

const acc = imageCount > 0 ? await compareWithReference(bytes, edgeq, images, IMAGENET, (n) => {
  if (n % 50 === 0) process.stderr.write(`  ${n}/${images.length} images\r`);
}) : undefined;
if (acc) {
  console.log(`accuracy on ${acc.images} images: edgeq top-1 ${acc.edgeq.top1} top-5 ${acc.edgeq.top5}; onnxruntime-web top-1 ${acc.reference.top1} top-5 ${acc.reference.top5}`);
  console.log(`top-1 agreement ${acc.agree}/${acc.images} (${((100 * acc.agree) / acc.images).toFixed(2)}%), identical logits ${acc.identical}/${acc.images}${acc.differing.length ? ` (differ: ${acc.differing.slice(0, 10).join(', ')})` : ''}, worst difference ${acc.worstLsb} output LSB`);
}

// Latency: the same preprocessed image, engines alternating run by run so drift hits both alike.
const x = preprocess(readImage(all[0]!.path), IMAGENET);
const session = await Session.create(edgeq, { threads });
const ref = await ReferenceSession.create(bytes, { threads });
const feed = { [ref.inputNames[0]!]: { dims: session.model.input.nchw, data: x } };
for (let i = 0; i < 5; i++) { await session.run(x); await ref.run(feed); }
const te: number[] = [], tr: number[] = [];
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  await session.run(x);
  te.push(performance.now() - t);
  t = performance.now();
  await ref.run(feed);
  tr.push(performance.now() - t);
}
session.release();
await ref.release();
const q = (a: number[], p: number) => [...a].sort((u, v) => u - v)[Math.min(a.length - 1, Math.floor(p * a.length))]!;
const stat = (a: number[]) => ({ median: q(a, 0.5), p25: q(a, 0.25), p75: q(a, 0.75) });
const se = stat(te), sr = stat(tr);
const fmt = (s: ReturnType<typeof stat>) => `median ${s.median.toFixed(2)} ms (p25 ${s.p25.toFixed(2)}, p75 ${s.p75.toFixed(2)})`;
console.log(`latency, ${threads} thread${threads > 1 ? 's' : ''}, ${runs} interleaved runs: edgeq ${fmt(se)}; onnxruntime-web ${fmt(sr)}; ratio ${(se.median / sr.median).toFixed(3)}x`);
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify({ model: modelPath, form, cpu, node: process.version, accuracy: acc, threads, runs, edgeq: se, reference: sr }, null, 2));
