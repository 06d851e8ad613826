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

/**
 * TFLite metadata naming a label file for the output (TENSOR_AXIS_LABELS), and the zip appended to
 * the file that holds it, as TFLite's metadata populator writes them. `method` is the entry's zip
 * compression method (0 stored; another value only labels the stored bytes so, for the reader's
 * "compressed" path); `packed` false leaves the label file out of the zip, `zip` false appends no
 * zip at all; `archiveOffsets` writes the zip's offsets from the archive's start instead of the file's.
 */
export interface LabelMetadataSpec { file: string; labels: string[]; method?: number; packed?: boolean; zip?: boolean; archiveOffsets?: boolean }

export interface ModelSpec { tensors: TensorSpec[]; ops: OpSpec[]; inputs: number[]; outputs: number[]; metadata?: LabelMetadataSpec }

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
  let metaVector = 0;
  if (m.metadata) {
    // Model.metadata: one Metadata table (name "TFLITE_METADATA", buffer) whose buffer holds the ModelMetadata flatbuffer.
    const data = b.createByteVector(labelMetadata(m.metadata.file));
    b.startObject(1); b.addFieldOffset(0, data, 0); buffers.push(b.endObject());
    const name = b.createString('TFLITE_METADATA');
    b.startObject(2); b.addFieldOffset(0, name, 0); b.addFieldInt32(1, buffers.length - 1, 0);
    metaVector = offsetVector(b, [b.endObject()]);
  }
  const cv = offsetVector(b, codeTables), sv = offsetVector(b, [sg]), bv = offsetVector(b, buffers);
  b.startObject(7);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, cv, 0); b.addFieldOffset(2, sv, 0); b.addFieldOffset(4, bv, 0);
  if (metaVector) b.addFieldOffset(6, metaVector, 0);
  b.finish(b.endObject(), 'TFL3');
  const model = b.asUint8Array().slice();
  if (!m.metadata || m.metadata.zip === false) return model;
  const md = m.metadata;
  const text = new TextEncoder().encode(md.labels.join('\n') + '\n');
  const entries = [{ name: 'readme.txt', data: new TextEncoder().encode('a model\n'), method: 0 }];
  if (md.packed !== false) entries.push({ name: md.file, data: text, method: md.method ?? 0 });
  return appendZip(model, entries, md.archiveOffsets ?? false);
}

/**
 * A ModelMetadata flatbuffer (identifier "M001"; slots of metadata_schema.fbs) whose subgraph 0's
 * output 0 has one associated file, `file`, of type TENSOR_AXIS_LABELS, after a DESCRIPTIONS file.
 */
function labelMetadata(file: string): Uint8Array {
  const b = new Builder(256);
  const assoc = (name: string, type: number) => {
    const n = b.createString(name);
    b.startObject(4); b.addFieldOffset(0, n, 0); b.addFieldInt8(2, type, 0);
    return b.endObject();
  };
  const files = offsetVector(b, [assoc('readme.txt', 1), assoc(file, 2)]);
  const tname = b.createString('probabilities');
  b.startObject(7); b.addFieldOffset(0, tname, 0); b.addFieldOffset(6, files, 0);
  const outputs = offsetVector(b, [b.endObject()]);
  b.startObject(5); b.addFieldOffset(3, outputs, 0);
  const subgraphs = offsetVector(b, [b.endObject()]);
  const name = b.createString('test classifier');
  b.startObject(8); b.addFieldOffset(0, name, 0); b.addFieldOffset(3, subgraphs, 0);
  b.finish(b.endObject(), 'M001');
  return b.asUint8Array().slice();
}

/** `head` followed by a zip archive of `entries` (each stored as given, its method field as given; CRCs left 0). */
export function appendZip(head: Uint8Array, entries: { name: string; data: Uint8Array; method: number }[], archiveOffsets = false): Uint8Array {
  const parts: Uint8Array[] = [head];
  let at = head.length;
  const base = archiveOffsets ? head.length : 0;
  const central: Uint8Array[] = [];
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const local = new Uint8Array(30 + name.length), lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true); lv.setUint16(4, 20, true); lv.setUint16(8, e.method, true);
    lv.setUint32(18, e.data.length, true); lv.setUint32(22, e.data.length, true); lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const c = new Uint8Array(46 + name.length), cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint16(10, e.method, true);
    cv.setUint32(20, e.data.length, true); cv.setUint32(24, e.data.length, true); cv.setUint16(28, name.length, true);
    cv.setUint32(42, at - base, true);
    c.set(name, 46);
    central.push(c);
    parts.push(local, e.data);
    at += local.length + e.data.length;
  }
  const cdStart = at, cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22), ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, entries.length, true); ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, cdStart - base, true);
  parts.push(...central, end);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
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

