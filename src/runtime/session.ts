// The public inference API, shaped like onnxruntime-web's InferenceSession:
//   const session = await Session.create(bytesOrPath, options);
//   const { logits } = await session.run({ input: x });   // feeds in, every output by name out
//   const first = await session.run(x);                    // a Float32Array in, the first output out
//   session.release();
import { EdgeqError } from '../errors.js';
import { readEdgeq } from '../format/reader.js';
import type { QModel } from '../format/qmodel.js';
import { detectSimd } from '../kernels/wasm.js';
import { probeRelaxedDot, type RelaxedDotVerdict } from '../kernels/relaxed-probe.js';
import { relaxedSelfCheck } from '../kernels/relaxed-check.js';
import type { RelaxedDotMode } from '../kernels/relaxed.js';
import { preprocess, preprocessPixels } from '../image/preprocess.js';
import { cropSize, IMAGENET, specChannels } from '../image/spec.js';
import type { ImageDataLike, RawImage } from '../image/types.js';
import { loadImage, type ImageSource } from '../image/load.js';
import { buildPlan, type ExecutionPlan } from './plan.js';
import { createPool, defaultThreads, threadedKernelModule, warnSingleThread, type ThreadPool } from './pool.js';
import { OpProfile, profileFromEnv, formatProfile, type ProfileRow } from './profile.js';
import { outputsProbabilities, topClasses, type Classification } from './postprocess.js';
import { dequantizeOutput, writeInput } from './io.js';
import { kernelModule, type KernelBuild, type WasmSource } from './wasm-source.js';
import { readBytes } from './read-bytes.js';

export interface SessionOptions {
  /**
   * Kernel build: 'auto' (relaxed where exact, else SIMD when the engine validates it, else
   * scalar), 'relaxed' (SIMD + relaxed SIMD: needs an exact relaxed dot, see probeRelaxedDot(), and
   * the build's self-check; else NOT_SUPPORTED), 'simd' or 'scalar'. Default 'auto'. Every
   * backend gives the same output bytes.
   */
  backend?: 'auto' | 'relaxed' | 'simd' | 'scalar';
  /**
   * Threads (the calling thread plus threads - 1 workers over one shared memory), 1 to 64, or
   * 'auto' (the default): defaultThreads(), i.e. min(logical cores, DEFAULT_MAX_THREADS), with the
   * SIMD build where memory can be shared (and `wasm`, if given, is the per-build form), else 1.
   * Each op runs on as many of them as its size pays for (small layers on fewer). An explicit
   * number > 1 that cannot be honoured says why once (console.warn) and runs on 1 thread (see
   * README, Performance).
   */
  threads?: number | 'auto';
  /**
   * Where the kernel builds come from instead of the files beside the package (build/), for
   * bundlers and extensions. Either one source (bytes, a compiled module, a URL or a path): the
   * single-thread build the backend picks (edgeq-simd.wasm or edgeq-scalar.wasm); the session then
   * runs on 1 thread (an explicit `threads` > 1 says why once with console.warn). Or
   * `{ simd?, simdThreaded?, scalar?, relaxed?, relaxedThreaded? }` (WasmSources): edgeq-simd.wasm,
   * edgeq-simd-mt.wasm, edgeq-scalar.wasm, edgeq-relaxed.wasm and edgeq-relaxed-mt.wasm; a build left
   * out is looked for beside the package, as without `wasm`. Default: the bundled files.
   */
  wasm?: WasmSource | WasmSources;
  /** Skip the per-section checksums of the model file (the header is always verified). Default false. */
  skipChecksums?: boolean;
  /**
   * Exact Winograd F(2x2, 3x3) for stride-1 3x3 convolutions (bit-exact with the direct kernels):
   * 'auto' (default) within a memory budget for its int16 weights of 40% of the model's weight bytes
   * (at least 2.5 MiB; ResNet-50: layers 1-3, +8.9 MB), 'all' (every eligible layer: ResNet-50 +21 MB), 'off'.
   */
  winograd?: 'auto' | 'all' | 'off';
  /**
   * Execution plans (each a WebAssembly.Memory with its own copy of the weights, plus its worker
   * instances) kept between runs: the batch-1 plan, made at create, always; other batch sizes,
   * made by the first run of that size, least recently used first out. An evicted size is planned
   * again by its next run (slower that once, same outputs). An integer >= 1; default 2 (batch 1 and
   * the latest other batch size). While a run of a new batch size executes with 1, two are held.
   */
  maxCachedPlans?: number;
  /**
   * Records the wall time of every op of every run, read with session.profile(). Default: false,
   * or true when the environment variable EDGEQ_PROFILE is set and not '0' (those sessions also
   * print formatProfile()'s table to stderr when the process exits).
   */
  profile?: boolean;
  /** Run the kernels once at create (session.warmup()), so the first real run gets the warm time. Default false. */
  warmup?: boolean;
  /**
   * With threads > 1: the least modelled saving per run, in microseconds, for which a plan uses the
   * worker pool; a smaller model runs on the calling thread alone, as waking the workers costs it
   * more than they save (session.threadsUsed says which). Default 250 (MIN_THREAD_SAVING_NS), or
   * the environment variable EDGEQ_MIN_THREAD_SAVING_US; 0: every plan uses the pool.
   */
  minThreadSavingUs?: number;
}

