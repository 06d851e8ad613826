// edgeq against TensorFlow Lite's own runtime (tfjs-tflite 0.0.1-alpha.10: TFLite in WASM with the
// XNNPACK delegate) in one headless Chromium page, on a uint8 .tflite file (default: the Coral
// MobileNetV2 1.0/224 in ../shared) and the labelled images of ../shared/data/imagenet-sample.
// Each image is decoded and preprocessed once in Node (edgeq's image code, the model's own
// preprocessing) and the same uint8 pixels go to both engines. Reports top-1 / top-5 counts of each,
// top-1 agreement and ties, and the logits' integers compared (TFLite runs a copy of the file cut at
// the softmax's input; edgeq's dequantized logits re-quantized with that tensor's scale and zero
// point); then latency of both engines at each thread count, interleaved rounds after a warm-up,
// medians and min-max. bench/tflite-web/harness.ts holds the page driver.
//   node bench/dist/tflite-web.js [--model file.tflite] [--images 750] [--threads 1,2] [--runs 40] [--warmup 5] [--idle 5] [--first-diff N] [--json out.json]
//   (--images 0: latency only; EDGEQ_CHROMIUM or --chromium: the browser, default /usr/bin/chromium)
//   --first-diff N: before the rest, both engines on prefixes of the graph
//   (cutTflite truncate: graph output each operator's in turn) on N images, to the first
//   operator whose integers differ and two more (--first-diff-from K: start at operator K); each
//   prefix also through TFLite's reference kernels (tools/tflite/reference.ts, Q31 multipliers), which
//   says whether tfjs-tflite ran that operator with them or with XNNPACK's fp32 arithmetic
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cutTflite } from 'edgeq-tools/tflite/cut';
import { BUILTIN, readTflite } from 'edgeq-tools/tflite/reader';
import { runTfliteReference } from 'edgeq-tools/tflite/reference';
import { basename, join, resolve } from 'node:path';
import { loadImageFolder } from 'edgeq-tools/image/folder-node';
import { cpuInfo, formatCpu } from 'edgeq-tools/bench/cpu-info';
import { describeWakePlacement, probeWakePlacement } from 'edgeq-tools/bench/wake-placement';
import { compare, openTfliteWeb, prepareModel, preprocessImages, spread, type Comparison, type ImageResult, type PageInfo } from './tflite-web/harness.js';

type Spread = ReturnType<typeof spread>;

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const shared = resolve(opt('shared', process.env.EDGEQ_SHARED ?? resolve(process.cwd(), '..', 'shared')));
const modelPath = opt('model', join(shared, 'models', 'tflite-coral', 'mobilenet_v2_1.0_224_quant.tflite'));
const imageDir = join(shared, 'data', 'imagenet-sample');
const chromiumPath = opt('chromium', process.env.EDGEQ_CHROMIUM ?? '/usr/bin/chromium');
for (const [what, path] of [['model', modelPath], ['image folder', imageDir], ['Chromium', chromiumPath]]) {
  if (!existsSync(path!)) {
    console.error(`${what} ${path} not found: this benchmark needs ../shared and Chromium (--chromium or EDGEQ_CHROMIUM)`);
    process.exit(2);
  }
}
const threads = opt('threads', '1,2').split(',').map(Number);
const runs = Number(opt('runs', '40'));
const warmup = Number(opt('warmup', '5'));
const idleMs = Number(opt('idle', '5'));
const imageCount = Number(opt('images', '750'));
const firstDiff = Number(opt('first-diff', '0'));
if (threads.some((t) => !Number.isInteger(t) || t < 1) || !(runs >= 0) || !(warmup >= 0) || !(idleMs >= 0) || !(imageCount >= 0) || !(firstDiff >= 0)) {
  console.error('--threads takes a list of counts >= 1 (e.g. 1,2), --runs >= 0 (0: no latency), --warmup >= 0, --idle >= 0 (ms), --images >= 0');
  process.exit(2);
}

const m = prepareModel(new Uint8Array(readFileSync(modelPath)), basename(modelPath));
const images = loadImageFolder(imageDir).slice(0, Math.max(imageCount, firstDiff, 1));
const t0 = performance.now();
const pixels = preprocessImages(images.map((i) => i.path), m.spec, (n) => { if (n % 50 === 0) process.stderr.write(`  preprocessed ${n}/${images.length}\r`); });
const cpu = formatCpu(cpuInfo());
console.log(`${modelPath}: input ${JSON.stringify(m.input.shape)} scale ${m.input.scale} zero point ${m.input.zeroPoint}; logits tensor ${m.logits.index} scale ${m.logits.scale} zero point ${m.logits.zeroPoint}`);
console.log(`edgeq model: importTflite, the file's own integers (${m.wideValues} weight values outside int8 kept as int16 weights), keepLogits`);
console.log(`${images.length} images preprocessed once in Node in ${((performance.now() - t0) / 1000).toFixed(1)} s (${JSON.stringify(m.spec)})`);

const describePage = (i: PageInfo) => `${i.browser}, cross-origin isolated ${i.isolated}; edgeq ${i.edgeq.map((e) => `backend ${e.backend}, ${e.threads} thread(s)${e.threadsUsed !== undefined && e.threadsUsed !== e.threads ? ` (runs on ${e.threadsUsed}: minThreadSavingUs)` : ''}`).join('; ')}`;
console.log(`machine: ${cpu}; Node ${process.version}`);
if (runs > 0 && threads.some((t) => t > 1)) {
  const placed = await probeWakePlacement({ idleMs: [idleMs] });
  if (placed) console.log(describeWakePlacement(placed[0]!));
}

