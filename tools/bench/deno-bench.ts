// `edgeq bench --runtime deno`: the same comparison as benchModel, timed in Deno, where edgeq's
// relaxed-SIMD kernels run (Node 20 has no exact relaxed dot). Node quantizes (the bench cache,
// quantizedModel) and computes the accuracy columns; a Deno child (deno-runner.ts) loads edgeq and
// onnxruntime-web in the one runtime, runs every engine on every input and times them in the
// same interleaved rounds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EdgeqError } from 'edgeq';
import { readEdgeq } from 'edgeq/format';
import { DEFAULT_METHOD } from '../quantize/pipeline.js';
import { cpuInfo, formatCpu } from './cpu-info.js';
import type { DenoBenchJob, DenoBenchOutput, DenoEngineRole } from './deno-runner.js';
import {
  accuracyVs, benchCacheKey, fusedAgreement, modelMacs, quantizedModel, top1Agreement,
  type EngineFigures, type ModelBenchOptions, type ModelBenchResult,
} from './model-bench.js';

const require = createRequire(import.meta.url);

/**
 * The Deno binary: `explicit` (--deno) when given (NOT_FOUND if it is not a file), else the `deno`
 * npm package's platform binary where installed, else `deno` on PATH; NOT_SUPPORTED when none.
 */
export function findDeno(explicit?: string): string {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new EdgeqError('NOT_FOUND', `--deno ${explicit}: no such file`);
    return explicit;
  }
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const pkg = process.platform === 'linux' ? `@deno/linux-${arch}-glibc` : process.platform === 'darwin' ? `@deno/darwin-${arch}` : `@deno/win32-${arch}`;
  try {
    const bin = join(dirname(require.resolve(`${pkg}/package.json`)), exe);
    if (existsSync(bin)) return bin;
  } catch { /* the npm package is not installed */ }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, exe))) return join(dir, exe);
  }
  throw new EdgeqError('NOT_SUPPORTED', `--runtime deno: no Deno found (neither the deno npm package's ${pkg} nor deno on PATH); install Deno or pass --deno <path>`);
}

