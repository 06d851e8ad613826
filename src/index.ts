// edgeq's public API (browser-safe: nothing here imports Node modules, ONNX or onnxruntime-web).
export { Session, type SessionOptions, type SessionInput, type ClassifyInput, type ClassifyOptions, type InputFeeds, type Classification, type RunOptions, type WasmSources, type OutputTensor } from './runtime/session.js';
export { formatProfile, type ProfileRow } from './runtime/profile.js';
export { softmax, topK, topClasses, outputsProbabilities } from './runtime/postprocess.js';
export { EdgeqError, type EdgeqErrorCode } from './errors.js';
export { readEdgeq, validateModel } from './format/reader.js';
export { writeEdgeq } from './format/writer.js';
export type { QModel, QOp, QOutput, QTensor } from './format/qmodel.js';
export { preprocess, preprocessBatch } from './image/preprocess.js';
export { IMAGENET, UNIT, PRESETS, type PreprocessSpec } from './image/spec.js';
export type { RawImage, ImageDataLike } from './image/types.js';
export { loadImage, type ImageSource } from './image/load.js';
export { detectSimd } from './kernels/wasm.js';
