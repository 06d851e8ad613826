// Prepare (TFLite Micro style): everything that does not depend on the input is done once here —
// memory layout, weights copied into wasm memory, indirection buffers, requantization arguments —
// and each op becomes a closure that only calls into wasm. Eval is a loop over those closures.
import { EdgeqError } from '../errors.js';
import { elementBytes, quantMax, type QConv, type QModel, type QTensor, type QuantDtype } from '../format/qmodel.js';
import { conv2dCalls, planConv2d, type Conv2dShape } from '../kernels/conv.js';
import { bindKernelCall, kernelCall, invokeKernelCall, type KernelCall } from '../kernels/kernel-api.generated.js';
import type { PoolPlan, ThreadPool } from './pool.js';
import { packWinogradFromDirect, planWinograd, winogradEligible, winogradFits12Bit, winogradPreferred } from '../kernels/winograd.js';
import { gavgpoolU8Args, maxpoolCalls, vaddArgs } from '../kernels/ops.js';
import { packGeometry } from '../kernels/packing.js';
import { instantiateKernels, type Kernels } from '../kernels/wasm.js';
import { planArena, type BufferRequest } from './memory-plan.js';

const PAGE = 65536;
const ALIGN = 64;
const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;
/**
 * Parts per thread an op is split into at most (the threads take them dynamically). Fine parts let a
 * thread that lost its core for a while hand the rest of the op to the others: ResNet-50 at 2 threads
 * on the shared 2-core machine, medians of 15 runs in alternating processes: 2 parts per thread
 * 108-146 ms, 8 parts 90-126 ms (better in 10 of 11 pairs; 16: 103-107 ms). Each part has its own im2col scratch
 * (~0.2 MB on ResNet-50), so 8 costs 2.4 MB more than 2 at 2 threads.
 */
const PARTS_PER_THREAD = 8;

export interface ExecutionPlan {
  kernels: Kernels;
  batch: number;
  /** Byte offset and element count of the quantized input tensor (NHWC uint8). */
  input: { offset: number; tensor: QTensor };
  output: { offset: number; tensor: QTensor };
  steps: (() => void)[];
  /** Multi-threaded plans: the pool and this plan's kernel calls registered with it (run through pool.run). */
  threaded?: { pool: ThreadPool; plan: PoolPlan };
  /** Memory accounting (bytes). */
  memory: { weights: number; arena: number; constants: number; total: number };
  /** Every buffer of the memory; the read-only ones (guard, weights, indirection, zero rows) never change after prepare. */
  regions?: MemoryRegion[];
}

function bytesOf(t: QTensor, batch: number): number {
  const [, h, w, c] = t.shape;
  return batch * h * w * c * elementBytes(t.dtype);
}

function convShape(op: QConv, x: QTensor, batch: number): Conv2dShape {
  return {
    batch, inH: x.shape[1], inW: x.shape[2], inChannels: op.inChannels, outChannels: op.outChannels,
    kernel: op.kernel, stride: op.stride, pads: op.pads, dilation: op.dilation, group: op.group,
    inputType: x.dtype === 'uint12' ? 'uint12' : 'uint8',
  };
}

/** Largest |requantization multiplier| accepted: far above real ones (~1e-6..1e2), small enough that no f32 result overflows. */
const MAX_MULTIPLIER = 2 ** 32;

/**
 * Checks every packed blob before anything touches wasm memory: its size against the size its layout
 * needs (under 2^31, the kernels' i32 offsets), and its requantization multipliers (the last 16 bytes
 * of every block) finite and at most 2^32 in magnitude, so every output stays finite.
 */