/** Builtin operator codes and BuiltinOptions union numbers the graph builder writes (schema.fbs). */
const OP = { ADD: 0, AVERAGE_POOL_2D: 1, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9, LOGISTIC: 14, MAX_POOL_2D: 17, MUL: 18, RESHAPE: 22, SOFTMAX: 25, PAD: 34, MEAN: 40, QUANTIZE: 114, HARD_SWISH: 117 } as const;
const ACT = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 } as const;

/** A quantized activation tensor of the builder: its index, NHWC shape and parameters. */
export interface Act { k: number; shape: number[]; scale: number; zeroPoint: number }

/**
 * Builds quantized TFLite graphs for tests and fuzz seeds. 'uint8': TFLite's older scheme (uint8
 * activations, uint8 weights with a zero point per tensor); 'int8': TensorFlow's current one (int8
 * activations with zero points, int8 weights symmetric per output channel in [-127, 127], int32
 * biases). Weights and biases are drawn from a seeded generator; each op's output scale is set from
 * its inputs' so that outputs spread over the integer range without saturating most values.
 */
export class TfliteGraphBuilder {
  readonly tensors: TensorSpec[] = [];
  readonly ops: OpSpec[] = [];
  private readonly r: (n: number) => number;
  private readonly type: number;
  private readonly lo: number;

  constructor(readonly scheme: 'uint8' | 'int8', seed = 1) {
    this.r = rng(seed);
    this.type = scheme === 'int8' ? 9 : 3;
    this.lo = scheme === 'int8' ? -128 : 0;
  }

  /** A uniform draw in [a, b]. */
  private uniform(a: number, b: number): number { return a + this.r(b - a + 1); }

  /** A new activation tensor with real zero at integer `zero` (relative to the type's lowest value). */
  act(name: string, shape: number[], scale: number, zero: number): Act {
    const zeroPoint = this.lo + zero;
    this.tensors.push({ name, shape, type: this.type, scale: [scale], zeroPoint: [zeroPoint] });
    return { k: this.tensors.length - 1, shape, scale, zeroPoint };
  }

  private constant(name: string, shape: number[], type: number, data: Uint8Array, scale?: number[], zeroPoint?: number[], quantizedDimension?: number): number {
    this.tensors.push({ name, shape, type, data, scale, zeroPoint, quantizedDimension });
    return this.tensors.length - 1;
  }

  private int32s(name: string, values: number[]): number {
    return this.constant(name, [values.length], 2, int32Bytes(values));
  }

  /**
   * Weights of `count` values, O output channels along `axis` of `shape`: int8 symmetric per channel
   * (scales spread over 2x), or uint8 per tensor with a zero point near 128. Returns the scales.
   */
  private weights(name: string, shape: number[], axis: number): { k: number; scales: number[] } {
    const count = shape.reduce((a, d) => a * d, 1), O = shape[axis]!;
    if (this.scheme === 'int8') {
      const scales = Array.from({ length: O }, (_, o) => 0.004 * (1 + (o % 5) / 4));
      const data = new Int8Array(count);
      for (let i = 0; i < count; i++) data[i] = this.uniform(-127, 127);
      return { k: this.constant(name, shape, 9, new Uint8Array(data.buffer), scales, scales.map(() => 0), axis), scales };
    }
    const z = this.uniform(120, 136);
    const data = Uint8Array.from({ length: count }, () => this.uniform(z - 100, z + 100));
    return { k: this.constant(name, shape, 3, data, [0.005], [z]), scales: new Array<number>(O).fill(0.005) };
  }

  /** An op's output with `scale` (real zero mid-range; at the bottom after a ReLU; 6/255 or 2/255 for RELU6 / RELU_N1_TO_1). */
  private output(name: string, shape: number[], spread: number, act: keyof typeof ACT): Act {
    const scale = Math.fround(spread);
    return act === 'NONE' ? this.act(name, shape, scale, 128) : act === 'RELU_N1_TO_1' ? this.act(name, shape, Math.fround(2 / 255), 128) : act === 'RELU6' ? this.act(name, shape, Math.fround(6 / 255), 0) : this.act(name, shape, Math.fround(scale / 2), 0);
  }

  /**
   * An output scale for a K-term accumulator: |x - zx| and |w - zw| spread about 40 and 70 LSB,
   * so the sum spreads about 2800 sqrt(K) in s_x s_w units; the scale maps that to about 56 LSB
   * (inputs after a ReLU spread less, their outputs about 15-30 LSB).
   */
  private accScale(x: Act, ws: number, K: number): number { return x.scale * ws * Math.sqrt(K) * 50; }

