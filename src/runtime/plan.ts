// Prepare (TFLite Micro style): everything that does not depend on the input is done once here —
// memory layout, weights copied into wasm memory, indirection buffers, requantization arguments —
// and each op becomes a closure that only calls into wasm. Eval is a loop over those closures.
// The planner is generic over the op modules (src/ops): each declares the tensors it reads and
// writes, its weights, constant buffers and scratch, and prepares its own kernel calls.
import type { RelaxedDotMode } from '../kernels/relaxed.js';
import { EdgeqError } from '../errors.js';
import type { QModel, QOp, QTensor } from '../format/qmodel.js';
import { bindKernelCall, invokeKernelCall, type KernelCall } from '../kernels/kernel-api.generated.js';
import { instantiateKernels, type Kernels } from '../kernels/wasm.js';
import { opModule, tensorBytes, type OpCost, type OpLayout, type OpPlanContext } from '../ops/index.js';
import { planArena, type BufferRequest } from './memory-plan.js';
import type { PoolPlan, ThreadPool } from './pool.js';

const PAGE = 65536;
const ALIGN = 64;
const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;
/**
 * Parts per thread an op is split into at most (the threads take them dynamically, so a thread
 * that lost its core hands the rest of the op to the others). Each part has its own scratch.
 * Measurements behind the value: docs/tuning-log.md, "Parts per thread".
 */
const PARTS_PER_THREAD = 8;

/**
 * The cost model that sizes each op's threads (opThreads): an op's time on one thread is modelled
 * as macs / MACS_PER_NS (or the op's own OpCost.macsPerNs) + bytes / BYTES_PER_NS, and on t threads
 * as that over t plus NS_PER_EXTRA_THREAD for each thread beyond the first (its wake-up, its share of
 * the barrier, and the rows it reads from another core's cache). Measurements behind the values:
 * docs/tuning-log.md, "Threads per op".
 */
export const MACS_PER_NS = 32, BYTES_PER_NS = 16, NS_PER_EXTRA_THREAD = 5_000;

/** An op's modelled time on one thread, in ns. */
export function opNs(cost: OpCost): number {
  return cost.macs / (cost.macsPerNs ?? MACS_PER_NS) + cost.bytes / BYTES_PER_NS;
}

/**
 * The threads an op of cost `cost` runs on in a pool of `threads`: the t in 1..threads with the
 * least modelled time, opNs / t + NS_PER_EXTRA_THREAD * (t - 1) (convex in t: about
 * sqrt(opNs / NS_PER_EXTRA_THREAD)); 1 for an op under 2 * NS_PER_EXTRA_THREAD.
 */
export function opThreads(cost: OpCost, threads: number): number {
  const ns = opNs(cost), at = (t: number) => ns / t + NS_PER_EXTRA_THREAD * (t - 1);
  const t = Math.max(1, Math.min(threads, Math.floor(Math.sqrt(ns / NS_PER_EXTRA_THREAD))));
  return t < threads && at(t + 1) < at(t) ? t + 1 : t;
}

/**
 * The least modelled saving per run, in ns, for which a plan uses the pool (PlanOptions.minThreadSavingNs's
 * default): between runs the workers block, and waking them costs a run of a small model more than
 * they save (MobileNet v1 0.25 at 128: 171 us modelled saving, its 2-thread runs 1.2-1.5x slower
 * than 1-thread ones after 5 ms idle, in Deno and in Chromium). Such a plan runs on the calling
 * thread alone. Measurements behind the value: docs/tuning-log.md, "Small models on the caller".
 */
export const MIN_THREAD_SAVING_NS = 250_000;

/**
 * The modelled saving per run of running each op i on active[i] threads instead of one: the sum
 * of opNs - (opNs / t + NS_PER_EXTRA_THREAD * (t - 1)) over the ops with t > 1.
 */
export function modelledThreadSaving(costs: readonly OpCost[], active: readonly number[]): number {
  return costs.reduce((sum, c, i) => {
    const t = active[i]!, ns = opNs(c);
    return t > 1 ? sum + ns - (ns / t + NS_PER_EXTRA_THREAD * (t - 1)) : sum;
  }, 0);
}

/** An op's modelled work: its module's cost, else the bytes of the tensors it reads and writes. */
export function opCost(op: QOp, ctx: OpPlanContext): OpCost {
  const m = opModule(op);
  if (m.cost) return m.cost(op, ctx);
  const T = ctx.model.tensors;
  const bytes = [...m.reads(op), ...m.writes(op)].reduce((n, t) => n + tensorBytes(T[t], ctx.batch), 0);
  return { macs: 0, bytes };
}