export function validatePacking(model: QModel): void {
  for (const op of model.ops) {
    if (op.op !== 'conv') continue;
    let g: ReturnType<typeof packGeometry>;
    try {
      g = packGeometry({ outChannels: op.outChannels, inChannels: op.inChannels, kernel: op.kernel, group: op.group }, op.packing);
    } catch (err) {
      throw new EdgeqError('BAD_MODEL', `op "${op.name}": ${(err as Error).message}`, { cause: err });
    }
    const blob = model.blobs[op.weights];
    if (blob.length !== g.bytes || g.bytes >= 2 ** 31) throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights} has ${blob.length} bytes, packing ${op.packing} needs ${g.bytes}`);
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    // Padded K lanes must hold zero weights: the kernels read up to 7 bytes past a pixel's channels
    // (the next pixel, another tensor, stale scratch) and only zero weights make that harmless.
    const kReal = g.im2col ? op.kernel[0] * op.kernel[1] * g.cinPerGroup : g.cinPerGroup, kPadded = g.KB * 8;
    for (let base = 0; base < blob.length; base += g.blockBytes) {
      for (let j = base + g.blockBytes - 16; j < base + g.blockBytes; j += 4) {
        const m = view.getFloat32(j, true);
        if (!(Math.abs(m) <= MAX_MULTIPLIER)) {
          throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}, byte ${j}: requantization multiplier ${m} is not finite or exceeds 2^32`);
        }
      }
      for (let t = 0; t < g.taps && kReal < kPadded; t++) {
        for (let k = t * kPadded + kReal; k < (t + 1) * kPadded; k++) {
          for (let lane = 0; lane < 4; lane++) {
            const at = base + 16 + (k >> 3) * 32 + lane * 8 + (k & 7);
            if (blob[at] !== 0) throw new EdgeqError('BAD_MODEL', `op "${op.name}": weights section ${op.weights}, byte ${at}: padding weight (tap ${t}, K index ${k % kPadded}) is ${blob[at]}, must be 0`);
          }
        }
      }
    }
  }
}

/**
 * Lays out memory, instantiates the module and prepares every op. With a pool (threads > 1), the
 * memory is shared, `module` must be the shared-memory build, and each op is split into parts
 * (pool.threads * PARTS_PER_THREAD at most) that the pool's threads take dynamically.
 */
export interface PlanOptions {
  /**
   * Stride-1 3x3 convolutions as Winograd F(2x2, 3x3): 'auto' (default) takes the eligible layers
   * whose transformed weights (int16, 16 per 3x3 kernel: ~3.5x the int8 direct weights) fit in
   * max(WINOGRAD_MEMORY_BUDGET, WINOGRAD_WEIGHT_SHARE x the weight bytes) extra bytes, cheapest first; 'all' takes every eligible layer (fastest,
   * ResNet-50 +21 MB); 'off' none. EDGEQ_WINOGRAD=0 forces 'off' (comparisons).
   */
  winograd?: 'auto' | 'all' | 'off';
  /** The 'auto' budget in bytes (default: max(WINOGRAD_MEMORY_BUDGET, WINOGRAD_WEIGHT_SHARE x the weight bytes)). */
  winogradBudget?: number;
}

/**
 * Extra wasm memory 'auto' Winograd may spend on transformed weights: WINOGRAD_WEIGHT_SHARE of the
 * model's weight bytes, at least WINOGRAD_MEMORY_BUDGET. The 3x3 layers of each ResNet stage do the
 * same MACs but their weights grow 4x per stage, so the early stages are cheapest per millisecond
 * saved: ResNet-50 (25.7 MB of weights) takes layers 1-3 (+7.5 MB, ~5% faster at 1 thread) and
 * leaves layer4 (+12 MB for ~1%) direct; a small model gets the floor.
 */
export const WINOGRAD_MEMORY_BUDGET = 2.5 * 1024 * 1024;
export const WINOGRAD_WEIGHT_SHARE = 0.4;

/** The default 'auto' budget for a model with `weightBytes` bytes of packed weights. */
export function defaultWinogradBudget(weightBytes: number): number {
  return Math.max(WINOGRAD_MEMORY_BUDGET, WINOGRAD_WEIGHT_SHARE * weightBytes);
}

/** What 'auto' takes: the candidates by growth, cheapest first (ties in the given order), while their total fits the budget. */
export function withinWinogradBudget<T extends { growth: number }>(candidates: readonly T[], budget: number): T[] {
  let spent = 0;
  const taken: T[] = [];
  for (const c of [...candidates].sort((a, b) => a.growth - b.growth)) {
    if (spent + c.growth > budget) continue;
    spent += c.growth;
    taken.push(c);
  }
  return taken;
}

