// Reading a TensorFlow Lite flatbuffer (.tflite) into plain objects, on the `flatbuffers` runtime's
// ByteBuffer. Only the tables and fields the importer needs are read (field slots from TFLite's
// schema.fbs). Everything is validated before it is read: every offset lands inside the file, every
// vtable and the fields it names lie in range, vectors fit, a constant tensor's buffer holds exactly
// shape x element size bytes, quantization parameters come in matching counts with finite positive
// normal scales. Flatbuffer uoffsets are unsigned and are required here to point strictly forward,
// so no chain of references can loop. Every failure is EdgeqError('BAD_MODEL', ...) naming the
// offset, tensor or operator.
import { EdgeqError } from 'edgeq';
import { FlatTables, type Table } from './flat-tables.js';

/** TFLite TensorType values the importer distinguishes (others are read by number). */
export const TENSOR_TYPES: Record<number, { name: string; bytes: number }> = {
  0: { name: 'float32', bytes: 4 }, 1: { name: 'float16', bytes: 2 }, 2: { name: 'int32', bytes: 4 }, 3: { name: 'uint8', bytes: 1 },
  4: { name: 'int64', bytes: 8 }, 6: { name: 'bool', bytes: 1 }, 7: { name: 'int16', bytes: 2 }, 9: { name: 'int8', bytes: 1 },
  10: { name: 'float64', bytes: 8 },
};

/** BuiltinOperator codes of the ops the importer knows by name. */
export const BUILTIN = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9,
  LOGISTIC: 14, MAX_POOL_2D: 17, MUL: 18, RELU: 19, RELU_N1_TO_1: 20, RELU6: 21, RESHAPE: 22, SOFTMAX: 25, PAD: 34, MEAN: 40,
  SQUEEZE: 43, QUANTIZE: 114, HARD_SWISH: 117,
} as const;
const BUILTIN_NAMES = new Map<number, string>(Object.entries(BUILTIN).map(([k, v]) => [v, k]));

/** ActivationFunctionType. */
export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';
const ACTIVATIONS: FusedActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export interface TfliteQuantization {
  scale: Float32Array;
  zeroPoint: number[];
  /** The axis the per-channel parameters run along (0 when per tensor). */
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  /** TensorType number (TENSOR_TYPES names it). */
  type: number;
  typeName: string;
  /** The constant's bytes (a view into the file), or undefined for an activation. */
  data?: Uint8Array;
  quantization?: TfliteQuantization;
}

export interface Conv2DOptions { padding: 'SAME' | 'VALID'; strideW: number; strideH: number; activation: FusedActivation; dilationW: number; dilationH: number }
export interface DepthwiseConv2DOptions extends Conv2DOptions { depthMultiplier: number }
export interface Pool2DOptions { padding: 'SAME' | 'VALID'; strideW: number; strideH: number; filterW: number; filterH: number; activation: FusedActivation }
export interface FullyConnectedOptions { activation: FusedActivation; weightsFormat: number; keepNumDims: boolean }
export interface AddOptions { activation: FusedActivation }
export interface ReshapeOptions { newShape?: number[] }
export interface SoftmaxOptions { beta: number }
export interface ConcatenationOptions { axis: number; activation: FusedActivation }
export interface MulOptions { activation: FusedActivation }
export interface ReducerOptions { keepDims: boolean }

export type TfliteOptions =
  | Conv2DOptions | DepthwiseConv2DOptions | Pool2DOptions | FullyConnectedOptions | AddOptions | ReshapeOptions
  | SoftmaxOptions | ConcatenationOptions | MulOptions | ReducerOptions | Record<string, never>;

export interface TfliteOperator {
  index: number;
  /** BuiltinOperator code (the larger of deprecated_builtin_code and builtin_code). */
  builtin: number;
  /** BUILTIN's name, `CUSTOM:<code>` for a custom op, or `BUILTIN_<n>`. */
  opName: string;
  inputs: number[];
  outputs: number[];
  /** The builtin options table, read for the ops the importer knows (else {}). */
  options: TfliteOptions;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteModel {
  version: number;
  subgraphs: TfliteSubgraph[];
  description: string;
  /** Model.metadata: named buffers (e.g. "TFLITE_METADATA", "min_runtime_version"), views into the file. */
  metadata: { name: string; data: Uint8Array }[];
}

/** True when `bytes` carry the TFLite file identifier "TFL3" at bytes 4..8. */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33;
}