export interface ExecutionPlan {
  kernels: Kernels;
  batch: number;
  /**
   * The quantized input tensor (NHWC uint8 or uint12): its byte offset and tensor; `staging`: the
   * byte offset of batch * C * H * W float32 where a float NCHW input is copied for the
   * quantization kernel (f32_quantize_nchw), in arena bytes no op's tensor holds before op 0.
   */
  input: { offset: number; tensor: QTensor; staging: number };
  /** Byte offset and tensor of each graph output, in model.outputs order. */
  outputs: { offset: number; tensor: QTensor }[];
  /**
   * One closure per op: steps[i] runs model.ops[i] (all its parts, in order) and nothing else.
   * Callers may wrap steps (per-op timing) but must keep this one-to-one correspondence.
   */
  steps: (() => void)[];
  /** The kernel calls of each op (calls[i]: model.ops[i]'s parts; steps[i] runs them in order). */
  calls: readonly (readonly KernelCall[])[];
  /**
   * Multi-threaded plans: the pool and this plan's kernel calls registered with it (run through
   * pool.run); plan.active[i] is the threads op i runs on (opThreads, at most its part count).
   */
  threaded?: { pool: ThreadPool; plan: PoolPlan };
  /** Memory accounting (bytes). */
  memory: { weights: number; arena: number; constants: number; total: number };
  /** Every buffer of the memory; the read-only ones (guard, weights, indirection, zero rows) never change after prepare. */
  regions?: MemoryRegion[];
}

/**
 * Checks every op's blob sections (OpModule.checkWeights: sizes, requantization multipliers,
 * padding lanes) before anything touches wasm memory. Throws EdgeqError('BAD_MODEL').
 */
export function validatePacking(model: QModel): void {
  for (const op of model.ops) opModule(op).checkWeights?.(op, model);
}

/**
 * Lays out memory, instantiates the module and prepares every op. With a pool (threads > 1), the
 * memory is shared, `module` must be the shared-memory build, and each op runs on opThreads() of
 * the pool's threads (at most pool.cores), split into at most that many times PARTS_PER_THREAD parts, which those
 * threads take dynamically (an op that fits one thread is one part).
 */
export interface PlanOptions {
  /**
   * Stride-1 3x3 convolutions as Winograd F(2x2, 3x3): 'auto' (default) takes the eligible layers
   * whose transformed weights (int16, 16 per 3x3 kernel: ~3.5x the int8 direct weights) fit in
   * max(WINOGRAD_MEMORY_BUDGET, WINOGRAD_WEIGHT_SHARE x the weight bytes) extra bytes, cheapest first; 'all' takes every eligible layer (fastest,
   * most memory); 'off' none. EDGEQ_WINOGRAD=0 forces 'off' (comparisons).
   */
  winograd?: 'auto' | 'all' | 'off';
  /** The 'auto' budget in bytes (default: max(WINOGRAD_MEMORY_BUDGET, WINOGRAD_WEIGHT_SHARE x the weight bytes)). */
  winogradBudget?: number;
  /** Run eligible convs on the relaxed kernels in this lowering (`module` must be a relaxed build). */
  relaxedDot?: RelaxedDotMode;
  /**
   * With a pool, the least modelled saving per run (ns, modelledThreadSaving) for which the plan
   * uses it; below, every op runs on the calling thread and the plan has no `threaded` part.
   * Default MIN_THREAD_SAVING_NS, or EDGEQ_MIN_THREAD_SAVING_US (microseconds) when set; 0: always.
   */
  minThreadSavingNs?: number;
}