/** Per-build kernel sources (see SessionOptions.wasm). */
export interface WasmSources {
  /** edgeq-simd.wasm, the single-thread SIMD build. */
  simd?: WasmSource;
  /** edgeq-simd-mt.wasm, the shared-memory SIMD build that threads > 1 need. */
  simdThreaded?: WasmSource;
  /** edgeq-scalar.wasm, for engines without WebAssembly SIMD. */
  scalar?: WasmSource;
  /** edgeq-relaxed.wasm, the single-thread relaxed-SIMD build (backend 'relaxed', or 'auto' where exact). */
  relaxed?: WasmSource;
  /** edgeq-relaxed-mt.wasm, its shared-memory twin for threads > 1. */
  relaxedThreaded?: WasmSource;
}

const OPTION_NAMES = ['backend', 'threads', 'wasm', 'skipChecksums', 'winograd', 'maxCachedPlans', 'profile', 'warmup', 'minThreadSavingUs'] as const;
const WASM_KEYS = ['simd', 'simdThreaded', 'scalar', 'relaxed', 'relaxedThreaded'] as const;

const isSource = (v: unknown): v is WasmSource =>
  typeof v === 'string' || v instanceof URL || v instanceof WebAssembly.Module || v instanceof ArrayBuffer || ArrayBuffer.isView(v)
  || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer);

/** options.wasm as per-build sources: undefined for one source (the single-thread build). */
function wasmSources(wasm: SessionOptions['wasm']): WasmSources | undefined {
  if (wasm === undefined) return {};
  if (isSource(wasm)) return undefined;
  if (typeof wasm !== 'object' || wasm === null) throw new EdgeqError('BAD_OPTION', `wasm must be bytes, a WebAssembly.Module, a URL, a path or { ${WASM_KEYS.join(', ')} }`);
  for (const [key, v] of Object.entries(wasm)) {
    if (!(WASM_KEYS as readonly string[]).includes(key)) throw new EdgeqError('BAD_OPTION', `unknown wasm build "${key}" (valid: ${WASM_KEYS.join(', ')})`);
    if (v !== undefined && !isSource(v)) throw new EdgeqError('BAD_OPTION', `wasm.${key} must be bytes, a WebAssembly.Module, a URL or a path`);
  }
  return wasm as WasmSources;
}

/** Profiles enabled by EDGEQ_PROFILE (not by the option) print their table at process exit. */
const envProfiles: OpProfile[] = [];
function printAtExit(p: OpProfile): void {
  if (envProfiles.push(p) > 1) return;
  const proc = (globalThis as { process?: { on?(e: string, f: () => void): void } }).process;
  proc?.on?.('exit', () => {
    for (const q of envProfiles) {
      const rows = q.rows();
      if (rows.length) console.error(formatProfile(rows));
    }
  });
}

export type { Classification } from './postprocess.js';

/** Runs warmup() makes. */
const WARMUP_RUNS = 2;

/**
 * A run's input: float32 NCHW values (quantized by the runtime), a decoded image, feeds, or a
 * Uint8Array of the uint8 input tensor's own integers in NHWC order (copied in as they are: the
 * pixels a TFLite uint8 model takes).
 */
export type SessionInput = Float32Array | Uint8Array | RawImage | ImageDataLike | InputFeeds;

/** onnxruntime-web-style feeds: the model's input name to its tensor (a Float32Array, or { data, dims } as an ort.Tensor has). */
export type InputFeeds = Record<string, Float32Array | { data: Float32Array; dims?: readonly number[] }>;

