// Reference engine: runs an ONNX model in onnxruntime-web (wasm execution provider).
// Tests, benchmarks and the quantizer's calibration use it; the deployed runtime never imports it.

import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { EdgeqError } from 'edgeq';
import type { ModelDef } from '../onnx/model.js';
import { writeOnnx } from '../onnx/writer.js';

const { onnx } = onnxProto;

/** A float tensor as the reference engine returns it. */
export interface RefTensor {
  dims: number[];
  data: Float32Array;
}

/** An input: a tensor with dims, or a bare Float32Array when the model input's shape is static. */
export type RefFeed = Float32Array | { dims: readonly number[]; data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array };

export interface ReferenceOptions {
  /** wasm threads. onnxruntime-web reads this once per process; a second, different count throws. Default 1. */
  threads?: number;
  /** Intermediate tensors to expose as extra graph outputs (returned by run() next to the model outputs). */
  extraOutputs?: string[];
  /** ORT graph optimization level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface RunResult {
  outputs: Record<string, RefTensor>;
  /** Wall time of the ORT run() call in milliseconds. */
  ms: number;
}

/** The thread count this process's onnxruntime-web was set up with (undefined until the first session). */
let processThreads: number | undefined;

/** The wasm thread count fixed for this process, if a session was created. */
export function referenceThreads(): number | undefined {
  return processThreads;
}

function setThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new EdgeqError('BAD_OPTION', `threads must be a positive integer, got ${threads}`);
  if (processThreads === undefined) {
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    processThreads = threads;
  } else if (processThreads !== threads) {
    throw new EdgeqError('BAD_OPTION',
      `onnxruntime-web's thread count is per process and is already ${processThreads}; a session asked for ${threads}. `
      + 'Run the other count in its own process (runInChildProcess in tools/reference/ort-process-node.ts).');
  }
}

/** Adds `names` as graph outputs of ONNX bytes. Types come from value_info when recorded, else float32 with no shape. */
export function addGraphOutputs(modelBytes: Uint8Array, names: readonly string[]): Uint8Array {
  if (names.length === 0) return modelBytes;
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch (err) {
    throw new EdgeqError('BAD_ONNX', `cannot parse the ONNX model: ${(err as Error).message}`, { cause: err });
  }
  // Decoded messages always carry their repeated fields (empty arrays when absent).
  const graph = model.graph as onnxProto.onnx.GraphProto | null;
  if (!graph) throw new EdgeqError('BAD_ONNX', 'the ONNX model has no graph');
  const produced = new Set<string>(graph.input.map((i) => i.name ?? ''));
  for (const n of graph.node) for (const o of n.output ?? []) produced.add(o);
  const known = new Map<string, onnxProto.onnx.IValueInfoProto>();
  for (const v of [...graph.valueInfo, ...graph.input]) if (v.name) known.set(v.name, v);
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of names) {
    if (existing.has(name)) continue;
    if (!produced.has(name)) {
      throw new EdgeqError('BAD_OPTION', `extra output "${name}" is not produced by any node of the graph`);
    }
    const info = known.get(name);
    const elemType = info?.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT;
    // No shape: ORT fills it in; a wrong recorded shape would only produce warnings anyway.
    graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } }));
    existing.add(name);
  }
  return onnx.ModelProto.encode(model).finish();
}

/** Adds extra outputs to a ModelDef (a shallow copy; the input is not changed). */
function withExtraOutputs(model: ModelDef, names: readonly string[]): ModelDef {
  if (names.length === 0) return model;
  const have = new Set(model.graph.outputs.map((o) => o.name));
  const produced = new Set(model.graph.inputs.map((i) => i.name));
  for (const n of model.graph.nodes) for (const o of n.outputs) produced.add(o);
  const outputs = [...model.graph.outputs];
  for (const name of names) {
    if (have.has(name)) continue;
    if (!produced.has(name)) throw new EdgeqError('BAD_OPTION', `extra output "${name}" is not produced by any node of the graph`);
    const info = model.graph.valueInfo.find((v) => v.name === name);
    outputs.push({ name, dataType: info?.dataType ?? 'float32', dims: [], unknownRank: true });
    have.add(name);
  }
  return { ...model, graph: { ...model.graph, outputs } };
}

