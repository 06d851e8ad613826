// Static shape inference for the ops edgeq supports. Every tensor must get concrete dims:
// the runtime plans memory from them, so a dim left symbolic is an error, not a guess.
// Small int64 constants (Reshape targets, Shape outputs) are folded along the way.

import { EdgeqError } from 'edgeq';
import type { GraphDef, ModelDef, NodeDef, TensorValue } from './model.js';
import {
  getFloats, getInt, getIntAt, getInts, getTensorAttr, hasAttr, isKnownOp, modelOpset, nodeLabel,
  readConvAttributes, readGemmAttributes, readPad, readWindowAttributes, KNOWN_OPS, type WindowAttributes,
} from './ops.js';
import { elementCount, makeTensor, tensorToNumbers } from './tensor.js';

export type Shape = number[];

const fmt = (dims: readonly (number | string)[]): string => `[${dims.join(', ')}]`;

function badShape(node: NodeDef, message: string): never {
  throw new EdgeqError('BAD_SHAPE', `${nodeLabel(node)}: ${message}`);
}

// ---- Sliding-window geometry (Conv, MaxPool, AveragePool) ----

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Concrete pads after auto_pad is resolved. */
  padsBegin: number[];
  padsEnd: number[];
  outputSpatial: number[];
}

/**
 * Resolves pads and output size per spatial axis as the ONNX spec defines them. With ceil_mode
 * a last window that would start inside the end padding is dropped (as PyTorch and
 * onnxruntime do), so every window covers at least one input element.
 */
export function resolveWindow(node: NodeDef, inputSpatial: readonly number[], kernel: readonly number[], attrs: WindowAttributes): WindowGeometry {
  const rank = inputSpatial.length;
  const geometry: WindowGeometry = {
    kernel: [...kernel], strides: attrs.strides, dilations: attrs.dilations,
    padsBegin: [], padsEnd: [], outputSpatial: [],
  };
  for (let i = 0; i < rank; i++) {
    const input = inputSpatial[i]!;
    const stride = attrs.strides[i]!;
    const dilation = attrs.dilations[i]!;
    const k = kernel[i]!;
    if (!(stride > 0) || !(dilation > 0) || !(k > 0)) {
      badShape(node, `kernel ${fmt(kernel)}, strides ${fmt(attrs.strides)} and dilations ${fmt(attrs.dilations)} must be positive`);
    }
    const effectiveKernel = (k - 1) * dilation + 1;
    let begin = 0;
    let end = 0;
    let output: number;
    switch (attrs.autoPad) {
      case 'NOTSET': {
        begin = attrs.pads[i]!;
        end = attrs.pads[i + rank]!;
        if (begin < 0 || end < 0) badShape(node, `negative pads ${fmt(attrs.pads)}`);
        const span = input + begin + end - effectiveKernel;
        if (attrs.ceilMode) {
          output = Math.ceil(span / stride) + 1;
          if ((output - 1) * stride >= input + begin) output--;
        } else {
          output = Math.floor(span / stride) + 1;
        }
        break;
      }
      case 'VALID':
        output = Math.floor((input - effectiveKernel) / stride) + 1;
        break;
      case 'SAME_UPPER':
      case 'SAME_LOWER': {
        output = Math.ceil(input / stride);
        const total = Math.max(0, (output - 1) * stride + effectiveKernel - input);
        const small = Math.floor(total / 2);
        begin = attrs.autoPad === 'SAME_UPPER' ? small : total - small;
        end = total - begin;
        break;
      }
    }
    if (output < 1) {
      badShape(node, `input spatial dims ${fmt(inputSpatial)} are smaller than the window (kernel ${fmt(kernel)}, dilations ${fmt(attrs.dilations)}, pads ${fmt(attrs.pads)}, auto_pad ${attrs.autoPad})`);
    }
    geometry.padsBegin.push(begin);
    geometry.padsEnd.push(end);
    geometry.outputSpatial.push(output);
  }
  return geometry;
}

export interface ConvGeometry extends WindowGeometry {
  group: number;
  inChannels: number;
  outChannels: number;
  outputDims: number[];
}

