// Serializes a ModelDef into ONNX ModelProto bytes. Initializers are written as
// little-endian raw_data, which every ONNX consumer reads and which keeps values bit-exact.

import onnxProto from 'onnx-proto';
import type { AttributeValue, ModelDef, NodeDef, TensorValue, ValueInfo } from './model.js';
import { onnxDataType, tensorBytes } from './tensor.js';

const { onnx } = onnxProto;
type AttributeType = onnxProto.onnx.AttributeProto.AttributeType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** Graph inputs must list initializers before IR version 4. */
const IR_VERSION_OPTIONAL_INITIALIZER_INPUTS = 4;

const textEncoder = new TextEncoder();

export function writeOnnx(model: ModelDef): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) => onnx.OperatorSetIdProto.create({ domain: o.domain, version: o.version })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    docString: model.docString,
    graph: graphToProto(model),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
  });
  if (model.domain) proto.domain = model.domain;
  if (model.modelVersion) proto.modelVersion = model.modelVersion;
  return onnx.ModelProto.encode(proto).finish();
}

function graphToProto(model: ModelDef): onnxProto.onnx.IGraphProto {
  const { graph } = model;
  const initializers = [...graph.initializers.values()];
  const inputs = graph.inputs.map(valueInfoToProto);
  if (model.irVersion < IR_VERSION_OPTIONAL_INITIALIZER_INPUTS) {
    const listed = new Set(graph.inputs.map((i) => i.name));
    for (const t of initializers) {
      if (!listed.has(t.name)) inputs.push(valueInfoToProto({ name: t.name, dataType: t.dataType, dims: t.dims }));
    }
  }
  return {
    name: graph.name,
    node: graph.nodes.map(nodeToProto),
    initializer: initializers.map(tensorToProto),
    input: inputs,
    output: graph.outputs.map(valueInfoToProto),
    valueInfo: graph.valueInfo.map(valueInfoToProto),
  };
}

export function tensorToProto(tensor: TensorValue): onnxProto.onnx.ITensorProto {
  return {
    name: tensor.name,
    dataType: onnxDataType(tensor.dataType),
    dims: tensor.dims,
    rawData: tensorBytes(tensor),
  };
}

function valueInfoToProto(info: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: onnxDataType(info.dataType) };
  if (!info.unknownRank) {
    tensorType.shape = {
      dim: info.dims.map((d) => {
        if (typeof d === 'number') return { dimValue: d };
        // '' stands for a dim the file left unnamed and unvalued.
        return d === '' ? {} : { dimParam: d };
      }),
    };
  }
  return { name: info.name, type: { tensorType } };
}

function nodeToProto(node: NodeDef): onnxProto.onnx.INodeProto {
  const proto: onnxProto.onnx.INodeProto = {
    name: node.name,
    opType: node.opType,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, value]) => attributeToProto(name, value)),
  };
  if (node.domain) proto.domain = node.domain;
  return proto;
}

function attributeToProto(name: string, attribute: AttributeValue): onnxProto.onnx.IAttributeProto {
  const proto: onnxProto.onnx.IAttributeProto = { name, type: attributeType(attribute) };
  switch (attribute.type) {
    case 'float': proto.f = attribute.value; break;
    case 'int': proto.i = attribute.value; break;
    case 'string': proto.s = textEncoder.encode(attribute.value); break;
    case 'tensor': proto.t = tensorToProto(attribute.value); break;
    case 'floats': proto.floats = attribute.value; break;
    case 'ints': proto.ints = attribute.value; break;
    case 'strings': proto.strings = attribute.value.map((s) => textEncoder.encode(s)); break;
  }
  return proto;
}

function attributeType(attribute: AttributeValue): AttributeType {
  switch (attribute.type) {
    case 'float': return AttributeType.FLOAT;
    case 'int': return AttributeType.INT;
    case 'string': return AttributeType.STRING;
    case 'tensor': return AttributeType.TENSOR;
    case 'floats': return AttributeType.FLOATS;
    case 'ints': return AttributeType.INTS;
    case 'strings': return AttributeType.STRINGS;
  }
}
