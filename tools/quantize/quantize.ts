// Quantization: from the prepared float graph and the calibrated ranges to a QModel (src/format/qmodel.ts).
// Weights: int8 symmetric per output channel in [-127, 127]. Activations: uint8 (or uint12 where
// activation-bits.ts says so) asymmetric per tensor.
// Bias: int32 in the accumulator's scale (inputScale * weightScale[c]). Requantization: one fp32
// multiplier per channel, inputScale * weightScale[c] / outputScale (XNNPACK's fp32 scheme). The QDQ
// export (export-qdq.ts) writes exactly these integers and scales.
import { EdgeqError } from 'edgeq';
import { quantMax, type QModel, type QOp, type QTensor } from 'edgeq/format';
import { packConv } from 'edgeq/kernels';
import type { FAdd, FConv, FloatGraph } from './prepare.js';
import type { Range } from './histogram.js';
import { quantParams } from './histogram.js';
import { roundHalfEven } from 'edgeq/runtime';
import { weightErrorMeans } from './bias-correction.js';
import type { GptqWeights } from './gptq.js';
import { BitsPlan, levelsOf, type ActivationMode } from './activation-bits.js';
import { accumulatorBound, BIAS_BUDGET, fitsAccumulator, type AccumulatorBound } from './overflow.js';

export interface QuantizedConvWeights {
  /** int8 weights, OHWI (the kernels' logical order). */
  weights: Int8Array;
  /** Per output channel, float32. */
  scales: Float32Array;
  /** int32 bias in the accumulator's scale (zero point not folded). */
  bias: Int32Array;
}

/**
 * Per output channel, max|w| / 127 (1 for an all-zero channel), float32. With `inputScale`, at least
 * |bias| / (inputScale * BIAS_BUDGET): a dead channel (BatchNorm folded its weights to ~1e-13 but left
 * a bias ~1e-7, as in torchvision's ResNet-50) would otherwise need an int32 bias beyond the
 * accumulator's range, which wraps; only such degenerate channels change.
 */
export function weightScales(op: FConv, inputScale?: number): Float32Array {
  const O = op.outChannels, per = op.weights.length / O;
  const scales = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    let maxAbs = 0;
    for (let j = 0; j < per; j++) maxAbs = Math.max(maxAbs, Math.abs(op.weights[o * per + j]));
    const s = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[o] = Math.fround(inputScale === undefined ? s : Math.max(s, Math.abs(op.bias[o]) / (inputScale * BIAS_BUDGET)));
  }
  return scales;
}

/**
 * Per-channel symmetric int8 weights (scales: weightScales); OIHW fp32 in, OHWI int8 out. With the
 * input's per-channel means, the bias also absorbs the mean error the rounded weights add (bias
 * correction). With `rounded` (GPTQ's levels, gptq.ts), a channel whose scale is the one GPTQ rounded
 * for takes its levels; the others round to nearest.
 */
export function quantizeConvWeights(op: FConv, inputScale: number, inputMeans?: ArrayLike<number>, rounded?: GptqWeights): QuantizedConvWeights {
  const { outChannels: O, kernel: [kh, kw] } = op;
  const I = op.inChannels / op.group;
  const weights = new Int8Array(O * I * kh * kw);
  const scales = weightScales(op, inputScale);
  const bias = new Int32Array(O);
  for (let o = 0; o < O; o++) {
    const s = scales[o];
    const gptq = rounded && rounded.scales[o] === s ? rounded.weights : undefined;
    for (let i = 0; i < I; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const at = ((o * I + i) * kh + y) * kw + x;
          weights[((o * kh + y) * kw + x) * I + i] = gptq ? gptq[at] : Math.max(-127, Math.min(127, roundHalfEven(op.weights[at] / s)));
        }
      }
    }
  }
  const err = inputMeans ? weightErrorMeans(op, { weights, scales, bias }, inputMeans) : undefined;
  for (let o = 0; o < O; o++) {
    const accScale = Math.fround(inputScale * scales[o]);
    const b = op.bias[o] - (err ? err[o] : 0);
    bias[o] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundHalfEven(b / accScale)));
  }
  return { weights, scales, bias };
}


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