/** Feeds (a plain object of tensors), not an image or a Float32Array. */
function isFeeds(v: unknown): v is InputFeeds {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !('width' in v && 'height' in v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Decoded pixels (a RawImage or an ImageData): an object with width, height and data. */
function isImageLike(v: unknown): v is RawImage | ImageDataLike {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && 'width' in v && 'height' in v && 'data' in v;
}

/** One image for classify(): anything loadImage() takes, or one preprocessed Float32Array (NCHW). */
export type ClassifyInput = ImageSource | Float32Array;

/**
 * Options of classify(): `topK` (default 5), `output` (the output name whose values are the class
 * logits; default the model's first output, session.outputNames[0]; the model's labels name the first
 * output's values, another output's classes are `class <index>`) and run()'s `signal`.
 */
export type ClassifyOptions = { topK?: number; output?: string } & Pick<RunOptions, 'signal'>;

/** One output of run(feeds) or runTensor(), shaped like an onnxruntime-web Tensor. */
export interface OutputTensor {
  /** The output's name (one of session.outputNames). */
  name: string;
  type: 'float32';
  /** ONNX layout, batch first: [N, C] for a vector output, [N, C, H, W] for a feature map. */
  dims: number[];
  data: Float32Array;
}

/** Options of one run() or classify() call. */
export interface RunOptions {
  /**
   * The outputs to return, by name (onnxruntime-web's `fetches`; the whole graph runs either way): run(feeds) returns
   * these entries; run(Float32Array | image) and runTensor() return the first one. Default: every
   * output (session.outputNames). A name the model lacks is EdgeqError('BAD_OPTION') naming it.
   */
  fetches?: readonly string[];
  /**
   * Cancels the run: checked when the call is made, when its turn in the session's queue comes and
   * between ops. An aborted run rejects with EdgeqError('ABORTED') (its `cause` is the signal's
   * reason), at once if it was still queued or executing on worker threads (that work completes
   * and is dropped); a single-threaded run stops at the next op boundary.
   */
  signal?: AbortSignal;
}

/** The run options checked: the signal, and the indices (into `outputNames`) of the outputs to return. */
function checkRunOptions(options: RunOptions, outputNames: readonly string[]): { signal: AbortSignal | undefined; fetch: number[] } {
  if (typeof options !== 'object' || options === null) throw new EdgeqError('BAD_OPTION', 'run options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'signal' && key !== 'fetches') throw new EdgeqError('BAD_OPTION', `unknown run option "${key}" (valid: fetches, signal)`);
  }
  const { signal, fetches } = options;
  let fetch = outputNames.map((_, i) => i);
  if (fetches !== undefined) {
    if (!Array.isArray(fetches) || fetches.length === 0) throw new EdgeqError('BAD_OPTION', `fetches must be a non-empty array of output names (valid: ${outputNames.map((n) => JSON.stringify(n)).join(', ')})`);
    fetch = fetches.map((name) => {
      const i = outputNames.indexOf(name);
      if (i < 0) throw new EdgeqError('BAD_OPTION', `fetches: the model has no output ${JSON.stringify(name)} (outputs: ${outputNames.map((n) => JSON.stringify(n)).join(', ')})`);
      return i;
    });
    if (new Set(fetch).size !== fetch.length) throw new EdgeqError('BAD_OPTION', `fetches names an output twice: ${JSON.stringify(fetches)}`);
  }
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function')) {
    throw new EdgeqError('BAD_OPTION', 'signal must be an AbortSignal');
  }
  return { signal, fetch };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EdgeqError('ABORTED', 'the run was aborted', { cause: signal.reason });
}

function checkOptions(options: SessionOptions): Required<Pick<SessionOptions, 'backend' | 'maxCachedPlans'>> & { threads: number } {
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new EdgeqError('BAD_OPTION', `unknown session option "${key}" (valid: ${OPTION_NAMES.join(', ')})`);
    }
  }
  if (options.winograd !== undefined && !['auto', 'all', 'off'].includes(options.winograd)) {
    throw new EdgeqError('BAD_OPTION', `winograd must be 'auto', 'all' or 'off', got ${JSON.stringify(options.winograd)}`);
  }
  const backend = options.backend ?? 'auto';
  if (!['auto', 'relaxed', 'simd', 'scalar'].includes(backend)) throw new EdgeqError('BAD_OPTION', `backend must be 'auto', 'relaxed', 'simd' or 'scalar', got ${JSON.stringify(backend)}`);
  const threads = options.threads === undefined || options.threads === 'auto' ? 0 : options.threads; // 0: the default, decided at create
  if (!(Number.isInteger(threads) && threads >= 0 && threads <= 64) || options.threads === 0) {
    throw new EdgeqError('BAD_OPTION', `threads must be 'auto' or an integer from 1 to 64, got ${JSON.stringify(options.threads)}`);
  }
  const minSavingUs = options.minThreadSavingUs;
  if (minSavingUs !== undefined && !(typeof minSavingUs === 'number' && minSavingUs >= 0)) {
    throw new EdgeqError('BAD_OPTION', `minThreadSavingUs must be a number of microseconds >= 0, got ${JSON.stringify(minSavingUs)}`);
  }
  const maxCachedPlans = options.maxCachedPlans === undefined ? 2 : options.maxCachedPlans;
  if (!(Number.isInteger(maxCachedPlans) && maxCachedPlans >= 1)) {
    throw new EdgeqError('BAD_OPTION', `maxCachedPlans must be an integer >= 1, got ${JSON.stringify(options.maxCachedPlans)}`);
  }
  for (const key of ['profile', 'warmup', 'skipChecksums'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new EdgeqError('BAD_OPTION', `${key} must be true or false, got ${JSON.stringify(options[key])}`);
    }
  }
  return { backend, threads, maxCachedPlans };
}

const selfChecks = new WeakMap<WebAssembly.Module, Map<RelaxedDotMode, Promise<boolean>>>();

/**
 * The relaxed build for a probe verdict, once it passes relaxedSelfCheck() (cached per module and
 * lowering); otherwise why not, as a string.
 */
async function relaxedBuild(verdict: RelaxedDotVerdict, source: WasmSource | undefined): Promise<WebAssembly.Module | string> {
  if (verdict === 'none') return 'the probe found it saturating, inconsistent or absent';
  let module: WebAssembly.Module;
  try {
    module = await kernelModule('relaxed', source);
  } catch (err) {
    return (err as Error).message;
  }
  let byMode = selfChecks.get(module);
  if (!byMode) selfChecks.set(module, (byMode = new Map()));
  let check = byMode.get(verdict);
  if (!check) byMode.set(verdict, (check = relaxedSelfCheck(module, verdict).catch(() => false)));
  return (await check) ? module : `the relaxed build failed its self-check in the ${verdict} lowering`;
}

