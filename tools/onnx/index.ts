// Public surface of the ONNX layer: the model types, reading, writing, tensors, ops and shapes.
export * from './model.js';
export * from './tensor.js';
export * from './ops.js';
export { readOnnx, readOnnxFile, readTensorProto, tensorFromProto, int64ToNumber, int64ToBigInt, type ReadOnnxOptions } from './reader.js';
export { writeOnnx, tensorToProto } from './writer.js';
export * from './shape-inference.js';
