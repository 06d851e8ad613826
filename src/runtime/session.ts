// The public inference API, shaped like onnxruntime-web's InferenceSession:
//   const session = await Session.create(bytesOrPath, options);
//   const logits = await session.run(input);  session.release();
import { EdgeqError } from '../errors.js';
import { readEdgeq } from '../format/reader.js';
import type { QModel } from '../format/qmodel.js';
import { detectSimd } from '../kernels/wasm.js';
import { preprocess } from '../image/preprocess.js';
import { IMAGENET } from '../image/spec.js';
import type { ImageDataLike, RawImage } from '../image/types.js';
import { buildPlan, type ExecutionPlan } from './plan.js';
import { dequantizeOutput, quantizeInput } from './io.js';
import { kernelModule, readBytes, type KernelBuild, type WasmSource } from './wasm-source.js';

export interface SessionOptions {
  /** Kernel build: 'auto' (SIMD when the engine validates it, else scalar), 'simd' or 'scalar'. Default 'auto'. */
  backend?: 'auto' | 'simd' | 'scalar';
  /** Worker threads. Only 1 is available in this version. Default 1. */
  threads?: number;
  /** The kernel module to use instead of the bundled build: bytes, a compiled module, a URL or a path. */
  wasm?: WasmSource;
  /** Skip the per-section checksums of the model file (the header is always verified). Default false. */
  skipChecksums?: boolean;
}

const OPTION_NAMES = ['backend', 'threads', 'wasm', 'skipChecksums'] as const;

export interface Classification {
  index: number;
  label: string;
  /** Softmax probability over the model's outputs. */
  score: number;
}

export type SessionInput = Float32Array | RawImage | ImageDataLike;

function checkOptions(options: SessionOptions): Required<Pick<SessionOptions, 'backend' | 'threads'>> {
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new EdgeqError('BAD_OPTION', `unknown session option "${key}" (valid: ${OPTION_NAMES.join(', ')})`);
    }
  }
  const backend = options.backend ?? 'auto';
  if (!['auto', 'simd', 'scalar'].includes(backend)) throw new EdgeqError('BAD_OPTION', `backend must be 'auto', 'simd' or 'scalar', got ${JSON.stringify(backend)}`);
  const threads = options.threads ?? 1;
  if (threads !== 1) throw new EdgeqError('BAD_OPTION', `threads: ${threads} is not available yet; this version runs on 1 thread`);
  return { backend, threads };
}

export class Session {
  /** The model's header (graph, quantization parameters, preprocessing, labels). */
  readonly model: QModel;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The kernel build in use. */
  readonly backend: KernelBuild;
  private readonly module: WebAssembly.Module;
  private readonly plans = new Map<number, Promise<ExecutionPlan>>();
  private released = false;

  private constructor(model: QModel, module: WebAssembly.Module, backend: KernelBuild) {
    this.model = model;
    this.module = module;
    this.backend = backend;
    this.inputNames = [model.input.name];
    this.outputNames = [model.output.name];
  }

  /** Loads an .edgeq model from bytes, or from a path (Node, Deno) or URL. */
  static async create(model: Uint8Array | ArrayBuffer | string | URL, options: SessionOptions = {}): Promise<Session> {
    const { backend } = checkOptions(options);
    const name = typeof model === 'string' || model instanceof URL ? String(model) : undefined;
    const bytes = model instanceof Uint8Array ? model : model instanceof ArrayBuffer ? new Uint8Array(model) : await readBytes(model);
    const qmodel = readEdgeq(bytes, { fileName: name, skipSectionChecksums: options.skipChecksums });
    let build: KernelBuild = backend === 'auto' ? (detectSimd() ? 'simd' : 'scalar') : backend;
    if (build === 'simd' && !detectSimd()) throw new EdgeqError('NOT_SUPPORTED', 'this engine has no WebAssembly SIMD; use backend "scalar" or "auto"');
    const module = await kernelModule(build, options.wasm);
    const session = new Session(qmodel, module, build);
    await session.plan(1); // validate and lay out memory now, so errors surface at create
    return session;
  }

  /** The per-image input shape, NCHW. */
  get inputShape(): readonly number[] {
    return this.model.input.nchw;
  }

  /** The per-image output shape in ONNX layout: [1, C] for a vector, [1, C, H, W] for a feature map. */
  get outputShape(): readonly number[] {
    const [, h, w, c] = this.model.tensors[this.model.output.tensor].shape;
    return h === 1 && w === 1 ? [1, c] : [1, c, h, w];
  }

  /** Bytes of WebAssembly memory the session holds (batch 1). */
  async memoryBytes(): Promise<number> {
    return (await this.plan(1)).memory.total;
  }

  private plan(batch: number): Promise<ExecutionPlan> {
    let p = this.plans.get(batch);
    if (!p) {
      p = buildPlan(this.model, this.module, batch);
      this.plans.set(batch, p);
      p.catch(() => this.plans.delete(batch));
    }
    return p;
  }

  private live(): void {
    if (this.released) throw new EdgeqError('RELEASED', 'this session was released');
  }

  /**
   * Runs the model. `input` is a preprocessed Float32Array in NCHW (a batch of images when its
   * length is a multiple of one image), or a decoded image / ImageData to which the model's
   * preprocessing spec is applied. Returns the output as float32, in ONNX layout, batch first.
   */
  async run(input: SessionInput): Promise<Float32Array> {
    this.live();
    const [, c, h, w] = this.model.input.nchw;
    const per = c * h * w;
    let x: Float32Array;
    if (input instanceof Float32Array) {
      x = input;
    } else if (input && typeof input === 'object' && 'width' in input && 'height' in input && 'data' in input) {
      x = preprocess(input, this.model.preprocess ?? IMAGENET);
    } else {
      throw new EdgeqError('BAD_INPUT', 'input must be a Float32Array (NCHW), a decoded image {width, height, data} or an ImageData');
    }
    if (x.length === 0 || x.length % per !== 0) {
      throw new EdgeqError('BAD_INPUT', `input has ${x.length} values; "${this.model.input.name}" needs a multiple of ${per} (NCHW [N, ${c}, ${h}, ${w}])`);
    }
    const batch = x.length / per;
    const plan = await this.plan(batch);
    this.live();
    quantizeInput(x, plan, c, h, w);
    for (const step of plan.steps) step();
    return dequantizeOutput(plan);
  }

  /** Classifies one image: the top `topK` classes with softmax scores and the model's labels. */
  async classify(image: SessionInput, options: { topK?: number } = {}): Promise<Classification[]> {
    const topK = options.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1) throw new EdgeqError('BAD_OPTION', `topK must be a positive integer, got ${topK}`);
    const logits = await this.run(image);
    const n = this.outputShape.slice(1).reduce((a, b) => a * b, 1);
    if (logits.length !== n) throw new EdgeqError('BAD_INPUT', 'classify takes one image; use run() for a batch');
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    const e = Float64Array.from(logits, (v) => { const t = Math.exp(v - max); sum += t; return t; });
    return Array.from(e.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, topK)
      .map((index) => ({ index, label: this.model.labels?.[index] ?? `class ${index}`, score: e[index] / sum }));
  }

  /** Frees the session's WebAssembly memory; later calls throw EdgeqError('RELEASED'). */
  release(): void {
    this.released = true;
    this.plans.clear();
  }
}
