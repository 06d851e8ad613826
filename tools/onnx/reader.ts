// Parses ONNX ModelProto bytes into a ModelDef and checks what every edgeq tool relies on:
// a decodable model with a graph, tensors whose data matches their dims, and node inputs
// that all refer to something. The module imports no Node API, so it runs in browsers;
// external tensor data comes through a callback (Node callers get a default, see below).

import onnxProto from 'onnx-proto';
import { EdgeqError } from 'edgeq';
import type { AttributeValue, DataType, GraphDef, ModelDef, NodeDef, TensorData, TensorValue, ValueInfo } from './model.js';
import { allocateTensorData, bytesPerElement, dataTypeFromOnnx, elementCount, onnxDataTypeName, tensorDataFromBytes } from './tensor.js';
import { MAX_OPSET, MIN_OPSET } from './ops.js';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.ITensorProto;
const AttributeType = onnx.AttributeProto.AttributeType;
const DATA_LOCATION_EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

export interface ReadOnnxOptions {
  /** Named in error messages. */
  fileName?: string;
  /** Folder that external-data locations are relative to (normally the model file's folder). */
  baseDir?: string;
  /**
   * Returns the bytes of an external-data file; `path` is the tensor's location entry joined
   * to baseDir. Without it, Node's fs is used when the runtime offers it synchronously.
   */
  readExternal?: (path: string) => Uint8Array;
}

/** protobufjs yields int64 fields as Long objects when the `long` package is present, else numbers. */
interface LongLike { low: number; high: number; unsigned?: boolean }
type Int64Field = number | LongLike;

const textDecoder = new TextDecoder();

export function readOnnx(bytes: Uint8Array, options: ReadOnnxOptions = {}): ModelDef {
  return new OnnxReader(options).read(bytes);
}

/** Decodes a serialized TensorProto (e.g. the input_0.pb files of ONNX test cases). */
export function readTensorProto(bytes: Uint8Array, options: ReadOnnxOptions = {}): TensorValue {
  const reader = new OnnxReader(options);
  let proto: onnxProto.onnx.TensorProto;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EdgeqError('BAD_ONNX', `${options.fileName ? `${options.fileName}: ` : ''}not a valid TensorProto: protobuf decoding failed (${reason})`, { cause: error });
  }
  return reader.readTensor(proto, `tensor "${proto.name}"`);
}

/** Converts an already decoded TensorProto (raw_data, typed fields or external data). */
export function tensorFromProto(proto: onnxProto.onnx.ITensorProto, options: ReadOnnxOptions = {}): TensorValue {
  return new OnnxReader(options).readTensor(proto, `tensor "${proto.name ?? ''}"`);
}

/** Reads a model file with Node's fs (loaded on demand so browser bundles never see it). */
export async function readOnnxFile(path: string, options: Omit<ReadOnnxOptions, 'fileName'> = {}): Promise<ModelDef> {
  const fs = await import('node:fs');
  const nodePath = await import('node:path');
  const asBytes = (buffer: Uint8Array): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return readOnnx(asBytes(fs.readFileSync(path)), {
    ...options,
    fileName: path,
    baseDir: options.baseDir ?? nodePath.dirname(path),
    readExternal: options.readExternal ?? ((file) => asBytes(fs.readFileSync(file))),
  });
}

/** Converts an int64 field to a number (exact up to 2^53, which covers dims and attributes). */
export function int64ToNumber(value: Int64Field): number {
  if (typeof value === 'number') return value;
  const high = value.unsigned ? value.high >>> 0 : value.high;
  return high * 2 ** 32 + (value.low >>> 0);
}

/** Converts an int64 field to a bigint without losing precision. */
export function int64ToBigInt(value: Int64Field): bigint {
  if (typeof value === 'number') return BigInt(value);
  const high = value.unsigned ? BigInt(value.high >>> 0) : BigInt(value.high);
  return (high << 32n) | BigInt(value.low >>> 0);
}

class OnnxReader {
  private readonly where: string;

  constructor(private readonly options: ReadOnnxOptions) {
    this.where = options.fileName ? `${options.fileName}: ` : '';
  }

  private fail(message: string, code: 'BAD_ONNX' | 'UNSUPPORTED_OP' = 'BAD_ONNX'): never {
    throw new EdgeqError(code, `${this.where}${message}`);
  }

