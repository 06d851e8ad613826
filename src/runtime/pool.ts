// Worker pool for multi-threaded inference over one shared WebAssembly.Memory.
//
// Every worker instantiates the kernel module (the shared-memory SIMD build, edgeq-simd-mt.wasm)
// once per execution plan, on that plan's shared memory. A plan is a list of ops, each a list of
// independent kernel calls (parts: row or channel ranges of the op's output) and the number of
// threads that run it (its active threads, chosen by the planner from the op's modelled cost).
// A run involves no message: the main thread bumps a generation word and notifies; every thread
// walks the ops in order and takes parts of the ops it is active in. The main thread (slot 0) is
// active in every op; worker w (slot w + 1) in op i when w + 1 < active[i]. Parts are split into one
// contiguous home chunk per active thread (homeChunk), each with its own take counter: a thread
// takes its own chunk's parts first, then those left in the other chunks (work stealing, as
// pthreadpool does). Parts are ranges of the op's output in order, so a thread's home chunks of
// consecutive ops cover the same rows where both split by rows, and the rows it reads were mostly
// written by itself (cross-core cache transfers cost more than the split: docs/tuning-log.md,
// "Home chunks").
// A thread skips an op it is not active in without touching its counters; before it takes parts
// of op i it waits until op i - 1 is done (which implies every earlier op: each of op i - 1's
// parts was taken by a thread that had waited for op i - 2). Waits spin a bounded, adaptive
// number of loads, then sleep (Atomics.wait in workers, Atomics.waitAsync on the main thread, which
// therefore also notices a worker that died). Between runs a worker blocks in Atomics.wait on the
// generation word too (a futex wake, not an event-loop task: tens of microseconds less per run);
// the pool counts the messages it posts to each worker (its mailbox word) and notifies, and a
// worker with mail leaves the wait for its event loop until it has read it. Every counter sits on
// its own 64-byte line. Browser-
// safe: Node's worker_threads is imported only by the Node adapter; browsers/Deno plug in a WorkerAdapter.
import { EdgeqError } from '../errors.js';
import { invokeKernelCall, type KernelCall, type Kernels } from '../kernels/index.js';

/** The part of a Worker the pool uses (Node worker_threads and Web Workers both fit through an adapter). */
export interface PoolWorker {
  postMessage(message: unknown): void;
  /** Registers the message, error and exit listeners. */
  listen(onMessage: (data: unknown) => void, onFailure: (err: Error) => void): void;
  terminate(): void;
  /** Node: keep the process alive while the pool waits on the worker (ref) or not (unref, idle). */
  ref?(): void;
  unref?(): void;
}

/** Creates workers that run `source` (a classic script: in Node an eval'd CommonJS script). */
export interface WorkerAdapter {
  readonly name: string;
  spawn(source: string): PoolWorker;
}

