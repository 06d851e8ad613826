// The timed part of `edgeq bench --runtime deno`, run by Deno (tools/bench/deno-bench.ts starts
// it): edgeq (backend 'auto': the relaxed-SIMD kernels where the engine's relaxed dot is exact,
// and backend 'simd', the i16 kernels) and onnxruntime-web (its wasm build, ort.wasm.min.mjs) in
// this one runtime, on the models and inputs the Node side prepared, engines interleaved in the
// same rounds (timing.ts). Writes the raw figures (latencies, create times, every output) as JSON
// to the job's `out`; the Node side computes accuracy and prints the report.
//   deno run -A tools/dist/bench/deno-runner.js job.json [--ort-threads-check]
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'edgeq';
import { probeRelaxedDot } from 'edgeq/kernels';
import { interleavedLatency, type LatencyStats } from './timing.js';

/** What the Node side asks for (a JSON file; paths are absolute). */
export interface DenoBenchJob {
  /** file:// URL of onnxruntime-web's dist/ folder, ending in '/'. */
  ortDist: string;
  models: { fp32: string; int8: string; edgeq: string; fused: string };
  /** float32 inputs back to back, `count` of them. */
  inputs: string;
  count: number;
  runs: number;
  /** edgeq's threads, and onnxruntime-web's (1 where its threads do not start in Deno). */
  threads: number;
  ortThreads: number;
  /** Where to write the DenoBenchOutput. */
  out: string;
}

export type DenoEngineRole = 'ort-fp32' | 'ort-int8' | 'edgeq' | 'edgeq-simd' | 'edgeq-fused';

export interface DenoBenchOutput {
  runtime: { name: 'deno'; version: string; v8: string; arch: string };
  /** The backend edgeq's 'auto' session ran, and the probe's verdict in this engine. */
  backend: string;
  relaxedDot: string;
  edgeqThreads: number;
  ortThreads: number;
  engines: { role: DenoEngineRole; createMs: number; memoryBytes: number | null; latency: LatencyStats; outputs: string[] }[];
}

declare const Deno: { args: string[]; exit(code: number): never; version: { deno: string; v8: string }; build: { arch: string } };

const job = JSON.parse(readFileSync(Deno.args[0]!, 'utf8')) as DenoBenchJob;
// deno-lint-ignore no-explicit-any
const ort: any = await import(`${job.ortDist}ort.wasm.min.mjs`);
ort.env.wasm.wasmPaths = job.ortDist;
ort.env.wasm.numThreads = job.ortThreads;
ort.env.logLevel = 'error';

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
const all = read(job.inputs);
const inputs = Array.from({ length: job.count }, (_, i) => new Float32Array(all.buffer, all.byteOffset + (i * all.length) / job.count, all.length / job.count / 4));

const time = async <T>(f: () => Promise<T>): Promise<{ v: T; ms: number }> => { const t0 = performance.now(); const v = await f(); return { v, ms: performance.now() - t0 }; };
/** The part of onnxruntime-web's InferenceSession used here. */
interface OrtSession {
  inputNames: string[];
  outputNames: string[];
  run(feeds: unknown): Promise<Record<string, { data: Float32Array }>>;
  release(): Promise<void>;
}
const ortOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
// With --ort-threads-check: only whether onnxruntime-web starts at job.ortThreads threads here (a
// failed start is final for the process, so the Node side asks in a child of its own first).
if (Deno.args[1] === '--ort-threads-check') {
  try {
    await (await ort.InferenceSession.create(read(job.models.int8), ortOptions) as OrtSession).release();
    console.log(JSON.stringify({ ok: true }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: (err as Error).message.split('\n')[0] }));
  }
  Deno.exit(0);
}
const fp32 = await time((): Promise<OrtSession> => ort.InferenceSession.create(read(job.models.fp32), ortOptions));
const int8 = await time((): Promise<OrtSession> => ort.InferenceSession.create(read(job.models.int8), ortOptions));
const edgeq = await time(() => Session.create(read(job.models.edgeq), { threads: job.threads }));
const simd = await time(() => Session.create(read(job.models.edgeq), { backend: 'simd', threads: job.threads }));
const fused = await time(() => Session.create(read(job.models.fused), { threads: job.threads }));
const dims = [...edgeq.v.inputShape];
const ortRun = (s: { v: OrtSession }, x: Float32Array) =>
  async (): Promise<Float32Array> => (await s.v.run({ [s.v.inputNames[0]!]: new ort.Tensor('float32', x, dims) }))[s.v.outputNames[0]!]!.data;

const engines: { role: DenoEngineRole; run: (x: Float32Array) => () => Promise<Float32Array>; createMs: number; memoryBytes: number | null }[] = [
  { role: 'ort-fp32', run: (x) => ortRun(fp32, x), createMs: fp32.ms, memoryBytes: null },
  { role: 'ort-int8', run: (x) => ortRun(int8, x), createMs: int8.ms, memoryBytes: null },
  { role: 'edgeq', run: (x) => () => edgeq.v.run(x), createMs: edgeq.ms, memoryBytes: await edgeq.v.memoryBytes() },
  { role: 'edgeq-simd', run: (x) => () => simd.v.run(x), createMs: simd.ms, memoryBytes: await simd.v.memoryBytes() },
  { role: 'edgeq-fused', run: (x) => () => fused.v.run(x), createMs: fused.ms, memoryBytes: await fused.v.memoryBytes() },
];

// Every engine's output on every input (for the accuracy columns), then the timing on the first input.
const outputs = new Map<DenoEngineRole, string[]>(engines.map((e) => [e.role, []]));
for (const x of inputs) {
  for (const e of engines) {
    const y = Float32Array.from(await e.run(x)());
    outputs.get(e.role)!.push(Buffer.from(y.buffer).toString('base64'));
  }
}
const lat = await interleavedLatency(engines.map((e) => ({ name: e.role, run: e.run(inputs[0]!) })), { runs: job.runs, rounds: Math.min(5, job.runs), warmup: 2 });

const result: DenoBenchOutput = {
  runtime: { name: 'deno', version: Deno.version.deno, v8: Deno.version.v8, arch: Deno.build.arch },
  backend: edgeq.v.backend, relaxedDot: edgeq.v.relaxedDot ?? probeRelaxedDot(), edgeqThreads: edgeq.v.threads, ortThreads: job.ortThreads,
  engines: engines.map((e) => ({ role: e.role, createMs: e.createMs, memoryBytes: e.memoryBytes, latency: lat.get(e.role)!, outputs: outputs.get(e.role)! })),
};
for (const s of [edgeq, simd, fused]) s.v.release();
await fp32.v.release();
await int8.v.release();
writeFileSync(job.out, JSON.stringify(result));