  read(bytes: Uint8Array): ModelDef {
    let proto: onnxProto.onnx.ModelProto;
    try {
      proto = onnx.ModelProto.decode(bytes);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EdgeqError('BAD_ONNX', `${this.where}not a valid ONNX model: protobuf decoding failed (${reason}; ${bytes.byteLength} bytes, truncated or not ONNX?)`, { cause: error });
    }
    // Random bytes sometimes decode "successfully" into garbage; an ONNX model always has both.
    const irVersion = int64ToNumber(proto.irVersion);
    if (!(irVersion > 0)) this.fail(`not a valid ONNX model: ir_version is ${irVersion} (must be positive)`);
    if (!proto.graph) this.fail('not a valid ONNX model: it has no graph');

    const graph = this.readGraph(proto.graph);
    const opsetImports = proto.opsetImport.map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version ?? 0) }));
    this.checkOpsets(opsetImports);

    const metadata: Record<string, string> = {};
    for (const entry of proto.metadataProps) metadata[entry.key ?? ''] = entry.value ?? '';
    const model: ModelDef = {
      irVersion,
      opsetImports,
      producerName: proto.producerName,
      producerVersion: proto.producerVersion,
      docString: proto.docString,
      metadata,
      graph,
    };
    if (proto.domain) model.domain = proto.domain;
    const modelVersion = int64ToNumber(proto.modelVersion);
    if (modelVersion) model.modelVersion = modelVersion;
    return model;
  }

  private checkOpsets(opsetImports: { domain: string; version: number }[]): void {
    const main = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    if (!main) this.fail('the model imports no ai.onnx opset');
    if (main.version < MIN_OPSET || main.version > MAX_OPSET) {
      this.fail(`ai.onnx opset ${main.version} is outside the range edgeq supports (${MIN_OPSET}..${MAX_OPSET})`, 'UNSUPPORTED_OP');
    }
  }

  private readGraph(proto: onnxProto.onnx.IGraphProto): GraphDef {
    const nodeProtos = proto.node ?? [];
    if (nodeProtos.length === 0) this.fail(`graph "${proto.name ?? ''}" has no nodes`);

    const initializers = new Map<string, TensorValue>();
    for (const t of proto.initializer ?? []) {
      const tensor = this.readTensor(t, `initializer "${t.name ?? ''}"`);
      initializers.set(tensor.name, tensor);
    }
    if ((proto.sparseInitializer ?? []).length > 0) this.fail('sparse initializers are not supported', 'UNSUPPORTED_OP');

    const allInputs = (proto.input ?? []).map((v) => this.readValueInfo(v, 'graph input'));
    const graph: GraphDef = {
      name: proto.name ?? '',
      nodes: nodeProtos.map((n, i) => this.readNode(n, i)),
      initializers,
      // An initializer listed as a graph input is a default value, not something the caller feeds.
      inputs: allInputs.filter((v) => !initializers.has(v.name)),
      outputs: (proto.output ?? []).map((v) => this.readValueInfo(v, 'graph output')),
      // value_info entries without a type carry nothing; skip them rather than fail.
      valueInfo: (proto.valueInfo ?? []).filter((v) => v.type?.tensorType).map((v) => this.readValueInfo(v, 'value_info')),
    };
    this.checkReferences(graph);
    return graph;
  }

  /**
   * Every node input and graph output must be a graph input, an initializer or some node's output,
   * and every value is produced once (a second node writing a name, or a node overwriting a graph
   * input or an initializer, makes the graph ambiguous).
   */
  private checkReferences(graph: GraphDef): void {
    const known = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
    for (const node of graph.nodes) {
      for (const out of node.outputs) {
        if (out === '') continue;
        if (known.has(out)) {
          const what = graph.initializers.has(out) ? 'an initializer' : graph.inputs.some((i) => i.name === out) ? 'a graph input' : 'another node';
          this.fail(`node "${node.name}" (${node.opType}) writes "${out}", which ${what} already defines (every value must have one producer)`);
        }
        known.add(out);
      }
    }
    for (const node of graph.nodes) {
      for (const input of node.inputs) {
        if (input !== '' && !known.has(input)) {
          this.fail(`node "${node.name}" (${node.opType}) has input "${input}", which is no graph input, initializer or node output`);
        }
      }
    }
    for (const output of graph.outputs) {
      if (!known.has(output.name)) this.fail(`graph output "${output.name}" is produced by no node`);
    }
  }

  private readNode(proto: onnxProto.onnx.INodeProto, index: number): NodeDef {
    const opType = proto.opType ?? '';
    if (opType === '') this.fail(`node #${index} ("${proto.name ?? ''}") has no op_type`);
    const node: NodeDef = {
      name: proto.name ?? '',
      opType,
      domain: proto.domain ?? '',
      inputs: [...(proto.input ?? [])],
      outputs: [...(proto.output ?? [])],
      attributes: {},
    };
    const label = `node "${node.name}" (${opType})`;
    for (const a of proto.attribute ?? []) {
      node.attributes[a.name ?? ''] = this.readAttribute(a, label);
    }
    return node;
  }

  private readAttribute(proto: onnxProto.onnx.IAttributeProto, nodeLabel: string): AttributeValue {
    const name = proto.name ?? '';
    switch (proto.type || guessAttributeType(proto)) {
      case AttributeType.FLOAT: return { type: 'float', value: proto.f ?? 0 };
      case AttributeType.INT: return { type: 'int', value: int64ToNumber(proto.i ?? 0) };
      case AttributeType.STRING: return { type: 'string', value: textDecoder.decode(proto.s ?? new Uint8Array()) };
      case AttributeType.TENSOR:
        if (!proto.t) this.fail(`${nodeLabel}: tensor attribute "${name}" has no tensor`);
        return { type: 'tensor', value: this.readTensor(proto.t, `${nodeLabel} attribute "${name}"`) };
      case AttributeType.FLOATS: return { type: 'floats', value: [...(proto.floats ?? [])] };
      case AttributeType.INTS: return { type: 'ints', value: (proto.ints ?? []).map(int64ToNumber) };
      case AttributeType.STRINGS: return { type: 'strings', value: (proto.strings ?? []).map((s) => textDecoder.decode(s)) };
      default:
        return this.fail(`${nodeLabel}: attribute "${name}" has type ${AttributeType[proto.type ?? 0] ?? proto.type}, which edgeq does not support (subgraphs, sparse tensors and type protos are outside scope)`, 'UNSUPPORTED_OP');
    }
  }

  private readValueInfo(proto: onnxProto.onnx.IValueInfoProto, role: string): ValueInfo {
    const name = proto.name ?? '';
    const tensorType = proto.type?.tensorType;
    if (!tensorType) this.fail(`${role} "${name}" is not a tensor (edgeq handles tensor values only)`);
    const info: ValueInfo = { name, dataType: this.dataType(tensorType.elemType ?? 0, `${role} "${name}"`), dims: [] };
    if (!tensorType.shape) {
      info.unknownRank = true;
    } else {
      info.dims = (tensorType.shape.dim ?? []).map((d) => {
        if (d.dimValue !== undefined && d.dimValue !== null) {
          const v = int64ToNumber(d.dimValue);
          if (!Number.isSafeInteger(v)) this.fail(`${role} "${name}" has dim ${v}, which is not an exact integer`);
          return v;
        }
        return d.dimParam ?? '';
      });
    }
    return info;
  }

  private dataType(code: number, what: string): DataType {
    try {
      return dataTypeFromOnnx(code, what);
    } catch (error) {
      return this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  readTensor(proto: TensorProto, what: string): TensorValue {
    const name = proto.name ?? '';
    const dims = (proto.dims ?? []).map(int64ToNumber);
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) this.fail(`${what} has invalid dims [${dims.join(', ')}]`);
    const dataType = this.dataType(proto.dataType ?? 0, what);
    const count = elementCount(dims);

    let data: TensorData;
    if (proto.dataLocation === DATA_LOCATION_EXTERNAL) {
      data = this.checkedBytes(what, dataType, dims, this.readExternalData(proto, what));
    } else if (proto.rawData && proto.rawData.byteLength > 0) {
      data = this.checkedBytes(what, dataType, dims, proto.rawData);
    } else {
      data = this.typedFieldData(proto, dataType, what);
      if (data.length !== count) {
        this.fail(`${what} has dims [${dims.join(', ')}] (${count} elements, ${count * bytesPerElement(dataType)} bytes) but ${data.length} values (${data.length * bytesPerElement(dataType)} bytes)`);
      }
    }
    return { name, dataType, dims, data };
  }

  private checkedBytes(what: string, dataType: DataType, dims: number[], bytes: Uint8Array): TensorData {
    const expected = elementCount(dims) * bytesPerElement(dataType);
    if (bytes.byteLength !== expected) {
      this.fail(`${what} (${dataType}) has dims [${dims.join(', ')}], which need ${expected} bytes, but its data has ${bytes.byteLength} bytes`);
    }
    return tensorDataFromBytes(dataType, bytes);
  }

  /** Values stored in the typed repeated fields (the alternative to raw_data). */
  private typedFieldData(proto: TensorProto, dataType: DataType, what: string): TensorData {
    switch (dataType) {
      case 'float32': return Float32Array.from(proto.floatData ?? []);
      case 'float64': return Float64Array.from(proto.doubleData ?? []);
      // ONNX stores every narrow type, float16 bits included, one value per int32_data entry.
      case 'int32': case 'int16': case 'int8': case 'uint16': case 'uint8': case 'bool': case 'float16': {
        const values = proto.int32Data ?? [];
        const data = allocateTensorData(dataType, values.length) as Int32Array;
        for (let i = 0; i < values.length; i++) data[i] = values[i]!;
        return data;
      }
      case 'int64': return BigInt64Array.from((proto.int64Data ?? []).map(int64ToBigInt));
      case 'uint32': return Uint32Array.from((proto.uint64Data ?? []).map(int64ToNumber));
      case 'uint64': return BigUint64Array.from((proto.uint64Data ?? []).map((v) => BigInt.asUintN(64, int64ToBigInt(v))));
    }
    return this.fail(`${what}: cannot read data type ${onnxDataTypeName(proto.dataType ?? 0)}`);
  }

  private readExternalData(proto: TensorProto, what: string): Uint8Array {
    const entries = new Map((proto.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!location) this.fail(`${what} is stored externally but names no location`);
    if (location.startsWith('/') || location.split(/[\\/]/).includes('..')) {
      this.fail(`${what}: external data location "${location}" must be a relative path inside the model folder`);
    }
    const { baseDir } = this.options;
    if (baseDir === undefined) {
      this.fail(`${what} is stored in external file "${location}"; pass baseDir (the model's folder) to read it`);
    }
    const path = baseDir === '' ? location : `${baseDir.replace(/[\\/]+$/, '')}/${location}`;
    const readExternal = this.options.readExternal ?? nodeReadFileSync();
    if (!readExternal) this.fail(`${what} is stored in external file "${location}", but no readExternal callback was given and this runtime has no synchronous file access`);
    let file: Uint8Array;
    try {
      file = readExternal(path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.fail(`${what}: cannot read external data file "${path}" (${reason})`);
    }
    const offset = Number(entries.get('offset') ?? '0');
    const length = entries.has('length') ? Number(entries.get('length')) : file.byteLength - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > file.byteLength) {
      this.fail(`${what}: external data range offset ${entries.get('offset') ?? 0}, length ${entries.get('length') ?? '(rest)'} lies outside "${path}" (${file.byteLength} bytes)`);
    }
    return file.subarray(offset, offset + length);
  }
}

/** Old exporters omit AttributeProto.type; infer it from the field that is set. */
function guessAttributeType(proto: onnxProto.onnx.IAttributeProto): number {
  if (proto.floats?.length) return AttributeType.FLOATS;
  if (proto.ints?.length) return AttributeType.INTS;
  if (proto.strings?.length) return AttributeType.STRINGS;
  if (proto.t) return AttributeType.TENSOR;
  if (proto.g) return AttributeType.GRAPH;
  if (proto.s?.length) return AttributeType.STRING;
  if (proto.f) return AttributeType.FLOAT;
  return AttributeType.INT;
}

/** Node's readFileSync when the runtime exposes built-ins synchronously (Node >= 20.16), else undefined. */
function nodeReadFileSync(): ((path: string) => Uint8Array) | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as { readFileSync(path: string): Uint8Array } | undefined;
  return fs ? (path) => new Uint8Array(fs.readFileSync(path)) : undefined;
}