export async function buildPlan(model: QModel, module: WebAssembly.Module, batch: number, pool?: ThreadPool, options: PlanOptions = {}): Promise<ExecutionPlan> {
  validatePacking(model);
  const parts = pool ? pool.threads * PARTS_PER_THREAD : 1;
  const T = model.tensors;

  // 0. Stride-1 3x3 convolutions that run as exact Winograd F(2x2, 3x3) (bit-exact with direct).
  const wino = new Map<number, Uint8Array>();
  const mode = winogradDefault() ? options.winograd ?? 'auto' : 'off';
  if (mode !== 'off') {
    const candidates: { i: number; growth: number }[] = [];
    model.ops.forEach((op, i) => {
      if (op.op !== 'conv') return;
      const shape = convShape(op, T[op.input], batch);
      const opts = { outputType: T[op.output].dtype, residual: op.residual };
      const fits = shape.inputType !== 'uint12' || winogradFits12Bit(model.blobs[op.weights], op.outChannels, op.inChannels);
      if (winogradEligible(shape, op.packing, opts) && winogradPreferred(shape) && fits) {
        // Transformed int16 weights (16 per kernel) against the int8 direct blob they replace.
        candidates.push({ i, growth: 32 * op.outChannels * op.inChannels - model.blobs[op.weights].length });
      }
    });
    const weightBytes = model.blobs.reduce((n, b) => n + b.length, 0);
    const budget = mode === 'auto' ? options.winogradBudget ?? defaultWinogradBudget(weightBytes) : Infinity;
    for (const { i } of withinWinogradBudget(candidates, budget)) {
      const op = model.ops[i] as QConv;
      wino.set(i, winogradBlob(model.blobs[op.weights], op.outChannels, op.inChannels));
    }
  }
  // Blobs read by a direct kernel (those only Winograd reads are replaced by their transform).
  const direct = new Set<number>();
  model.ops.forEach((op, i) => { if (op.op === 'conv' && !wino.has(i)) direct.add(op.weights); });

  // 1. Weights: each blob 64-byte aligned after a small guard region at address 0.
  let cursor = ALIGN;
  const blobOffsets = model.blobs.map((b, i) => {
    if (!direct.has(i)) return -1;
    const at = cursor;
    cursor = alignUp(cursor + b.length);
    return at;
  });
  const winoOffsets = new Map<number, number>();
  for (const [i, b] of wino) {
    winoOffsets.set(i, cursor);
    cursor = alignUp(cursor + b.length);
  }
  const weightsEnd = cursor;

  // 2. Activation buffers, planned by liveness. Tensor i lives from its producer to its last reader.
  const first = new Array<number>(T.length).fill(-1);
  const last = new Array<number>(T.length).fill(-1);
  first[model.input.tensor] = 0;
  model.ops.forEach((op, i) => {
    const reads = op.op === 'add' ? [op.a, op.b] : op.op === 'conv' && op.residual !== undefined ? [op.input, op.residual] : [op.input];
    for (const r of reads) last[r] = Math.max(last[r], i);
    first[op.output] = i;
    last[op.output] = Math.max(last[op.output], i);
  });
  last[model.output.tensor] = model.ops.length; // the output is read after the last op
  const used = T.map((_, i) => i).filter((i) => first[i] >= 0);
  const requests: BufferRequest[] = used.map((i) => ({ size: bytesOf(T[i], batch), first: first[i], last: Math.max(first[i], last[i]) }));
  const arenaPlan = planArena(requests, ALIGN);
  const arenaStart = weightsEnd;
  const tensorOffset = new Map<number, number>();
  used.forEach((i, j) => tensorOffset.set(i, arenaStart + arenaPlan.offsets[j]));
  cursor = alignUp(arenaStart + arenaPlan.size);

  // 3. Per-conv constants: indirection buffers and zero rows; one shared im2col scratch.
  const constantsStart = cursor;
  let scratchBytes = 0;
  const convBuffers = new Map<number, { indirection?: number; zero?: number }>();
  model.ops.forEach((op, i) => {
    if (op.op !== 'conv') return;
    const shape = convShape(op, T[op.input], batch);
    const plan = planConv2d(shape, op.packing);
    const b: { indirection?: number; zero?: number } = {};
    if (wino.has(i)) {
      scratchBytes = Math.max(scratchBytes, planWinograd(shape, plan.outH, plan.outW).scratchBytes);
      convBuffers.set(i, b);
      return;
    }
    if (plan.indirectionBytes > 0) { b.indirection = cursor; cursor = alignUp(cursor + plan.indirectionBytes); }
    if (plan.zeroBytes > 0) { b.zero = cursor; cursor = alignUp(cursor + plan.zeroBytes); }
    scratchBytes = Math.max(scratchBytes, plan.scratchBytes);
    convBuffers.set(i, b);
  });
  const scratch = cursor;
  // The conv kernels read up to 7 bytes past a pixel's last channel (those lanes meet zero weights),
  // so the memory keeps a readable tail after the last buffer. One im2col scratch per part.
  cursor = alignUp(cursor + scratchBytes * parts + 16);
  const total = cursor;
  const regions = checkLayout(model, batch, blobOffsets, used.map((t, j) => ({ t, offset: tensorOffset.get(t)!, ...requests[j] })), convBuffers, scratch, total,
    [...wino].map(([i, b]) => ({ name: `op ${i} winograd weights`, offset: winoOffsets.get(i)!, size: b.length, writable: false })));

  const pages = Math.ceil(total / PAGE);
  if (pages > 65536) throw new EdgeqError('BAD_MODEL', `the model needs ${total} bytes of wasm memory, more than 4 GiB`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, ...(pool ? { shared: true } : {}) });
  const kernels = await instantiateKernels(module, memory);
  const heap = new Uint8Array(memory.buffer);
  model.blobs.forEach((b, i) => { if (blobOffsets[i] >= 0) heap.set(b, blobOffsets[i]); });
  for (const [i, b] of wino) heap.set(b, winoOffsets.get(i)!);

  const at = (t: number) => tensorOffset.get(t)!;
  const ex = kernels.exports;
  const ops = model.ops.map((op, i): KernelCall[] => {
    switch (op.op) {
      case 'conv': {
        const x = T[op.input], y = T[op.output];
        const relu = op.activation.kind === 'relu';
        const out = y.dtype === 'float32'
          ? { outputType: 'float32' as const, fMin: relu ? 0 : undefined }
          : { outputType: y.dtype, outputZeroPoint: y.zeroPoint, outMin: relu ? y.zeroPoint : 0, outMax: quantMax(y.dtype) };
        // The reader admits only quantized residual tensors (validateModel).
        const rt = op.residual === undefined ? undefined : T[op.residual];
        return conv2dCalls(kernels, {
          shape: convShape(op, x, batch), packing: op.packing, inputZeroPoint: x.zeroPoint,
          alpha: op.activation.kind === 'leakyrelu' ? op.activation.alpha : 1, ...out,
          residual: op.residual === undefined || !rt ? undefined
            : { input: at(op.residual), zeroPoint: rt.zeroPoint, multiplier: Math.fround(rt.scale / y.scale), dtype: rt.dtype as QuantDtype },
          buffers: { input: at(op.input), output: at(op.output), weights: blobOffsets[op.weights], scratch, ...convBuffers.get(i) },
          winograd: wino.has(i) ? { weights: winoOffsets.get(i)! } : undefined,
        }, parts);
      }
      case 'add': {
        const a = T[op.a], b = T[op.b], y = T[op.output];
        const relu = op.activation.kind === 'relu';
        // Elements (not bytes): the operands may differ in element size.
        const n = bytesOf(y, batch) / elementBytes(y.dtype), pa = at(op.a), pb = at(op.b), po = at(op.output);
        const ea = elementBytes(a.dtype), eb = elementBytes(b.dtype), eo = elementBytes(y.dtype);
        const p = Math.max(1, Math.min(parts, Math.floor(n / 16384)));
        const calls: KernelCall[] = [];
        for (let j = 0; j < p; j++) {
          const lo0 = Math.floor((n * j) / p / 64) * 64, hi0 = j === p - 1 ? n : Math.floor((n * (j + 1)) / p / 64) * 64;
          if (hi0 > lo0) calls.push(kernelCall('qu8_vadd', vaddArgs(hi0 - lo0, pa + lo0 * ea, pb + lo0 * eb, po + lo0 * eo, a, b, y, relu)));
        }
        return calls;
      }
      case 'maxpool': {
        const x = T[op.input];
        const [, H, W, C] = x.shape;
        // Split by output rows (a single call left the other threads waiting: 0.48 of its 0.62 ms at 2 threads, ResNet-50 with 12-bit activations).
        return maxpoolCalls({ batch, inH: H, inW: W, channels: C, kernel: op.kernel, stride: op.stride, pads: op.pads, input: at(op.input), output: at(op.output), dtype: x.dtype }, parts);
      }
      case 'gap': {
        const x = T[op.input], y = T[op.output];
        const [, H, W, C] = x.shape;
        const pi = at(op.input), po = at(op.output);
        if (x.dtype === 'float32') return [kernelCall('f32_gavgpool', { N: batch, HW: H * W, C, inp: pi, out: po })];
        return [kernelCall('qu8_gavgpool', gavgpoolU8Args(batch, H * W, C, pi, po, x, y))];
      }
    }
  });
  const steps = ops.map((calls): (() => void) => {
    if (calls.length === 1) return bindKernelCall(ex, calls[0]);
    return () => { for (const c of calls) invokeKernelCall(ex, c); };
  });
  const threaded = pool ? { pool, plan: await pool.addPlan(memory, ops) } : undefined;
  return {
    kernels, batch, steps: profileEnabled() ? profiled(model, steps, batch) : steps, threaded,
    input: { offset: at(model.input.tensor), tensor: T[model.input.tensor] },
    output: { offset: at(model.output.tensor), tensor: T[model.output.tensor] },
    memory: { weights: weightsEnd, arena: arenaPlan.size, constants: total - constantsStart, total: pages * PAGE }, regions,
  };
}