export class Session {
  /** The model's header (graph, quantization parameters, preprocessing, labels). */
  readonly model: QModel;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The kernel build in use. */
  readonly backend: KernelBuild;
  private readonly module: WebAssembly.Module;
  /** Plans by batch size, least recently used first (Map order); batch 1 is never evicted. */
  private readonly plans = new Map<number, Promise<ExecutionPlan>>();
  private maxCachedPlans = 2;
  private prof: OpProfile | undefined;
  private released = false;
  private pool: ThreadPool | undefined;
  private winograd: 'auto' | 'all' | 'off' = 'auto';
  private minThreadSavingNs: number | undefined;
  /** Whether the batch-1 plan runs on the pool (false: on the calling thread; see minThreadSavingUs). */
  private pooled = false;
  /** Settles when every run queued so far has finished (runs never overlap: they share the memory). */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;

  /** Threads the session runs on (1 when no pool could be made). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /**
   * Threads a batch-1 run uses: `threads`, or 1 where the model is too small to pay for waking the
   * workers (SessionOptions.minThreadSavingUs).
   */
  get threadsUsed(): number {
    return this.pooled ? this.threads : 1;
  }

  /**
   * The engine's relaxed dot as probeRelaxedDot() classified it ('u8xs8', 's8xs8' or 'none');
   * undefined where it was not probed (backend 'simd' or 'scalar', or one options.wasm source).
   * backend is 'relaxed' only when this is exact and the relaxed build passed its self-check.
   */
  readonly relaxedDot: RelaxedDotVerdict | undefined;

  private constructor(model: QModel, module: WebAssembly.Module, backend: KernelBuild, relaxedDot: RelaxedDotVerdict | undefined) {
    this.model = model;
    this.module = module;
    this.backend = backend;
    this.relaxedDot = relaxedDot;
    this.inputNames = [model.input.name];
    this.outputNames = model.outputs.map((o) => o.name);
  }

  /** Loads an .edgeq model from bytes, or from a path (Node, Deno) or URL. */
  static async create(model: Uint8Array | ArrayBuffer | string | URL, options: SessionOptions = {}): Promise<Session> {
    const { backend, threads: asked, maxCachedPlans } = checkOptions(options);
    const sources = wasmSources(options.wasm);
    const name = typeof model === 'string' || model instanceof URL ? String(model) : undefined;
    const bytes = model instanceof Uint8Array ? model : model instanceof ArrayBuffer ? new Uint8Array(model) : await readBytes(model);
    const qmodel = readEdgeq(bytes, { fileName: name, skipSectionChecksums: options.skipChecksums });
    let build: KernelBuild = backend === 'auto' ? (detectSimd() ? 'simd' : 'scalar') : backend === 'relaxed' ? 'simd' : backend;
    if (build === 'simd' && !detectSimd()) throw new EdgeqError('NOT_SUPPORTED', `this engine has no WebAssembly SIMD; use backend "scalar" or "auto"`);
    // Relaxed: probed where asked, or by 'auto' with the per-build sources (not one options.wasm build).
    let relaxedDot: RelaxedDotVerdict | undefined;
    let relaxedModule: WebAssembly.Module | undefined;
    if (backend === 'relaxed' || (backend === 'auto' && build === 'simd' && sources !== undefined)) {
      relaxedDot = probeRelaxedDot();
      const r = await relaxedBuild(relaxedDot, sources === undefined ? options.wasm as WasmSource : sources.relaxed);
      if (typeof r === 'string') {
        if (backend === 'relaxed') throw new EdgeqError('NOT_SUPPORTED', `backend 'relaxed' needs an exact relaxed dot (probe verdict '${relaxedDot}'): ${r}; use backend "simd" or "auto"`);
      } else {
        relaxedModule = r;
        build = 'relaxed';
      }
    }
    let threads = 1;
    if (build === 'scalar') {
      if (asked > 1) warnSingleThread('threads need the SIMD build (this session uses the scalar one)');
    } else if (sources === undefined) {
      if (asked > 1) warnSingleThread('options.wasm is one single-thread build; pass { simd, simdThreaded } to keep threads');
    } else {
      threads = asked || await defaultThreads();
    }
    let mt: WebAssembly.Module | undefined;
    if (threads > 1 && build === 'relaxed') {
      mt = sources?.relaxedThreaded !== undefined ? await kernelModule('simd', sources.relaxedThreaded) : await threadedKernelModule(true).catch(() => undefined);
      if (!mt) {
        if (asked > 1) warnSingleThread('the threaded relaxed build edgeq-relaxed-mt.wasm was not found');
        threads = 1;
      }
    } else if (threads > 1 && sources?.simdThreaded !== undefined) {
      mt = await kernelModule('simd', sources.simdThreaded);
    }
    const pool = await createPool(threads, asked > 1, undefined, mt);
    const module = pool ? pool.module : relaxedModule ?? await kernelModule(build, sources === undefined ? options.wasm as WasmSource : sources[build]);
    const session = new Session(qmodel, module, build, relaxedDot);
    session.pool = pool;
    session.winograd = options.winograd ?? 'auto';
    session.maxCachedPlans = maxCachedPlans;
    session.minThreadSavingNs = options.minThreadSavingUs === undefined ? undefined : options.minThreadSavingUs * 1000;
    if (options.profile ?? profileFromEnv()) {
      session.prof = new OpProfile(qmodel);
      if (options.profile === undefined) printAtExit(session.prof);
    }
    try {
      session.pooled = (await session.plan(1)).threaded !== undefined; // validate and lay out memory now, so errors surface at create
      if (options.warmup) await session.warmup();
    } catch (err) {
      pool?.release();
      throw err;
    }
    return session;
  }

