// Tensor helpers shared by the reader, the writer, shape inference and the quantizer:
// data type <-> ONNX enum, element sizes, typed-array conversion and tensor construction.

import { EdgeqError } from 'edgeq';
import type { DataType, TensorData, TensorValue } from './model.js';

/** TensorProto.DataType codes for the data types edgeq represents. */
export const ONNX_DATA_TYPE: Readonly<Record<DataType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

/** Names of every ONNX data type code, for error messages about the ones edgeq cannot hold. */
const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64',
  8: 'STRING', 9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64',
  15: 'COMPLEX128', 16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4', 23: 'FLOAT4E2M1',
};

const DATA_TYPE_BY_CODE = new Map<number, DataType>(
  (Object.entries(ONNX_DATA_TYPE) as [DataType, number][]).map(([dt, code]) => [code, dt]),
);

export function onnxDataType(dataType: DataType): number {
  return ONNX_DATA_TYPE[dataType];
}

export function onnxDataTypeName(code: number): string {
  return ONNX_TYPE_NAMES[code] ?? `unknown(${code})`;
}

/** Maps an ONNX data type code; `what` names the tensor or value for the error message. */
export function dataTypeFromOnnx(code: number, what: string): DataType {
  const dataType = DATA_TYPE_BY_CODE.get(code);
  if (dataType === undefined) {
    throw new EdgeqError('BAD_ONNX', `${what} has data type ${onnxDataTypeName(code)} (${code}), which edgeq does not support`);
  }
  return dataType;
}

export function isDataTypeCode(code: number): boolean {
  return DATA_TYPE_BY_CODE.has(code);
}

const BYTES_PER_ELEMENT: Readonly<Record<DataType, number>> = {
  float32: 4, uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, int64: 8, bool: 1, float16: 2,
  float64: 8, uint32: 4, uint64: 8,
};

export function bytesPerElement(dataType: DataType): number {
  return BYTES_PER_ELEMENT[dataType];
}

/** Number of elements of a tensor with these dims ([] is a scalar: 1 element). */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) count *= d;
  return count;
}

/** A zero-filled typed array of the representation this data type uses in a TensorValue. */
export function allocateTensorData(dataType: DataType, length: number): TensorData {
  switch (dataType) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'uint8': case 'bool': return new Uint8Array(length);
    case 'int8': return new Int8Array(length);
    case 'uint16': case 'float16': return new Uint16Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': return new Int32Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'uint64': return new BigUint64Array(length);
  }
}

// Typed arrays use the host byte order while ONNX raw_data is little-endian; every
// engine edgeq targets (x86, ARM, WASM) is little-endian, so a check suffices.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new EdgeqError('NOT_SUPPORTED', 'edgeq needs a little-endian host to read or write ONNX tensors');
}

/**
 * Builds tensor data from little-endian bytes (ONNX raw_data). Copies, so the result is aligned
 * and does not keep the whole model buffer alive. The caller checks the byte length.
 */
export function tensorDataFromBytes(dataType: DataType, bytes: Uint8Array): TensorData {
  requireLittleEndianHost();
  const data = allocateTensorData(dataType, bytes.byteLength / bytesPerElement(dataType));
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return data;
}

/** The little-endian bytes of a tensor (ONNX raw_data); a view when possible. */
export function tensorBytes(tensor: TensorValue): Uint8Array {
  requireLittleEndianHost();
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Converts IEEE half-precision bits to a number. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Converts a number to IEEE half-precision bits (round to nearest even). */
export function numberToFloat16(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1)) ? 1 : 0));
  }
  let half = (halfExponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa lands in the exponent, which is the correct rounded value.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** The tensor's values as numbers (int64 beyond 2^53 loses precision; float16 is decoded). */
export function tensorToNumbers(tensor: TensorValue): number[] {
  const { data } = tensor;
  const out = new Array<number>(data.length);
  if (tensor.dataType === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = float16ToNumber(data[i] as number);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  }
  return out;
}

export function tensorToFloat32(tensor: TensorValue): Float32Array {
  if (tensor.data instanceof Float32Array) return tensor.data;
  return Float32Array.from(tensorToNumbers(tensor));
}

/**
 * Makes a TensorValue. `values` may be numbers/bigints (converted to the data type's
 * representation; float16 numbers are encoded to bits) or ready typed data of the right kind.
 * Omit `values` for a zero tensor.
 */
export function makeTensor(
  name: string,
  dataType: DataType,
  dims: readonly number[],
  values?: TensorData | ArrayLike<number> | ArrayLike<bigint>,
): TensorValue {
  const count = elementCount(dims);
  const data = allocateTensorData(dataType, count);
  if (values !== undefined) {
    if (values.length !== count) {
      throw new EdgeqError('BAD_SHAPE', `tensor "${name}": ${values.length} values for dims [${dims.join(', ')}] (${count} elements)`);
    }
    const isBigData = data instanceof BigInt64Array || data instanceof BigUint64Array;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (isBigData) {
        (data as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
      } else if (dataType === 'float16' && !(values instanceof Uint16Array)) {
        (data as Uint16Array)[i] = numberToFloat16(Number(v));
      } else {
        (data as Float32Array)[i] = Number(v);
      }
    }
  }
  return { name, dataType, dims: [...dims], data };
}

/** A float32 tensor, the common case for weights and test inputs. */
export function makeFloatTensor(name: string, dims: readonly number[], values?: ArrayLike<number>): TensorValue {
  return makeTensor(name, 'float32', dims, values);
}
