// Quantization: from the prepared float graph and the calibrated ranges to a QModel (src/format/qmodel.ts).
// Weights: int8 symmetric per output channel in [-127, 127]. Activations: uint8 (or uint12 where
// activation-bits.ts says so) asymmetric per tensor.
// Bias: int32 in the accumulator's scale (inputScale * weightScale[c]). Requantization: one fp32
// multiplier per channel, inputScale * weightScale[c] / outputScale (XNNPACK's fp32 scheme). The QDQ
// export (export-qdq.ts) writes exactly these integers and scales.
// Each op kind's part is its module in ops/ (ops/registry.ts); this file lays out the graph and dispatches.
import { EdgeqError } from 'edgeq';
import type { QModel, QOp, QTensor } from 'edgeq/format';
import type { FloatGraph } from './prepare.js';
import type { Range } from './histogram.js';
import { quantParams } from './histogram.js';
import type { GptqWeights } from './gptq.js';
import { BitsPlan, levelsOf, type ActivationMode } from './activation-bits.js';
import type { AccumulatorBound } from './overflow.js';
import type { QuantizedConvWeights } from './ops/conv-weights.js';
import { moduleOf, readerCounts } from './ops/registry.js';
import type { QuantizeContext } from './ops/quantize-context.js';


export interface QuantizeOptions {
  /** Ranges chosen for 256 levels (8-bit tensors). */
  ranges: Map<string, Range>;
  /** Ranges chosen for 4096 levels (12-bit tensors); needed unless `activations` is 8. */
  wideRanges?: Map<string, Range>;
  /** Activation bits (activation-bits.ts): 8, 12, or 'auto' (12 bits for `wideTensors`). Default 8. */
  activations?: ActivationMode;
  /** 'auto': the tensors to give 12 bits (auto-bits.ts chooses them). */
  wideTensors?: ReadonlySet<string>;
  /** The graph input's bits whatever `activations` says (activation-bits.ts); default: the mode's. */
  inputBits?: 8 | 12;
  /** A 12-bit `inputBits` whose first conv's accumulator cannot be proven safe stays at 8 bits instead of failing ('auto'). */
  inputBitsFallback?: boolean;
  /**
   * Fuse each residual Add (+ReLU) into the conv that produces its branch: the branch output is then
   * never rounded to uint8 on its own (the QDQ export keeps the standard unfused form).
   */
  fuseResidual?: boolean;
  /** Per tensor: per-channel input means from calibration; given, each conv's bias is corrected (bias-correction.ts). */
  channelMeans?: Map<string, Float64Array>;
  /** Per conv (by op name): its Hessian-aware (GPTQ) int8 levels (gptq.ts); the others round to nearest. */
  gptq?: ReadonlyMap<string, GptqWeights>;
  producer?: string;
  sourceHash?: string;
}

/** NCHW (or [N, C]) to the runtime's NHWC shape. */
function nhwc(shape: number[]): [number, number, number, number] {
  if (shape.length === 4) return [shape[0], shape[2], shape[3], shape[1]];
  if (shape.length === 2) return [shape[0], 1, 1, shape[1]];
  throw new EdgeqError('BAD_SHAPE', `tensor shape [${shape}] is neither NCHW nor [N, C]`);
}

export interface TensorParams { dtype: QTensor['dtype']; scale: number; zeroPoint: number }

/** A conv's accumulator bound (overflow.ts) with the bits of its input, for reports. */
export interface ConvAccumulator extends AccumulatorBound { inputBits: 8 | 12 }

export interface QuantizeResult {
  model: QModel;
  /** The integer weights of each conv (by op name), for the QDQ export and reports. */
  convWeights: Map<string, QuantizedConvWeights>;
  /** Quantization of every tensor of the float graph, including branch outputs that fusion removed. */
  tensorParams: Map<string, TensorParams>;
  /** Names of the convs whose residual Add was fused into their epilogue. */
  fusedConvs: Set<string>;
  /** Per conv (by op name): the proven bound on its int32 accumulator. */
  accumulators: Map<string, ConvAccumulator>;
  /** 'auto': tensors picked for 12 bits but kept at 8 because a conv reading them could overflow at 12. */
  narrowed: string[];
}