  /** The per-image input shape, NCHW. */
  get inputShape(): readonly number[] {
    return this.model.input.nchw;
  }

  /** The first output's per-image shape in ONNX layout: [1, C] for a vector, [1, C, H, W] for a feature map. */
  get outputShape(): readonly number[] {
    return this.shapeOf(0);
  }

  /** Every output's per-image shape in ONNX layout, by name (outputShape for each of outputNames). */
  get outputShapes(): Readonly<Record<string, readonly number[]>> {
    return Object.fromEntries(this.outputNames.map((name, i) => [name, this.shapeOf(i)]));
  }

  /** Output `i`'s per-image shape in ONNX layout. */
  private shapeOf(i: number): number[] {
    const [, h, w, c] = this.model.tensors[this.model.outputs[i]!.tensor].shape;
    return h === 1 && w === 1 ? [1, c] : [1, c, h, w];
  }

  /** Bytes of WebAssembly memory the session holds (batch 1). */
  async memoryBytes(): Promise<number> {
    return (await this.plan(1)).memory.total;
  }

  /**
   * The plan for a batch size, made on first use. Called for batch sizes other than 1 only inside
   * a queued run (runs never overlap), so an evicted plan is never in use.
   */
  private plan(batch: number): Promise<ExecutionPlan> {
    let p = this.plans.get(batch);
    if (p) {
      this.plans.delete(batch); // most recently used last
      this.plans.set(batch, p);
      return p;
    }
    this.trimPlans(this.maxCachedPlans - 1);
    const relaxedDot = this.backend === 'relaxed' ? this.relaxedDot as RelaxedDotMode : undefined;
    const made = buildPlan(this.model, this.module, batch, this.pool, { winograd: this.winograd, relaxedDot, minThreadSavingNs: this.minThreadSavingNs });
    this.plans.set(batch, made);
    made.catch(() => { if (this.plans.get(batch) === made) this.plans.delete(batch); });
    return made;
  }

  /** Evicts least recently used plans other than batch 1 until at most `keep` remain (or only batch 1). */
  private trimPlans(keep: number): void {
    for (const [batch, p] of this.plans) {
      if (this.plans.size <= keep) break;
      if (batch === 1) continue;
      this.plans.delete(batch);
      // The workers' instances hold the plan's memory too: they drop them; the memory is then garbage.
      p.then((plan) => plan.threaded?.pool.dropPlan(plan.threaded.plan), () => undefined);
    }
  }

  /** Batch sizes whose plans the session holds, least recently used first. */
  get cachedBatchSizes(): readonly number[] {
    return [...this.plans.keys()];
  }

  /**
   * Per-op time summed over this session's runs since create (or the last reset), in model order;
   * `reset: true` clears it after reading. Needs the `profile` option (else BAD_OPTION).
   */
  profile(options: { reset?: boolean } = {}): ProfileRow[] {
    if (typeof options !== 'object' || options === null) throw new EdgeqError('BAD_OPTION', 'profile options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'reset') throw new EdgeqError('BAD_OPTION', `unknown profile option "${key}" (valid: reset)`);
    }
    if (!this.prof) throw new EdgeqError('BAD_OPTION', 'this session does not profile: create it with { profile: true } (or EDGEQ_PROFILE=1)');
    const rows = this.prof.rows();
    if (options.reset) this.prof.reset();
    return rows;
  }

  private live(): void {
    if (this.released) throw new EdgeqError('RELEASED', 'this session was released');
  }