// ---- Layout assertions ----

export interface MemoryRegion { name: string; offset: number; size: number; writable: boolean }

/**
 * Asserts the layout before any kernel sees it: every buffer inside the memory, read-only buffers
 * (guard, weights, indirection, zero rows) overlapping nothing, and tensors alive at the same time
 * disjoint. The model was validated already, so a failure here is an edgeq bug (INTERNAL).
 */
function checkLayout(
  model: QModel, batch: number, blobOffsets: number[], tensors: ({ t: number; offset: number } & BufferRequest)[],
  convBuffers: Map<number, { indirection?: number; zero?: number }>, scratch: number, total: number, extra: MemoryRegion[] = [],
): MemoryRegion[] {
  const rs: (MemoryRegion & { live?: [number, number] })[] = [{ name: 'guard', offset: 0, size: ALIGN, writable: false }];
  model.blobs.forEach((b, i) => { if (blobOffsets[i] >= 0) rs.push({ name: `section ${i}`, offset: blobOffsets[i], size: b.length, writable: false }); });
  rs.push(...extra);
  for (const x of tensors) rs.push({ name: `tensor ${x.t}`, offset: x.offset, size: x.size, writable: true, live: [x.first, x.last] });
  for (const [i, b] of convBuffers) {
    const op = model.ops[i] as QConv;
    const p = planConv2d(convShape(op, model.tensors[op.input], batch), op.packing);
    if (b.indirection !== undefined) rs.push({ name: `op ${i} indirection`, offset: b.indirection, size: p.indirectionBytes, writable: false });
    if (b.zero !== undefined) rs.push({ name: `op ${i} zero row`, offset: b.zero, size: p.zeroBytes, writable: false });
  }
  rs.push({ name: 'scratch', offset: scratch, size: total - scratch, writable: true });
  const span = (r: MemoryRegion) => `${r.name} [${r.offset}, ${r.offset + r.size})`;
  const bad = (msg: string): never => { throw new EdgeqError('INTERNAL', `memory layout: ${msg}`); };
  for (const r of rs) {
    if (!(Number.isSafeInteger(r.offset) && Number.isSafeInteger(r.size) && r.offset >= 0 && r.size >= 0 && r.offset + r.size <= total)) bad(`${span(r)} lies outside the ${total}-byte memory`);
  }
  const sorted = rs.filter((r) => r.size > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    for (let j = i + 1; j < sorted.length && sorted[j].offset < a.offset + a.size; j++) {
      const b = sorted[j];
      if (a.live && b.live && (a.live[1] < b.live[0] || b.live[1] < a.live[0])) continue; // never alive together
      bad(`${span(a)} overlaps ${span(b)}`);
    }
  }
  return rs.map(({ live: _live, ...r }) => r);
}

