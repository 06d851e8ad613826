// The typed in-memory form of an ONNX model that every tool in edgeq works on.
// Read with readOnnx (src/onnx/reader.ts), written with writeOnnx (src/onnx/writer.ts).

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
}
