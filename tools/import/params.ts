// Reading the quantization parameters a quantized ONNX file states (scales, zero points, integer
// weights and biases), each checked before use: a scale is a finite, normal, positive float32; a
// zero point is uint8 or int8; a per-channel parameter has one value per channel. Every failure is
// an EdgeqError naming the node and the tensor.
import { EdgeqError } from 'edgeq';
import type { NodeDef, TensorValue } from '../onnx/model.js';
import { nodeLabel } from '../onnx/ops.js';

/** Smallest normal float32: a denormal scale makes multipliers overflow or lose every bit. */
const F32_MIN_NORMAL = 2 ** -126;

/** Activation parameters in edgeq's uint8 domain: a signed (int8) tensor is shifted by +128, zero point included. */
export interface ActParams {
  scale: number;
  /** The zero point as edgeq stores it (0..255): the file's, + 128 for int8. */
  zeroPoint: number;
  /** True when the file's tensor is int8 (QInt8). */
  signed: boolean;
}

export function fail(node: NodeDef | undefined, message: string, code: 'UNSUPPORTED_OP' | 'BAD_ONNX' | 'BAD_SHAPE' = 'UNSUPPORTED_OP'): never {
  throw new EdgeqError(code, `${node ? `${nodeLabel(node)}: ` : ''}${message}`);
}

/** The constant named `name` (an initializer or a folded Constant), or a BAD_ONNX error naming it. */
export function constantOf(constants: ReadonlyMap<string, TensorValue>, node: NodeDef, name: string | undefined, what: string): TensorValue {
  const t = name ? constants.get(name) : undefined;
  if (!t) fail(node, `${what} "${name ?? ''}" must be a constant initializer`, 'BAD_ONNX');
  return t!;
}

/** The float32 scales of `t`: `count` of them (1 for per tensor), each finite, normal and positive. */
export function scalesOf(node: NodeDef, t: TensorValue, count?: number): Float32Array {
  if (t.dataType !== 'float32') fail(node, `scale "${t.name}" is ${t.dataType}, must be float32`, 'BAD_ONNX');
  const s = t.data as Float32Array;
  if (s.length === 0 || (count !== undefined && s.length !== count)) {
    fail(node, `scale "${t.name}" has ${s.length} values, expected ${count ?? 'at least 1'}`, 'BAD_ONNX');
  }
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (!(Number.isFinite(v) && v >= F32_MIN_NORMAL)) fail(node, `scale "${t.name}"[${i}] = ${v} must be a finite, normal, positive float32`, 'BAD_ONNX');
  }
  return s;
}

/** Zero points of an 8-bit tensor as numbers (`count` values, or 1), and whether they are int8. */
export function zeroPointsOf(node: NodeDef, t: TensorValue | undefined, count = 1): { values: Int32Array; signed: boolean } {
  if (!t) return { values: new Int32Array(count), signed: false }; // ONNX: an absent zero point is uint8 0
  if (t.dataType !== 'uint8' && t.dataType !== 'int8') {
    fail(node, `zero point "${t.name}" is ${t.dataType}; edgeq imports uint8 and int8 tensors only`);
  }
  if (t.data.length !== count && t.data.length !== 1) fail(node, `zero point "${t.name}" has ${t.data.length} values, expected ${count}`, 'BAD_ONNX');
  const values = new Int32Array(count);
  for (let i = 0; i < count; i++) values[i] = Number(t.data[t.data.length === 1 ? 0 : i]);
  return { values, signed: t.dataType === 'int8' };
}

/** Per-tensor activation parameters from a (scale, zero point) pair, shifted into uint8 when int8. */
export function actParams(node: NodeDef, scale: TensorValue, zeroPoint: TensorValue | undefined): ActParams {
  const s = scalesOf(node, scale, 1);
  const z = zeroPointsOf(node, zeroPoint, 1);
  if (zeroPoint && zeroPoint.data.length !== 1) fail(node, `zero point "${zeroPoint.name}" must be per tensor for an activation`);
  return { scale: s[0]!, zeroPoint: z.values[0]! + (z.signed ? 128 : 0), signed: z.signed };
}

/**
 * Integer weights w - zw, zero point per output channel `channelOf(i)` (`channels` of them): in
 * [-255, 255] for 8-bit weights and zero points of one type, the range the packer takes (as int8
 * where it fits, else the int16 -w16 layouts: src/kernels/packing.ts), so exact for every value.
 */
export function centeredWeights(node: NodeDef, w: TensorValue, zp: TensorValue | undefined, channels: number, channelOf: (i: number) => number): Int16Array {
  if (w.dataType !== 'int8' && w.dataType !== 'uint8') fail(node, `weight "${w.name}" is ${w.dataType}; edgeq imports int8 and uint8 weights`);
  const z = zeroPointsOf(node, zp, channels);
  if (zp && zp.dataType !== w.dataType) fail(node, `weight "${w.name}" is ${w.dataType} but its zero point "${zp.name}" is ${zp.dataType}`, 'BAD_ONNX');
  const out = new Int16Array(w.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(w.data[i]) - z.values[channelOf(i)]!;
  return out;
}

/** An int32 bias of `count` values (per output channel). */
export function biasOf(node: NodeDef, b: TensorValue | undefined, count: number): Int32Array {
  if (!b) return new Int32Array(count);
  if (b.dataType !== 'int32') fail(node, `bias "${b.name}" is ${b.dataType}, must be int32`, 'BAD_ONNX');
  if (b.data.length !== count) fail(node, `bias "${b.name}" has ${b.data.length} values for ${count} output channels`, 'BAD_ONNX');
  return Int32Array.from(b.data as Int32Array);
}