// ---- EDGEQ_PROFILE=1: per-op wall time, summed over runs and printed when the process exits ----

/** An environment variable, or undefined where there is none or reading it is not allowed (Deno without --allow-env). */
function envVar(name: string): string | undefined {
  try {
    return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  } catch {
    return undefined;
  }
}

function profileEnabled(): boolean {
  const v = envVar('EDGEQ_PROFILE');
  return !!v && v !== '0';
}

interface ProfileRow { name: string; kind: string; ms: number; calls: number }
const profileRows = new Map<string, ProfileRow>();
let profileHooked = false;

function profiled(model: QModel, steps: (() => void)[], batch: number): (() => void)[] {
  if (!profileHooked) {
    profileHooked = true;
    const proc = (globalThis as { process?: { on?(e: string, f: () => void): void } }).process;
    proc?.on?.('exit', () => console.error(formatProfile()));
  }
  return steps.map((step, i) => {
    const op = model.ops[i];
    let kind: string = op.op;
    if (op.op === 'conv') {
      kind = `conv ${op.kernel[0]}x${op.kernel[1]}/${op.stride[0]} ${op.inChannels}->${op.outChannels} @${model.tensors[op.input].shape[1]}`;
    }
    const key = `b${batch} ${op.name}`;
    let row = profileRows.get(key);
    if (!row) profileRows.set(key, (row = { name: key, kind, ms: 0, calls: 0 }));
    const r = row;
    return () => {
      const t0 = performance.now();
      step();
      r.ms += performance.now() - t0;
      r.calls++;
    };
  });
}

