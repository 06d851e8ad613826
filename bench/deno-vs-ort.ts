// edgeq against onnxruntime-web in Deno, in one process and in the same rounds (issue 18's figure):
// edgeq backend 'auto' (the relaxed-SIMD kernels where the engine's relaxed dot is exact) and backend
// 'simd' (the i16 kernels), against onnxruntime-web int8 (the QDQ export of the same quantization:
// the same integers) and fp32 (the source model), at 1 thread or --threads N (both engines). Engines run interleaved, one run
// each per round, after a warm-up; medians and min/max of the timed rounds. Also checks that edgeq's
// logits are bit-identical between 'auto' and 'simd', and the top-1 agreement with onnxruntime-web int8.
//   deno run -A --sloppy-imports --import-map=test/deno-import-map.json bench/deno-vs-ort.ts \
//     --model m.edgeq --qdq m.int8.onnx [--onnx fp32.onnx] [--threads 1] [--ort-threads N] [--runs 20] [--warmup 3] [--inputs 4] [--json]
// or --onnx fp32.onnx alone: quantized here (synthetic calibration; uint8 input, residual adds not
// fused, as tools/bench/model-bench.ts's comparison model), e.g. ../shared/models/darknet-tiny/model.onnx.
// The compiled file also runs in Node (npx tsc -b bench/tsconfig.json && node bench/dist/deno-vs-ort.js ...):
// onnxruntime-web's Node figure on the same machine (Node's relaxed probe is 'none': auto runs simd).
// Pair --model with the --qdq of the same calibration (the bench cache writes both: <name>-<key>-q<v>.edgeq
// and .int8.onnx).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probeRelaxedDot } from 'edgeq/kernels';
import { Session } from 'edgeq';
import { cpuInfo, formatCpu } from 'edgeq-tools/bench/cpu-info';

declare const Deno: { args: string[]; version: { deno: string; v8: string } } | undefined;

// The checkout's root: the first folder up from here with onnxruntime-web installed (bench/ under
// Deno, bench/dist/ when the compiled file runs in Node for a same-machine Node figure).
let root = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(root, 'node_modules', 'onnxruntime-web', 'package.json')) && dirname(root) !== root) root = dirname(root);
const argv = typeof Deno !== 'undefined' ? Deno.args : process.argv.slice(2);
const opt = (name: string, def?: string): string | undefined => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : def; };
const json = argv.includes('--json');
const log = (line: string): void => { if (!json) console.log(line); };

const runs = Number(opt('runs', '20'));
const warmup = Number(opt('warmup', '3'));
const nInputs = Number(opt('inputs', '4'));
/** Threads of both engines (one count per process: onnxruntime-web fixes it at its first session). */
const threads = Number(opt('threads', '1'));
/**
 * onnxruntime-web's threads: --ort-threads, else --threads in Node. In Deno its threaded start fails
 * (its workers load from a blob: URL, which Deno's module loader refuses), so it runs 1 thread there.
 */
const ortThreads = Number(opt('ort-threads', typeof Deno !== 'undefined' ? '1' : String(threads)));

// onnxruntime-web's wasm build from this checkout's node_modules: in Deno its plain ESM build with
// wasmPaths a file:// URL; in Node the package's Node build (the one whose threads use worker_threads).
// deno-lint-ignore no-explicit-any
type Ort = any;
const ortDir = join(root, 'node_modules', 'onnxruntime-web', 'dist');
const ort: Ort = typeof Deno !== 'undefined'
  ? await import(pathToFileURL(join(ortDir, 'ort.wasm.min.mjs')).href)
  : await import(pathToFileURL(join(ortDir, 'ort.node.min.mjs')).href);
if (typeof Deno !== 'undefined') ort.env.wasm.wasmPaths = pathToFileURL(ortDir).href + '/';
ort.env.wasm.numThreads = ortThreads;
ort.env.logLevel = 'error';
const ortVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8')).version as string;