  /** A bias within about half the accumulator's spread (in s_x s_w units). */
  private bias(K: number): number { return Math.round(this.uniform(-100, 100) * 14 * Math.sqrt(K)); }

  /** A graph input [1, H, W, C] (scale 1/128, real zero at 128). */
  input(name: string, shape: number[]): Act { return this.act(name, shape, 1 / 128, 128); }

  /** CONV_2D or DEPTHWISE_CONV_2D (depth multiplier 1) with a random bias; `like`: the output parameters of another tensor; `wide`: an output scale that many times wider. */
  conv(x: Act, o: { out?: number; kernel: number; stride?: number; padding?: 'SAME' | 'VALID'; act?: keyof typeof ACT; depthwise?: boolean; dilation?: number; name: string; like?: Act; wide?: number }): Act {
    const [, H, W, C] = x.shape as [number, number, number, number];
    const k = o.kernel, s = o.stride ?? 1, d = o.dilation ?? 1, same = (o.padding ?? 'SAME') === 'SAME';
    const O = o.depthwise ? C : o.out!;
    const size = (n: number) => (same ? Math.ceil(n / s) : Math.floor((n - (k - 1) * d - 1) / s) + 1);
    const shape = [1, size(H), size(W), O];
    const w = o.depthwise ? this.weights(`${o.name}/w`, [1, k, k, O], 3) : this.weights(`${o.name}/w`, [O, k, k, C], 0);
    const K = k * k * (o.depthwise ? 1 : C);
    const bias = this.int32s(`${o.name}/b`, w.scales.map(() => this.bias(K)));
    const y = o.like ? this.act(o.name, shape, o.like.scale, o.like.zeroPoint - this.lo) : this.output(o.name, shape, this.accScale(x, w.scales[0]!, K) * (o.wide ?? 1), o.act ?? 'NONE');
    const pad = same ? 0 : 1, a = ACT[o.act ?? 'NONE'];
    this.ops.push(o.depthwise
      ? { code: OP.DEPTHWISE_CONV_2D, inputs: [x.k, w.k, bias], outputs: [y.k], options: { type: 2, fields: [[0, 'i8', pad], [1, 'i32', s], [2, 'i32', s], [3, 'i32', 1], [4, 'i8', a], [5, 'i32', d], [6, 'i32', d]] } }
      : { code: OP.CONV_2D, inputs: [x.k, w.k, bias], outputs: [y.k], options: { type: 1, fields: [[0, 'i8', pad], [1, 'i32', s], [2, 'i32', s], [3, 'i8', a], [4, 'i32', d], [5, 'i32', d]] } });
    return y;
  }

  /** FULLY_CONNECTED over a [1, K] (or [1, 1, 1, K]) input to [1, N]. */
  fullyConnected(x: Act, N: number, name: string, act: keyof typeof ACT = 'NONE'): Act {
    const K = x.shape.reduce((a, d) => a * d, 1);
    const w = this.weights(`${name}/w`, [N, K], 0);
    const bias = this.int32s(`${name}/b`, w.scales.map(() => this.bias(K)));
    const y = this.output(name, [1, N], this.accScale(x, w.scales[0]!, K), act);
    this.ops.push({ code: OP.FULLY_CONNECTED, inputs: [x.k, w.k, bias], outputs: [y.k], options: { type: 8, fields: [[0, 'i8', ACT[act]]] } });
    return y;
  }

  /** ADD of two equal-shape activations. */
  add(a: Act, b: Act, name: string, act: keyof typeof ACT = 'NONE'): Act {
    const y = this.output(name, a.shape, (a.scale + b.scale) * 0.7, act);
    this.ops.push({ code: OP.ADD, inputs: [a.k, b.k], outputs: [y.k], options: { type: 11, fields: [[0, 'i8', ACT[act]]] } });
    return y;
  }

  /** MUL of two activations (equal shapes or a [1, 1, 1, C] gate second). */
  mul(a: Act, b: Act, name: string): Act {
    const y = this.output(name, a.shape, a.scale * b.scale * 30, 'NONE');
    this.ops.push({ code: OP.MUL, inputs: [a.k, b.k], outputs: [y.k], options: { type: 21, fields: [] } });
    return y;
  }

