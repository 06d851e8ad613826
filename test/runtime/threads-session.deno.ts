// Run by test/runtime/threads-deno.test.ts under Deno: a quantized tiny CNN through 1-thread and
// 2-thread sessions (backend simd, and relaxed where this engine's relaxed dot is exact) in one
// process, after quantizeModel ran onnxruntime-web (whose Emscripten glue sets globalThis.Worker to
// node:worker_threads' Worker in Deno); prints one JSON line: per backend the thread counts, the
// parts each thread of the 2-thread pool took and whether every output is bit-identical; the
// warnings said; whether globalThis.Worker was replaced. Exits by itself after release().
import { Session } from '../../src/index.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

const warnings: string[] = [];
const warn = console.warn;
console.warn = (...a: unknown[]) => { warnings.push(a.map(String).join(' ')); warn(...a); };
// 224 x 224: large enough that the planner gives its first convs both threads (at 32 x 32 every op
// runs on the main thread alone and the worker would take no part).
const SIZE = 224;
const calib = tinyInputs(3, 8, SIZE);
const model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 9, size: SIZE })), { calibration: calib, calibrationCount: calib.length, fuseResidual: true })).edgeq;
const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => { Worker?: unknown } } }).process;
const out: Record<string, unknown> = { workerReplaced: proc?.getBuiltinModule?.('node:worker_threads').Worker === (globalThis as { Worker?: unknown }).Worker };
for (const backend of ['simd', 'relaxed'] as const) {
  try {
    const one = await Session.create(model, { backend, threads: 1 });
    const two = await Session.create(model, { backend, threads: 2 });
    // The pool is private: read for this check only.
    const pool = (two as unknown as { pool?: { partCounts(): number[] } }).pool;
    // The 6 inputs, then again (up to 400 runs) until the worker took a part: on a busy machine the
    // main thread can take every part of a small model's run before the worker wakes.
    const xs = tinyInputs(5, 6, SIZE);
    let same = true, n = 0;
    while (n < xs.length || (n < 400 && (pool?.partCounts()[0] ?? 1) === 0)) {
      const x = xs[n % xs.length];
      const a = await one.run(x), b = await two.run(x);
      n++;
      if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) same = false;
    }
    out[backend] = { backend: two.backend, threads: [one.threads, two.threads], parts: pool?.partCounts() ?? null, same, n };
    one.release();
    two.release();
  } catch (err) {
    out[backend] = { error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}` };
  }
}
out.warnings = warnings;
console.log(JSON.stringify(out));