const F32_MIN_NORMAL = 2 ** -126;

/** Reads and validates a .tflite file. `fileName` is named in errors. */
export function readTflite(bytes: Uint8Array, options: { fileName?: string } = {}): TfliteModel {
  const where = options.fileName ? `${options.fileName}: ` : '';
  if (!(bytes instanceof Uint8Array)) throw new EdgeqError('BAD_OPTION', 'the model must be the .tflite file\'s bytes (a Uint8Array)');
  if (!isTflite(bytes)) throw new EdgeqError('BAD_MODEL', `${where}not a TensorFlow Lite file (no "TFL3" identifier at bytes 4..8)`);
  return new Reader(bytes, where).model();
}

class Reader extends FlatTables {
  // ---- tables (field slots from tensorflow/lite/schema/schema.fbs) ----

  model(): TfliteModel {
    const root = this.table(this.follow(0, 'root table'), 'Model');
    const version = this.u32(root, 0);
    if (version !== 3) this.bad(`Model: schema version ${version}; edgeq reads version 3`);
    const codes = this.tables(root, 1, 'Model.operator_codes').map((c, i) => {
      // OperatorCode: deprecated_builtin_code (byte, slot 0), custom_code (1), version (2), builtin_code (int, 3).
      const code = Math.max(this.i8(c, 0), this.i32(c, 3));
      const custom = this.string(c, 1, `operator_codes[${i}].custom_code`);
      return { code, custom };
    });
    const buffers = this.tables(root, 4, 'Model.buffers').map((b, i) => this.buffer(b, i));
    const subgraphs = this.tables(root, 2, 'Model.subgraphs').map((s, i) => this.subgraph(s, i, codes, buffers));
    if (subgraphs.length === 0) this.bad('Model has no subgraph');
    // Metadata: name (string, slot 0), buffer (uint, 1).
    const metadata = this.tables(root, 6, 'Model.metadata').map((m, i) => {
      const name = this.string(m, 0, `metadata[${i}].name`), buffer = this.u32(m, 1);
      if (buffer >= buffers.length) this.bad(`metadata[${i}] "${name}": buffer ${buffer} does not exist (${buffers.length} buffers)`);
      return { name, data: buffers[buffer]! };
    });
    return { version, subgraphs, description: this.string(root, 3, 'Model.description'), metadata };
  }

  /** Buffer: data [ubyte] (slot 0), or offset (ulong, 1) and size (ulong, 2) into the file. */
  private buffer(b: Table, i: number): Uint8Array {
    const v = this.vector(b, 0, 1, `buffers[${i}].data`);
    if (v) return this.bytes.subarray(v.start, v.start + v.length);
    const po = this.field(b, 1, 8), ps = this.field(b, 2, 8);
    if (!po) return new Uint8Array(0);
    const offset = Number(this.bb.readUint64(po)), size = ps ? Number(this.bb.readUint64(ps)) : 0;
    if (offset <= 1 && size === 0) return new Uint8Array(0);
    this.need(offset, size, `buffers[${i}] (offset ${offset}, size ${size})`);
    return this.bytes.subarray(offset, offset + size);
  }

  private subgraph(s: Table, si: number, codes: { code: number; custom: string }[], buffers: Uint8Array[]): TfliteSubgraph {
    const name = this.string(s, 4, `subgraphs[${si}].name`);
    const tensors = this.tables(s, 0, `subgraphs[${si}].tensors`).map((t, i) => this.tensor(t, i, buffers));
    const index = (list: number[] | undefined, what: string): number[] => {
      for (const k of list ?? []) if (!(k >= 0 && k < tensors.length)) this.bad(`${what} names tensor ${k}; the subgraph has ${tensors.length}`);
      return list ?? [];
    };
    const inputs = index(this.ints(s, 1, `subgraphs[${si}].inputs`), `subgraphs[${si}].inputs`);
    const outputs = index(this.ints(s, 2, `subgraphs[${si}].outputs`), `subgraphs[${si}].outputs`);
    const operators = this.tables(s, 3, `subgraphs[${si}].operators`).map((o, i) => {
      const op = this.operator(o, i, codes);
      const what = `operator ${i} (${op.opName})`;
      // -1 marks an omitted optional input.
      for (const k of op.inputs) if (!(k === -1 || (k >= 0 && k < tensors.length))) this.bad(`${what}: input tensor ${k} does not exist (${tensors.length} tensors)`);
      for (const k of op.outputs) if (!(k >= 0 && k < tensors.length)) this.bad(`${what}: output tensor ${k} does not exist (${tensors.length} tensors)`);
      return op;
    });
    return { name, tensors, inputs, outputs, operators };
  }

