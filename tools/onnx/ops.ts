// The ONNX ops edgeq's ONNX tools read (shape inference has a rule for each), their arity, their
// attribute defaults per opset version, and typed attribute getters that the shape inference and the
// quantizer share. Reading an op is not quantizing it: the ops the quantizer maps, and when, are
// tools/quantize/ops/registry.ts (docs/ops.md); they are a subset of these.

import { EdgeqError } from 'edgeq';
import type { AttributeValue, ModelDef, NodeDef, TensorValue } from './model.js';

/**
 * ai.onnx opset versions edgeq reads. Models for opsets 7..21 are the target; older ones are
 * read too because, for the ops below, their differences are either inert for inference
 * (consumed_inputs, is_test) or handled explicitly (legacy Add broadcast/axis, Reshape's shape
 * attribute before opset 5, BatchNormalization spatial=0 before opset 9).
 */
export const MIN_OPSET = 1;
export const MAX_OPSET = 21;

export interface OpSpec {
  minInputs: number;
  maxInputs: number;
  minOutputs: number;
  maxOutputs: number;
  /** Attribute defaults; an entry applies from opset `since` on, later entries override earlier ones. */
  defaults: { since: number; attributes: Record<string, AttributeValue> }[];
}

const int = (value: number): AttributeValue => ({ type: 'int', value });
const float = (value: number): AttributeValue => ({ type: 'float', value });
const string = (value: string): AttributeValue => ({ type: 'string', value });

const FLT_MAX = 3.4028234663852886e38;

// Per-spatial-axis attributes (kernel_shape, strides, dilations, pads) have no fixed-length
// default; they default to the weight's kernel, 1, 1 and 0 per axis (see readWindowAttributes).
const WINDOW_DEFAULTS = { auto_pad: string('NOTSET') };

const spec = (
  inputs: [number, number],
  outputs: [number, number],
  ...defaults: { since: number; attributes: Record<string, AttributeValue> }[]
): OpSpec => ({ minInputs: inputs[0], maxInputs: inputs[1], minOutputs: outputs[0], maxOutputs: outputs[1], defaults });

/** The op types shape inference knows (the quantizer's, heads like Softmax, the QDQ exports' Q/DQ). */
export const KNOWN_OPS: ReadonlyMap<string, OpSpec> = new Map<string, OpSpec>([
  ['Conv', spec([2, 3], [1, 1], { since: 1, attributes: { ...WINDOW_DEFAULTS, group: int(1) } })],
  ['BatchNormalization', spec([5, 5], [1, 5],
    { since: 1, attributes: { epsilon: float(1e-5), momentum: float(0.9), is_test: int(0), spatial: int(1) } },
    { since: 14, attributes: { training_mode: int(0) } })],
  ['Relu', spec([1, 1], [1, 1])],
  ['LeakyRelu', spec([1, 1], [1, 1], { since: 1, attributes: { alpha: float(0.01) } })],
  ['HardSigmoid', spec([1, 1], [1, 1], { since: 1, attributes: { alpha: float(0.2), beta: float(0.5) } })],
  ['HardSwish', spec([1, 1], [1, 1])],
  ['Sigmoid', spec([1, 1], [1, 1])],
  // Before opset 11 the bounds are attributes; from 11 on they are optional inputs.
  ['Clip', spec([1, 3], [1, 1], { since: 1, attributes: { min: float(-FLT_MAX), max: float(FLT_MAX) } })],
  ['MaxPool', spec([1, 1], [1, 2], { since: 1, attributes: { ...WINDOW_DEFAULTS, storage_order: int(0) } },
    { since: 10, attributes: { ceil_mode: int(0) } })],
  ['AveragePool', spec([1, 1], [1, 1], { since: 1, attributes: { ...WINDOW_DEFAULTS, count_include_pad: int(0) } },
    { since: 10, attributes: { ceil_mode: int(0) } })],
  ['GlobalAveragePool', spec([1, 1], [1, 1])],
  ['Add', spec([2, 2], [1, 1], { since: 1, attributes: { broadcast: int(0) } })],
  ['Mul', spec([2, 2], [1, 1], { since: 1, attributes: { broadcast: int(0) } })],
  // Before opset 4 axis defaults to 1; from 4 on it is required (read leniently as 1 when absent).
  ['Concat', spec([1, 65536], [1, 1], { since: 1, attributes: { axis: int(1) } })],
  ['Flatten', spec([1, 1], [1, 1], { since: 1, attributes: { axis: int(1) } })],
  // Before opset 5 the target shape is an attribute; from 5 on it is the second input.
  ['Reshape', spec([1, 2], [1, 1], { since: 14, attributes: { allowzero: int(0) } })],
  ['Gemm', spec([2, 3], [1, 1], { since: 1, attributes: { alpha: float(1), beta: float(1), transA: int(0), transB: int(0) } })],
  ['MatMul', spec([2, 2], [1, 1])],
  ['Softmax', spec([1, 1], [1, 1], { since: 1, attributes: { axis: int(1) } }, { since: 13, attributes: { axis: int(-1) } })],
  ['Identity', spec([1, 1], [1, 1])],
  // Before opset 2 'paddings'; before 11 pads and value are attributes; from 11 on inputs (18: axes).
  ['Pad', spec([1, 4], [1, 1], { since: 1, attributes: { mode: string('constant'), value: float(0) } })],
  // Before opset 12 the ratio is an attribute; from 12 on it is an optional input.
  ['Dropout', spec([1, 3], [1, 2], { since: 1, attributes: { ratio: float(0.5), is_test: int(0) } })],
  ['Constant', spec([0, 0], [1, 1])],
  ['Shape', spec([1, 1], [1, 1], { since: 15, attributes: { start: int(0) } })],
  ['QuantizeLinear', spec([2, 3], [1, 1], { since: 13, attributes: { axis: int(1) } },
    { since: 19, attributes: { saturate: int(1) } }, { since: 21, attributes: { block_size: int(0), output_dtype: int(0) } })],
  ['DequantizeLinear', spec([2, 3], [1, 1], { since: 13, attributes: { axis: int(1) } },
    { since: 21, attributes: { block_size: int(0) } })],
]);

