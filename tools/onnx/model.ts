// The typed in-memory form of an ONNX model that every tool in edgeq works on.
// Read with readOnnx (tools/onnx/reader.ts), written with writeOnnx (tools/onnx/writer.ts).

export type DataType =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'bool' | 'float16' | 'float64' | 'uint32' | 'uint64';

export type TensorData =
  | Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

/** A constant tensor (initializer or Constant value). float16 is kept as raw Uint16Array bits, bool as Uint8Array. */
export interface TensorValue {
  name: string;
  dataType: DataType;
  dims: number[];
  data: TensorData;
}

/** Attribute values as ONNX defines them; `ints` are plain numbers (ONNX int64 attrs are small in CNNs). */
export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorValue }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] };

export interface NodeDef {
  name: string;
  opType: string;
  domain: string;           // '' for ai.onnx
  inputs: string[];         // '' marks an omitted optional input
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

/** A graph input/output/value_info. A dim is a number, or a string for a symbolic dim. */
export interface ValueInfo {
  name: string;
  dataType: DataType;
  dims: (number | string)[];
  /** True when the file gave no shape at all (rank unknown); `dims` is then []. */
  unknownRank?: boolean;
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: Map<string, TensorValue>;
  inputs: ValueInfo[];      // graph inputs that are not initializers
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}

export interface ModelDef {
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString: string;
  metadata: Record<string, string>;
  graph: GraphDef;
  /** ModelProto.domain and model_version, kept so a read/write round trip preserves them. */
  domain?: string;
  modelVersion?: number;
}

// ---- Constructors for building graphs in code (tests, synthetic models) ----

export const attr = {
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  ints: (value: number[]): AttributeValue => ({ type: 'ints', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  floats: (value: number[]): AttributeValue => ({ type: 'floats', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  strings: (value: string[]): AttributeValue => ({ type: 'strings', value }),
  tensor: (value: TensorValue): AttributeValue => ({ type: 'tensor', value }),
};

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttributeValue> = {},
  name = outputs[0] ?? opType,
  domain = '',
): NodeDef {
  return { name, opType, domain, inputs, outputs, attributes };
}

export function makeValueInfo(name: string, dataType: DataType, dims: (number | string)[]): ValueInfo {
  return { name, dataType, dims };
}

export function makeGraph(parts: {
  name?: string;
  nodes: NodeDef[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: TensorValue[];
  valueInfo?: ValueInfo[];
}): GraphDef {
  return {
    name: parts.name ?? 'graph',
    nodes: parts.nodes,
    initializers: new Map((parts.initializers ?? []).map((t) => [t.name, t])),
    inputs: parts.inputs,
    outputs: parts.outputs,
    valueInfo: parts.valueInfo ?? [],
  };
}

/** A model importing the default ai.onnx domain at `opset` (13 unless given). */
export function makeModel(graph: GraphDef, options: {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
  extraOpsets?: { domain: string; version: number }[];
} = {}): ModelDef {
  return {
    irVersion: options.irVersion ?? 8,
    opsetImports: [{ domain: '', version: options.opset ?? 13 }, ...(options.extraOpsets ?? [])],
    producerName: options.producerName ?? 'edgeq',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    metadata: options.metadata ?? {},
    graph,
  };
}