/** benchModel's comparison with the engines timed in Deno (`deno`: findDeno()'s binary). */
export async function benchModelInDeno(o: ModelBenchOptions, deno: string): Promise<ModelBenchResult> {
  const log = o.log ?? (() => {});
  const threads = o.threads ?? 1;
  const key = benchCacheKey(o);
  log(`quantizing ${o.name} (${DEFAULT_METHOD}, ${o.calibrationCount} calibration images from ${o.calibrationSource}; cache key ${key})`);
  const q = await quantizedModel(o, threads);
  log(q.cached ? '  quantized models found in the cache (same model, preprocessing, calibration and quantizer options)' : `  quantized in ${q.seconds.toFixed(1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-deno-bench-'));
  let out: DenoBenchOutput;
  let ortNote: string | undefined;
  try {
    const file = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
    const inputs = new Uint8Array(o.inputs.reduce((n, x) => n + x.byteLength, 0));
    let at = 0;
    for (const x of o.inputs) { inputs.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), at); at += x.byteLength; }
    const job: DenoBenchJob = {
      ortDist: pathToFileURL(dirname(require.resolve('onnxruntime-web'))).href + '/',
      models: { fp32: file('fp32.onnx', o.onnx), int8: file('int8.onnx', q.qdq), edgeq: file('model.edgeq', q.edgeq), fused: file('fused.edgeq', q.fused) },
      inputs: file('inputs.f32', inputs), count: o.inputs.length, runs: o.runs, threads, ortThreads: threads, out: join(dir, 'out.json'),
    };
    const jobFile = join(dir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    // The compiled runner (tools/dist), or the TypeScript source when this file runs from source.
    const compiled = fileURLToPath(new URL('./deno-runner.js', import.meta.url));
    const runner = existsSync(compiled) ? compiled : fileURLToPath(new URL('./deno-runner.ts', import.meta.url));
    const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };
    if (threads > 1) {
      // A start that hangs counts as a failed one (2 minutes).
      const c = spawnSync(deno, ['run', '-A', '--sloppy-imports', runner, jobFile, '--ort-threads-check'], { encoding: 'utf8', env, timeout: 120_000 });
      const check = (() => { try { return JSON.parse(c.stdout.trim().split('\n').pop()!) as { ok: boolean; error?: string }; } catch { return { ok: false, error: (c.error?.message || c.stderr || 'no output').trim().split('\n')[0] }; } })();
      if (!check.ok) {
        job.ortThreads = 1;
        ortNote = `onnxruntime-web ran at 1 thread: its ${threads}-thread build does not start in this Deno (${check.error})`;
        log(ortNote);
        writeFileSync(jobFile, JSON.stringify(job));
      }
    }
    log(`timing in Deno (${deno}): ${o.runs} runs per engine, interleaved; accuracy on ${o.inputs.length} inputs`);
    const r = spawnSync(deno, ['run', '-A', '--sloppy-imports', runner, jobFile], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.error) throw new EdgeqError('NOT_FOUND', `--runtime deno: cannot start ${deno}: ${r.error.message}`);
    if (r.status !== 0 || !existsSync(job.out)) throw new EdgeqError('INTERNAL', `--runtime deno: the Deno bench (${runner}) failed (status ${r.status ?? r.signal})`);
    out = JSON.parse(readFileSync(job.out, 'utf8')) as DenoBenchOutput;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const floats = (b64: string) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
  const eng = (role: DenoEngineRole) => out.engines.find((e) => e.role === role)!;
  const outs = (role: DenoEngineRole) => eng(role).outputs.map(floats);
  const fp32 = outs('ort-fp32');
  const figures = (role: DenoEngineRole, engine: string, fileBytes: number, createMs = eng(role).createMs): EngineFigures => ({
    engine, role, latency: eng(role).latency, createMs, fileBytes, memoryBytes: eng(role).memoryBytes ?? NaN, ...accuracyVs(fp32, outs(role), o.labels),
  });
  const model = readEdgeq(q.edgeq);
  const fusedModel = readEdgeq(q.fused);
  return {
    model: o.name, modelPath: o.path, preprocessing: o.specLine, cacheKey: key, inputs: o.inputs.length, runs: o.runs,
    calibration: { method: DEFAULT_METHOD, images: o.calibrationCount, cached: q.cached, seconds: q.seconds },
    engines: [
      figures('ort-fp32', 'onnxruntime-web fp32', o.onnx.length),
      figures('ort-int8', 'onnxruntime-web int8 (QDQ)', q.qdq.length),
      figures('edgeq', `edgeq int8 (${out.backend})`, q.edgeq.length),
      figures('edgeq-simd', 'edgeq int8 (simd: the i16 kernels)', q.edgeq.length),
      figures('edgeq-fused', `edgeq int8 (${out.backend}, default model)`, q.fused.length, NaN),
    ],
    edgeqVsOrtInt8Top1: top1Agreement(outs('edgeq'), outs('ort-int8')),
    fusedVsUnfused: fusedAgreement(outs('edgeq-fused'), outs('edgeq')),
    defaultInputBits: fusedModel.tensors[fusedModel.input.tensor].dtype === 'uint12' ? 12 : 8,
    threads, edgeqThreads: out.edgeqThreads, macs: modelMacs(model),
    machine: { node: `deno ${out.runtime.version}`, cpus: cpuInfo().count, platform: `${process.platform}-${out.runtime.arch}` },
    runtime: { name: 'deno', version: out.runtime.version, cpu: formatCpu(cpuInfo()), backend: out.backend, relaxedDot: out.relaxedDot, ...(ortNote ? { note: ortNote } : {}) },
  };
}