export function isKnownOp(node: Pick<NodeDef, 'opType' | 'domain'>): boolean {
  return (node.domain === '' || node.domain === 'ai.onnx') && KNOWN_OPS.has(node.opType);
}

/** The ai.onnx opset a model imports ('' and 'ai.onnx' name the same domain). */
export function modelOpset(model: ModelDef): number {
  const main = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!main) throw new EdgeqError('BAD_ONNX', 'the model imports no ai.onnx opset');
  return main.version;
}

/** Attribute defaults of an op at an opset version (empty for unknown ops). */
export function attributeDefaults(opType: string, opset: number): Record<string, AttributeValue> {
  const result: Record<string, AttributeValue> = {};
  for (const entry of KNOWN_OPS.get(opType)?.defaults ?? []) {
    if (entry.since <= opset) Object.assign(result, entry.attributes);
  }
  return result;
}

// ---- Typed attribute getters ----

export function nodeLabel(node: NodeDef): string {
  return `node "${node.name}" (${node.opType})`;
}

function wrongType(node: NodeDef, name: string, expected: string, actual: AttributeValue): never {
  throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)}: attribute "${name}" should be ${expected} but is ${actual.type}`);
}

/** The raw attribute, or the op's default at `opset` when given, or undefined. */
export function getAttr(node: NodeDef, name: string, opset?: number): AttributeValue | undefined {
  return node.attributes[name] ?? (opset === undefined ? undefined : attributeDefaults(node.opType, opset)[name]);
}

export function hasAttr(node: NodeDef, name: string): boolean {
  return name in node.attributes;
}

export function getInt(node: NodeDef, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int') wrongType(node, name, 'an int', a);
  return a.value;
}

export function getFloat(node: NodeDef, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  // Some exporters write float attributes as ints (e.g. alpha=1); accept both.
  if (a.type !== 'float' && a.type !== 'int') wrongType(node, name, 'a float', a);
  return a.value;
}

export function getString(node: NodeDef, name: string, fallback: string): string {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.type !== 'string') wrongType(node, name, 'a string', a);
  return a.value;
}

export function getInts(node: NodeDef, name: string, fallback: number[]): number[];
export function getInts(node: NodeDef, name: string): number[] | undefined;
export function getInts(node: NodeDef, name: string, fallback?: number[]): number[] | undefined {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.type !== 'ints') wrongType(node, name, 'a list of ints', a);
  return a.value;
}

export function getFloats(node: NodeDef, name: string, fallback: number[]): number[] {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.type !== 'floats') wrongType(node, name, 'a list of floats', a);
  return a.value;
}

export function getTensorAttr(node: NodeDef, name: string): TensorValue | undefined {
  const a = node.attributes[name];
  if (a === undefined) return undefined;
  if (a.type !== 'tensor') wrongType(node, name, 'a tensor', a);
  return a.value;
}

/** An int attribute with the op's default at `opset`. */
export function getIntAt(node: NodeDef, name: string, opset: number): number {
  const d = attributeDefaults(node.opType, opset)[name];
  return getInt(node, name, d?.type === 'int' ? d.value : 0);
}

/** A float attribute with the op's default at `opset`. */
export function getFloatAt(node: NodeDef, name: string, opset: number): number {
  const d = attributeDefaults(node.opType, opset)[name];
  return getFloat(node, name, d?.type === 'float' ? d.value : 0);
}

// ---- Attribute bundles for the ops the quantizer maps ----

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
const AUTO_PADS: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/** Sliding-window attributes of Conv, MaxPool and AveragePool with per-axis defaults filled in. */
export interface WindowAttributes {
  autoPad: AutoPad;
  /** Undefined for Conv when the node omits it (the weight's spatial dims apply). */
  kernelShape: number[] | undefined;
  strides: number[];
  dilations: number[];
  /** ONNX order: all begins, then all ends. Ignored when autoPad is not NOTSET. */
  pads: number[];
  ceilMode: boolean;
}

export function readWindowAttributes(node: NodeDef, spatialRank: number, opset: number): WindowAttributes {
  const rawAutoPad = getString(node, 'auto_pad', 'NOTSET');
  // Some exporters write an empty auto_pad; ONNX treats it as NOTSET.
  const autoPad = rawAutoPad === '' ? 'NOTSET' : rawAutoPad;
  if (!AUTO_PADS.includes(autoPad)) {
    throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: auto_pad "${autoPad}" is not one of ${AUTO_PADS.join(', ')}`);
  }
  const perAxis = (name: string, fill: number, length: number): number[] => {
    const value = getInts(node, name, new Array<number>(length).fill(fill));
    if (value.length !== length) {
      throw new EdgeqError('BAD_SHAPE', `${nodeLabel(node)}: attribute ${name} has ${value.length} values [${value.join(', ')}], expected ${length} for ${spatialRank} spatial axes`);
    }
    return value;
  };
  const kernelShape = hasAttr(node, 'kernel_shape') ? perAxis('kernel_shape', 1, spatialRank) : undefined;
  return {
    autoPad: autoPad as AutoPad,
    kernelShape,
    strides: perAxis('strides', 1, spatialRank),
    dilations: perAxis('dilations', 1, spatialRank),
    pads: perAxis('pads', 0, 2 * spatialRank),
    ceilMode: getIntAt(node, 'ceil_mode', opset) !== 0,
  };
}