  /** Tensor: shape (0), type (1), buffer (2), name (3), quantization (4). */
  private tensor(t: Table, i: number, buffers: Uint8Array[]): TfliteTensor {
    const name = this.string(t, 3, `tensor ${i} name`);
    const what = `tensor ${i} "${name}"`;
    const shape = this.ints(t, 0, `${what} shape`) ?? [];
    if (shape.length > 8 || shape.some((d) => !(d >= 0 && d <= 1 << 24))) this.bad(`${what}: shape [${shape}] is not a valid static shape`);
    const type = this.i8(t, 1);
    const info = TENSOR_TYPES[type];
    const buffer = this.u32(t, 2);
    if (buffer >= buffers.length) this.bad(`${what}: buffer ${buffer} does not exist (${buffers.length} buffers)`);
    const raw = buffers[buffer]!;
    let data: Uint8Array | undefined;
    if (raw.length > 0) {
      if (!info) this.bad(`${what}: constant of tensor type ${type}, which edgeq does not read`);
      const count = shape.reduce((a, d) => a * d, 1);
      if (raw.length !== count * info.bytes) this.bad(`${what}: buffer ${buffer} holds ${raw.length} bytes; shape [${shape}] of ${info.name} needs ${count * info.bytes}`);
      data = raw;
    }
    const qp = this.field(t, 4, 4);
    const quantization = qp ? this.quantization(this.table(this.follow(qp, `${what} quantization`), `${what} quantization`), what, shape) : undefined;
    return { index: i, name, shape, type, typeName: info?.name ?? `type ${type}`, data, quantization };
  }

  /** QuantizationParameters: min (0), max (1), scale (2), zero_point [long] (3), details (4, 5), quantized_dimension (6). */
  private quantization(q: Table, what: string, shape: number[]): TfliteQuantization | undefined {
    const sv = this.vector(q, 2, 4, `${what} scale`);
    const zv = this.vector(q, 3, 8, `${what} zero_point`);
    if (!sv || sv.length === 0) {
      if (zv && zv.length > 0) this.bad(`${what}: ${zv.length} zero points but no scale`);
      return undefined;
    }
    const scale = new Float32Array(sv.length);
    for (let k = 0; k < sv.length; k++) {
      const s = this.bb.readFloat32(sv.start + 4 * k);
      if (!(Number.isFinite(s) && s >= F32_MIN_NORMAL)) this.bad(`${what}: scale[${k}] = ${s} must be a finite, normal, positive float32`);
      scale[k] = s;
    }
    const zeroPoint: number[] = [];
    if (zv) for (let k = 0; k < zv.length; k++) {
      const z = this.bb.readInt64(zv.start + 8 * k);
      if (z < -(2n ** 31n) || z >= 2n ** 31n) this.bad(`${what}: zero_point[${k}] = ${z} is out of range`);
      zeroPoint.push(Number(z));
    }
    if (zeroPoint.length === 0) zeroPoint.push(...new Array<number>(scale.length).fill(0));
    if (zeroPoint.length !== scale.length) this.bad(`${what}: ${scale.length} scales but ${zeroPoint.length} zero points`);
    const quantizedDimension = this.i32(q, 6);
    if (scale.length > 1) {
      if (!(quantizedDimension >= 0 && quantizedDimension < shape.length)) this.bad(`${what}: quantized_dimension ${quantizedDimension} is outside shape [${shape}]`);
      if (shape[quantizedDimension] !== scale.length) this.bad(`${what}: ${scale.length} per-channel scales for dimension ${quantizedDimension} of shape [${shape}]`);
    }
    return { scale, zeroPoint, quantizedDimension };
  }

