// Node-only: run an ONNX model in onnxruntime-web inside a fresh child process, so a benchmark can
// compare thread counts (onnxruntime-web fixes its wasm thread count once per process).

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { EdgeqError } from 'edgeq';
import type { RefTensor } from './ort-runner.js';

export interface ChildRunOptions {
  /** Path of an .onnx file, or its bytes. */
  model: string | Uint8Array;
  threads: number;
  /** Float32 inputs with dims. */
  inputs: Record<string, { dims: readonly number[]; data: Float32Array }>;
  /** Timed runs (default 10) after `warmup` untimed ones (default 1). */
  runs?: number;
  warmup?: number;
  /** Return the outputs of the last run too (default false). */
  returnOutputs?: boolean;
  /** Kill the child after this many ms (default 10 minutes). */
  timeoutMs?: number;
}

export interface ChildRunResult {
  threads: number;
  /** Latency of each timed run, ms. */
  latencies: number[];
  /** Session creation time, ms. */
  createMs: number;
  outputs?: Record<string, RefTensor>;
}

// The child is plain CommonJS so it runs under bare node (no TypeScript loader needed).
const CHILD_SCRIPT = `
const ort = require(process.argv[1]);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    ort.env.wasm.numThreads = job.threads;
    ort.env.logLevel = 'error';
    const model = job.modelPath ? require('fs').readFileSync(job.modelPath) : Buffer.from(job.modelB64, 'base64');
    let t = performance.now();
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], logSeverityLevel: 3 });
    const createMs = performance.now() - t;
    const feeds = {};
    for (const [name, inp] of Object.entries(job.inputs)) {
      const b = Buffer.from(inp.b64, 'base64');
      const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      feeds[name] = new ort.Tensor('float32', data, inp.dims);
    }
    let result;
    for (let i = 0; i < job.warmup; i++) result = await session.run(feeds);
    const latencies = [];
    for (let i = 0; i < job.runs; i++) {
      t = performance.now();
      result = await session.run(feeds);
      latencies.push(performance.now() - t);
    }
    let outputs;
    if (job.returnOutputs && result) {
      outputs = {};
      for (const [name, v] of Object.entries(result)) {
        const d = Float32Array.from(v.data, Number);
        outputs[name] = { dims: Array.from(v.dims), b64: Buffer.from(d.buffer).toString('base64') };
      }
    }
    await session.release();
    process.stdout.write('\\n@@EDGEQ_RESULT@@' + JSON.stringify({ latencies, createMs, outputs }) + '\\n');
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  }
});
`;

function b64(data: Float32Array | Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Runs `model` in a child node process with `threads` wasm threads and returns the latencies. */
export function runInChildProcess(options: ChildRunOptions): Promise<ChildRunResult> {
  const { threads, runs = 10, warmup = 1, returnOutputs = false, timeoutMs = 600_000 } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new EdgeqError('BAD_OPTION', `threads must be a positive integer, got ${threads}`);
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-web');
  const job = {
    threads, runs, warmup, returnOutputs,
    modelPath: typeof options.model === 'string' ? options.model : undefined,
    modelB64: typeof options.model === 'string' ? undefined : b64(options.model),
    inputs: Object.fromEntries(Object.entries(options.inputs).map(([k, v]) => [k, { dims: [...v.dims], b64: b64(v.data) }])),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, ortPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const at = stdout.lastIndexOf('@@EDGEQ_RESULT@@');
      if (code !== 0 || at < 0) {
        reject(new EdgeqError('INTERNAL', `onnxruntime-web child (threads=${threads}) failed: code ${code} ${signal ?? ''}\n${stderr.slice(-2000)}`));
        return;
      }
      const parsed = JSON.parse(stdout.slice(at + '@@EDGEQ_RESULT@@'.length)) as {
        latencies: number[]; createMs: number; outputs?: Record<string, { dims: number[]; b64: string }>;
      };
      let outputs: Record<string, RefTensor> | undefined;
      if (parsed.outputs) {
        outputs = {};
        for (const [name, o] of Object.entries(parsed.outputs)) {
          const buf = Buffer.from(o.b64, 'base64');
          outputs[name] = { dims: o.dims, data: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)) };
        }
      }
      resolve({ threads, latencies: parsed.latencies, createMs: parsed.createMs, outputs });
    });
    child.stdin.end(JSON.stringify(job));
  });
}