/** Conv attributes resolved against concrete input [N, C, ...] and weight [M, C/group, ...] dims. */
export function resolveConvGeometry(node: NodeDef, inputDims: readonly number[], weightDims: readonly number[], opset: number): ConvGeometry {
  if (inputDims.length < 3) badShape(node, `input ${fmt(inputDims)} must have rank >= 3 (N, C, spatial...)`);
  if (weightDims.length !== inputDims.length) badShape(node, `weight ${fmt(weightDims)} and input ${fmt(inputDims)} differ in rank`);
  const spatialRank = inputDims.length - 2;
  const attrs = readConvAttributes(node, spatialRank, opset);
  const [, inChannels] = inputDims as [number, number];
  const [outChannels, channelsPerGroup] = weightDims as [number, number];
  const { group } = attrs;
  if (!(group >= 1) || channelsPerGroup * group !== inChannels || outChannels % group !== 0) {
    badShape(node, `input ${fmt(inputDims)} has ${inChannels} channels but weight ${fmt(weightDims)} with group ${group} expects ${channelsPerGroup * group} (and ${outChannels} output channels divisible by the group)`);
  }
  const weightKernel = weightDims.slice(2);
  if (attrs.kernelShape && attrs.kernelShape.some((k, i) => k !== weightKernel[i])) {
    badShape(node, `kernel_shape ${fmt(attrs.kernelShape)} differs from the weight's spatial dims ${fmt(weightKernel)}`);
  }
  const window = resolveWindow(node, inputDims.slice(2), weightKernel, attrs);
  return { ...window, group, inChannels, outChannels, outputDims: [inputDims[0]!, outChannels, ...window.outputSpatial] };
}

// ---- Broadcasting ----

/** Numpy-style multidirectional broadcasting; undefined when the shapes are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else return undefined;
  }
  return out;
}

/** True when `from` broadcasts to `to` without changing `to` (Gemm's C, PRelu-like operands). */
function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  return from.every((d, i) => d === 1 || d === to[to.length - from.length + i]);
}

// ---- Inference ----

export interface InferShapesResult {
  shapes: Map<string, Shape>;
  /** Constant values known statically: initializers, Constant outputs and folded Shape outputs. */
  constants: Map<string, TensorValue>;
}

/**
 * Infers static dims of every tensor in the graph (initializers included).
 * `inputShapes` fixes graph inputs whose declared shape has symbolic or unknown dims.
 */
export function inferShapes(model: ModelDef, inputShapes: Record<string, number[]> = {}): Map<string, Shape> {
  return inferShapesAndConstants(model, inputShapes).shapes;
}

export function inferShapesAndConstants(model: ModelDef, inputShapes: Record<string, number[]> = {}): InferShapesResult {
  const inference = new ShapeInference(modelOpset(model), model.graph);
  inference.seedInputs(inputShapes);
  for (const node of topologicalOrder(model.graph)) inference.visit(node);
  inference.checkOutputs();
  return { shapes: inference.shapes, constants: inference.constants };
}