  /** CONCATENATION along the channels; the output takes the first input's parameters (int8: TFLite requires all equal). */
  concat(xs: Act[], name: string, axis = -1): Act {
    const shape = [...xs[0]!.shape];
    shape[shape.length - 1] = xs.reduce((c, x) => c + x.shape[x.shape.length - 1]!, 0);
    const y = this.act(name, shape, xs[0]!.scale, xs[0]!.zeroPoint - this.lo);
    this.ops.push({ code: OP.CONCATENATION, inputs: xs.map((x) => x.k), outputs: [y.k], options: { type: 10, fields: [[0, 'i32', axis]] } });
    return y;
  }

  /** PAD of H and W by [top, bottom, left, right] (the output keeps the input's parameters). */
  pad(x: Act, p: [number, number, number, number], name: string): Act {
    const paddings = this.constant(`${name}/paddings`, [4, 2], 2, int32Bytes([0, 0, p[0], p[1], p[2], p[3], 0, 0]));
    const y = this.act(name, [1, x.shape[1]! + p[0] + p[1], x.shape[2]! + p[2] + p[3], x.shape[3]!], x.scale, x.zeroPoint - this.lo);
    this.ops.push({ code: OP.PAD, inputs: [x.k, paddings], outputs: [y.k], options: { type: 22, fields: [] } });
    return y;
  }

  /** AVERAGE_POOL_2D or MAX_POOL_2D (output parameters the input's). */
  pool(x: Act, o: { max?: boolean; kernel: number; stride: number; padding: 'SAME' | 'VALID'; name: string }): Act {
    const [, H, W, C] = x.shape as [number, number, number, number];
    const size = (n: number) => (o.padding === 'SAME' ? Math.ceil(n / o.stride) : Math.floor((n - o.kernel) / o.stride) + 1);
    const y = this.act(o.name, [1, size(H), size(W), C], x.scale, x.zeroPoint - this.lo);
    this.ops.push({ code: o.max ? OP.MAX_POOL_2D : OP.AVERAGE_POOL_2D, inputs: [x.k], outputs: [y.k], options: { type: 5, fields: [[0, 'i8', o.padding === 'SAME' ? 0 : 1], [1, 'i32', o.stride], [2, 'i32', o.stride], [3, 'i32', o.kernel], [4, 'i32', o.kernel]] } });
    return y;
  }

  /** MEAN over H and W into new parameters (keep_dims: [1, 1, 1, C], else [1, C]). */
  mean(x: Act, name: string, keepDims = true): Act {
    const C = x.shape[3]!;
    const axes = this.int32s(`${name}/axes`, [1, 2]);
    const y = this.act(name, keepDims ? [1, 1, 1, C] : [1, C], Math.fround(x.scale * 1.25), 64);
    this.ops.push({ code: OP.MEAN, inputs: [x.k, axes], outputs: [y.k], options: { type: 27, fields: [[0, 'i8', keepDims ? 1 : 0]] } });
    return y;
  }

  /** LOGISTIC (output scale 1/256, real zero at the type's lowest value, as TFLite requires) or HARD_SWISH. */
  activation(x: Act, kind: 'LOGISTIC' | 'HARD_SWISH', name: string): Act {
    const y = kind === 'LOGISTIC' ? this.act(name, x.shape, 1 / 256, 0) : this.act(name, x.shape, Math.fround(x.scale * 0.75), 40);
    this.ops.push({ code: OP[kind], inputs: [x.k], outputs: [y.k] });
    return y;
  }

  /** RESHAPE to `shape` (same parameters), the shape as a constant int32 input, as TensorFlow's converter writes it (TFLite's runtime refuses a RESHAPE with neither that input nor ReshapeOptions.new_shape). */
  reshape(x: Act, shape: number[], name: string): Act {
    const y = this.act(name, shape, x.scale, x.zeroPoint - this.lo);
    const dims = this.int32s(`${name}/shape`, shape);
    this.ops.push({ code: OP.RESHAPE, inputs: [x.k, dims], outputs: [y.k], options: { type: 17, fields: [] } });
    return y;
  }

  /**
   * SOFTMAX with `beta` (output scale 1/256, real zero at the type's lowest value); the default
   * beta makes 24 logit LSB one unit of the exponent, so the probabilities spread.
   */
  softmax(x: Act, name: string, beta = Math.fround(1 / (24 * x.scale))): Act {
    const y = this.act(name, x.shape, 1 / 256, 0);
    this.ops.push({ code: OP.SOFTMAX, inputs: [x.k], outputs: [y.k], options: { type: 9, fields: [[0, 'f32', beta]] } });
    return y;
  }

  /** The model reading `input` and ending at `output`. */
  model(input: Act, output: Act): ModelSpec {
    return { tensors: this.tensors, ops: this.ops, inputs: [input.k], outputs: [output.k] };
  }
}