/** Atomics.waitAsync (ES2024; in V8 since Node 16), typed here for the ES2022 lib. */
type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const atomicsWaitAsync = (): WaitAsync | undefined => (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

// ctl words
const GEN = 0, PLAN = 1, ERR = 2, STOP = 3;
/** ctl[CANCEL] = the generation of a run the main thread abandoned (an aborted run): its threads leave. */
const CANCEL = 64 + 4;
/** Int32 words per 64-byte line: counters written by different threads are at least this far apart. */
export const LINE_WORDS = 16;
/**
 * Op i's counters in a pool of T threads, each on its own line: cnt[opTake(T, i, s)] = the parts
 * taken from slot s's home chunk, cnt[opDone(T, i)] = parts done (a thread spinning on op i's done
 * word does not slow the CAS on a take word, and threads taking their own chunks touch no common line).
 */
export const opTake = (T: number, i: number, s: number) => (T + 1) * LINE_WORDS * i + LINE_WORDS * s;
export const opDone = (T: number, i: number) => (T + 1) * LINE_WORDS * i + LINE_WORDS * T;
/** Int32 words of the counters of a plan with `ops` ops in a pool of T threads. */
export const counterWords = (T: number, ops: number) => (T + 1) * LINE_WORDS * Math.max(1, ops);

/**
 * Slot s's home chunk of an op of n parts on a active threads: parts [lo, hi), contiguous, the
 * chunks in slot order covering 0..n once, sizes differing by at most one.
 */
export function homeChunk(n: number, a: number, s: number): [number, number] {
  return [Math.floor((n * s) / a), Math.floor((n * (s + 1)) / a)];
}
/** Counter words: run tag (generation & TAG_BITS) << 16 | count (parts <= 65535). */
const TAG_BITS = 0x7fff, TAG_MASK = 0x7fff0000, COUNT_MASK = 0xffff;
/**
 * Spin bounds at a barrier, in atomic loads before a thread sleeps (Atomics.wait / waitAsync). Each
 * thread adapts its own limit within [SPIN_MIN, max]: doubled after a wait that ended while it
 * spun, halved after one that had to sleep. max is SPIN_MAX, or SPIN_OVERSUBSCRIBED when the threads
 * outnumber the cores (a spinning thread would hold the core a straggler needs). Contract: SPIN_MAX
 * loads last about the time a sleeping thread takes to wake (figures: docs/tuning-log.md, "pool barrier spin").
 */
export const SPIN_MIN = 64, SPIN_MAX = 16384, SPIN_OVERSUBSCRIBED = 256;
/** The initial spin limit of every thread. */
const SPIN_START = 2048;

/**
 * The worker script. It receives {type:'init', ctl, index, module}, then {type:'plan', id, memory,
 * ops, counters} per plan (instantiates the module on the plan's memory), {type:'drop', id} when a
 * plan is evicted (forgets the instance and the memory), {type:'plans'} (answers the ids it holds),
 * and waits for runs on ctl[GEN] with Atomics.waitAsync, so messages still arrive between runs.
 */
export const WORKER_SOURCE = `
'use strict';
const nodePort = typeof require === 'function' ? require('node:worker_threads').parentPort : null;
const post = (m) => (nodePort ? nodePort.postMessage(m) : self.postMessage(m));
let ctl = null, mail = null, stats = null, index = 0, threads = 2, module = null, seen = 0, spin = ${SPIN_START}, spinMax = ${SPIN_MAX};
// Messages read (the pool's mailbox word counts those posted), and whether idle() is queued.
let received = 0, queued = false;
const plans = new Map();
// Ids of dropped plans: a worker can wake for a run after it ended (the other threads did every
// part) and after its plan was dropped; that run is over, there is nothing to do.
const dropped = new Set();
function fail(err) {
  Atomics.store(ctl, ${ERR}, index + 1);
  Atomics.notify(ctl, ${GEN});
  for (const p of plans.values()) for (let i = 0; i < p.cnt.length; i += ${LINE_WORDS}) Atomics.notify(p.cnt, i);
  post({ type: 'error', message: String(err && err.message || err), stack: String(err && err.stack || '') });
}
// Waits until cnt[di] counts n parts of this run; false when the run is over for this thread
// (another run's tag, an error, a stop or a cancel).
function barrier(cnt, di, n, tag, gen) {
  let spins = 0;
  for (;;) {
    const d = Atomics.load(cnt, di);
    if ((d & ${TAG_MASK}) !== tag) return false;
    if ((d & ${COUNT_MASK}) >= n) {
      if (spins > 0) spin = spins < spin ? Math.min(spinMax, spin * 2) : Math.max(${SPIN_MIN}, spin >> 1);
      return true;
    }
    if (Atomics.load(ctl, ${ERR}) !== 0 || Atomics.load(ctl, ${STOP}) !== 0 || Atomics.load(ctl, ${CANCEL}) === gen) return false;
    if (++spins < spin) continue;
    stats[index * ${LINE_WORDS} + 1]++;
    Atomics.wait(cnt, di, d, 50);
  }
}
function runPlan(p, tag, gen) {
  // Counters carry the run's tag in their high bits: a thread still in an older run (descheduled)
  // sees another tag and leaves instead of taking parts whose inputs are not ready.
  const ops = p.ops, act = p.act, cnt = p.cnt, ex = p.ex, slot = index + 1, mine = index * ${LINE_WORDS};
  const stride = (threads + 1) * ${LINE_WORDS}, doneAt = threads * ${LINE_WORDS};
  let ready = 0; // ops before this one are known done
  for (let i = 0; i < ops.length; i++) {
    const a = act[i];
    if (slot >= a) continue;
    if (i > ready) {
      if (!barrier(cnt, stride * (i - 1) + doneAt, ops[i - 1].length, tag, gen)) return;
      ready = i;
    }
    const parts = ops[i], n = parts.length, base = stride * i, di = base + doneAt;
    // The home chunk first, then the chunks of the following slots (stealing); chunk v is
    // homeChunk(n, a, v), computed inline (this script cannot import).
    for (let k = 0; k < a; k++) {
      const v = slot + k < a ? slot + k : slot + k - a, lo = Math.floor((n * v) / a), len = Math.floor((n * (v + 1)) / a) - lo;
      const ti = base + v * ${LINE_WORDS};
      for (;;) {
        const c = Atomics.load(cnt, ti);
        if ((c & ${TAG_MASK}) !== tag || Atomics.load(ctl, ${CANCEL}) === gen) return;
        const j = c & ${COUNT_MASK};
        if (j >= len) break;
        if (Atomics.compareExchange(cnt, ti, c, c + 1) !== c) continue;
        const call = parts[lo + j];
        ex[call[0]].apply(null, call[1]);
        stats[mine]++;
        if (Atomics.add(cnt, di, 1) + 1 === (tag | n)) Atomics.notify(cnt, di);
      }
    }
  }
}
// Runs every generation the main thread starts, blocking in Atomics.wait between them (after
// spinning up to spinMax loads: back-to-back runs start without a futex wake). Returns to the event
// loop when a message is pending (onMessage queues it again) or the pool stops.
function idle() {
  queued = false;
  for (;;) {
    if (Atomics.load(ctl, ${STOP}) !== 0) return;
    const g = Atomics.load(ctl, ${GEN});
    if (g !== seen) {
      seen = g;
      if (Atomics.load(ctl, ${ERR}) !== 0) continue;
      const id = Atomics.load(ctl, ${PLAN}), p = plans.get(id);
      try {
        if (p) runPlan(p, (seen & ${TAG_BITS}) << 16, seen);
        else if (!dropped.has(id)) throw new Error('unknown plan ' + id);
      } catch (err) {
        fail(err);
      }
      continue;
    }
    if (Atomics.load(mail, index * ${LINE_WORDS}) !== received) return;
    let spins = 0;
    while (Atomics.load(ctl, ${GEN}) === g && ++spins < spinMax);
    if (spins >= spinMax) Atomics.wait(ctl, ${GEN}, g, 1000);
  }
}
function queue() {
  if (queued) return;
  queued = true;
  queueMicrotask(idle);
}
function onMessage(m) {
  try {
    if (m.type === 'init') {
      ctl = new Int32Array(m.ctl); mail = new Int32Array(m.mail); stats = new Int32Array(m.stats); index = m.index; threads = m.threads; module = m.module; seen = Atomics.load(ctl, ${GEN});
      spinMax = m.spinMax; spin = Math.min(spin, spinMax);
      post({ type: 'ready' });
    } else if (m.type === 'plan') {
      const abort = () => { throw new Error('kernel module aborted'); };
      const inst = new WebAssembly.Instance(module, { env: { memory: m.memory, abort } });
      plans.set(m.id, { ex: inst.exports, ops: m.ops, act: m.active, cnt: new Int32Array(m.counters) });
      post({ type: 'plan-ready', id: m.id });
    } else if (m.type === 'drop') {
      plans.delete(m.id); // the instance, and with it the plan's memory, can now be collected
      dropped.add(m.id);
    } else if (m.type === 'plans') {
      post({ type: 'plans', ids: [...plans.keys()] });
    } else if (m.type === 'fail-next') {
      // Test hook, outside the hot loop: every plan's exports are swapped for functions that
      // restore the real ones and throw, so the next part this worker takes fails.
      const saved = [...plans.values()].map((p) => [p, p.ex]);
      const restore = () => { for (const [p, ex] of saved) p.ex = ex; };
      for (const [p, ex] of saved) {
        const failing = {};
        for (const k of Object.keys(ex)) {
          failing[k] = typeof ex[k] !== 'function' ? ex[k] : () => { restore(); throw new Error('injected worker failure (test)'); };
        }
        p.ex = failing;
      }
      post({ type: 'fail-armed' });
    }
  } catch (err) {
    post({ type: 'error', message: String(err && err.message || err), stack: String(err && err.stack || '') });
  }
  if (ctl) {
    if (m.type !== 'init') received++;
    queue();
  }
}
if (nodePort) nodePort.on('message', onMessage); else self.onmessage = (e) => onMessage(e.data);
`;

/** True when this engine can share a WebAssembly.Memory between threads. */
export function sharedMemorySupported(): boolean {
  try {
    if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined' || typeof atomicsWaitAsync() !== 'function') return false;
    const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
    if (g.window !== undefined && g.crossOriginIsolated === false) return false; // browsers need COOP/COEP
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** Node: worker_threads (imported lazily; workers are unref'd so a process exits by itself). */
export async function nodeWorkerAdapter(): Promise<WorkerAdapter | undefined> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node || (globalThis as { Deno?: unknown }).Deno !== undefined) return undefined;
  const wt = await import(/* webpackIgnore: true */ 'node:worker_threads');
  return {
    name: 'worker_threads',
    spawn(source: string): PoolWorker {
      // The script is CommonJS: drop an inherited --input-type (e.g. a parent run with `node --input-type=module -e`).
      const argv = (globalThis as unknown as { process: { execArgv: string[] } }).process.execArgv;
      const execArgv = argv.filter((v, i) => !v.startsWith('--input-type') && argv[i - 1] !== '--input-type');
      let w: InstanceType<typeof wt.Worker>;
      try {
        w = new wt.Worker(source, { eval: true, execArgv });
      } catch (err) {
        // Some process flags (e.g. --expose-gc) are not valid for workers; the kernels need none.
        if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
        w = new wt.Worker(source, { eval: true, execArgv: [] });
      }
      return {
        postMessage: (m) => w.postMessage(m),
        listen(onMessage, onFailure) {
          w.on('message', onMessage);
          w.on('error', (e: Error) => onFailure(e));
          w.on('exit', (code: number) => onFailure(new Error(`worker exited (code ${code})`)));
          w.unref(); // after the listeners (attaching a 'message' listener refs the worker again)
        },
        terminate: () => { void w.terminate(); },
        ref: () => w.ref(),
        unref: () => w.unref(),
      };
    },
  };
}

type WebWorkerClass = new (url: string, options: { type: string }) => Worker;

/** globalThis.Worker as it was when this module was evaluated (see webWorkerAdapter). */
const workerAtLoad = (globalThis as { Worker?: WebWorkerClass }).Worker;

/**
 * True when `W` is node:worker_threads' Worker (Deno: NodeWorker, which takes a file path, not a
 * blob: URL). Asked through process.getBuiltinModule, so nothing is imported (browsers have no process).
 */
function isNodeWorkerClass(W: unknown): boolean {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => { Worker?: unknown } | undefined } }).process;
  try {
    return typeof proc?.getBuiltinModule === 'function' && proc.getBuiltinModule('node:worker_threads')?.Worker === W;
  } catch {
    return false;
  }
}