// Models.
let edgeqBytes: Uint8Array, qdqBytes: Uint8Array;
const fp32Path = opt('onnx');
const fp32Bytes = fp32Path ? new Uint8Array(readFileSync(fp32Path)) : undefined;
if (opt('model')) {
  edgeqBytes = new Uint8Array(readFileSync(opt('model')!));
  const qdq = opt('qdq');
  if (!qdq) throw new Error('--model needs --qdq (the .int8.onnx of the same calibration)');
  qdqBytes = new Uint8Array(readFileSync(qdq));
} else if (fp32Bytes) {
  const { quantizeModel } = await import('edgeq-tools/quantize');
  const size = Number(opt('size', '224'));
  const calib = Array.from({ length: 8 }, (_, j) => Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.001 + j) * 0.5 + 0.5));
  const q = await quantizeModel(fp32Bytes, { calibration: calib, calibrationCount: calib.length, inputBits: 8, fuseResidual: false });
  edgeqBytes = q.edgeq; qdqBytes = q.qdq;
} else {
  throw new Error('give --model m.edgeq --qdq m.int8.onnx [--onnx fp32.onnx], or --onnx fp32.onnx');
}

const verdict = probeRelaxedDot();
const auto = await Session.create(edgeqBytes, { backend: 'auto', threads });
const simd = await Session.create(edgeqBytes, { backend: 'simd', threads });
const int8 = await ort.InferenceSession.create(qdqBytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
const fp32 = fp32Bytes ? await ort.InferenceSession.create(fp32Bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }) : undefined;
const dims = [...auto.inputShape];
const elements = dims.reduce((a, b) => a * b, 1);

// Synthetic inputs (deterministic): smooth patterns plus noise, about the range of a normalized image.
let seed = 12345;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
const inputs = Array.from({ length: nInputs }, (_, j) => Float32Array.from({ length: elements }, (_, i) =>
  Math.sin(i * (0.0007 + 0.0003 * j) + j) * 1.2 + Math.cos(i * 0.013 * (j + 1)) * 0.5 + (rnd() - 0.5) * 0.6));

const runOrt = async (s: Ort, x: Float32Array): Promise<Float32Array> => {
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  return out[s.outputNames[0]].data as Float32Array;
};
const argmax = (v: ArrayLike<number>): number => { let b = 0; for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i; return b; };

// Outputs: edgeq auto vs simd bit for bit; top-1 against onnxruntime-web int8 (and fp32).
let identical = true, agreeInt8 = 0, agreeFp32 = 0, maxAbsInt8 = 0;
for (const x of inputs) {
  const a = await auto.run(x), s = await simd.run(x), q = await runOrt(int8, x);
  if (a.length !== s.length || !a.every((v, i) => Object.is(v, s[i]))) identical = false;
  if (argmax(a) === argmax(q)) agreeInt8++;
  for (let i = 0; i < a.length; i++) maxAbsInt8 = Math.max(maxAbsInt8, Math.abs(a[i]! - q[i]!));
  if (fp32 && argmax(a) === argmax(await runOrt(fp32, x))) agreeFp32++;
}

// Latency: warm-up, then rounds of one run per engine, interleaved (A, B, C, D, A, B, ...).
const x0 = inputs[0]!;
// Where auto runs the i16 kernels too (Node: the probe says 'none'), the simd row times the same
// kernels again: it is timed only with --both.
const timeSimd = auto.backend !== simd.backend || argv.includes('--both');
const engines: { name: string; run: () => Promise<unknown>; ms: number[] }[] = [
  { name: `edgeq auto (${auto.backend})`, run: () => auto.run(x0), ms: [] },
  { name: `edgeq simd (${simd.backend})`, run: () => simd.run(x0), ms: [] },
  { name: 'onnxruntime-web int8 (QDQ)', run: () => runOrt(int8, x0), ms: [] },
  ...(fp32 ? [{ name: 'onnxruntime-web fp32', run: () => runOrt(fp32, x0), ms: [] as number[] }] : []),
];
if (!timeSimd) Object.assign(engines[1]!, { name: `${engines[1]!.name} = auto (same kernels, not timed again)`, run: () => Promise.resolve() });
for (let i = 0; i < warmup; i++) for (const e of engines) await e.run();
for (let r = 0; r < runs; r++) {
  for (const e of engines) { const t = performance.now(); await e.run(); e.ms.push(performance.now() - t); }
}
const stats = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b), h = s.length >> 1;
  return { median: s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2, min: s[0]!, max: s[s.length - 1]! };
};
const figures = engines.map((e, i) => ({ engine: e.name, ...stats(i === 1 && !timeSimd ? engines[0]!.ms : e.ms) }));
const med = (i: number): number => figures[i]!.median;
const ratios = {
  autoVsOrtInt8: med(0) / med(2), simdVsOrtInt8: med(1) / med(2),
  ...(fp32 ? { autoVsOrtFp32: med(0) / med(3), simdVsOrtFp32: med(1) / med(3) } : {}),
};