/** Nodes in an order where producers precede consumers (ONNX requires it; some exporters don't). */
export function topologicalOrder(graph: GraphDef): NodeDef[] {
  const available = new Set<string>(['', ...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]);
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (!available.has(input) && !produced.has(input)) {
        throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)} has input "${input}", which is no graph input, initializer or node output`);
      }
    }
  }
  const order: NodeDef[] = [];
  let pending = graph.nodes;
  while (pending.length > 0) {
    const next: NodeDef[] = [];
    for (const node of pending) {
      if (node.inputs.every((i) => available.has(i))) {
        order.push(node);
        for (const o of node.outputs) available.add(o);
      } else {
        next.push(node);
      }
    }
    if (next.length === pending.length) {
      throw new EdgeqError('BAD_ONNX', `the graph has a cycle through ${next.map(nodeLabel).slice(0, 3).join(', ')}`);
    }
    pending = next;
  }
  return order;
}

type Handler = (this: ShapeInference, node: NodeDef) => Shape[];

class ShapeInference {
  readonly shapes = new Map<string, Shape>();
  readonly constants = new Map<string, TensorValue>();

  constructor(readonly opset: number, readonly graph: GraphDef) {
    for (const [name, tensor] of graph.initializers) {
      this.shapes.set(name, [...tensor.dims]);
      this.constants.set(name, tensor);
    }
  }

  seedInputs(inputShapes: Record<string, number[]>): void {
    const inputNames = new Set(this.graph.inputs.map((i) => i.name));
    for (const name of Object.keys(inputShapes)) {
      if (!inputNames.has(name)) {
        throw new EdgeqError('BAD_OPTION', `inputShapes names "${name}", which is not a graph input (inputs: ${[...inputNames].join(', ')})`);
      }
    }
    for (const input of this.graph.inputs) {
      const given = inputShapes[input.name];
      if (given) {
        if (!given.every((d) => Number.isSafeInteger(d) && d >= 0)) {
          throw new EdgeqError('BAD_SHAPE', `inputShapes["${input.name}"] = ${fmt(given)} must hold non-negative integers`);
        }
        const fits = input.unknownRank || (given.length === input.dims.length
          && input.dims.every((d, i) => typeof d !== 'number' || d < 0 || d === given[i]));
        if (!fits) throw new EdgeqError('BAD_SHAPE', `inputShapes["${input.name}"] = ${fmt(given)} does not match the declared shape ${fmt(input.dims)}`);
        this.shapes.set(input.name, [...given]);
        continue;
      }
      if (input.unknownRank) {
        throw new EdgeqError('BAD_SHAPE', `graph input "${input.name}" has no declared shape; give it in inputShapes`);
      }
      const dims = input.dims.map((d, i) => {
        if (typeof d === 'number' && d >= 0) return d;
        throw new EdgeqError('BAD_SHAPE', `graph input "${input.name}" dim ${i} (${d === '' ? 'unnamed' : JSON.stringify(d)}) of ${fmt(input.dims)} is dynamic; fix it with inputShapes { "${input.name}": [...] }`);
      });
      this.shapes.set(input.name, dims);
    }
  }

  /** Declared numeric output dims must agree with what the graph computes. */
  checkOutputs(): void {
    for (const output of this.graph.outputs) {
      const inferred = this.shapes.get(output.name);
      if (!inferred || output.unknownRank) continue;
      const disagrees = output.dims.length !== inferred.length
        || output.dims.some((d, i) => typeof d === 'number' && d >= 0 && d !== inferred[i]);
      if (disagrees) {
        throw new EdgeqError('BAD_SHAPE', `graph output "${output.name}" is declared ${fmt(output.dims)} but the graph computes ${fmt(inferred)}`);
      }
    }
  }

  visit(node: NodeDef): void {
    const opSpec = KNOWN_OPS.get(node.opType);
    if (!opSpec || !isKnownOp(node)) {
      const domain = node.domain === '' ? '' : ` in domain "${node.domain}"`;
      throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: op ${node.opType}${domain} is unknown to edgeq's ONNX reader (the ops the quantizer maps are in docs/ops.md)`);
    }
    // Trailing '' inputs are omitted optionals; count only up to the last real one.
    let realInputs = node.inputs.length;
    while (realInputs > 0 && node.inputs[realInputs - 1] === '') realInputs--;
    if (realInputs < opSpec.minInputs || node.inputs.length > opSpec.maxInputs) {
      throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)} has ${node.inputs.length} inputs, expected ${opSpec.minInputs}..${opSpec.maxInputs}`);
    }
    if (node.outputs.length < opSpec.minOutputs || node.outputs.length > opSpec.maxOutputs) {
      throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)} has ${node.outputs.length} outputs, expected ${opSpec.minOutputs}..${opSpec.maxOutputs}`);
    }
    const handler = HANDLERS[node.opType]!;
    const outputShapes = handler.call(this, node);
    node.outputs.forEach((name, i) => {
      const shape = outputShapes[i];
      if (name !== '' && shape) this.shapes.set(name, shape);
    });
  }

  // ---- helpers used by the handlers ----

  input(node: NodeDef, index: number): Shape {
    const name = node.inputs[index];
    if (name === undefined || name === '') badShape(node, `input ${index} is missing`);
    const shape = this.shapes.get(name);
    if (!shape) throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)} has input "${name}", which is no graph input, initializer or node output`);
    return shape;
  }

  optionalInput(node: NodeDef, index: number): Shape | undefined {
    const name = node.inputs[index];
    return name === undefined || name === '' ? undefined : this.input(node, index);
  }

  constantInput(node: NodeDef, index: number, role: string): TensorValue {
    const name = node.inputs[index] ?? '';
    const value = this.constants.get(name);
    if (!value) badShape(node, `${role} input "${name}" must be a constant (initializer or Constant) for static shapes`);
    return value;
  }

  normalizeAxis(node: NodeDef, axis: number, rank: number, allowRank = false): number {
    const limit = allowRank ? rank : rank - 1;
    if (axis < -rank || axis > limit) badShape(node, `axis ${axis} is out of range for rank ${rank}`);
    return axis < 0 ? axis + rank : axis;
  }
}

function sameAsInput(this: ShapeInference, node: NodeDef): Shape[] {
  return [this.input(node, 0)];
}

/** Add, Mul: numpy-style broadcasting from opset 7, the legacy `broadcast` attribute before it. */
function broadcastBinary(this: ShapeInference, node: NodeDef): Shape[] {
  const a = this.input(node, 0);
  const b = this.input(node, 1);
  if (this.opset < 7) return [legacyBroadcast(node, a, b)];
  const out = broadcastShapes(a, b);
  if (!out) badShape(node, `cannot broadcast ${fmt(a)} with ${fmt(b)}`);
  return [out];
}

const HANDLERS: Record<string, Handler> = {
  Conv(node) {
    const x = this.input(node, 0);
    const w = this.input(node, 1);
    const geometry = resolveConvGeometry(node, x, w, this.opset);
    const bias = this.optionalInput(node, 2);
    if (bias && (bias.length !== 1 || bias[0] !== geometry.outChannels)) {
      badShape(node, `bias ${fmt(bias)} should be [${geometry.outChannels}] for weight ${fmt(w)}`);
    }
    return [geometry.outputDims];
  },

  BatchNormalization(node) {
    const x = this.input(node, 0);
    if (x.length < 2) badShape(node, `input ${fmt(x)} must have rank >= 2`);
    // Before opset 9, spatial=0 gave every element its own statistics.
    const perElement = this.opset < 9 && getIntAt(node, 'spatial', this.opset) === 0;
    const paramShape = perElement ? x.slice(1) : [x[1]!];
    ['scale', 'B', 'mean', 'var'].forEach((role, k) => {
      const p = this.input(node, k + 1);
      if (elementCount(p) !== elementCount(paramShape) || (!perElement && p.length !== 1)) {
        badShape(node, `${role} ${fmt(p)} does not match input ${fmt(x)} (expected ${fmt(paramShape)})`);
      }
    });
    // Extra outputs (training mode, or legacy saved statistics) hold per-channel values.
    return [x, paramShape, paramShape, paramShape, paramShape];
  },

  Relu: sameAsInput,
  LeakyRelu: sameAsInput,
  HardSigmoid: sameAsInput,
  HardSwish: sameAsInput,
  Sigmoid: sameAsInput,
  Identity(node) {
    const value = this.constants.get(node.inputs[0]!);
    if (value) this.constants.set(node.outputs[0]!, value);
    return [this.input(node, 0)];
  },
  Softmax(node) {
    const x = this.input(node, 0);
    this.normalizeAxis(node, getIntAt(node, 'axis', this.opset), x.length);
    return [x];
  },

  Clip(node) {
    const x = this.input(node, 0);
    for (const [k, role] of [[1, 'min'], [2, 'max']] as const) {
      const bound = this.optionalInput(node, k);
      if (bound && elementCount(bound) !== 1) badShape(node, `${role} ${fmt(bound)} must be a scalar`);
    }
    return [x];
  },

  MaxPool(node) {
    const y = poolOutput.call(this, node);
    return [y, y];
  },
  AveragePool(node) {
    return [poolOutput.call(this, node)];
  },
  GlobalAveragePool(node) {
    const x = this.input(node, 0);
    if (x.length < 3) badShape(node, `input ${fmt(x)} must have rank >= 3 (N, C, spatial...)`);
    return [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]];
  },
  Concat(node) {
    const xs = node.inputs.map((_, i) => this.input(node, i));
    const rank = xs[0]!.length;
    const axis = this.normalizeAxis(node, getIntAt(node, 'axis', this.opset), rank);
    for (const x of xs) {
      if (x.length !== rank || x.some((d, i) => i !== axis && d !== xs[0]![i])) badShape(node, `inputs ${xs.map(fmt).join(', ')} differ outside axis ${axis}`);
    }
    return [xs[0]!.map((d, i) => (i === axis ? xs.reduce((s, x) => s + x[i]!, 0) : d))];
  },

  Add: broadcastBinary,
  Mul: broadcastBinary,

  Pad(node) {
    const x = this.input(node, 0);
    const { pads } = readPad(node, this.opset, this.constants, false);
    if (pads.length !== 2 * x.length) badShape(node, `pads [${pads}] should have ${2 * x.length} values for input ${fmt(x)}`);
    const out = x.map((d, i) => d + pads[i]! + pads[i + x.length]!);
    if (out.some((d) => d < 1)) badShape(node, `pads [${pads}] leave an empty output from input ${fmt(x)}`);
    return [out];
  },

  Flatten(node) {
    const x = this.input(node, 0);
    const axis = this.normalizeAxis(node, getIntAt(node, 'axis', this.opset), x.length, true);
    return [[elementCount(x.slice(0, axis)), elementCount(x.slice(axis))]];
  },

  Reshape(node) {
    const x = this.input(node, 0);
    const target = this.opset < 5 && node.inputs.length < 2
      ? getInts(node, 'shape', [])
      : tensorToNumbers(this.constantInput(node, 1, 'shape'));
    const allowZero = getIntAt(node, 'allowzero', this.opset) !== 0;
    if (allowZero && target.includes(0) && target.includes(-1)) {
      badShape(node, `shape ${fmt(target)} has both 0 and -1, which allowzero=1 forbids`);
    }
    const out = target.map((d, i) => {
      if (d === 0 && !allowZero) {
        if (i >= x.length) badShape(node, `shape ${fmt(target)} copies dim ${i} (0) but input ${fmt(x)} has rank ${x.length}`);
        return x[i]!;
      }
      if (d < -1) badShape(node, `shape ${fmt(target)} has invalid dim ${d}`);
      return d;
    });
    const inferred = out.filter((d) => d === -1).length;
    if (inferred > 1) badShape(node, `shape ${fmt(target)} has more than one -1`);
    const known = elementCount(out.filter((d) => d !== -1));
    const total = elementCount(x);
    if (inferred === 1) {
      if (known === 0 || total % known !== 0) badShape(node, `cannot reshape input ${fmt(x)} (${total} elements) to ${fmt(target)}`);
      out[out.indexOf(-1)] = total / known;
    } else if (known !== total) {
      badShape(node, `cannot reshape input ${fmt(x)} (${total} elements) to ${fmt(target)} (${known} elements)`);
    }
    return [out];
  },

  Gemm(node) {
    const a = this.input(node, 0);
    const b = this.input(node, 1);
    if (a.length !== 2 || b.length !== 2) badShape(node, `A ${fmt(a)} and B ${fmt(b)} must be 2-D`);
    const { transA, transB } = readGemmAttributes(node, this.opset);
    const [m, ka] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
    const [kb, n] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
    if (ka !== kb) badShape(node, `A ${fmt(a)}${transA ? ' (transposed)' : ''} and B ${fmt(b)}${transB ? ' (transposed)' : ''} disagree on K (${ka} vs ${kb})`);
    const c = this.optionalInput(node, 2);
    if (c && !broadcastsTo(c, [m, n])) badShape(node, `C ${fmt(c)} does not broadcast to [${m}, ${n}]`);
    return [[m, n]];
  },

  MatMul(node) {
    const a = this.input(node, 0);
    const b = this.input(node, 1);
    if (a.length === 0 || b.length === 0) badShape(node, `MatMul operands ${fmt(a)} and ${fmt(b)} must not be scalars`);
    // Rank-1 operands are promoted to matrices and the added dim is removed afterwards.
    const a2 = a.length === 1 ? [1, a[0]!] : a;
    const b2 = b.length === 1 ? [b[0]!, 1] : b;
    const k = a2[a2.length - 1]!;
    if (k !== b2[b2.length - 2]) badShape(node, `A ${fmt(a)} and B ${fmt(b)} disagree on the inner dim (${k} vs ${b2[b2.length - 2]})`);
    const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
    if (!batch) badShape(node, `batch dims of ${fmt(a)} and ${fmt(b)} do not broadcast`);
    const out = [...batch];
    if (a.length > 1) out.push(a2[a2.length - 2]!);
    if (b.length > 1) out.push(b2[b2.length - 1]!);
    return [out];
  },

  Dropout(node) {
    const x = this.input(node, 0);
    return [x, x];
  },

  Constant(node) {
    const value = constantNodeValue(node);
    this.constants.set(node.outputs[0]!, value);
    return [value.dims];
  },

  Shape(node) {
    const x = this.input(node, 0);
    const rank = x.length;
    // Shape-15 slices with start/end, clamped like Python slicing.
    const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
    const start = clamp(getInt(node, 'start', 0));
    const end = clamp(hasAttr(node, 'end') ? getInt(node, 'end', rank) : rank);
    const dims = x.slice(start, Math.max(start, end));
    this.constants.set(node.outputs[0]!, makeTensor(node.outputs[0]!, 'int64', [dims.length], dims));
    return [[dims.length]];
  },

  QuantizeLinear(node) {
    checkQuantParams.call(this, node);
    return [this.input(node, 0)];
  },
  DequantizeLinear(node) {
    checkQuantParams.call(this, node);
    return [this.input(node, 0)];
  },
};

function poolOutput(this: ShapeInference, node: NodeDef): Shape {
  const x = this.input(node, 0);
  if (x.length < 3) badShape(node, `input ${fmt(x)} must have rank >= 3 (N, C, spatial...)`);
  const attrs = readWindowAttributes(node, x.length - 2, this.opset);
  if (!attrs.kernelShape) throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)} has no kernel_shape`);
  const geometry = resolveWindow(node, x.slice(2), attrs.kernelShape, attrs);
  return [x[0]!, x[1]!, ...geometry.outputSpatial];
}

