// Writes small .tflite files (tests, fuzz seeds) with the flatbuffers Builder (field slots as in
// TFLite's schema.fbs, the same ones reader.ts reads).
import { Builder } from 'flatbuffers';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** TensorType: 3 uint8, 2 int32, 0 float32. */
  type: number;
  data?: Uint8Array;
  scale?: number[];
  zeroPoint?: number[];
  quantizedDimension?: number;
}

export interface OpSpec {
  /** BuiltinOperator code. */
  code: number;
  inputs: number[];
  outputs: number[];
  /** BuiltinOptions union type and the option fields as [slot, kind, value]. */
  options?: { type: number; fields: [number, 'i8' | 'i32' | 'f32', number][] };
}

export interface ModelSpec { tensors: TensorSpec[]; ops: OpSpec[]; inputs: number[]; outputs: number[] }

function intVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function offsetVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addOffset(values[i]!);
  return b.endVector();
}

/** The .tflite bytes of `m` (one subgraph; buffer 0 is the empty buffer, as converters write). */
export function buildTflite(m: ModelSpec): Uint8Array {
  const b = new Builder(1024);
  const codes = [...new Set(m.ops.map((o) => o.code))];
  const codeTables = codes.map((c) => {
    b.startObject(4);
    b.addFieldInt8(0, Math.min(c, 127), 0);
    b.addFieldInt32(2, 1, 0);
    b.addFieldInt32(3, c, 0);
    return b.endObject();
  });
  const buffers: number[] = [];
  b.startObject(1); buffers.push(b.endObject());
  const tensors = m.tensors.map((t) => {
    let buffer = 0;
    if (t.data) {
      const data = b.createByteVector(t.data);
      b.startObject(1); b.addFieldOffset(0, data, 0); buffers.push(b.endObject());
      buffer = buffers.length - 1;
    }
    let quant = 0;
    if (t.scale) {
      b.startVector(4, t.scale.length, 4);
      for (let i = t.scale.length - 1; i >= 0; i--) b.addFloat32(t.scale[i]!);
      const scale = b.endVector();
      const zps = t.zeroPoint ?? t.scale.map(() => 0);
      b.startVector(8, zps.length, 8);
      for (let i = zps.length - 1; i >= 0; i--) b.addInt64(BigInt(zps[i]!));
      const zero = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zero, 0);
      b.addFieldInt32(6, t.quantizedDimension ?? 0, 0);
      quant = b.endObject();
    }
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    b.startObject(5);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, 0);
    b.addFieldInt32(2, buffer, 0);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });
  const ops = m.ops.map((o) => {
    let options = 0;
    if (o.options) {
      b.startObject(8);
      for (const [slot, kind, v] of o.options.fields) {
        if (kind === 'i8') b.addFieldInt8(slot, v, 0);
        else if (kind === 'i32') b.addFieldInt32(slot, v, 0);
        else b.addFieldFloat32(slot, v, 0);
      }
      options = b.endObject();
    }
    const inputs = intVector(b, o.inputs), outputs = intVector(b, o.outputs);
    b.startObject(5);
    b.addFieldInt32(0, codes.indexOf(o.code), 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    if (o.options) { b.addFieldInt8(3, o.options.type, 0); b.addFieldOffset(4, options, 0); }
    return b.endObject();
  });
  const tv = offsetVector(b, tensors), ov = offsetVector(b, ops);
  const iv = intVector(b, m.inputs), outv = intVector(b, m.outputs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tv, 0); b.addFieldOffset(1, iv, 0); b.addFieldOffset(2, outv, 0); b.addFieldOffset(3, ov, 0); b.addFieldOffset(4, sgName, 0);
  const sg = b.endObject();
  const cv = offsetVector(b, codeTables), sv = offsetVector(b, [sg]), bv = offsetVector(b, buffers);
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, cv, 0); b.addFieldOffset(2, sv, 0); b.addFieldOffset(4, bv, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/** A deterministic generator of small integers (xorshift32). */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => { s ^= s << 13; s >>>= 0; s ^= s >> 17; s ^= s << 5; s >>>= 0; return s % n; };
}