  /**
   * Runs the model. With onnxruntime-web-style feeds (`{ [inputName]: Float32Array | { data, dims } }`)
   * it returns every output (or those `options.fetches` names) as `{ [outputName]: OutputTensor }`, as
   * onnxruntime-web's session.run does. With a preprocessed Float32Array in NCHW (a batch of images
   * when its length is a multiple of one image), or a decoded image / ImageData to which the model's
   * preprocessing spec is applied, it returns the first output (session.outputNames[0], or the first
   * of `options.fetches`) as float32. Outputs are in ONNX layout, batch first.
   *
   * Concurrent calls on one session are queued, never rejected: they run one at a time in call
   * order (they share the session's memory), and each resolves with its own output. Do not modify
   * a Float32Array or Uint8Array input until its call settles. A call on a released session, or one still queued
   * when the session is released, rejects with EdgeqError('RELEASED'). `options.signal` cancels
   * (see RunOptions): EdgeqError('ABORTED').
   */
  async run(feeds: InputFeeds, options?: RunOptions): Promise<Record<string, OutputTensor>>;
  async run(input: Float32Array | Uint8Array | RawImage | ImageDataLike, options?: RunOptions): Promise<Float32Array>;
  async run(input: SessionInput, options?: RunOptions): Promise<Float32Array | Record<string, OutputTensor>>;
  async run(input: SessionInput, options: RunOptions = {}): Promise<Float32Array | Record<string, OutputTensor>> {
    this.live();
    const { signal, fetch } = checkRunOptions(options, this.outputNames);
    throwIfAborted(signal);
    if (!isFeeds(input)) return (await this.enqueue(this.runInput(input), signal, true, fetch.slice(0, 1)))[0]!;
    const x = this.inputArray(input);
    const outs = await this.enqueue(x, signal, true, fetch);
    return Object.fromEntries(fetch.map((i, j) => [this.outputNames[i]!, this.tensorOf(i, outs[j]!)]));
  }

  /** Output `i`'s data as an onnxruntime-web-shaped tensor (dims batch first). */
  private tensorOf(i: number, data: Float32Array): OutputTensor {
    const [, ...rest] = this.shapeOf(i);
    const batch = data.length / rest.reduce((a, b) => a * b, 1);
    return { name: this.outputNames[i]!, type: 'float32', dims: [batch, ...rest], data };
  }

  /**
   * The first output (session.outputNames[0], or the first of `options.fetches`) as a tensor in
   * onnxruntime-web's shape: `{ name, type: 'float32', dims, data }`, dims in ONNX layout with the
   * batch first ([N, C] or [N, C, H, W]); same data as run() of a Float32Array.
   */
  async runTensor(input: SessionInput, options: RunOptions = {}): Promise<OutputTensor> {
    this.live();
    const { signal, fetch } = checkRunOptions(options, this.outputNames);
    throwIfAborted(signal);
    const [data] = await this.enqueue(this.runInput(input), signal, true, fetch.slice(0, 1));
    return this.tensorOf(fetch[0]!, data!);
  }

  /**
   * Runs the kernels twice on a batch-1 input of zeros (queued like a run, not profiled), so that
   * the first real run gets the warm time (the engine's optimized code, touched memory). Rejects as
   * run() does (RELEASED). `Session.create(m, { warmup: true })` calls it before returning.
   */
  async warmup(): Promise<void> {
    this.live();
    const [, c, h, w] = this.model.input.nchw;
    // Two runs: the first runs baseline-compiled kernels and lets the engine tier them up, the
    // second the optimized ones (docs/tuning-log.md, "Warm-up").
    for (let i = 0; i < WARMUP_RUNS; i++) await this.enqueue(new Float32Array(c * h * w), undefined, false, []);
  }

  /**
   * The tensor of onnxruntime-web-style feeds: `{ [inputName]: Float32Array | { data, dims } }`,
   * one entry named as the model's input; `dims`, when given, must be the input's NCHW shape with
   * any batch.
   */
  private fromFeeds(feeds: InputFeeds): Float32Array {
    const name = this.inputNames[0];
    const keys = Object.keys(feeds);
    if (keys.length !== 1 || keys[0] !== name) {
      throw new EdgeqError('BAD_INPUT', `feeds name ${JSON.stringify(keys)}; this model has one input, "${name}"`);
    }
    const t = feeds[name]!;
    if (t instanceof Float32Array) return t;
    if (!(t.data instanceof Float32Array)) throw new EdgeqError('BAD_INPUT', `feed "${name}" must be a Float32Array or { data: Float32Array, dims }`);
    const [, c, h, w] = this.model.input.nchw;
    const dims = t.dims === undefined ? undefined : Array.from(t.dims);
    if (dims && !(dims.length === 4 && dims[1] === c && dims[2] === h && dims[3] === w && dims[0]! * c * h * w === t.data.length)) {
      throw new EdgeqError('BAD_INPUT', `feed "${name}" has dims ${JSON.stringify(dims)} for ${t.data.length} values; the model takes [N, ${c}, ${h}, ${w}]`);
    }
    return t.data;
  }

  /**
   * True when the model's stored preprocessing maps each pixel p to the uint8 input integer p
   * (`scale` 1, every `mean` the input zero point, every `std` times the input scale 1, three
   * channels: TFLite imports' pass-through spec): an image then goes in as its resized, cropped
   * uint8 pixels (preprocessPixels), with no float detour, as TFLite's own runtime is fed.
   */
  private get pixelsPassThrough(): boolean {
    const spec = this.model.preprocess, t = this.model.tensors[this.model.input.tensor]!;
    if (!spec || t.dtype !== 'uint8' || (spec.scale ?? 1) !== 1 || specChannels(spec) !== 3 || this.model.input.nchw[1] !== 3) return false;
    const mean = spec.mean ?? [], std = spec.std ?? [];
    return mean.length === 3 && std.length === 3 && mean.every((m) => m === t.zeroPoint) && std.every((d) => Math.abs(d * t.scale - 1) <= 2 ** -20);
  }