/**
 * The Web Worker class to spawn with. Contract: globalThis.Worker, unless it is node:worker_threads'
 * Worker, which some libraries assign to globalThis.Worker where they see a `process` global (Deno 2
 * has one): onnxruntime-web's Emscripten glue runs `global.Worker = require('worker_threads').Worker`
 * whenever it starts, so in Deno a pool made after it ran got NodeWorker, whose constructor rejects
 * the blob: URL (ERR_WORKER_PATH) and the session fell back to 1 thread. Then the Web Worker class
 * captured when this module was evaluated is used (Deno's own, if edgeq was imported before the
 * other library started); undefined when there is none (the pool says why, once).
 */
function webWorkerClass(): WebWorkerClass | undefined {
  const current = (globalThis as { Worker?: WebWorkerClass }).Worker;
  if (typeof current === 'function' && !isNodeWorkerClass(current)) return current;
  if (typeof workerAtLoad === 'function' && !isNodeWorkerClass(workerAtLoad)) return workerAtLoad;
  return undefined;
}

/** Browsers and Deno: module Web Workers from a Blob URL (needs crossOriginIsolated in browsers). */
export function webWorkerAdapter(): WorkerAdapter | undefined {
  const g = globalThis as { Blob?: typeof Blob };
  const W = webWorkerClass();
  if (!W || typeof g.Blob !== 'function') return undefined;
  return {
    name: 'web-workers',
    spawn(source: string): PoolWorker {
      const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      // A module worker (Deno has only those; the script needs no import and runs as either).
      const w = new W(url, { type: 'module' });
      return {
        postMessage: (m) => w.postMessage(m),
        listen(onMessage, onFailure) {
          w.onmessage = (e: MessageEvent) => onMessage(e.data);
          w.onerror = (e: ErrorEvent) => onFailure(new Error(e.message || 'worker error'));
        },
        terminate: () => { w.terminate(); URL.revokeObjectURL(url); },
      };
    },
  };
}