const int32Bytes = (v: number[]) => new Uint8Array(Int32Array.from(v).buffer);

/**
 * A uint8 model: a 3x3 SAME stride-2 conv (RELU6) of a [1, 9, 9, 3] input, a 3x3 depthwise conv
 * (RELU), an ADD of the two, a global average pool, a fully connected layer to 5 outputs, a
 * RESHAPE and a SOFTMAX. Weights keep w - zw within [-127, 127].
 */
export function tinyModel(seed = 1, overrides: { convScale?: number[]; convZero?: number[]; depthMultiplier?: number } = {}): ModelSpec {
  const r = rng(seed);
  const bytes = (n: number, lo: number, hi: number) => Uint8Array.from({ length: n }, () => lo + r(hi - lo + 1));
  const tensors: TensorSpec[] = [
    { name: 'input', shape: [1, 9, 9, 3], type: 3, scale: [1 / 128], zeroPoint: [128] },
    { name: 'conv/w', shape: [4, 3, 3, 3], type: 3, data: bytes(108, 10, 250), scale: overrides.convScale ?? [0.02], zeroPoint: overrides.convZero ?? [130] },
    { name: 'conv/b', shape: [4], type: 2, data: int32Bytes([100, -200, 300, 0]), scale: [0.02 / 128], zeroPoint: [0] },
    { name: 'conv', shape: [1, 5, 5, 4], type: 3, scale: [6 / 255], zeroPoint: [0] },
    { name: 'dw/w', shape: [1, 3, 3, 4], type: 3, data: bytes(36, 20, 240), scale: [0.03], zeroPoint: [127] },
    { name: 'dw/b', shape: [4], type: 2, data: int32Bytes([50, -50, 10, 400]), scale: [0.03 * 6 / 255], zeroPoint: [0] },
    { name: 'dw', shape: [1, 5, 5, 4], type: 3, scale: [0.04], zeroPoint: [0] },
    { name: 'add', shape: [1, 5, 5, 4], type: 3, scale: [0.05], zeroPoint: [3] },
    { name: 'pool', shape: [1, 1, 1, 4], type: 3, scale: [0.05], zeroPoint: [3] },
    { name: 'fc/w', shape: [5, 4], type: 3, data: bytes(20, 5, 250), scale: [0.01], zeroPoint: [128] },
    { name: 'fc/b', shape: [5], type: 2, data: int32Bytes([7, -7, 70, -70, 0]), scale: [0.0005], zeroPoint: [0] },
    { name: 'fc', shape: [1, 5], type: 3, scale: [0.02], zeroPoint: [120] },
    { name: 'logits', shape: [1, 5], type: 3, scale: [0.02], zeroPoint: [120] },
    { name: 'prob', shape: [1, 5], type: 3, scale: [1 / 256], zeroPoint: [0] },
  ];
  const ops: OpSpec[] = [
    { code: 3, inputs: [0, 1, 2], outputs: [3], options: { type: 1, fields: [[0, 'i8', 0], [1, 'i32', 2], [2, 'i32', 2], [3, 'i8', 3]] } },
    { code: 4, inputs: [3, 4, 5], outputs: [6], options: { type: 2, fields: [[0, 'i8', 0], [1, 'i32', 1], [2, 'i32', 1], [3, 'i32', overrides.depthMultiplier ?? 1], [4, 'i8', 1]] } },
    { code: 0, inputs: [3, 6], outputs: [7], options: { type: 11, fields: [] } },
    { code: 1, inputs: [7], outputs: [8], options: { type: 5, fields: [[0, 'i8', 1], [1, 'i32', 1], [2, 'i32', 1], [3, 'i32', 5], [4, 'i32', 5]] } },
    { code: 9, inputs: [8, 9, 10], outputs: [11], options: { type: 8, fields: [] } },
    { code: 22, inputs: [11], outputs: [12], options: { type: 17, fields: [] } },
    { code: 25, inputs: [12], outputs: [13], options: { type: 9, fields: [[0, 'f32', 1]] } },
  ];
  return { tensors, ops, inputs: [0], outputs: [13] };
}