  /**
   * One decoded image as run() and classify() feed it: its resized, cropped uint8 pixels (NHWC) where
   * the model's stored preprocessing passes pixels through to a uint8 input tensor (a TFLite
   * import's), else the preprocessed float32 NCHW. Either goes to run() as is; several concatenate
   * into a batch of the same type.
   */
  prepareImage(image: RawImage | ImageDataLike): Float32Array | Uint8Array {
    this.live();
    return this.imageInput(image);
  }

  /** One image as the model's input: its uint8 pixels where the preprocessing passes them through, else float32 NCHW. */
  private imageInput(image: RawImage | ImageDataLike): Float32Array | Uint8Array {
    if (!this.pixelsPassThrough) return this.inputArray(image);
    const [, c, h, w] = this.model.input.nchw;
    const px = preprocessPixels(image, this.model.preprocess!);
    if (px.width !== w || px.height !== h || px.channels !== c) {
      throw new EdgeqError('BAD_INPUT', `an image becomes [${px.channels}, ${px.height}, ${px.width}] with this model's preprocessing, but input "${this.model.input.name}" is [${c}, ${h}, ${w}]; pass a preprocessed Float32Array`);
    }
    return px.data instanceof Uint8Array ? px.data : new Uint8Array(px.data);
  }

  /**
   * run()'s input: a Uint8Array of whole NHWC images of the uint8 input tensor's integers (validated),
   * an image (imageInput), else inputArray().
   */
  private runInput(input: SessionInput): Float32Array | Uint8Array {
    if (isImageLike(input)) return this.imageInput(input);
    if (!(input instanceof Uint8Array)) return this.inputArray(input);
    const [, c, h, w] = this.model.input.nchw;
    const { name } = this.model.input, dtype = this.model.tensors[this.model.input.tensor]!.dtype;
    if (dtype !== 'uint8') throw new EdgeqError('BAD_INPUT', `a Uint8Array input holds the uint8 input tensor's integers, but "${name}" is ${dtype}: pass a Float32Array (NCHW)`);
    if (input.length === 0 || input.length % (c * h * w) !== 0) {
      throw new EdgeqError('BAD_INPUT', `Uint8Array input has ${input.length} values; "${name}" needs a multiple of ${c * h * w} (NHWC [N, ${h}, ${w}, ${c}])`);
    }
    return input;
  }

  /** The input as a Float32Array of whole images (validated, images preprocessed). */
  private inputArray(input: SessionInput): Float32Array {
    const [, c, h, w] = this.model.input.nchw;
    const per = c * h * w;
    let x: Float32Array;
    if (isFeeds(input)) input = this.fromFeeds(input);
    if (input instanceof Float32Array) {
      x = input;
    } else if (isImageLike(input)) {
      // Without a stored spec, ImageNet's at the model's own size (a 224 model: resize 256, crop 224;
      // a 96x160 one: resize 183, crop 96x160; a 1-channel one: the luma).
      const side = Math.max(h, w);
      const spec = this.model.preprocess ?? {
        ...IMAGENET, crop: side, resize: Math.round((side * IMAGENET.resize) / IMAGENET.crop),
        ...(h !== w ? { size: [h, w] as [number, number] } : {}), ...(c === 1 ? { channels: 'gray' as const } : {}),
      };
      const [sh, sw] = cropSize(spec), sc = specChannels(spec);
      if (sc !== c || sh !== h || sw !== w) {
        throw new EdgeqError('BAD_INPUT', `an image becomes [${sc}, ${sh}, ${sw}] with this model's preprocessing, but input "${this.model.input.name}" is [${c}, ${h}, ${w}]; pass a preprocessed Float32Array`);
      }
      x = preprocess(input, spec);
    } else {
      throw new EdgeqError('BAD_INPUT', 'input must be a Float32Array (NCHW), feeds { [inputName]: Float32Array }, a decoded image {width, height, data} or an ImageData');
    }
    if (x.length === 0 || x.length % per !== 0) {
      throw new EdgeqError('BAD_INPUT', `input has ${x.length} values; "${this.model.input.name}" needs a multiple of ${per} (NCHW [N, ${c}, ${h}, ${w}])`);
    }
    return x;
  }