/** A plan registered with a pool: its ops' kernel calls, active threads and the per-op counters. */
export interface PoolPlan {
  id: number;
  ops: KernelCall[][];
  /** Threads that take parts of op i (1..pool.threads, at most its part count): the main thread and workers 0..active[i] - 2. */
  active: Int32Array;
  /** Op i's take counters (one per active thread's home chunk) at opTake(threads, i, s), its parts done at opDone(threads, i). */
  counters: Int32Array;
}

type Msg = { type: string; id?: number; ids?: number[]; message?: string; stack?: string };

/** Logical cores: navigator.hardwareConcurrency, or os.availableParallelism() in Node 20. */
export async function coreCount(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    const os = await import(/* webpackIgnore: true */ 'node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  return 1;
}

/**
 * The most threads a session takes by default (Session.create's threads: 'auto'). Each op runs on
 * the threads its cost pays for (plan.ts, opThreads), so threads past what a model can use stay
 * idle; the cap keeps a default session from taking every core of a large machine. Measurements
 * behind the value: docs/tuning-log.md, "Default threads".
 */
export const DEFAULT_MAX_THREADS = 16;

/** The default thread count: min(logical cores, DEFAULT_MAX_THREADS). */
export async function defaultThreads(): Promise<number> {
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, await coreCount()));
}