/** The per-op table collected under EDGEQ_PROFILE (op, kind, mean ms per call, share), by kind then op. */
export function formatProfile(): string {
  const rows = [...profileRows.values()].filter((r) => r.calls > 0);
  const total = rows.reduce((a, r) => a + r.ms / r.calls, 0);
  const byKind = new Map<string, { ms: number; n: number }>();
  for (const r of rows) {
    const k = byKind.get(r.kind) ?? { ms: 0, n: 0 };
    k.ms += r.ms / r.calls; k.n++;
    byKind.set(r.kind, k);
  }
  const lines = [`edgeq profile: ${total.toFixed(1)} ms per run over ${rows.length} ops (mean per call)`];
  for (const [kind, k] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(`  ${kind.padEnd(34)} x${String(k.n).padEnd(3)} ${k.ms.toFixed(2).padStart(8)} ms ${(100 * k.ms / total).toFixed(1).padStart(5)}%`);
  }
  return lines.join('\n');
}

// ---- Winograd: EDGEQ_WINOGRAD=0 turns it off (comparisons); transformed blobs cached per model blob ----

function winogradDefault(): boolean {
  return envVar('EDGEQ_WINOGRAD') !== '0';
}

const winoCache = new WeakMap<Uint8Array, Uint8Array>();

function winogradBlob(blob: Uint8Array, outChannels: number, inChannels: number): Uint8Array {
  let w = winoCache.get(blob);
  if (!w) winoCache.set(blob, (w = packWinogradFromDirect(blob, outChannels, inChannels)));
  return w;
}