function toRefTensor(t: ort.Tensor): RefTensor {
  const dims = [...t.dims];
  const d = t.data;
  if (d instanceof Float32Array) return { dims, data: d };
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return { dims, data: out };
  }
  if (ArrayBuffer.isView(d)) return { dims, data: Float32Array.from(d as unknown as ArrayLike<number>) };
  throw new EdgeqError('INTERNAL', `output of type ${t.type} cannot be read as numbers`);
}

function ortType(data: Exclude<RefFeed, Float32Array>['data']): ort.Tensor.Type {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  return 'int8';
}

/** An onnxruntime-web session with plain-array inputs and outputs. */
export class ReferenceSession {
  private session: ort.InferenceSession | undefined;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly inputShapes: Map<string, number[] | undefined>;

  private constructor(session: ort.InferenceSession) {
    this.session = session;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.inputShapes = new Map();
    for (const meta of session.inputMetadata) {
      const shape = meta.isTensor && meta.shape.every((d) => typeof d === 'number' && d > 0) ? meta.shape as number[] : undefined;
      this.inputShapes.set(meta.name, shape);
    }
  }

  /** Loads ONNX bytes (or a ModelDef, written with writeOnnx) into onnxruntime-web's wasm backend. */
  static async create(model: Uint8Array | ModelDef, options: ReferenceOptions = {}): Promise<ReferenceSession> {
    setThreads(options.threads ?? 1);
    const extra = options.extraOutputs ?? [];
    const bytes = model instanceof Uint8Array ? addGraphOutputs(model, extra) : writeOnnx(withExtraOutputs(model, extra));
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: options.optimization ?? 'all',
        logSeverityLevel: 3,
      });
      return new ReferenceSession(session);
    } catch (err) {
      throw new EdgeqError('BAD_ONNX', `onnxruntime-web cannot load the model: ${(err as Error).message}`, { cause: err });
    }
  }

  private live(): ort.InferenceSession {
    if (!this.session) throw new EdgeqError('RELEASED', 'the reference session was released');
    return this.session;
  }

  /** Runs the model. Returns every graph output (including extra outputs) as float32. */
  async run(feeds: Record<string, RefFeed>): Promise<RunResult> {
    const session = this.live();
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const feed = feeds[name];
      if (feed === undefined) throw new EdgeqError('BAD_INPUT', `missing input "${name}" (inputs: ${this.inputNames.join(', ')})`);
      if (feed instanceof Float32Array) {
        const shape = this.inputShapes.get(name);
        if (!shape) throw new EdgeqError('BAD_INPUT', `input "${name}" has no static shape; pass { dims, data }`);
        ortFeeds[name] = new ort.Tensor('float32', feed, shape);
      } else {
        ortFeeds[name] = new ort.Tensor(ortType(feed.data), feed.data, [...feed.dims]);
      }
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) throw new EdgeqError('BAD_INPUT', `unknown input "${name}" (inputs: ${this.inputNames.join(', ')})`);
    }
    const t0 = performance.now();
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await session.run(ortFeeds);
    } catch (err) {
      throw new EdgeqError('BAD_INPUT', `onnxruntime-web run failed: ${(err as Error).message}`, { cause: err });
    }
    const ms = performance.now() - t0;
    const outputs: Record<string, RefTensor> = {};
    for (const name of this.outputNames) {
      const t = result[name];
      if (t) outputs[name] = toRefTensor(t as ort.Tensor);
    }
    return { outputs, ms };
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.release();
  }
}

/** Runs `warmup` untimed runs, then `runs` timed ones; returns each timed run's latency in ms. */
export async function timeRuns(
  session: ReferenceSession,
  feeds: Record<string, RefFeed>,
  options: { runs?: number; warmup?: number } = {},
): Promise<number[]> {
  const { runs = 10, warmup = 1 } = options;
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const latencies: number[] = [];
  for (let i = 0; i < runs; i++) latencies.push((await session.run(feeds)).ms);
  return latencies;
}