export class ThreadPool {
  /** Threads including the calling (main) thread. */
  readonly threads: number;
  /** Logical cores of the machine (as the pool was made): the planner runs no op on more threads than these. */
  readonly cores: number;
  private readonly workers: PoolWorker[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * (CANCEL + 1)));
  /** Messages posted to worker w at mail[w * LINE_WORDS] (see the worker's idle loop). */
  private readonly mail: Int32Array;
  /** Per thread, one line: [0] parts executed, [1] barriers slept at (workers first, the main thread last). */
  private readonly stats: Int32Array;
  /** The main thread's adaptive spin limit (see SPIN_MIN) and its bound. */
  private spin = SPIN_START;
  private readonly spinMax: number;
  private nextPlan = 1;
  private failure: Error | undefined;
  private onFailure: (() => void)[] = [];
  private waiting = new Map<string, { need: number; got: number; resolve: () => void; reject: (e: Error) => void }>();
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;
  private busy = 0;
  private planIdReplies: number[][] = [];

  /** The shared-memory kernel build every thread instantiates. */
  readonly module: WebAssembly.Module;

  private constructor(threads: number, module: WebAssembly.Module, cores: number) {
    this.threads = threads;
    this.cores = Math.max(1, cores);
    this.module = module;
    this.stats = new Int32Array(new SharedArrayBuffer(4 * LINE_WORDS * threads));
    this.mail = new Int32Array(new SharedArrayBuffer(4 * LINE_WORDS * Math.max(1, threads - 1)));
    this.spinMax = threads > cores ? SPIN_OVERSUBSCRIBED : SPIN_MAX;
    this.spin = Math.min(SPIN_START, this.spinMax);
  }

  /** Workers keep the process alive only while the pool waits on them (create, addPlan, run). */
  private async hold<T>(f: () => Promise<T>): Promise<T> {
    if (this.busy++ === 0) for (const w of this.workers) w.ref?.();
    try {
      return await f();
    } finally {
      if (--this.busy === 0) for (const w of this.workers) w.unref?.();
    }
  }

  /**
   * Starts `threads - 1` workers (the caller's thread is the last one) and waits until they are
   * ready. `cores`: the logical cores (default coreCount()); more threads than cores bound every
   * thread's spin at SPIN_OVERSUBSCRIBED, and the planner gives no op more threads than cores.
   */
  static async create(threads: number, module: WebAssembly.Module, adapter: WorkerAdapter, timeoutMs = 30_000, cores?: number): Promise<ThreadPool> {
    const pool = new ThreadPool(threads, module, cores ?? await coreCount());
    const started = pool.expect('ready', threads - 1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = Promise.race([started, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EdgeqError('NOT_SUPPORTED', `worker threads did not start within ${timeoutMs} ms`)), timeoutMs);
    })]).finally(() => clearTimeout(timer));
    ready.catch(() => undefined); // awaited below unless spawning throws first
    try {
      for (let i = 0; i < threads - 1; i++) {
        const w = adapter.spawn(WORKER_SOURCE);
        pool.workers.push(w);
        w.listen((d) => pool.message(d as Msg), (e) => pool.fail(e));
        w.postMessage({ type: 'init', ctl: pool.ctl.buffer, mail: pool.mail.buffer, stats: pool.stats.buffer, index: i, threads, module, spinMax: pool.spinMax });
      }
      await pool.hold(() => ready);
    } catch (err) {
      pool.release();
      throw err;
    }
    return pool;
  }

  /**
   * Posts a message to every worker (or to worker `only`): its mailbox word counts it first, then a
   * notify wakes a worker blocked between runs, which leaves its wait to read the message.
   */
  private post(message: unknown, only?: number): void {
    this.workers.forEach((w, i) => {
      if (only !== undefined && i !== only) return;
      Atomics.add(this.mail, i * LINE_WORDS, 1);
      w.postMessage(message);
    });
    Atomics.notify(this.ctl, GEN);
  }

  private expect(key: string, need: number): Promise<void> {
    if (need === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.set(key, { need, got: 0, resolve, reject }));
  }

  private message(m: Msg): void {
    if (m.type === 'error') {
      this.fail(new EdgeqError('INTERNAL', `a worker thread failed: ${m.message}`));
      return;
    }
    if (m.type === 'plans' && m.ids) this.planIdReplies.push(m.ids);
    const key = m.type === 'plan-ready' ? `plan-ready:${m.id}` : m.type;
    const w = this.waiting.get(key);
    if (w && ++w.got === w.need) {
      this.waiting.delete(key);
      w.resolve();
    }
  }

  private fail(err: Error): void {
    if (this.released || this.failure) return;
    this.failure = err instanceof EdgeqError ? err : new EdgeqError('INTERNAL', `a worker thread failed: ${err.message}`, { cause: err });
    Atomics.store(this.ctl, ERR, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
    for (const f of this.onFailure) f();
  }

  /**
   * Instantiates the module on `memory` in every worker and registers the plan's calls. `active[i]`:
   * the threads op i runs on (default: every thread; clamped to 1..min(threads, parts)).
   */
  async addPlan(memory: WebAssembly.Memory, ops: KernelCall[][], active?: readonly number[]): Promise<PoolPlan> {
    this.check();
    if (ops.some((parts) => parts.length > COUNT_MASK)) throw new EdgeqError('INTERNAL', `an op has more than ${COUNT_MASK} parts`);
    const id = this.nextPlan++;
    const act = new Int32Array(ops.map((parts, i) => Math.max(1, Math.min(this.threads, parts.length, active?.[i] ?? this.threads))));
    const counters = new Int32Array(new SharedArrayBuffer(4 * counterWords(this.threads, ops.length)));
    const ready = this.expect(`plan-ready:${id}`, this.workers.length);
    const wire = ops.map((parts) => parts.map((c) => [c.fn, c.args]));
    this.post({ type: 'plan', id, memory, ops: wire, active: act, counters: counters.buffer });
    await this.hold(() => ready);
    return { id, ops, active: act, counters };
  }

  /**
   * Forgets a plan in the workers: each drops its instance, and so its reference to the plan's
   * memory, which can then be collected once the caller drops its own. Call it only between runs
   * of this plan (not while one is in flight), and do not run the plan again.
   */
  dropPlan(plan: PoolPlan): void {
    if (this.released || this.failure) return; // a failed pool runs nothing more; its workers may be gone
    this.post({ type: 'drop', id: plan.id });
  }

  /**
   * The plan ids each worker holds an instance for, asked by a message round trip (so every
   * dropPlan posted before is counted), in no particular worker order.
   */
  async workerPlanIds(): Promise<number[][]> {
    this.check();
    if (this.waiting.has('plans')) throw new EdgeqError('INTERNAL', 'workerPlanIds is already pending');
    this.planIdReplies = [];
    const answered = this.expect('plans', this.workers.length);
    this.post({ type: 'plans' });
    await this.hold(() => answered);
    return this.planIdReplies.map((r) => [...r].sort((a, b) => a - b));
  }

  private check(): void {
    if (this.released) throw new EdgeqError('RELEASED', 'the thread pool was released');
    if (this.failure) throw this.failure;
  }

  /**
   * Runs a plan on every thread, `k` being the caller's own instance on the plan's memory.
   * `before`/`after` run on the caller's thread around it (input and output copies). Runs are
   * serialized; a worker failure rejects with EdgeqError('INTERNAL') and breaks the pool.
   */
  run<T>(plan: PoolPlan, k: Kernels, before: () => void, after: () => T, between?: () => void): Promise<T> {
    const job = this.queue.then(async () => {
      this.check();
      before();
      await this.hold(() => this.execute(plan, k, between));
      return after();
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** `between` runs on the calling thread after each op; if it throws (an abort), the run is abandoned. */
  private async execute(plan: PoolPlan, k: Kernels, between?: () => void): Promise<void> {
    const { ops, active, counters: cnt } = plan;
    const ex = k.exports;
    const T = this.threads;
    const gen = (Atomics.load(this.ctl, GEN) + 1) | 0;
    const tag = (gen & TAG_BITS) << 16;
    for (let i = 0; i < ops.length; i++) {
      for (let s = 0; s < active[i]; s++) Atomics.store(cnt, opTake(T, i, s), tag);
      Atomics.store(cnt, opDone(T, i), tag);
    }
    Atomics.store(this.ctl, PLAN, plan.id);
    Atomics.store(this.ctl, GEN, gen);
    // Workers wake only for a plan that has work for them (one whose ops all run on 1 thread does
    // not); a worker that was not woken sees the new generation at its next wake and leaves at once.
    if (active.some((a) => a > 1)) Atomics.notify(this.ctl, GEN);
    const mine = LINE_WORDS * this.workers.length;
    for (let i = 0; i < ops.length; i++) {
      const parts = ops[i], n = parts.length, a = active[i], di = opDone(T, i);
      // Slot 0's home chunk first, then the others' (stealing).
      for (let s = 0; s < a; s++) {
        const [lo, hi] = homeChunk(n, a, s), ti = opTake(T, i, s);
        for (;;) {
          const v = Atomics.load(cnt, ti);
          const j = v & COUNT_MASK;
          if (lo + j >= hi) break;
          if (Atomics.compareExchange(cnt, ti, v, v + 1) !== v) continue;
          invokeKernelCall(ex, parts[lo + j]);
          this.stats[mine]++;
          if (Atomics.add(cnt, di, 1) + 1 === (tag | n)) Atomics.notify(cnt, di);
        }
      }
      let spins = 0, slept = false;
      for (;;) {
        const d = Atomics.load(cnt, di);
        if ((d & COUNT_MASK) >= n) break;
        if (this.failure) throw this.failure;
        if (++spins < this.spin) continue;
        if (!slept) this.stats[mine + 1]++;
        slept = true;
        await this.sleep(cnt, di, d);
      }
      if (spins > 0) this.spin = slept ? Math.max(SPIN_MIN, this.spin >> 1) : Math.min(this.spinMax, this.spin * 2);
      if (between) {
        try {
          between();
        } catch (err) {
          Atomics.store(this.ctl, CANCEL, gen);
          for (let j = 0; j < cnt.length; j += LINE_WORDS) Atomics.notify(cnt, j);
          throw err;
        }
      }
    }
    if (this.failure) throw this.failure;
  }

  /** Waits until cnt[i] changes from `v` (or 20 ms pass, or a worker fails), letting events through. */
  private sleep(cnt: Int32Array, i: number, v: number): Promise<void> {
    const r = atomicsWaitAsync()!(cnt, i, v, 20);
    if (!r.async) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => { this.onFailure = this.onFailure.filter((f) => f !== done); resolve(); };
      this.onFailure.push(done);
      void r.value.then(done);
    });
  }

  /** Parts each thread has executed so far (workers first, the calling thread last). */
  partCounts(): number[] {
    return Array.from({ length: this.threads }, (_, t) => Atomics.load(this.stats, LINE_WORDS * t));
  }

  /** Op barriers at which each thread slept (outspun its spin limit) so far (workers first, the calling thread last). */
  sleepCounts(): number[] {
    return Array.from({ length: this.threads }, (_, t) => Atomics.load(this.stats, LINE_WORDS * t + 1));
  }

  /** Test hook: the next part a worker takes throws inside the worker. */
  async injectWorkerFailure(worker = 0): Promise<void> {
    const armed = this.expect('fail-armed', 1);
    this.post({ type: 'fail-next' }, worker);
    await armed;
  }

  /** Test hook: a worker disappears (as if it crashed). */
  killWorker(worker = 0): void {
    this.workers[worker].terminate();
  }

  /** Stops and terminates the workers. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.terminate();
    for (const w of this.waiting.values()) w.reject(new EdgeqError('RELEASED', 'the thread pool was released'));
    this.waiting.clear();
  }
}

const KERNEL_WASM_SIMD_MT = 'edgeq-simd-mt.wasm';
const KERNEL_WASM_RELAXED_MT = 'edgeq-relaxed-mt.wasm';
const mtModules = new Map<string, Promise<WebAssembly.Module>>();

/**
 * The shared-memory SIMD build (build/edgeq-simd-mt.wasm beside the package), or with `relaxed`
 * its relaxed-SIMD twin (edgeq-relaxed-mt.wasm), compiled once per process.
 */
export function threadedKernelModule(relaxed = false): Promise<WebAssembly.Module> {
  const file = relaxed ? KERNEL_WASM_RELAXED_MT : KERNEL_WASM_SIMD_MT;
  let mtModule = mtModules.get(file);
  if (!mtModule) {
    mtModule = (async () => {
      const { kernelModule } = await import('./wasm-source.js');
      const errors: string[] = [];
      for (const rel of ['../../build/', '../../../build/']) {
        try {
          return await kernelModule('simd', new URL(rel + file, import.meta.url));
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      throw new EdgeqError('NOT_SUPPORTED', `the threaded kernel build ${file} was not found (run \`npm run build:wasm\`): ${errors.join('; ')}`);
    })();
    mtModule.catch(() => { mtModules.delete(file); });
    mtModules.set(file, mtModule);
  }
  return mtModule;
}

const said = new Set<string>();

/** Says once per process (per reason) why a session runs on 1 thread although more were asked for. */
export function warnSingleThread(why: string): void {
  if (said.has(why)) return;
  said.add(why);
  console.warn(`edgeq: running on 1 thread: ${why}`);
}

/**
 * A pool for `threads` threads, or undefined (one thread) when threads are 1, the engine cannot
 * share memory, or no worker adapter fits; an explicit request that cannot be met is said once
 * (warnSingleThread). `module` is the shared-memory build to use (default: threadedKernelModule()).
 */
export async function createPool(threads: number, explicit: boolean, adapter?: WorkerAdapter, module?: WebAssembly.Module): Promise<ThreadPool | undefined> {
  if (threads <= 1) return undefined;
  const why = !sharedMemorySupported() ? 'this engine cannot share WebAssembly memory (browsers need crossOriginIsolated)' : undefined;
  const a = why ? undefined : adapter ?? (await nodeWorkerAdapter()) ?? webWorkerAdapter();
  if (!a) {
    const replaced = isNodeWorkerClass((globalThis as { Worker?: unknown }).Worker) && (globalThis as { Deno?: unknown }).Deno !== undefined;
    if (explicit) warnSingleThread(why ?? (replaced
      ? "globalThis.Worker is node:worker_threads' Worker (another library replaced Deno's Web Worker before edgeq was imported; import edgeq first)"
      : 'no worker implementation available'));
    return undefined;
  }
  try {
    return await ThreadPool.create(threads, module ?? await threadedKernelModule(), a);
  } catch (err) {
    // e.g. a content security policy that forbids blob: workers, or the threaded build missing
    if (explicit) warnSingleThread(`cannot start ${a.name} workers: ${(err as Error).message}`);
    return undefined;
  }
}
