// The quantizer's public entry (edgeq-tools/quantize): quantize() for one call from an fp32 ONNX
// model to .edgeq and QDQ bytes; the pipeline's steps (calibrateModel, quantizeCalibrated) for
// tools that reuse a calibration.
export { quantize, type QuantizeOptions, type QuantizeOutput, type QuantizeProgress } from './api.js';
export * from './pipeline.js';
export { CALIBRATION_METHODS, type CalibrationMethod } from './histogram.js';
export type { QuantReport, LayerReport, SensitivityEntry } from './report.js';
export { checkQuantizable, type QuantizeCheck, type QuantizeProblem } from './check.js';
export { ONNX_PATTERNS } from './ops/registry.js';
export type { OnnxPattern, OpModule } from './ops/op-module.js';