const browser = { executablePath: chromiumPath };
if (firstDiff > 0) {
  const base = m.tflite;
  const g = readTflite(base).subgraphs[0]!;
  const per = m.spec.crop * m.spec.crop * 3;
  let differing = 0;
  console.log(`first differing operator, ${firstDiff} images:`);
  for (const op of g.operators.slice(Number(opt('first-diff-from', '0')))) {
    if (op.builtin === BUILTIN.RESHAPE || op.builtin === BUILTIN.SOFTMAX) continue; // the same integers as its input; not in edgeq
    const sub = prepareModel(cutTflite(base, op.outputs[0]!, { truncate: true }), `${basename(modelPath)} up to operator ${op.index}`);
    const page = await openTfliteWeb(sub, pixels.subarray(0, firstDiff * per), [1], { ...browser, cut: true });
    let c: Comparison;
    let refDiff = 0;
    try {
      const results = await page.classify(0, firstDiff, 1);
      c = compare(results, []);
      const cutModel = readTflite(sub.tflite), sg = cutModel.subgraphs[0]!;
      const shift = sg.tensors[sg.inputs[0]!]!.type === 9 ? 128 : 0; // the page feeds int8 inputs u - 128
      results.forEach((r, i) => {
        const ref = runTfliteReference(cutModel, Array.from(pixels.subarray(i * per, (i + 1) * per), (v) => v - shift)).data;
        for (let j = 0; j < r.tflite.length; j++) if (ref[j] !== r.tflite[j]) refDiff++;
      });
    } finally {
      await page.close();
    }
    const total = c.histogram.reduce((a, b) => a + b, 0);
    console.log(`  operator ${op.index} ${op.opName} -> tensor ${op.outputs[0]} [${sub.logits.shape}]: ${total - c.histogram[0]!} of ${total} values differ, worst ${c.worstLsb} LSB`
      + `; TFLite's reference kernels differ from tfjs-tflite in ${refDiff}`);
    if (c.worstLsb > 0 && ++differing >= 3) break;
  }
}

let acc: Comparison | undefined;
let accuracyPage: PageInfo | undefined;
if (imageCount > 0) {
  const page = await openTfliteWeb(m, pixels, [threads[0]!], { ...browser, cut: true });
  try {
    accuracyPage = page.info;
    const results: ImageResult[] = [];
    const batch = 25;
    for (let first = 0; first < images.length; first += batch) {
      results.push(...await page.classify(first, Math.min(batch, images.length - first), threads[0]!));
      process.stderr.write(`  classified ${results.length}/${images.length}\r`);
    }
    process.stderr.write('\n');
    acc = compare(results, images.map((x) => x.label));
  } finally {
    await page.close();
  }
  const pct = (n: number) => `${n}/${acc!.images} (${((100 * n) / acc!.images).toFixed(2)}%)`;
  console.log(`accuracy on ${acc.images} images (class = label + 1), ${threads[0]} thread(s), ${describePage(accuracyPage)}:`);
  console.log(`  tfjs-tflite top-1 ${acc.tflite.top1} top-5 ${acc.tflite.top5}; edgeq top-1 ${acc.edgeq.top1} top-5 ${acc.edgeq.top5}`);
  console.log(`  TFLite's softmax output: top-1 ${acc.softmax.top1} (lowest index among ties), top value tied on ${acc.softmax.ties} images`);
  console.log(`  top-1 agreement (logits) ${pct(acc.agree)}; within ties ${pct(acc.agreeWithinTies)}; top logit tied: tfjs-tflite ${acc.ties.tflite}, edgeq ${acc.ties.edgeq} images`);
  const total = acc.histogram.reduce((a, b) => a + b, 0);
  const hist = acc.histogram.map((n, d) => `${d < 8 ? d : '>=8'}: ${n} (${((100 * n) / total).toFixed(2)}%)`).join(', ');
  console.log(`  logits: identical vectors ${acc.identical}/${acc.images}; worst |diff| ${acc.worstLsb} LSB; |diff| histogram over ${total} values: ${hist}`);
  console.log(`  (re-quantization residual of edgeq's logits: at most ${acc.residual.toExponential(2)})`);
}

// Latency: one page per thread count (TFLite alone with its thread pool), both engines on image 0, interleaved.
const per = m.spec.crop * m.spec.crop * 3;
const latency: Record<number, { tflite: Spread; edgeq: Spread; page: PageInfo; raw: { tflite: number[]; edgeq: number[] } }> = {};
for (const t of runs > 0 ? threads : []) {
  const page = await openTfliteWeb(m, pixels.subarray(0, per), [t], { ...browser, cut: false });
  try {
    const raw = (await page.time(0, runs, warmup, idleMs))[t]!;
    const tf = spread(raw.tflite), eq = spread(raw.edgeq);
    latency[t] = { tflite: tf, edgeq: eq, page: page.info, raw };
    const f = (s: Spread) => `median ${s.median.toFixed(2)} ms (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`;
    console.log(`latency, ${t} thread${t > 1 ? 's' : ''} (${describePage(page.info)}), ${runs} interleaved runs after ${warmup} warm-up, ${idleMs} ms idle before each:`
      + ` tfjs-tflite ${f(tf)}; edgeq ${f(eq)}; edgeq / tfjs-tflite ${(eq.median / tf.median).toFixed(3)}`
      + (raw.edgeqSleeps ? `; edgeq's barrier sleeps per run: main ${raw.edgeqSleeps.main.toFixed(2)}, workers ${raw.edgeqSleeps.workers.map((x) => x.toFixed(2)).join(' ')}` : ''));
  } finally {
    await page.close();
  }
}
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify({ model: modelPath, wideValues: m.wideValues, cpu, node: process.version, accuracyPage, accuracy: acc, runs, warmup, latency }, null, 2));
