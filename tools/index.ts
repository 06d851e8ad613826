// The edgeq lab (edgeq-tools): the quantizer, ONNX reading and writing, the onnxruntime-web
// reference, the embedded models. The runtime is the separate package `edgeq`.
export * from './quantize/index.js';
export { readOnnx } from './onnx/reader.js';
export { writeOnnx } from './onnx/writer.js';