export interface ConvAttributes extends WindowAttributes {
  group: number;
}

export function readConvAttributes(node: NodeDef, spatialRank: number, opset: number): ConvAttributes {
  return { ...readWindowAttributes(node, spatialRank, opset), group: getIntAt(node, 'group', opset) };
}

export interface GemmAttributes {
  alpha: number;
  beta: number;
  transA: boolean;
  transB: boolean;
}

export function readGemmAttributes(node: NodeDef, opset: number): GemmAttributes {
  return {
    alpha: getFloatAt(node, 'alpha', opset),
    beta: getFloatAt(node, 'beta', opset),
    transA: getIntAt(node, 'transA', opset) !== 0,
    transB: getIntAt(node, 'transB', opset) !== 0,
  };
}

/**
 * Clip's bounds as numbers (±Infinity where absent): attributes before opset 11, constant
 * inputs from 11 on. `constants` holds the known values (initializers, Constant outputs),
 * e.g. from inferShapesAndConstants. A bound computed at run time is UNSUPPORTED_OP.
 */
/**
 * Pad's mode, pads ([x1_begin, x2_begin, ..., x1_end, x2_end, ...] over every axis) and constant
 * value: attributes before opset 11, constant inputs from 11 on (an axes input is UNSUPPORTED_OP).
 * `withValue` false: the value is not read (NaN; shapes need only the pads).
 */
export function readPad(node: NodeDef, opset: number, constants: ReadonlyMap<string, TensorValue>, withValue = true): { mode: string; pads: number[]; value: number } {
  const mode = getString(node, 'mode', 'constant');
  if (opset < 11) return { mode, pads: getInts(node, opset < 2 ? 'paddings' : 'pads', []), value: getFloat(node, 'value', 0) };
  const constant = (index: number, role: string): TensorValue | undefined => {
    const name = node.inputs[index] ?? '';
    if (name === '') return undefined;
    const value = constants.get(name);
    if (!value) throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: ${role} input "${name}" is not a constant`);
    return value;
  };
  if (constant(3, 'axes')) throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: a Pad with an axes input is not supported (give pads for every axis)`);
  const pads = constant(1, 'pads');
  if (!pads) throw new EdgeqError('BAD_ONNX', `${nodeLabel(node)}: missing pads input`);
  if (!withValue) return { mode, pads: Array.from(pads.data, Number), value: NaN };
  const v = constant(2, 'constant_value');
  if (v && v.data.length !== 1) throw new EdgeqError('BAD_SHAPE', `${nodeLabel(node)}: constant_value has dims [${v.dims.join(', ')}], expected a scalar`);
  return { mode, pads: Array.from(pads.data, Number), value: v ? Number(v.data[0]) : 0 };
}

export function readClipBounds(node: NodeDef, opset: number, constants: ReadonlyMap<string, TensorValue>): { min: number; max: number } {
  if (opset < 11) {
    return { min: getFloat(node, 'min', -Infinity), max: getFloat(node, 'max', Infinity) };
  }
  const bound = (index: number, role: string, absent: number): number => {
    const name = node.inputs[index] ?? '';
    if (name === '') return absent;
    const value = constants.get(name);
    if (!value) throw new EdgeqError('UNSUPPORTED_OP', `${nodeLabel(node)}: ${role} input "${name}" is not a constant`);
    if (value.data.length !== 1) throw new EdgeqError('BAD_SHAPE', `${nodeLabel(node)}: ${role} input "${name}" has dims [${value.dims.join(', ')}], expected a scalar`);
    return Number(value.data[0]);
  };
  return { min: bound(1, 'min', -Infinity), max: bound(2, 'max', Infinity) };
}
