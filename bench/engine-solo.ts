// One engine alone in its process at T threads: edgeq (an .edgeq file) or onnxruntime-web (an ONNX
// file, its Node build), median [min-max] of N runs after 3 warm-ups on a fixed synthetic input.
//   node bench/dist/engine-solo.js --engine edgeq|ort --model FILE --threads T [--runs 20]
// Why alone: interleaving two multi-threaded engines in one process measures their interference as
// much as their speed (onnxruntime-web's pool threads spin on after its run while edgeq's threads
// need the same cores; docs/tuning-log.md, "Default threads"). Run one process per engine and count.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Session } from 'edgeq';

const arg = (name: string, def?: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required (--engine edgeq|ort --model FILE --threads T [--runs N])`);
  return v;
};
const engine = arg('engine'), file = arg('model'), threads = Number(arg('threads', '1')), runs = Number(arg('runs', '20'));
const bytes = new Uint8Array(readFileSync(file));
const input = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001));

let run: () => Promise<unknown>, release: () => Promise<void> | void, ran = threads;
if (engine === 'edgeq') {
  const s = await Session.create(bytes, { threads });
  const x = input(s.inputShape.reduce((a, b) => a * b, 1));
  run = () => s.run(x); release = () => s.release(); ran = s.threads;
} else if (engine === 'ort') {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const meta = s.inputMetadata[0] as { shape?: (number | string)[] } | undefined;
  const dims = (meta?.shape ?? [1, 3, 224, 224]).map((d) => (typeof d === 'number' ? d : 1));
  const x = new ort.Tensor('float32', input(dims.reduce((a, b) => a * b, 1)), dims);
  run = () => s.run({ [s.inputNames[0]!]: x }); release = () => s.release();
} else {
  throw new Error(`--engine must be edgeq or ort, got ${engine}`);
}
const ms: number[] = [];
for (let r = 0; r < 3 + runs; r++) {
  const t = performance.now();
  await run();
  if (r >= 3) ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
const median = ms.length % 2 ? ms[ms.length >> 1]! : (ms[ms.length / 2 - 1]! + ms[ms.length / 2]!) / 2;
console.log(JSON.stringify({ engine, model: file, threads, ran, runs, median, min: ms[0], max: ms[ms.length - 1], cpu: cpus()[0]?.model.trim(), cores: cpus().length, node: process.versions.node }));
await release();
process.exit(0);