/** How many ops read each tensor. */
function readerCounts(g: FloatGraph): Map<string, number> {
  const readers = new Map<string, number>();
  for (const op of g.ops) for (const t of op.op === 'add' ? [op.a, op.b] : [op.input]) readers.set(t, (readers.get(t) ?? 0) + 1);
  return readers;
}

/**
 * Which tensors stay float32: the graph output when a conv or an Add computes it (a classifier
 * head or a feature trunk keeps full precision: no uint8 logits, no ties), and the input of a
 * global average pool that produces the output when a conv feeds only that pool. An output that
 * only a pool or a max pool over a quantized tensor computes stays quantized (dequantized by the runtime).
 */
function floatTensors(g: FloatGraph, readers: Map<string, number>): Set<string> {
  const out = new Set<string>();
  const last = g.ops.find((o) => o.output === g.output);
  if (last?.op === 'conv' || last?.op === 'add') out.add(g.output);
  if (last?.op === 'gap' && readers.get(last.input) === 1 && g.ops.some((o) => o.op === 'conv' && o.output === last.input)) {
    out.add(last.input);
    out.add(g.output);
  }
  return out;
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

export function buildQModel(g: FloatGraph, options: QuantizeOptions): QuantizeResult {
  const convWeights = new Map<string, QuantizedConvWeights>();
  const accumulators = new Map<string, ConvAccumulator>();
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

  // Overflow proof first (overflow.ts): a conv whose 12-bit input could overflow its accumulator
  // fails mode 12 (and a 12-bit graph input asked for by `inputBits`) and keeps that input at 8 bits
  // in 'auto', before any tensor is laid out.
  const narrowed: string[] = [];
  const proven = new Map<string, QuantizedConvWeights>(); // conv name -> weights for its 12-bit input
  for (const op of g.ops) {
    if (op.op !== 'conv' || floats.has(op.input) || bits.of(op.input) !== 12) continue;
    const p = paramsOf(bits.root(op.input)); // a max pool output has its source's parameters
    const q = quantizeConvWeights(op, p.scale, options.channelMeans?.get(op.input), options.gptq?.get(op.name));
    const b = accumulatorBound(q, p.zeroPoint, quantMax('uint12'));
    if (fitsAccumulator(b)) { proven.set(op.name, q); continue; }
    const asked = bits.root(op.input) === g.input.name && options.inputBits === 12 && !options.inputBitsFallback;
    if (mode === 12 || asked) {
      throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}": with a 12-bit input ("${op.input}") its int32 accumulator can reach `
        + `${b.bound.toExponential(4)} (output channel ${b.channel}) >= 2^31 - 1; ${asked ? 'use --input-bits 8' : 'use --activations auto (keeps this input at 8 bits) or 8'}`);
    }
    narrowed.push(bits.narrow(op.input));
  }

  const addTensor = (name: string, forceParams?: { scale: number; zeroPoint: number }): number => {
    const shape = g.shapes.get(name);
    if (!shape) throw new EdgeqError('BAD_SHAPE', `no shape for tensor "${name}"`);
    const dtype = dtypeOf(name);
    const qp = dtype === 'float32' ? { scale: 1, zeroPoint: 0 } : forceParams ?? paramsOf(name);
    index.set(name, tensors.length);
    tensors.push({ name, shape: nhwc(shape), dtype, scale: qp.scale, zeroPoint: qp.zeroPoint });
    return tensors.length - 1;
  };
  const get = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new EdgeqError('INTERNAL', `tensor "${name}" is read before it is written`);
    return i;
  };

  // Residual fusion: a conv with no activation whose only reader is an Add takes the Add's place.
  const fusedAdd = new Map<string, { add: FAdd; residual: string }>(); // conv name -> its add
  const skipAdd = new Set<string>();
  if (options.fuseResidual) {
    const position = new Map<string, number>();
    g.ops.forEach((op, i) => position.set(op.output, i));
    for (const op of g.ops) {
      if (op.op !== 'add') continue;
      // The branch is the input produced last; the other one (the shortcut) must already exist.
      const [branch, shortcut] = (position.get(op.a) ?? -1) > (position.get(op.b) ?? -1) ? [op.a, op.b] : [op.b, op.a];
      const conv = g.ops[position.get(branch) ?? -1];
      if (conv?.op !== 'conv' || conv.activation.kind !== 'none' || readers.get(branch) !== 1 || floats.has(branch)) continue;
      fusedAdd.set(conv.name, { add: op, residual: shortcut });
      skipAdd.add(op.name);
    }
  }

  addTensor(g.input.name);
  const ops: QOp[] = [];
  const blobs: Uint8Array[] = [];
  for (const op of g.ops) {
    switch (op.op) {
      case 'conv': {
        const x = tensors[get(op.input)];
        if (x.dtype === 'float32') throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}" reads a float32 tensor "${x.name}"`);
        const fused = fusedAdd.get(op.name);
        const y = tensors[addTensor(fused ? fused.add.output : op.output)];
        const wide = x.dtype === 'uint12';
        const q = (wide ? proven.get(op.name) : undefined) ?? quantizeConvWeights(op, x.scale, options.channelMeans?.get(op.input), options.gptq?.get(op.name));
        convWeights.set(op.name, q);
        const acc = accumulatorBound(q, x.zeroPoint, quantMax(x.dtype));
        if (!fitsAccumulator(acc)) {
          throw new EdgeqError('UNSUPPORTED_OP', `conv "${op.name}": its int32 accumulator can reach ${acc.bound.toExponential(4)} (output channel ${acc.channel}) >= 2^31 - 1`);
        }
        accumulators.set(op.name, { ...acc, inputBits: wide ? 12 : 8 });
        const multipliers = new Float32Array(op.outChannels);
        for (let c = 0; c < op.outChannels; c++) {
          const acc = Math.fround(x.scale * q.scales[c]);
          multipliers[c] = y.dtype === 'float32' ? acc : Math.fround(acc / y.scale);
        }
        const packed = packConv({
          weights: q.weights, bias: q.bias, multipliers, inputZeroPoint: x.zeroPoint,
          kernel: op.kernel, inChannels: op.inChannels, outChannels: op.outChannels, group: op.group,
        });
        ops.push({
          op: 'conv', name: op.name, input: get(op.input), output: index.get(y.name)!, kernel: op.kernel, stride: op.stride,
          pads: op.pads, dilation: op.dilation, group: op.group, inChannels: op.inChannels, outChannels: op.outChannels,
          activation: fused ? fused.add.activation : op.activation, weights: blobs.length, packing: packed.packing, weightScales: q.scales,
          ...(fused ? { residual: get(fused.residual) } : {}),
        });
        blobs.push(packed.blob);
        break;
      }
      case 'add': {
        if (skipAdd.has(op.name)) break;
        const a = get(op.a), b = get(op.b);
        ops.push({ op: 'add', name: op.name, a, b, output: addTensor(op.output), activation: op.activation });
        break;
      }
      case 'maxpool': {
        const x = tensors[get(op.input)];
        // Max pooling commutes with a monotonic quantization: output keeps the input's parameters.
        const y = addTensor(op.output, { scale: x.scale, zeroPoint: x.zeroPoint });
        ops.push({ op: 'maxpool', name: op.name, input: get(op.input), output: y, kernel: op.kernel, stride: op.stride, pads: op.pads });
        break;
      }
      case 'gap':
        ops.push({ op: 'gap', name: op.name, input: get(op.input), output: addTensor(op.output) });
        break;
    }
  }
  const model: QModel = {
    input: { name: g.input.name, tensor: 0, nchw: g.input.nchw },
    output: { name: g.outputName, tensor: get(g.output) },
    tensors, ops, blobs,
    producer: options.producer ?? 'edgeq-quantize',
    sourceHash: options.sourceHash,
  };
  // Every float-graph tensor's parameters, as the unfused QDQ export needs them.
  const tensorParams = new Map<string, TensorParams>();
  for (const t of tensors) tensorParams.set(t.name, { dtype: t.dtype, scale: t.scale, zeroPoint: t.zeroPoint });
  for (const op of g.ops) {
    if (!tensorParams.has(op.output)) tensorParams.set(op.output, { dtype: dtypeOf(op.output), ...paramsOf(op.output) });
  }
  return { model, convWeights, tensorParams, fusedConvs: new Set(fusedAdd.keys()), accumulators, narrowed };
}