const result = {
  cpu: formatCpu(cpuInfo()),
  deno: typeof Deno !== 'undefined' ? Deno.version.deno : undefined,
  node: typeof Deno === 'undefined' ? process.versions.node : undefined,
  v8: typeof Deno !== 'undefined' ? Deno.version.v8 : process.versions.v8,
  onnxruntimeWeb: ortVersion,
  relaxedProbe: verdict,
  backends: { auto: auto.backend, simd: simd.backend },
  model: opt('model') ?? fp32Path, qdq: opt('qdq'), fp32: fp32Path,
  inputShape: dims, threads, edgeqThreads: auto.threads, ortThreads, warmup, runs,
  inputs: inputs.length,
  logitsIdenticalAutoSimd: identical,
  top1AgreementOrtInt8: agreeInt8 / inputs.length,
  maxAbsDiffOrtInt8: maxAbsInt8,
  top1AgreementOrtFp32: fp32 ? agreeFp32 / inputs.length : undefined,
  figures, ratios,
};

if (json) console.log(JSON.stringify(result));
else {
  log(`CPU: ${result.cpu}; ${result.deno ? `Deno ${result.deno}` : `Node ${result.node}`}, V8 ${result.v8}; onnxruntime-web ${ortVersion} (wasm); edgeq threads ${auto.threads}, onnxruntime-web threads ${ortThreads}; relaxed probe: ${verdict}`);
  log(`model: ${resolve(String(result.model))}${result.qdq ? ` + ${result.qdq}` : ''}; input ${dims.join('x')}; ${warmup} warm-up + ${runs} timed rounds, engines interleaved`);
  log('');
  log('| engine | session.backend | median ms | min ms | max ms | edgeq auto / this |');
  log('|---|---|---|---|---|---|');
  const backendOf = [auto.backend, simd.backend, '-', '-'];
  figures.forEach((f, i) => log(`| ${f.engine} | ${backendOf[i]} | ${f.median.toFixed(2)} | ${f.min.toFixed(2)} | ${f.max.toFixed(2)} | ${(med(0) / f.median).toFixed(3)}x |`));
  log('');
  log(`ratios: edgeq auto / ORT int8 ${ratios.autoVsOrtInt8.toFixed(3)}x, edgeq simd / ORT int8 ${ratios.simdVsOrtInt8.toFixed(3)}x`
    + (fp32 ? `, edgeq auto / ORT fp32 ${ratios.autoVsOrtFp32!.toFixed(3)}x, edgeq simd / ORT fp32 ${ratios.simdVsOrtFp32!.toFixed(3)}x` : ''));
  log(`edgeq logits auto vs simd bit-identical on ${inputs.length} inputs: ${identical}; top-1 agreement with ORT int8: ${agreeInt8}/${inputs.length}`
    + ` (max |logit diff| ${maxAbsInt8.toPrecision(3)})` + (fp32 ? `; with ORT fp32: ${agreeFp32}/${inputs.length}` : ''));
}
auto.release(); simd.release();
await int8.release?.(); await fp32?.release?.();
if (!identical) throw new Error('edgeq logits differ between backend auto and simd');
