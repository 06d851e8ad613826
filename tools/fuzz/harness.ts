// Runs one untrusted file through everything that consumes it and classifies the outcome:
//   .edgeq: readEdgeq -> Session.create -> run (twice) -> finite output, read-only memory untouched;
//   ONNX:   readOnnx -> prepareGraph (shape inference and the quantizer's graph mapping); INTERNAL is a failure.
// Rejections must be EdgeqErrors; anything else (TypeError, RangeError, a wasm trap, a non-finite
// output, a write into the model's weights or constants, a case slower than the limit) is a failure.
import { EdgeqError } from 'edgeq';
import { crc32 } from 'edgeq/format';
import { readEdgeq } from 'edgeq/format';
import { readOnnx } from '../onnx/reader.js';
import type { ExecutionPlan } from 'edgeq/runtime';
import { Session, type SessionOptions } from 'edgeq/runtime';
import { prepareGraph } from '../quantize/prepare.js';
import { synthInput } from './seeds.js';

export type Stage = 'read' | 'create' | 'run' | 'check' | 'prepare';

export type Outcome =
  | { kind: 'accepted'; ms: number; ran: boolean }
  | { kind: 'rejected'; stage: Stage; code: string; message: string; ms: number }
  | { kind: 'failure'; stage: Stage; error: string; stack?: string; ms: number };

export interface EdgeqCheckOptions {
  backend?: 'simd' | 'scalar';
  /** A kernel module to use instead of the bundled one (e.g. the debug build). */
  wasm?: SessionOptions['wasm'];
  /** Skip run() for models whose input exceeds this many values (default 2^22). */
  maxInputValues?: number;
  /** Run twice and compare the outputs bit for bit (default true). */
  twice?: boolean;
  /** A case slower than this is a failure (default 20 s). */
  slowMs?: number;
  /** Input seed (default 1). */
  inputSeed?: number;
  /** Session threads (default 1: a worker pool per mutant would dominate the campaign's time). */
  threads?: number;
}

const describeError = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : `non-Error thrown: ${String(e)}`);

function classify(e: unknown, stage: Stage, t0: number): Outcome {
  const ms = performance.now() - t0;
  if (e instanceof EdgeqError) return { kind: 'rejected', stage, code: e.code, message: e.message, ms };
  return { kind: 'failure', stage, error: describeError(e), stack: e instanceof Error ? e.stack : undefined, ms };
}

/** The read-only regions of a plan's memory (guard, weights, constants), as a list of [offset, size]. */
function readOnlyRegions(plan: ExecutionPlan): [number, number][] {
  const regions = (plan as ExecutionPlan & { regions?: { offset: number; size: number; writable: boolean }[] }).regions;
  if (regions) return regions.filter((r) => !r.writable).map((r) => [r.offset, r.size]);
  return [[0, plan.memory.weights]]; // guard + weights, known without the region table
}

function checksum(plan: ExecutionPlan): number[] {
  const heap = new Uint8Array(plan.kernels.memory.buffer);
  return readOnlyRegions(plan).map(([o, n]) => crc32(heap, o, o + n));
}

/** The session's plan for batch 1 (a private field; undefined if the runtime changes shape). */
async function planOf(session: Session): Promise<ExecutionPlan | undefined> {
  const plans = (session as unknown as { plans?: Map<number, Promise<ExecutionPlan>> }).plans;
  return plans instanceof Map ? plans.get(1) : undefined;
}

export async function checkEdgeq(bytes: Uint8Array, options: EdgeqCheckOptions = {}): Promise<Outcome> {
  const t0 = performance.now();
  const slow = (o: Outcome): Outcome => (o.kind !== 'failure' && o.ms > (options.slowMs ?? 20_000)
    ? { kind: 'failure', stage: 'check', error: `slow: ${o.ms.toFixed(0)} ms`, ms: o.ms } : o);
  let stage: Stage = 'read';
  let session: Session | undefined;
  try {
    readEdgeq(bytes, { fileName: 'fuzz.edgeq' });
    stage = 'create';
    session = await Session.create(bytes, { backend: options.backend ?? 'simd', threads: options.threads ?? 1, ...(options.wasm ? { wasm: options.wasm } : {}) });
    const [, c, h, w] = session.inputShape as number[];
    const per = c! * h! * w!;
    if (!(per > 0 && per <= (options.maxInputValues ?? 2 ** 22))) return slow({ kind: 'accepted', ms: performance.now() - t0, ran: false });
    stage = 'run';
    const x = synthInput(options.inputSeed ?? 1, [1, c!, h!, w!]);
    const plan = await planOf(session);
    const before = plan ? checksum(plan) : [];
    const y = await session.run(x);
    stage = 'check';
    const expected = session.outputShape.reduce((a, b) => a * b, 1);
    if (!(y instanceof Float32Array) || y.length !== expected) {
      return { kind: 'failure', stage, error: `output has ${y?.length} values, expected ${expected}`, ms: performance.now() - t0 };
    }
    const bad = y.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return { kind: 'failure', stage, error: `output[${bad}] = ${y[bad]} is not finite`, ms: performance.now() - t0 };
    if (plan) {
      const after = checksum(plan);
      const changed = after.findIndex((v, i) => v !== before[i]);
      if (changed >= 0) {
        const [o, n] = readOnlyRegions(plan)[changed]!;
        return { kind: 'failure', stage, error: `run() wrote into read-only region ${changed} [${o}, ${o + n})`, ms: performance.now() - t0 };
      }
    }
    if (options.twice ?? true) {
      stage = 'run';
      const y2 = await session.run(x);
      stage = 'check';
      const a = new Uint32Array(y.buffer, y.byteOffset, y.length), b = new Uint32Array(y2.buffer, y2.byteOffset, y2.length);
      const diff = a.findIndex((v, i) => v !== b[i]);
      if (diff >= 0) return { kind: 'failure', stage, error: `second run differs at ${diff}: ${y[diff]} vs ${y2[diff]}`, ms: performance.now() - t0 };
    }
    return slow({ kind: 'accepted', ms: performance.now() - t0, ran: true });
  } catch (e) {
    return slow(classify(e, stage, t0));
  } finally {
    session?.release();
  }
}

export async function checkOnnx(bytes: Uint8Array, options: { slowMs?: number } = {}): Promise<Outcome> {
  const t0 = performance.now();
  let stage: Stage = 'read';
  let out: Outcome;
  try {
    const model = readOnnx(bytes, { fileName: 'fuzz.onnx' });
    stage = 'prepare';
    prepareGraph(model);
    out = { kind: 'accepted', ms: performance.now() - t0, ran: false };
  } catch (e) {
    out = classify(e, stage, t0);
    // INTERNAL is a broken invariant of the quantizer, never a fair rejection of an input.
    if (out.kind === 'rejected' && out.code === 'INTERNAL') out = { kind: 'failure', stage, error: `INTERNAL: ${out.message}`, ms: out.ms };
  }
  if (out.kind !== 'failure' && out.ms > (options.slowMs ?? 20_000)) return { kind: 'failure', stage, error: `slow: ${out.ms.toFixed(0)} ms`, ms: out.ms };
  return out;
}