  /** Operator: opcode_index (0), inputs (1), outputs (2), builtin_options_type (3), builtin_options (4). */
  private operator(o: Table, i: number, codes: { code: number; custom: string }[]): TfliteOperator {
    const opcode = this.u32(o, 0);
    if (opcode >= codes.length) this.bad(`operator ${i}: opcode_index ${opcode} does not exist (${codes.length} operator codes)`);
    const { code, custom } = codes[opcode]!;
    const opName = custom ? `CUSTOM:${custom}` : BUILTIN_NAMES.get(code) ?? `BUILTIN_${code}`;
    const what = `operator ${i} (${opName})`;
    const inputs = this.ints(o, 1, `${what} inputs`) ?? [];
    const outputs = this.ints(o, 2, `${what} outputs`) ?? [];
    const optionsType = this.u8(o, 3);
    const op = this.field(o, 4, 4);
    const table = op ? this.table(this.follow(op, `${what} builtin_options`), `${what} builtin_options`) : undefined;
    return { index: i, builtin: code, opName, inputs, outputs, options: table ? this.options(code, optionsType, table, what) : {} };
  }

  private activation(t: Table, slot: number, what: string): FusedActivation {
    const a = this.i8(t, slot);
    const name = ACTIVATIONS[a];
    if (!name) this.bad(`${what}: fused activation ${a} is not a TFLite ActivationFunctionType`);
    return name!;
  }

  private padding(t: Table, what: string): 'SAME' | 'VALID' {
    const p = this.i8(t, 0);
    if (p !== 0 && p !== 1) this.bad(`${what}: padding ${p} is neither SAME nor VALID`);
    return p === 0 ? 'SAME' : 'VALID';
  }

  /** The options table of the ops the importer reads (BuiltinOptions union numbers in the comments). */
  private options(code: number, type: number, t: Table, what: string): TfliteOptions {
    const expect = (n: number) => { if (type !== n) this.bad(`${what}: builtin_options_type ${type}, expected ${n}`); };
    switch (code) {
      case BUILTIN.CONV_2D: // Conv2DOptions = 1: padding, stride_w, stride_h, fused_activation_function, dilation_w, dilation_h
        expect(1);
        return { padding: this.padding(t, what), strideW: this.i32(t, 1), strideH: this.i32(t, 2), activation: this.activation(t, 3, what), dilationW: this.i32(t, 4, 1), dilationH: this.i32(t, 5, 1) };
      case BUILTIN.DEPTHWISE_CONV_2D: // DepthwiseConv2DOptions = 2: padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w, dilation_h
        expect(2);
        return { padding: this.padding(t, what), strideW: this.i32(t, 1), strideH: this.i32(t, 2), depthMultiplier: this.i32(t, 3), activation: this.activation(t, 4, what), dilationW: this.i32(t, 5, 1), dilationH: this.i32(t, 6, 1) };
      case BUILTIN.AVERAGE_POOL_2D: case BUILTIN.MAX_POOL_2D: // Pool2DOptions = 5: padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
        expect(5);
        return { padding: this.padding(t, what), strideW: this.i32(t, 1), strideH: this.i32(t, 2), filterW: this.i32(t, 3), filterH: this.i32(t, 4), activation: this.activation(t, 5, what) };
      case BUILTIN.FULLY_CONNECTED: // FullyConnectedOptions = 8: fused_activation_function, weights_format, keep_num_dims
        expect(8);
        return { activation: this.activation(t, 0, what), weightsFormat: this.i8(t, 1), keepNumDims: this.bool(t, 2) };
      case BUILTIN.SOFTMAX: expect(9); return { beta: this.f32(t, 0, 0) }; // SoftmaxOptions = 9: beta
      case BUILTIN.CONCATENATION: expect(10); return { axis: this.i32(t, 0), activation: this.activation(t, 1, what) }; // ConcatenationOptions = 10
      case BUILTIN.ADD: expect(11); return { activation: this.activation(t, 0, what) }; // AddOptions = 11
      case BUILTIN.RESHAPE: expect(17); return { newShape: this.ints(t, 0, `${what} new_shape`) }; // ReshapeOptions = 17: new_shape
      case BUILTIN.PAD: expect(22); return {}; // PadOptions = 22: no fields
      case BUILTIN.MUL: expect(21); return { activation: this.activation(t, 0, what) }; // MulOptions = 21: fused_activation_function
      case BUILTIN.MEAN: expect(27); return { keepDims: this.bool(t, 0) }; // ReducerOptions = 27: keep_dims
      default: return {};
    }
  }
}