/** Opset < 7 Add: B matches a contiguous run of A's dims starting at `axis` (default: the tail). */
function legacyBroadcast(node: NodeDef, a: Shape, b: Shape): Shape {
  if (getInt(node, 'broadcast', 0) === 0) {
    if (fmt(a) !== fmt(b)) badShape(node, `shapes ${fmt(a)} and ${fmt(b)} differ and broadcast=0`);
    return a;
  }
  const axis = getInt(node, 'axis', a.length - b.length);
  const fits = b.length <= a.length && axis >= 0 && axis + b.length <= a.length
    && b.every((d, i) => d === 1 || d === a[axis + i]);
  if (!fits) badShape(node, `B ${fmt(b)} does not broadcast into A ${fmt(a)} at axis ${axis}`);
  return a;
}

/** Scale and zero point are a scalar (per tensor) or a vector along `axis` (per channel). */
function checkQuantParams(this: ShapeInference, node: NodeDef): void {
  const x = this.input(node, 0);
  const scale = this.input(node, 1);
  const zeroPoint = this.optionalInput(node, 2);
  if (zeroPoint && fmt(zeroPoint) !== fmt(scale)) badShape(node, `zero point ${fmt(zeroPoint)} and scale ${fmt(scale)} differ in shape`);
  if (getInt(node, 'block_size', 0) > 0) return; // blocked quantization: scale rank equals the input's
  if (scale.length === 0 || (scale.length === 1 && scale[0] === 1 && x.length === 0)) return;
  if (scale.length !== 1) badShape(node, `scale ${fmt(scale)} must be a scalar or 1-D`);
  const axis = this.normalizeAxis(node, getIntAt(node, 'axis', this.opset), x.length);
  if (scale[0] !== x[axis] && scale[0] !== 1) {
    badShape(node, `per-axis scale ${fmt(scale)} does not match input ${fmt(x)} along axis ${axis}`);
  }
}

/** The tensor a Constant node produces, from whichever value attribute it carries. */
export function constantNodeValue(node: NodeDef): TensorValue {
  const output = node.outputs[0] ?? '';
  const tensor = getTensorAttr(node, 'value');
  if (tensor) return tensor;
  const floatAttr = node.attributes['value_float'];
  if (floatAttr) return makeTensor(output, 'float32', [], [floatAttr.value as number]);
  if (hasAttr(node, 'value_floats')) {
    const values = getFloats(node, 'value_floats', []);
    return makeTensor(output, 'float32', [values.length], values);
  }
  if (hasAttr(node, 'value_int')) return makeTensor(output, 'int64', [], [getInt(node, 'value_int', 0)]);
  if (hasAttr(node, 'value_ints')) {
    const values = getInts(node, 'value_ints', []);
    return makeTensor(output, 'int64', [values.length], values);
  }
  const kinds = Object.keys(node.attributes).join(', ') || 'none';
  throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: only tensor, float(s) and int(s) values are supported (attributes: ${kinds}); string and sparse constants are not`);
}