/**
 * Which tensors stay float32: for each graph output no op reads, those the module of the op computing
 * it names (a classifier head or a feature trunk keeps full precision: no uint8 logits, no ties). An
 * output that only a pool or a max pool over a quantized tensor computes, and an output later ops read
 * (an intermediate tensor), stay quantized: the runtime dequantizes them.
 */
function floatTensors(g: FloatGraph, readers: Map<string, number>): Set<string> {
  const floats = new Set<string>();
  for (const out of g.outputs) {
    if ((readers.get(out.tensor) ?? 0) > 0) continue;
    const op = g.ops.find((o) => o.output === out.tensor);
    for (const t of op ? moduleOf(op).floatOutputs(op, g, readers) : []) floats.add(t);
  }
  return floats;
}

export function buildQModel(g: FloatGraph, options: QuantizeOptions): QuantizeResult {
  const tensors: QTensor[] = [];
  const index = new Map<string, number>();
  const readers = readerCounts(g);
  const floats = floatTensors(g, readers);
  const mode = options.activations ?? 8;
  const bits = new BitsPlan(g, mode, options.wideTensors, options.inputBits);
  const rangeOf = (name: string): Range => {
    const wide = bits.of(name) === 12;
    const r = (wide ? options.wideRanges : options.ranges)?.get(name);
    if (!r) throw new EdgeqError('INTERNAL', `no ${wide ? '12-bit' : '8-bit'} calibration range for tensor "${name}"`);
    return r;
  };
  const dtypeOf = (name: string) => (floats.has(name) ? 'float32' : bits.of(name) === 12 ? 'uint12' : 'uint8');
  const paramsOf = (name: string) => quantParams(rangeOf(name), levelsOf(bits.of(name)));
  const position = new Map<string, number>();
  g.ops.forEach((op, i) => position.set(op.output, i));

  const ctx: QuantizeContext = {
    graph: g, options, mode, bits, readers, floats, position, tensors, index, ops: [] as QOp[], blobs: [],
    convWeights: new Map(), accumulators: new Map(), narrowed: [], provenWide: new Map(), residualFusions: new Map(), fusedAdds: new Set(),
    paramsOf,
    addTensor(name, forceParams) {
      const shape = g.shapes.get(name);
      if (!shape) throw new EdgeqError('BAD_SHAPE', `no shape for tensor "${name}"`);
      const dtype = dtypeOf(name);
      const qp = dtype === 'float32' ? { scale: 1, zeroPoint: 0 } : forceParams ?? paramsOf(name);
      index.set(name, tensors.length);
      tensors.push({ name, shape: nhwc(shape), dtype, scale: qp.scale, zeroPoint: qp.zeroPoint });
      return tensors.length - 1;
    },
    get(name) {
      const i = index.get(name);
      if (i === undefined) throw new EdgeqError('INTERNAL', `tensor "${name}" is read before it is written`);
      return i;
    },
  };

  // Whole-graph decisions first (each module's plan: overflow proofs, residual fusion), before any
  // tensor is laid out; then each op lays out its output and appends its QOp, in graph order.
  for (const op of g.ops) moduleOf(op).plan?.(op, ctx);
  ctx.addTensor(g.input.name);
  for (const op of g.ops) moduleOf(op).quantize(op, ctx);
  const model: QModel = {
    input: { name: g.input.name, tensor: 0, nchw: g.input.nchw },
    outputs: g.outputs.map((o) => ({ name: o.name, tensor: ctx.get(o.tensor) })),
    tensors, ops: ctx.ops, blobs: ctx.blobs,
    producer: options.producer ?? 'edgeq-quantize',
    sourceHash: options.sourceHash,
  };
  // Every float-graph tensor's parameters, as the unfused QDQ export needs them.
  const tensorParams = new Map<string, TensorParams>();
  for (const t of tensors) tensorParams.set(t.name, { dtype: t.dtype, scale: t.scale, zeroPoint: t.zeroPoint });
  for (const op of g.ops) {
    if (!tensorParams.has(op.output)) tensorParams.set(op.output, { dtype: dtypeOf(op.output), ...paramsOf(op.output) });
  }
  return {
    model, convWeights: ctx.convWeights, tensorParams, fusedConvs: new Set(ctx.residualFusions.keys()),
    accumulators: ctx.accumulators, narrowed: ctx.narrowed,
  };
}