/**
 * Extra wasm memory 'auto' Winograd may spend on transformed weights: WINOGRAD_WEIGHT_SHARE of the
 * model's weight bytes, at least WINOGRAD_MEMORY_BUDGET. Candidates are taken cheapest first
 * (withinWinogradBudget). Measurements behind the values: docs/tuning-log.md, "Winograd budget".
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
  const ctx: OpPlanContext = { model, batch, parts, relaxedDot: options.relaxedDot };
  // Threads per op (opThreads of the op's modelled cost); none beyond the caller for a plan whose
  // modelled saving is under the threshold. No op runs on more threads than cores: with more, a
  // thread holding a part could lose its core until the next time slice and hold the whole op back.
  const usable = pool ? Math.min(pool.threads, pool.cores) : 1;
  const costs = model.ops.map((op) => opCost(op, ctx));
  let active = costs.map((c) => opThreads(c, usable));
  const usePool = pool !== undefined && modelledThreadSaving(costs, active) >= (options.minThreadSavingNs ?? minThreadSavingDefault());
  if (!usePool) active = active.map(() => 1);

  // 0. Fast variants (conv: exact Winograd F(2x2, 3x3), bit-exact with direct) within the memory budget.
  const fast: number[] = [];
  const mode = winogradDefault() ? options.winograd ?? 'auto' : 'off';
  if (mode !== 'off') {
    const candidates: { i: number; growth: number }[] = [];
    model.ops.forEach((op, i) => {
      const v = opModule(op).fastVariant?.(op, ctx);
      if (v) candidates.push({ i, growth: v.growth });
    });
    const weightBytes = model.blobs.reduce((n, b) => n + b.length, 0);
    const budget = mode === 'auto' ? options.winogradBudget ?? defaultWinogradBudget(weightBytes) : Infinity;
    for (const { i } of withinWinogradBudget(candidates, budget)) fast.push(i);
  }
  const fastSet = new Set(fast);
  const layouts: OpLayout[] = model.ops.map((op, i) => opModule(op).layout(op, ctx, fastSet.has(i)));

  // 1. Weights: each section read in place 64-byte aligned after a small guard region at address 0,
  //    then the derived weights (in the order the budget took them).
  const inPlace = new Set(layouts.flatMap((l) => l.sections));
  let cursor = ALIGN;
  const blobOffsets = model.blobs.map((b, i) => {
    if (!inPlace.has(i)) return -1;
    const at = cursor;
    cursor = alignUp(cursor + b.length);
    return at;
  });
  const derivedOffsets = new Map<number, number>();
  for (const i of [...fast, ...layouts.map((_, i) => i).filter((i) => !fastSet.has(i))]) {
    const d = layouts[i].derived;
    if (!d) continue;
    derivedOffsets.set(i, cursor);
    cursor = alignUp(cursor + d.bytes.length);
  }
  const weightsEnd = cursor;

  // 2. Activation buffers, planned by liveness: a tensor lives from its writer to its last reader.
  //    The input tensor is written before op 0 (index -1), from the float staging buffer, which lives then only.
  const first = new Array<number>(T.length).fill(-2);
  const last = new Array<number>(T.length).fill(-1);
  first[model.input.tensor] = -1;
  model.ops.forEach((op, i) => {
    const m = opModule(op);
    for (const r of m.reads(op)) last[r] = Math.max(last[r], i);
    for (const w of m.writes(op)) {
      first[w] = i;
      last[w] = Math.max(last[w], i);
    }
  });
  for (const o of model.outputs) last[o.tensor] = model.ops.length; // every output is read after the last op
  const used = T.map((_, i) => i).filter((i) => first[i] >= -1);
  const requests: BufferRequest[] = used.map((i) => ({ size: tensorBytes(T[i], batch), first: first[i], last: Math.max(first[i], last[i]) }));
  const [, c, h, w] = model.input.nchw;
  const staging: BufferRequest = { size: batch * c * h * w * 4, first: -1, last: -1 };
  const arenaPlan = planArena([...requests, staging], ALIGN);
  const arenaStart = weightsEnd;
  const tensorOffset = new Map<number, number>();
  used.forEach((i, j) => tensorOffset.set(i, arenaStart + arenaPlan.offsets[j]));
  const stagingOffset = arenaStart + arenaPlan.offsets[requests.length];
  cursor = alignUp(arenaStart + arenaPlan.size);

  // 3. Per-op constant buffers (indirection, zero rows) in op order; one scratch per part (of a plan
  // on the pool; else one), sized for the largest op.
  const constantsStart = cursor;
  let scratchBytes = 0;
  const constants = layouts.map((l) => {
    const at: Record<string, number> = {};
    for (const c of l.constants) { at[c.name] = cursor; cursor = alignUp(cursor + c.size); }
    scratchBytes = Math.max(scratchBytes, l.scratchBytes);
    return at;
  });
  const scratch = cursor;
  // The conv kernels read up to 7 bytes past a pixel's last channel (those lanes meet zero weights),
  // so the memory keeps a readable tail after the last buffer.
  cursor = alignUp(cursor + scratchBytes * (usePool ? parts : 1) + 16);
  const total = cursor;
  const derivedRegions: MemoryRegion[] = [], constantRegions: MemoryRegion[] = [];
  for (const i of derivedOffsets.keys()) {
    derivedRegions.push({ name: `op ${i} ${layouts[i].derived!.name}`, offset: derivedOffsets.get(i)!, size: layouts[i].derived!.bytes.length, writable: false });
  }
  layouts.forEach((l, i) => {
    for (const c of l.constants) constantRegions.push({ name: `op ${i} ${c.name}`, offset: constants[i][c.name], size: c.size, writable: false });
  });
  const buffers = used.map((t, j) => ({ name: `tensor ${t}`, offset: tensorOffset.get(t)!, ...requests[j] }));
  buffers.push({ name: 'float input staging', offset: stagingOffset, ...staging });
  const regions = checkLayout(model, blobOffsets, buffers, derivedRegions, constantRegions, scratch, total);

  const pages = Math.ceil(total / PAGE);
  if (pages > 65536) throw new EdgeqError('BAD_MODEL', `the model needs ${total} bytes of wasm memory, more than 4 GiB`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, ...(pool ? { shared: true } : {}) });
  const kernels = await instantiateKernels(module, memory);
  if (options.relaxedDot && !kernels.relaxed) throw new EdgeqError('INTERNAL', 'relaxed kernels asked of a module that is not a relaxed build');
  const heap = new Uint8Array(memory.buffer);
  model.blobs.forEach((b, i) => { if (blobOffsets[i] >= 0) heap.set(b, blobOffsets[i]); });
  for (const [i, at] of derivedOffsets) heap.set(layouts[i].derived!.bytes, at);

  // 4. Each op prepares its kernel calls, in as many parts as its threads take; a step binds them once.
  const at = (t: number) => tensorOffset.get(t)!;
  const ops = model.ops.map((op, i): KernelCall[] => opModule(op).prepare(op, layouts[i], {
    ...ctx, parts: active[i] > 1 ? active[i] * PARTS_PER_THREAD : 1,
    kernels, tensor: at, section: (s) => blobOffsets[s], derived: derivedOffsets.get(i), constants: constants[i], scratch,
  }));
  const ex = kernels.exports;
  const steps = ops.map((calls): (() => void) => {
    if (calls.length === 1) return bindKernelCall(ex, calls[0]);
    return () => { for (const c of calls) invokeKernelCall(ex, c); };
  });
  const threaded = pool && usePool ? { pool, plan: await pool.addPlan(memory, ops, active) } : undefined;
  return {
    kernels, batch, steps, calls: ops, threaded,
    input: { offset: at(model.input.tensor), tensor: T[model.input.tensor], staging: stagingOffset },
    outputs: model.outputs.map((o) => ({ offset: at(o.tensor), tensor: T[o.tensor] })),
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
  model: QModel, blobOffsets: number[], buffers: ({ name: string; offset: number } & BufferRequest)[],
  derivedRegions: MemoryRegion[], constantRegions: MemoryRegion[], scratch: number, total: number,
): MemoryRegion[] {
  const rs: (MemoryRegion & { live?: [number, number] })[] = [{ name: 'guard', offset: 0, size: ALIGN, writable: false }];
  model.blobs.forEach((b, i) => { if (blobOffsets[i] >= 0) rs.push({ name: `section ${i}`, offset: blobOffsets[i], size: b.length, writable: false }); });
  rs.push(...derivedRegions);
  for (const x of buffers) rs.push({ name: x.name, offset: x.offset, size: x.size, writable: true, live: [x.first, x.last] });
  rs.push(...constantRegions);
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

/** An environment variable, or undefined where there is none or reading it is not allowed (Deno without --allow-env). */
function envVar(name: string): string | undefined {
  try {
    return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  } catch {
    return undefined;
  }
}

/** MIN_THREAD_SAVING_NS, or EDGEQ_MIN_THREAD_SAVING_US (a number of microseconds >= 0) when set. */
function minThreadSavingDefault(): number {
  const v = envVar('EDGEQ_MIN_THREAD_SAVING_US');
  if (v === undefined || v === '') return MIN_THREAD_SAVING_NS;
  const us = Number(v);
  if (!(us >= 0)) throw new EdgeqError('BAD_OPTION', `EDGEQ_MIN_THREAD_SAVING_US must be a number of microseconds >= 0, got ${JSON.stringify(v)}`);
  return us * 1000;
}

// ---- EDGEQ_WINOGRAD=0 turns the fast variants off (comparisons) ----

function winogradDefault(): boolean {
  return envVar('EDGEQ_WINOGRAD') !== '0';
}