/**
 * A MobileNetV2-like block stack: conv 3x3 s2 (RELU6), an inverted residual (1x1 expand with
 * HARD_SWISH, 3x3 depthwise RELU6, 1x1 project, ADD), a strided inverted residual with a PAD folded
 * into a VALID depthwise conv, a 2x2 average pool, a 1x1 conv with LOGISTIC, MEAN to [1, C] and a
 * FULLY_CONNECTED classifier with SOFTMAX. Input [1, 16, 16, 3].
 */
export function mobilenetV2Like(scheme: 'uint8' | 'int8', seed = 1): ModelSpec {
  const b = new TfliteGraphBuilder(scheme, seed);
  const x = b.input('input', [1, 16, 16, 3]);
  const c0 = b.conv(x, { out: 8, kernel: 3, stride: 2, act: 'RELU6', name: 'stem' });
  // Convs read by a LOGISTIC / HARD_SWISH get a wide output range (trained models' calibrated
  // ranges cover their outputs; a saturated one differs once fused, docs/tflite.md).
  const e1 = b.activation(b.conv(c0, { out: 16, kernel: 1, name: 'b1/expand', wide: 4 }), 'HARD_SWISH', 'b1/expand/hswish');
  const d1 = b.conv(e1, { kernel: 3, depthwise: true, act: 'RELU6', name: 'b1/dw' });
  const p1 = b.conv(d1, { out: 8, kernel: 1, name: 'b1/project' });
  const r1 = b.add(c0, p1, 'b1/add');
  const e2 = b.conv(r1, { out: 16, kernel: 1, act: 'RELU6', name: 'b2/expand' });
  const d2 = b.conv(b.pad(e2, [0, 1, 0, 1], 'b2/pad'), { kernel: 3, stride: 2, padding: 'VALID', depthwise: true, act: 'RELU6', name: 'b2/dw' });
  const p2 = b.conv(d2, { out: 12, kernel: 1, name: 'b2/project' });
  const a2 = b.pool(p2, { kernel: 2, stride: 1, padding: 'SAME', name: 'b2/avgpool' });
  const h = b.activation(b.conv(a2, { out: 16, kernel: 1, name: 'head', wide: 4 }), 'LOGISTIC', 'head/sigmoid');
  const m = b.mean(h, 'gap', false);
  const fc = b.fullyConnected(m, 10, 'logits');
  return b.model(x, b.softmax(fc, 'prob'));
}

/**
 * A squeeze-and-excitation block with a concatenation: conv 3x3 s2 (RELU), two branches (1x1 and
 * 3x3 convs) concatenated, MEAN (keep_dims) -> 1x1 conv RELU -> 1x1 conv HARD_SWISH as the gate,
 * MUL of the map by the gate, ADD of the map, 3x3 s2 max pool, global AVERAGE_POOL_2D,
 * RESHAPE, FULLY_CONNECTED, SOFTMAX (beta: 40 logit LSB per unit). Input [1, 12, 12, 3].
 */
export function seBlockLike(scheme: 'uint8' | 'int8', seed = 2): ModelSpec {
  const b = new TfliteGraphBuilder(scheme, seed);
  const x = b.input('input', [1, 12, 12, 3]);
  const c0 = b.conv(x, { out: 8, kernel: 3, stride: 2, act: 'RELU', name: 'stem' });
  const left = b.conv(c0, { out: 8, kernel: 1, act: 'RELU', name: 'left' });
  // int8: TFLite requires one scale and zero point for all concatenation inputs and the output;
  // uint8: the second input is quantized otherwise and requantized by the concatenation.
  const right = b.conv(c0, { out: 8, kernel: 3, act: 'RELU', name: 'right', ...(scheme === 'int8' ? { like: left } : {}) });
  const cat = b.concat([left, right], 'concat');
  const sq = b.mean(cat, 'se/squeeze', true);
  const ex = b.activation(b.conv(b.conv(sq, { out: 4, kernel: 1, act: 'RELU', name: 'se/reduce' }), { out: 16, kernel: 1, name: 'se/expand', wide: 4 }), 'HARD_SWISH', 'se/gate');
  const gated = b.mul(cat, ex, 'se/mul');
  const mp = b.pool(b.add(gated, cat, 'residual'), { max: true, kernel: 3, stride: 2, padding: 'SAME', name: 'maxpool' });
  const gap = b.pool(mp, { kernel: 3, stride: 3, padding: 'VALID', name: 'gap' });
  const flat = b.reshape(gap, [1, 16], 'flatten');
  const fc = b.fullyConnected(flat, 6, 'logits');
  return b.model(x, b.softmax(fc, 'prob', Math.fround(1 / (40 * fc.scale))));
}