  /**
   * Queues a run of whole images `x`; resolves with the outputs `fetch` lists (indices into
   * model.outputs), in that order. `record`: add its op times to the profile (when profiling).
   */
  private enqueue(x: Float32Array | Uint8Array, signal: AbortSignal | undefined, record: boolean, fetch: readonly number[]): Promise<Float32Array[]> {
    const [, c, h, w] = this.model.input.nchw;
    const batch = x.length / (c * h * w);
    const job = this.tail.then(async () => {
      this.live();
      throwIfAborted(signal);
      this.inFlight++;
      try {
        const plan = await this.plan(batch);
        this.live();
        throwIfAborted(signal);
        const prof = record ? this.prof : undefined;
        if (plan.threaded) {
          // The pool calls `between` on this thread after each op's barrier: op i's wall time.
          let op = 0, t = 0;
          const between = !prof ? (signal ? () => throwIfAborted(signal) : undefined) : () => {
            const now = performance.now();
            prof.add(op++, now - t);
            t = now;
            throwIfAborted(signal);
          };
          const before = () => { writeInput(x, plan, c, h, w); t = performance.now(); };
          return await plan.threaded.pool.run(plan.threaded.plan, plan.kernels, before, () => fetch.map((i) => dequantizeOutput(plan, i)), between);
        }
        writeInput(x, plan, c, h, w);
        const steps = plan.steps;
        for (let i = 0; i < steps.length; i++) {
          if (prof) {
            const t0 = performance.now();
            steps[i]();
            prof.add(i, performance.now() - t0);
          } else {
            steps[i]();
          }
          throwIfAborted(signal);
        }
        return fetch.map((i) => dequantizeOutput(plan, i));
      } finally {
        if (!this.released) this.trimPlans(this.maxCachedPlans);
        if (--this.inFlight === 0 && this.released) this.pool?.release();
      }
    });
    this.tail = job.then(() => undefined, () => undefined);
    if (!signal) return job;
    // A queued run rejects as soon as its signal aborts; the queue still waits for the runs ahead.
    return new Promise<Float32Array[]>((resolve, reject) => {
      const onAbort = () => reject(new EdgeqError('ABORTED', 'the run was aborted', { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Classifies an image, or a batch given as an array (one batched run): the top `topK` classes
   * (default 5) with softmax scores (the output itself when it is the model's softmax op) and the
   * model's labels, from the first output (or the one `options.output` names). An image is anything loadImage() takes
   * (a path or URL in Node and Deno, encoded bytes, a Blob or File, an ImageBitmap, image element
   * or canvas, decoded pixels) or one preprocessed Float32Array (NCHW).
   */
  async classify(image: ClassifyInput, options?: ClassifyOptions): Promise<Classification[]>;
  async classify(images: readonly ClassifyInput[], options?: ClassifyOptions): Promise<Classification[][]>;
  async classify(input: ClassifyInput | readonly ClassifyInput[], options: ClassifyOptions = {}): Promise<Classification[] | Classification[][]> {
    this.live();
    for (const key of Object.keys(options)) {
      if (key !== 'topK' && key !== 'output' && key !== 'signal') throw new EdgeqError('BAD_OPTION', `unknown classify option "${key}" (valid: topK, output, signal)`);
    }
    const k = options.topK ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new EdgeqError('BAD_OPTION', `topK must be a positive integer, got ${k}`);
    const out = options.output === undefined ? 0 : this.outputNames.indexOf(options.output);
    if (out < 0) throw new EdgeqError('BAD_OPTION', `classify: the model has no output ${JSON.stringify(options.output)} (outputs: ${this.outputNames.map((n) => JSON.stringify(n)).join(', ')})`);
    const many = Array.isArray(input);
    const list = (many ? input : [input]) as readonly ClassifyInput[];
    if (list.length === 0) throw new EdgeqError('BAD_INPUT', 'classify was given an empty array of images');
    const n = this.shapeOf(out).slice(1).reduce((a, b) => a * b, 1);
    const [, c, h, w] = this.model.input.nchw;
    const per = c * h * w;
    // Images as uint8 pixels where the preprocessing passes them through (imageInput), unless a
    // preprocessed Float32Array is among the items: then all as float32 NCHW.
    const floats = list.some((x) => x instanceof Float32Array);
    const arrays = await Promise.all(list.map(async (x) => {
      if (x instanceof Float32Array) return this.inputArray(x);
      const image = await loadImage(x);
      return floats ? this.inputArray(image) : this.imageInput(image);
    }));
    if (arrays.some((x) => x.length !== per)) throw new EdgeqError('BAD_INPUT', 'classify takes one image per item; use run() for a preprocessed batch');
    let x: Float32Array | Uint8Array = arrays[0]!;
    if (arrays.length > 1) {
      x = arrays[0] instanceof Uint8Array ? new Uint8Array(per * arrays.length) : new Float32Array(per * arrays.length);
      const batch = x;
      arrays.forEach((a, i) => batch.set(a, i * per));
    }
    const logits = await this.run(x, { fetches: [this.outputNames[out]!], ...(options.signal ? { signal: options.signal } : {}) });
    // The stored labels name the first output's values.
    const labels = out === 0 ? this.model.labels : undefined;
    const probabilities = outputsProbabilities(this.model, out);
    const results = arrays.map((_, i) => topClasses(logits.subarray(i * n, (i + 1) * n), k, labels, probabilities));
    return many ? results : results[0]!;
  }

  /**
   * Frees the session's WebAssembly memory (and its worker threads); later and still-queued calls
   * reject with EdgeqError('RELEASED'). A run already executing finishes first (its workers are
   * stopped when it ends). Calling it again does nothing.
   */
  release(): void {
    this.released = true;
    if (this.inFlight === 0) this.pool?.release();
    this.plans.clear();
  }
}
